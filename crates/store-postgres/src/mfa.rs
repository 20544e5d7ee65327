//! [`MfaStore`] on PostgreSQL. Every decision is one conditional statement:
//! under READ COMMITTED a concurrent update of the same row waits for the
//! first and then re-checks its `WHERE`, so only one of them changes it.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use latchkey_core::audit::AuditEvent;
use latchkey_core::lifecycle::{NewJob, QueuedMail};
use latchkey_core::mfa::{MfaChallenge, MfaStore, TotpFactor};
use latchkey_core::session::SessionKind;
use latchkey_core::store::{StoreError, truncate_to_millis};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::lifecycle::{exec, in_tx, insert_mail, revoke_all};
use crate::{PgStore, map_err, settle};

const TOTP: &str = "SELECT user_id, secret_sealed, created_at, confirmed_at, last_step \
     FROM mfa_totp WHERE user_id = $1";
const PUT_PENDING: &str = "INSERT INTO mfa_totp (user_id, secret_sealed, created_at) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
     created_at = excluded.created_at WHERE mfa_totp.confirmed_at IS NULL";
const CONFIRM: &str = "UPDATE mfa_totp SET confirmed_at = $3, last_step = $4 \
     WHERE user_id = $1 AND secret_sealed = $2 AND confirmed_at IS NULL";
const USE_STEP: &str = "UPDATE mfa_totp SET last_step = $2 \
     WHERE user_id = $1 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)";
const CODES_LEFT: &str =
    "SELECT count(*) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL";
const DELETE_CODES: &str = "DELETE FROM mfa_backup_codes WHERE user_id = $1";
const INSERT_CODES: &str = "INSERT INTO mfa_backup_codes (user_id, code_hash, created_at) \
     SELECT $1, unnest($2::text[]), $3";
const USE_CODE: &str = "UPDATE mfa_backup_codes SET used_at = $3 \
     WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
const CONFIRMED_FOR_UPDATE: &str =
    "SELECT 1 FROM mfa_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL FOR UPDATE";
const DELETE_TOTP: &str = "DELETE FROM mfa_totp WHERE user_id = $1";
const DELETE_CHALLENGES: &str = "DELETE FROM mfa_challenges WHERE user_id = $1";
const INSERT_CHALLENGE: &str = "INSERT INTO mfa_challenges \
     (token_hash, user_id, kind, binding_hash, amr, created_at, expires_at, failures, used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const DROP_EXPIRED: &str = "DELETE FROM mfa_challenges WHERE user_id = $1 AND expires_at <= $2";
const CHALLENGE: &str = "SELECT token_hash, user_id, kind, binding_hash, amr, created_at, \
     expires_at, failures, used_at FROM mfa_challenges WHERE token_hash = $1";
const RESERVE_ATTEMPT: &str = "UPDATE mfa_challenges SET failures = failures + 1 \
     WHERE token_hash = $1 AND used_at IS NULL AND failures < $2 AND expires_at > $3 \
     RETURNING failures";
const USE_CHALLENGE: &str = "UPDATE mfa_challenges SET used_at = $2 \
     WHERE token_hash = $1 AND used_at IS NULL";
const RAISE_SESSION: &str =
    "UPDATE sessions SET auth_time = $2, amr = $3 WHERE id = $1 AND revoked_at IS NULL";

async fn replace_codes(
    tx: &Transaction<'_>,
    user_id: &str,
    codes: &[String],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    exec(tx, DELETE_CODES, &[&user_id]).await?;
    exec(tx, INSERT_CODES, &[&user_id, &codes, &now]).await?;
    Ok(())
}

async fn confirmed(tx: &Transaction<'_>, user_id: &str) -> Result<bool, StoreError> {
    let stmt = tx
        .prepare_cached(CONFIRMED_FOR_UPDATE)
        .await
        .map_err(map_err)?;
    Ok(!tx
        .query(&stmt, &[&user_id])
        .await
        .map_err(map_err)?
        .is_empty())
}

fn u32_of(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[async_trait]
impl MfaStore for PgStore {
    async fn totp_factor(&self, user_id: &str) -> Result<Option<TotpFactor>, StoreError> {
        let rows = self.query1(TOTP, &[&user_id]).await?;
        rows.first()
            .map(|r| {
                Ok(TotpFactor {
                    user_id: r.try_get(0).map_err(map_err)?,
                    secret_sealed: r.try_get(1).map_err(map_err)?,
                    created_at: r.try_get(2).map_err(map_err)?,
                    confirmed_at: r.try_get(3).map_err(map_err)?,
                    last_step: r.try_get(4).map_err(map_err)?,
                })
            })
            .transpose()
    }

    async fn backup_codes_left(&self, user_id: &str) -> Result<u32, StoreError> {
        let rows = self.query1(CODES_LEFT, &[&user_id]).await?;
        let n: i64 = rows
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(map_err)?
            .unwrap_or(0);
        Ok(u32_of(n))
    }

    async fn put_pending_totp(&self, factor: &TotpFactor) -> Result<(), StoreError> {
        let created = truncate_to_millis(factor.created_at);
        let n = self
            .exec1(
                PUT_PENDING,
                &[&factor.user_id, &factor.secret_sealed, &created],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Conflict("totp"));
        }
        Ok(())
    }

    async fn confirm_totp(
        &self,
        user_id: &str,
        secret_sealed: &[u8],
        step: i64,
        codes: &[String],
        session_id: &str,
        amr: &[String],
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        let amr = amr.join(" ");
        in_tx!(self, |tx| {
            if exec(tx, CONFIRM, &[&user_id, &secret_sealed, &now, &step]).await? == 0 {
                return Ok(false);
            }
            replace_codes(tx, user_id, codes, now).await?;
            exec(tx, RAISE_SESSION, &[&session_id, &now, &amr]).await?;
            revoke_all(tx, user_id, Some(session_id), now, "mfa_enabled").await?;
            insert_event(tx, event).await?;
            (true, true)
        })
    }

    async fn use_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError> {
        Ok(self.exec1(USE_STEP, &[&user_id, &step]).await? > 0)
    }

    async fn use_backup_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
        mail: Option<(&QueuedMail, &NewJob)>,
    ) -> Result<Option<u32>, StoreError> {
        let now = truncate_to_millis(now);
        in_tx!(self, |tx| {
            if !confirmed(tx, user_id).await?
                || exec(tx, USE_CODE, &[&user_id, &code_hash, &now]).await? == 0
            {
                return Ok(None);
            }
            let stmt = tx.prepare_cached(CODES_LEFT).await.map_err(map_err)?;
            let left: i64 = tx
                .query_one(&stmt, &[&user_id])
                .await
                .map_err(map_err)?
                .try_get(0)
                .map_err(map_err)?;
            if let Some((m, j)) = mail {
                insert_mail(tx, m, j).await?;
            }
            insert_event(tx, event).await?;
            (true, Some(u32_of(left)))
        })
    }

    async fn replace_backup_codes(
        &self,
        user_id: &str,
        codes: &[String],
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        in_tx!(self, |tx| {
            if !confirmed(tx, user_id).await? {
                return Ok(false);
            }
            replace_codes(tx, user_id, codes, now).await?;
            insert_event(tx, event).await?;
            (true, true)
        })
    }

    async fn remove_mfa(
        &self,
        user_id: &str,
        event: &AuditEvent,
        mail: Option<(&QueuedMail, &NewJob)>,
    ) -> Result<bool, StoreError> {
        in_tx!(self, |tx| {
            if !confirmed(tx, user_id).await? {
                return Ok(false);
            }
            for sql in [DELETE_TOTP, DELETE_CODES, DELETE_CHALLENGES] {
                exec(tx, sql, &[&user_id]).await?;
            }
            if let Some((m, j)) = mail {
                insert_mail(tx, m, j).await?;
            }
            insert_event(tx, event).await?;
            (true, true)
        })
    }

    async fn insert_mfa_challenge(&self, c: &MfaChallenge) -> Result<(), StoreError> {
        let (created, expires) = (
            truncate_to_millis(c.created_at),
            truncate_to_millis(c.expires_at),
        );
        let used = c.used_at.map(truncate_to_millis);
        let failures = i32::try_from(c.failures).unwrap_or(i32::MAX);
        self.exec1(DROP_EXPIRED, &[&c.user_id, &created]).await?;
        self.exec1(
            INSERT_CHALLENGE,
            &[
                &c.token_hash,
                &c.user_id,
                &c.kind.as_str(),
                &c.binding_hash,
                &c.amr.join(" "),
                &created,
                &expires,
                &failures,
                &used,
            ],
        )
        .await?;
        Ok(())
    }

    async fn mfa_challenge(&self, token_hash: &str) -> Result<Option<MfaChallenge>, StoreError> {
        let rows = self.query1(CHALLENGE, &[&token_hash]).await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let kind: String = r.try_get(2).map_err(map_err)?;
        let amr: String = r.try_get(4).map_err(map_err)?;
        let failures: i32 = r.try_get(7).map_err(map_err)?;
        Ok(Some(MfaChallenge {
            token_hash: r.try_get(0).map_err(map_err)?,
            user_id: r.try_get(1).map_err(map_err)?,
            kind: SessionKind::parse(&kind)
                .ok_or_else(|| StoreError::Backend(format!("challenge of kind {kind:?}")))?,
            binding_hash: r.try_get(3).map_err(map_err)?,
            amr: amr.split_whitespace().map(str::to_owned).collect(),
            created_at: r.try_get(5).map_err(map_err)?,
            expires_at: r.try_get(6).map_err(map_err)?,
            failures: u32::try_from(failures).unwrap_or(0),
            used_at: r.try_get(8).map_err(map_err)?,
        }))
    }

    async fn reserve_mfa_attempt(
        &self,
        token_hash: &str,
        max_attempts: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let now = truncate_to_millis(now);
        let max = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        let rows = self
            .query1(RESERVE_ATTEMPT, &[&token_hash, &max, &now])
            .await?;
        let n: Option<i32> = rows
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(map_err)?;
        Ok(n.map(|n| u32::try_from(n).unwrap_or(0)))
    }

    async fn use_mfa_challenge(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        Ok(self.exec1(USE_CHALLENGE, &[&token_hash, &now]).await? > 0)
    }

    async fn raise_session(
        &self,
        session_id: &str,
        auth_time: OffsetDateTime,
        amr: &[String],
    ) -> Result<bool, StoreError> {
        let at = truncate_to_millis(auth_time);
        Ok(self
            .exec1(RAISE_SESSION, &[&session_id, &at, &amr.join(" ")])
            .await?
            > 0)
    }
}
