//! [`WaysInStore`] on PostgreSQL, and the count each removal (password,
//! passkey, identity) makes inside its transaction: the account's row is
//! locked `FOR UPDATE` first, so two concurrent removals of one account's
//! ways in run one after the other, and the second counts what the first
//! left (READ COMMITTED: each statement sees what committed before it
//! began, so the count is a statement after the lock, never the same one).

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use latchkey_core::audit::AuditEvent;
use latchkey_core::store::StoreError;
use latchkey_core::ways_in::{LastWayIn, Removal, WaysIn, WaysInStore};
use tokio_postgres::Row;

use crate::audit::insert_event;
use crate::lifecycle::{Params, exec, in_tx};
use crate::{PgStore, map_err, settle};

/// Passkeys (0070) and linked identities (0080) beside the account's row.
const WAYS_IN: &str = "SELECT password_hash IS NOT NULL, email_verified, \
     (SELECT count(*) FROM passkeys WHERE user_id = $1), \
     (SELECT count(*) FROM identities WHERE user_id = $1) \
     FROM users WHERE id = $1";
/// Its own statement: one that waited for the lock still reads with the
/// snapshot it began with, so the count comes after, in the next one.
const LOCK_USER: &str = "SELECT 1 FROM users WHERE id = $1 FOR UPDATE";

fn ways_in_row(r: &Row) -> Result<WaysIn, StoreError> {
    let count = |i| -> Result<u64, StoreError> {
        Ok(r.try_get::<_, i64>(i).map_err(map_err)?.max(0) as u64)
    };
    Ok(WaysIn {
        password: r.try_get(0).map_err(map_err)?,
        email_verified: r.try_get(1).map_err(map_err)?,
        passkeys: count(2)?,
        identities: count(3)?,
    })
}

/// A removal of a way in, inside the caller's transaction `tx`: locks the
/// account and counts its ways in, runs `sql` (the removal), and keeps it
/// only when `rule` allows it. `Ok(false)` when `sql` removed nothing;
/// `Conflict("last_way_in")` (the caller's transaction is dropped, so
/// nothing stays) when the rule refuses.
pub(crate) async fn remove_way_in(
    tx: &Transaction<'_>,
    user_id: &str,
    rule: LastWayIn,
    removal: Removal,
    sql: &str,
    params: &Params<'_>,
) -> Result<bool, StoreError> {
    exec(tx, LOCK_USER, &[&user_id]).await?;
    let stmt = tx.prepare_cached(WAYS_IN).await.map_err(map_err)?;
    let ways = match tx.query_opt(&stmt, &[&user_id]).await.map_err(map_err)? {
        Some(r) => ways_in_row(&r)?,
        None => WaysIn::default(),
    };
    if exec(tx, sql, params).await? == 0 {
        return Ok(false);
    }
    rule.enforce(&ways, removal)?;
    Ok(true)
}

impl PgStore {
    /// Deletes the way in `sql` names (`$1` the account, `$2` the row's
    /// id) with `event`, through [`remove_way_in`], in one transaction: a
    /// passkey or a linked identity.
    pub(crate) async fn delete_way_in(
        &self,
        sql: &'static str,
        user_id: &str,
        id: &str,
        (rule, removal): (LastWayIn, Removal),
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        in_tx!(self, |tx| {
            if !remove_way_in(tx, user_id, rule, removal, sql, &[&user_id, &id]).await? {
                return Ok(false);
            }
            insert_event(tx, event).await?;
            (true, true)
        })
    }
}

#[async_trait]
impl WaysInStore for PgStore {
    async fn ways_in(&self, user_id: &str) -> Result<Option<WaysIn>, StoreError> {
        let rows = self.query1(WAYS_IN, &[&user_id]).await?;
        rows.first().map(ways_in_row).transpose()
    }
}
