//! [`WaysInStore`] on SQLite, and the count each removal (password,
//! passkey, identity) makes inside its immediate transaction on the single
//! writer thread, where no other write can run between the count and the
//! removal.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::store::StoreError;
use latchkey_core::ways_in::{LastWayIn, Removal, WaysIn, WaysInStore};
use rusqlite::{Connection, OptionalExtension, params};

use crate::audit::insert_event;
use crate::lifecycle::immediate;
use crate::{SqliteStore, map_err};

/// Passkeys (0070) and linked identities (0080) beside the account's row.
const WAYS_IN: &str = "SELECT password_hash IS NOT NULL, email_verified, \
     (SELECT count(*) FROM passkeys WHERE user_id = ?1), \
     (SELECT count(*) FROM identities WHERE user_id = ?1) \
     FROM users WHERE id = ?1";

/// The ways into account `user_id` on `c` (in a removal: its transaction);
/// `None` when there is no such account.
pub(crate) fn ways_in_of(c: &Connection, user_id: &str) -> Result<Option<WaysIn>, StoreError> {
    c.prepare_cached(WAYS_IN)
        .map_err(map_err)?
        .query_row(params![user_id], |r| {
            Ok(WaysIn {
                password: r.get(0)?,
                email_verified: r.get(1)?,
                passkeys: r.get::<_, i64>(2)?.max(0) as u64,
                identities: r.get::<_, i64>(3)?.max(0) as u64,
            })
        })
        .optional()
        .map_err(map_err)
}

/// A removal of a way in, inside the caller's transaction `tx`: counts
/// the ways in, runs `remove` (the rows it removed), and keeps it only when
/// `rule` allows it. `Ok(false)` when `remove` found nothing;
/// `Conflict("last_way_in")` (the caller's transaction is dropped, so
/// nothing stays) when the rule refuses.
pub(crate) fn remove_way_in(
    tx: &Connection,
    user_id: &str,
    rule: LastWayIn,
    removal: Removal,
    remove: impl FnOnce(&Connection) -> Result<usize, StoreError>,
) -> Result<bool, StoreError> {
    let ways = ways_in_of(tx, user_id)?.unwrap_or_default();
    if remove(tx)? == 0 {
        return Ok(false);
    }
    rule.enforce(&ways, removal)?;
    Ok(true)
}

impl SqliteStore {
    /// Deletes the way in `sql` names (`?1` the account, `?2` the row's
    /// id) with `event`, through [`remove_way_in`], in one immediate
    /// transaction: a passkey or a linked identity.
    pub(crate) async fn delete_way_in(
        &self,
        sql: &'static str,
        user_id: &str,
        id: &str,
        (rule, removal): (LastWayIn, Removal),
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let (user_id, id, event) = (user_id.to_owned(), id.to_owned(), event.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            let delete = |c: &Connection| {
                c.prepare_cached(sql)
                    .map_err(map_err)?
                    .execute(params![user_id, id])
                    .map_err(map_err)
            };
            if !remove_way_in(&tx, &user_id, rule, removal, delete)? {
                return Ok(false);
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl WaysInStore for SqliteStore {
    async fn ways_in(&self, user_id: &str) -> Result<Option<WaysIn>, StoreError> {
        let user_id = user_id.to_owned();
        self.read(move |c| ways_in_of(c, &user_id)).await
    }
}
