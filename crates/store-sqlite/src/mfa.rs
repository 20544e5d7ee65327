//! [`MfaStore`] on SQLite. Every decision is one conditional statement on
//! the single writer thread, so concurrent requests are serialized there.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::lifecycle::{NewJob, QueuedMail};
use latchkey_core::mfa::{MfaChallenge, MfaStore, TotpFactor};
use latchkey_core::session::SessionKind;
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::lifecycle::{immediate, insert_mail, revoke_all};
use crate::{SqliteStore, map_err};

const TOTP: &str = "SELECT user_id, secret_sealed, created_at, confirmed_at, last_step \
     FROM mfa_totp WHERE user_id = ?1";
const PUT_PENDING: &str = "INSERT INTO mfa_totp (user_id, secret_sealed, created_at) \
     VALUES (?1, ?2, ?3) \
     ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
     created_at = excluded.created_at WHERE mfa_totp.confirmed_at IS NULL";
const CONFIRM: &str = "UPDATE mfa_totp SET confirmed_at = ?3, last_step = ?4 \
     WHERE user_id = ?1 AND secret_sealed = ?2 AND confirmed_at IS NULL";
const USE_STEP: &str = "UPDATE mfa_totp SET last_step = ?2 \
     WHERE user_id = ?1 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < ?2)";
const CODES_LEFT: &str =
    "SELECT count(*) FROM mfa_backup_codes WHERE user_id = ?1 AND used_at IS NULL";
const DELETE_CODES: &str = "DELETE FROM mfa_backup_codes WHERE user_id = ?1";
const INSERT_CODE: &str =
    "INSERT INTO mfa_backup_codes (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)";
const USE_CODE: &str = "UPDATE mfa_backup_codes SET used_at = ?3 \
     WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL";
const CONFIRMED: &str = "SELECT 1 FROM mfa_totp WHERE user_id = ?1 AND confirmed_at IS NOT NULL";
const DELETE_TOTP: &str = "DELETE FROM mfa_totp WHERE user_id = ?1";
const DELETE_CHALLENGES: &str = "DELETE FROM mfa_challenges WHERE user_id = ?1";
const INSERT_CHALLENGE: &str = "INSERT INTO mfa_challenges \
     (token_hash, user_id, kind, binding_hash, amr, created_at, expires_at, failures, used_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const DROP_EXPIRED: &str = "DELETE FROM mfa_challenges WHERE user_id = ?1 AND expires_at <= ?2";
const CHALLENGE: &str = "SELECT token_hash, user_id, kind, binding_hash, amr, created_at, \
     expires_at, failures, used_at FROM mfa_challenges WHERE token_hash = ?1";
const RESERVE_ATTEMPT: &str = "UPDATE mfa_challenges SET failures = failures + 1 \
     WHERE token_hash = ?1 AND used_at IS NULL AND failures < ?2 AND expires_at > ?3 \
     RETURNING failures";
const USE_CHALLENGE: &str = "UPDATE mfa_challenges SET used_at = ?2 \
     WHERE token_hash = ?1 AND used_at IS NULL";
const RAISE_SESSION: &str =
    "UPDATE sessions SET auth_time = ?2, amr = ?3 WHERE id = ?1 AND revoked_at IS NULL";

fn insert_codes(
    c: &Connection,
    user_id: &str,
    codes: &[String],
    now: i64,
) -> Result<(), StoreError> {
    c.prepare_cached(DELETE_CODES)
        .map_err(map_err)?
        .execute(params![user_id])
        .map_err(map_err)?;
    let mut insert = c.prepare_cached(INSERT_CODE).map_err(map_err)?;
    for code in codes {
        insert
            .execute(params![user_id, code, now])
            .map_err(map_err)?;
    }
    Ok(())
}

fn is_confirmed(c: &Connection, user_id: &str) -> Result<bool, StoreError> {
    c.prepare_cached(CONFIRMED)
        .map_err(map_err)?
        .query_row(params![user_id], |_| Ok(()))
        .optional()
        .map(|r| r.is_some())
        .map_err(map_err)
}

fn raise(c: &Connection, session_id: &str, at: i64, amr: &[String]) -> Result<bool, StoreError> {
    c.prepare_cached(RAISE_SESSION)
        .map_err(map_err)?
        .execute(params![session_id, at, amr.join(" ")])
        .map(|n| n > 0)
        .map_err(map_err)
}

type ChallengeRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    u32,
    Option<i64>,
);

#[async_trait]
impl MfaStore for SqliteStore {
    async fn totp_factor(&self, user_id: &str) -> Result<Option<TotpFactor>, StoreError> {
        let id = user_id.to_owned();
        let row = self
            .read(move |c| {
                c.prepare_cached(TOTP)
                    .map_err(map_err)?
                    .query_row(params![id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, Option<i64>>(3)?,
                            r.get::<_, Option<i64>>(4)?,
                        ))
                    })
                    .optional()
                    .map_err(map_err)
            })
            .await?;
        row.map(|(user_id, secret_sealed, created, confirmed, last_step)| {
            Ok(TotpFactor {
                user_id,
                secret_sealed,
                created_at: from_unix_millis(created)?,
                confirmed_at: confirmed.map(from_unix_millis).transpose()?,
                last_step,
            })
        })
        .transpose()
    }

    async fn backup_codes_left(&self, user_id: &str) -> Result<u32, StoreError> {
        let id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(CODES_LEFT)
                .map_err(map_err)?
                .query_row(params![id], |r| r.get::<_, u32>(0))
                .map_err(map_err)
        })
        .await
    }

    async fn put_pending_totp(&self, factor: &TotpFactor) -> Result<(), StoreError> {
        let f = factor.clone();
        self.write(move |c| {
            let n = c
                .prepare_cached(PUT_PENDING)
                .map_err(map_err)?
                .execute(params![
                    f.user_id,
                    f.secret_sealed,
                    to_unix_millis(f.created_at)
                ])
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::Conflict("totp"));
            }
            Ok(())
        })
        .await
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
        let (user_id, sealed) = (user_id.to_owned(), secret_sealed.to_vec());
        let (codes, session_id, amr) = (codes.to_vec(), session_id.to_owned(), amr.to_vec());
        let event = event.clone();
        let now = to_unix_millis(now);
        self.write(move |c| {
            let tx = immediate(c)?;
            let n = tx
                .prepare_cached(CONFIRM)
                .map_err(map_err)?
                .execute(params![user_id, sealed, now, step])
                .map_err(map_err)?;
            if n == 0 {
                return Ok(false);
            }
            insert_codes(&tx, &user_id, &codes, now)?;
            raise(&tx, &session_id, now, &amr)?;
            revoke_all(&tx, &user_id, Some(&session_id), now, "mfa_enabled")?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }

    async fn use_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError> {
        let id = user_id.to_owned();
        self.write(move |c| {
            c.prepare_cached(USE_STEP)
                .map_err(map_err)?
                .execute(params![id, step])
                .map(|n| n > 0)
                .map_err(map_err)
        })
        .await
    }

    async fn use_backup_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
        mail: Option<(&QueuedMail, &NewJob)>,
    ) -> Result<Option<u32>, StoreError> {
        let (id, hash, event) = (user_id.to_owned(), code_hash.to_owned(), event.clone());
        let mail = mail.map(|(m, j)| (m.clone(), j.clone()));
        let now = to_unix_millis(now);
        self.write(move |c| {
            let tx = immediate(c)?;
            let n = tx
                .prepare_cached(USE_CODE)
                .map_err(map_err)?
                .execute(params![id, hash, now])
                .map_err(map_err)?;
            if n == 0 || !is_confirmed(&tx, &id)? {
                return Ok(None);
            }
            let left = tx
                .prepare_cached(CODES_LEFT)
                .map_err(map_err)?
                .query_row(params![id], |r| r.get::<_, u32>(0))
                .map_err(map_err)?;
            if let Some((m, j)) = &mail {
                insert_mail(&tx, m, j)?;
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(Some(left))
        })
        .await
    }

    async fn replace_backup_codes(
        &self,
        user_id: &str,
        codes: &[String],
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let (id, codes, event) = (user_id.to_owned(), codes.to_vec(), event.clone());
        let now = to_unix_millis(now);
        self.write(move |c| {
            let tx = immediate(c)?;
            if !is_confirmed(&tx, &id)? {
                return Ok(false);
            }
            insert_codes(&tx, &id, &codes, now)?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }

    async fn remove_mfa(
        &self,
        user_id: &str,
        event: &AuditEvent,
        mail: Option<(&QueuedMail, &NewJob)>,
    ) -> Result<bool, StoreError> {
        let (id, event) = (user_id.to_owned(), event.clone());
        let mail = mail.map(|(m, j)| (m.clone(), j.clone()));
        self.write(move |c| {
            let tx = immediate(c)?;
            if !is_confirmed(&tx, &id)? {
                return Ok(false);
            }
            for sql in [DELETE_TOTP, DELETE_CODES, DELETE_CHALLENGES] {
                tx.prepare_cached(sql)
                    .map_err(map_err)?
                    .execute(params![id])
                    .map_err(map_err)?;
            }
            if let Some((m, j)) = &mail {
                insert_mail(&tx, m, j)?;
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }

    async fn insert_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError> {
        let ch = challenge.clone();
        self.write(move |c| {
            c.prepare_cached(DROP_EXPIRED)
                .map_err(map_err)?
                .execute(params![ch.user_id, to_unix_millis(ch.created_at)])
                .map_err(map_err)?;
            c.prepare_cached(INSERT_CHALLENGE)
                .map_err(map_err)?
                .execute(params![
                    ch.token_hash,
                    ch.user_id,
                    ch.kind.as_str(),
                    ch.binding_hash,
                    ch.amr.join(" "),
                    to_unix_millis(ch.created_at),
                    to_unix_millis(ch.expires_at),
                    ch.failures,
                    ch.used_at.map(to_unix_millis),
                ])
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn mfa_challenge(&self, token_hash: &str) -> Result<Option<MfaChallenge>, StoreError> {
        let hash = token_hash.to_owned();
        let row: Option<ChallengeRow> = self
            .read(move |c| {
                c.prepare_cached(CHALLENGE)
                    .map_err(map_err)?
                    .query_row(params![hash], |r| {
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
                        ))
                    })
                    .optional()
                    .map_err(map_err)
            })
            .await?;
        let Some((token_hash, user_id, kind, binding_hash, amr, created, expires, failures, used)) =
            row
        else {
            return Ok(None);
        };
        Ok(Some(MfaChallenge {
            token_hash,
            user_id,
            kind: SessionKind::parse(&kind)
                .ok_or_else(|| StoreError::Backend(format!("challenge of kind {kind:?}")))?,
            binding_hash,
            amr: amr.split_whitespace().map(str::to_owned).collect(),
            created_at: from_unix_millis(created)?,
            expires_at: from_unix_millis(expires)?,
            failures,
            used_at: used.map(from_unix_millis).transpose()?,
        }))
    }

    async fn reserve_mfa_attempt(
        &self,
        token_hash: &str,
        max_attempts: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let hash = token_hash.to_owned();
        let now = to_unix_millis(now);
        self.write(move |c| {
            c.prepare_cached(RESERVE_ATTEMPT)
                .map_err(map_err)?
                .query_row(params![hash, max_attempts, now], |r| r.get::<_, u32>(0))
                .optional()
                .map_err(map_err)
        })
        .await
    }

    async fn use_mfa_challenge(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let hash = token_hash.to_owned();
        let now = to_unix_millis(now);
        self.write(move |c| {
            c.prepare_cached(USE_CHALLENGE)
                .map_err(map_err)?
                .execute(params![hash, now])
                .map(|n| n > 0)
                .map_err(map_err)
        })
        .await
    }

    async fn raise_session(
        &self,
        session_id: &str,
        auth_time: OffsetDateTime,
        amr: &[String],
    ) -> Result<bool, StoreError> {
        let (id, amr) = (session_id.to_owned(), amr.to_vec());
        let at = to_unix_millis(auth_time);
        self.write(move |c| raise(c, &id, at, &amr)).await
    }
}
