//! [`PasskeyStore`] on PostgreSQL. Taking a challenge is one `DELETE ...
//! RETURNING` and recording a use one conditional `UPDATE`: under READ
//! COMMITTED the second of two concurrent ones re-checks its `WHERE` and
//! finds nothing.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use latchkey_core::audit::AuditEvent;
use latchkey_core::passkeys::{Passkey, PasskeyChallenge, PasskeyStore, Purpose};
use latchkey_core::store::{StoreError, truncate_to_millis};
use latchkey_core::ways_in::{LastWayIn, Removal};
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::audit::insert_event;
use crate::lifecycle::{exec, in_tx};
use crate::{PgStore, map_err, settle};

const DROP_EXPIRED: &str = "DELETE FROM passkey_challenges WHERE expires_at <= $1";
const INSERT_CHALLENGE: &str = "INSERT INTO passkey_challenges \
     (challenge_hash, purpose, user_id, binding_hash, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const TAKE_CHALLENGE: &str = "DELETE FROM passkey_challenges \
     WHERE challenge_hash = $1 AND expires_at > $2 \
     RETURNING challenge_hash, purpose, user_id, binding_hash, created_at, expires_at";
const INSERT: &str = "INSERT INTO passkeys (id, user_id, credential_id, public_key, sign_count, \
     transports, backup_eligible, backup_state, aaguid, name, created_at, last_used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
const OF_USER: &str = "SELECT id, user_id, credential_id, public_key, sign_count, transports, \
     backup_eligible, backup_state, aaguid, name, created_at, last_used_at \
     FROM passkeys WHERE user_id = $1 ORDER BY created_at, id";
const BY_CREDENTIAL: &str = "SELECT id, user_id, credential_id, public_key, sign_count, \
     transports, backup_eligible, backup_state, aaguid, name, created_at, last_used_at \
     FROM passkeys WHERE credential_id = $1";
const RECORD_USE: &str = "UPDATE passkeys SET sign_count = $3, backup_state = $4, \
     last_used_at = $5 WHERE id = $1 AND sign_count = $2";
const RENAME: &str = "UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2";
const DELETE: &str = "DELETE FROM passkeys WHERE user_id = $1 AND id = $2";

fn passkey(r: &Row) -> Result<Passkey, StoreError> {
    let sign_count: i64 = r.try_get(4).map_err(map_err)?;
    let transports: String = r.try_get(5).map_err(map_err)?;
    Ok(Passkey {
        id: r.try_get(0).map_err(map_err)?,
        user_id: r.try_get(1).map_err(map_err)?,
        credential_id: r.try_get(2).map_err(map_err)?,
        public_key: r.try_get(3).map_err(map_err)?,
        sign_count: u32::try_from(sign_count).map_err(|e| StoreError::Backend(e.to_string()))?,
        transports: transports.split_whitespace().map(str::to_owned).collect(),
        backup_eligible: r.try_get(6).map_err(map_err)?,
        backup_state: r.try_get(7).map_err(map_err)?,
        aaguid: r.try_get(8).map_err(map_err)?,
        name: r.try_get(9).map_err(map_err)?,
        created_at: r.try_get(10).map_err(map_err)?,
        last_used_at: r.try_get(11).map_err(map_err)?,
    })
}

/// Inserts a passkey row (inside the caller's transaction).
pub(crate) async fn insert_row(tx: &Transaction<'_>, p: &Passkey) -> Result<(), StoreError> {
    let created = truncate_to_millis(p.created_at);
    let last_used = p.last_used_at.map(truncate_to_millis);
    let (count, transports) = (i64::from(p.sign_count), p.transports.join(" "));
    exec(
        tx,
        INSERT,
        &[
            &p.id,
            &p.user_id,
            &p.credential_id,
            &p.public_key,
            &count,
            &transports,
            &p.backup_eligible,
            &p.backup_state,
            &p.aaguid,
            &p.name,
            &created,
            &last_used,
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl PasskeyStore for PgStore {
    async fn insert_passkey_challenge(
        &self,
        challenge: &PasskeyChallenge,
    ) -> Result<(), StoreError> {
        let created = truncate_to_millis(challenge.created_at);
        let expires = truncate_to_millis(challenge.expires_at);
        self.exec1(DROP_EXPIRED, &[&created]).await?;
        self.exec1(
            INSERT_CHALLENGE,
            &[
                &challenge.challenge_hash,
                &challenge.purpose.as_str(),
                &challenge.user_id,
                &challenge.binding_hash,
                &created,
                &expires,
            ],
        )
        .await?;
        Ok(())
    }

    async fn take_passkey_challenge(
        &self,
        challenge_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<PasskeyChallenge>, StoreError> {
        let now = truncate_to_millis(now);
        let rows = self
            .query1(TAKE_CHALLENGE, &[&challenge_hash, &now])
            .await?;
        rows.first()
            .map(|r| {
                let purpose: String = r.try_get(1).map_err(map_err)?;
                Ok(PasskeyChallenge {
                    challenge_hash: r.try_get(0).map_err(map_err)?,
                    purpose: Purpose::parse(&purpose)
                        .ok_or_else(|| StoreError::Backend(format!("unknown purpose {purpose}")))?,
                    user_id: r.try_get(2).map_err(map_err)?,
                    binding_hash: r.try_get(3).map_err(map_err)?,
                    created_at: r.try_get(4).map_err(map_err)?,
                    expires_at: r.try_get(5).map_err(map_err)?,
                })
            })
            .transpose()
    }

    async fn insert_passkey(&self, p: &Passkey, event: &AuditEvent) -> Result<(), StoreError> {
        in_tx!(self, |tx| {
            insert_row(tx, p).await?;
            insert_event(tx, event).await?;
            (true, ())
        })
    }

    async fn passkeys_of(&self, user_id: &str) -> Result<Vec<Passkey>, StoreError> {
        let rows = self.query1(OF_USER, &[&user_id]).await?;
        rows.iter().map(passkey).collect()
    }

    async fn passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError> {
        let rows = self.query1(BY_CREDENTIAL, &[&credential_id]).await?;
        rows.first().map(passkey).transpose()
    }

    async fn record_passkey_use(
        &self,
        id: &str,
        expected: u32,
        sign_count: u32,
        backup_state: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        let (expected, sign_count) = (i64::from(expected), i64::from(sign_count));
        Ok(self
            .exec1(
                RECORD_USE,
                &[&id, &expected, &sign_count, &backup_state, &now],
            )
            .await?
            > 0)
    }

    async fn rename_passkey(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        in_tx!(self, |tx| {
            if exec(tx, RENAME, &[&user_id, &id, &name]).await? == 0 {
                return Ok(false);
            }
            insert_event(tx, event).await?;
            (true, true)
        })
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
