//! [`PasskeyStore`] on SQLite. Taking a challenge and recording a use are
//! each one conditional statement on the single writer thread.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::passkeys::{Passkey, PasskeyChallenge, PasskeyStore, Purpose};
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use latchkey_core::ways_in::{LastWayIn, Removal};
use rusqlite::{OptionalExtension, Row, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::lifecycle::immediate;
use crate::{SqliteStore, map_err};

const DROP_EXPIRED: &str = "DELETE FROM passkey_challenges WHERE expires_at <= ?1";
const INSERT_CHALLENGE: &str = "INSERT INTO passkey_challenges \
     (challenge_hash, purpose, user_id, binding_hash, created_at, expires_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const TAKE_CHALLENGE: &str = "DELETE FROM passkey_challenges \
     WHERE challenge_hash = ?1 AND expires_at > ?2 \
     RETURNING challenge_hash, purpose, user_id, binding_hash, created_at, expires_at";
const COLUMNS: &str = "id, user_id, credential_id, public_key, sign_count, transports, \
     backup_eligible, backup_state, aaguid, name, created_at, last_used_at";
const INSERT: &str = "INSERT INTO passkeys (id, user_id, credential_id, public_key, sign_count, \
     transports, backup_eligible, backup_state, aaguid, name, created_at, last_used_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
const RECORD_USE: &str = "UPDATE passkeys SET sign_count = ?3, backup_state = ?4, \
     last_used_at = ?5 WHERE id = ?1 AND sign_count = ?2";
const RENAME: &str = "UPDATE passkeys SET name = ?3 WHERE user_id = ?1 AND id = ?2";
const DELETE: &str = "DELETE FROM passkeys WHERE user_id = ?1 AND id = ?2";

type PasskeyRow = (
    String,
    String,
    Vec<u8>,
    Vec<u8>,
    i64,
    String,
    bool,
    bool,
    String,
    String,
    i64,
    Option<i64>,
);

fn passkey_row(r: &Row<'_>) -> rusqlite::Result<PasskeyRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn passkey(row: PasskeyRow) -> Result<Passkey, StoreError> {
    let (id, user_id, credential_id, public_key, sign_count, transports, be, bs, aaguid, name) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9,
    );
    Ok(Passkey {
        id,
        user_id,
        credential_id,
        public_key,
        sign_count: u32::try_from(sign_count).map_err(|e| StoreError::Backend(e.to_string()))?,
        transports: transports.split_whitespace().map(str::to_owned).collect(),
        backup_eligible: be,
        backup_state: bs,
        aaguid,
        name,
        created_at: from_unix_millis(row.10)?,
        last_used_at: row.11.map(from_unix_millis).transpose()?,
    })
}

/// Inserts a passkey row (inside the caller's transaction).
pub(crate) fn insert_row(c: &rusqlite::Connection, p: &Passkey) -> Result<(), StoreError> {
    c.prepare_cached(INSERT)
        .map_err(map_err)?
        .execute(params![
            p.id,
            p.user_id,
            p.credential_id,
            p.public_key,
            i64::from(p.sign_count),
            p.transports.join(" "),
            p.backup_eligible,
            p.backup_state,
            p.aaguid,
            p.name,
            to_unix_millis(p.created_at),
            p.last_used_at.map(to_unix_millis),
        ])
        .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl PasskeyStore for SqliteStore {
    async fn insert_passkey_challenge(
        &self,
        challenge: &PasskeyChallenge,
    ) -> Result<(), StoreError> {
        let c = challenge.clone();
        self.write(move |conn| {
            let created = to_unix_millis(c.created_at);
            conn.prepare_cached(DROP_EXPIRED)
                .map_err(map_err)?
                .execute(params![created])
                .map_err(map_err)?;
            conn.prepare_cached(INSERT_CHALLENGE)
                .map_err(map_err)?
                .execute(params![
                    c.challenge_hash,
                    c.purpose.as_str(),
                    c.user_id,
                    c.binding_hash,
                    created,
                    to_unix_millis(c.expires_at)
                ])
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn take_passkey_challenge(
        &self,
        challenge_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<PasskeyChallenge>, StoreError> {
        let hash = challenge_hash.to_owned();
        let now = to_unix_millis(now);
        let row = self
            .write(move |c| {
                c.prepare_cached(TAKE_CHALLENGE)
                    .map_err(map_err)?
                    .query_row(params![hash, now], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })
                    .optional()
                    .map_err(map_err)
            })
            .await?;
        row.map(
            |(challenge_hash, purpose, user_id, binding_hash, created, expires)| {
                Ok(PasskeyChallenge {
                    challenge_hash,
                    purpose: Purpose::parse(&purpose)
                        .ok_or_else(|| StoreError::Backend(format!("unknown purpose {purpose}")))?,
                    user_id,
                    binding_hash,
                    created_at: from_unix_millis(created)?,
                    expires_at: from_unix_millis(expires)?,
                })
            },
        )
        .transpose()
    }

    async fn insert_passkey(
        &self,
        passkey: &Passkey,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (p, event) = (passkey.clone(), event.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            insert_row(&tx, &p)?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn passkeys_of(&self, user_id: &str) -> Result<Vec<Passkey>, StoreError> {
        let id = user_id.to_owned();
        let rows = self
            .read(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM passkeys WHERE user_id = ?1 ORDER BY created_at, id"
                ))
                .map_err(map_err)?
                .query_map(params![id], passkey_row)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)
            })
            .await?;
        rows.into_iter().map(passkey).collect()
    }

    async fn passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError> {
        let id = credential_id.to_vec();
        let row = self
            .read(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?1"
                ))
                .map_err(map_err)?
                .query_row(params![id], passkey_row)
                .optional()
                .map_err(map_err)
            })
            .await?;
        row.map(passkey).transpose()
    }

    async fn record_passkey_use(
        &self,
        id: &str,
        expected: u32,
        sign_count: u32,
        backup_state: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        let now = to_unix_millis(now);
        self.write(move |c| {
            c.prepare_cached(RECORD_USE)
                .map_err(map_err)?
                .execute(params![
                    id,
                    i64::from(expected),
                    i64::from(sign_count),
                    backup_state,
                    now
                ])
                .map(|n| n > 0)
                .map_err(map_err)
        })
        .await
    }

    async fn rename_passkey(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let (user_id, id, name) = (user_id.to_owned(), id.to_owned(), name.to_owned());
        self.owned_change(RENAME, event, move |stmt| {
            stmt.execute(params![user_id, id, name])
        })
        .await
    }

    async fn delete_passkey(
        &self,
        user_id: &str,
        id: &str,
        rule: LastWayIn,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.delete_way_in(DELETE, user_id, id, (rule, Removal::Passkey), event)
            .await
    }
}

impl SqliteStore {
    /// One statement on the owner's passkey and, when it changed a row,
    /// `event`, in one transaction.
    async fn owned_change<F>(
        &self,
        sql: &'static str,
        event: &AuditEvent,
        run: F,
    ) -> Result<bool, StoreError>
    where
        F: FnOnce(&mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<usize> + Send + 'static,
    {
        let event = event.clone();
        self.write(move |c| {
            let tx = immediate(c)?;
            let n = run(&mut tx.prepare_cached(sql).map_err(map_err)?).map_err(map_err)?;
            if n == 0 {
                return Ok(false);
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }
}
