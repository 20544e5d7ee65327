//! [`LifecycleStore`] on PostgreSQL.
//!
//! Job claims are one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
//! LOCKED) RETURNING`: concurrent claimers on any number of nodes skip the
//! rows another claim has locked, so a job is handed to one worker per
//! lease. Token redemption is one transaction that locks the token's row
//! first (then its owner's) and executes what core decides
//! ([`Redemption::decide`]), so of concurrent redemptions exactly one
//! proceeds: the others wait on the lock and then read the token used.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use latchkey_core::audit::AuditEvent;
use latchkey_core::lifecycle::{
    AccountState, AccountToken, ClaimedJob, JobRecord, NewJob, OutboxMessage, QueuedMail, Redeemed,
    Redemption, RedemptionWrite, SweepPlan, SweepReport, TokenOwner, TokenPurpose,
};
use latchkey_core::store::{LifecycleStore, StoreError, truncate_to_millis};
use latchkey_core::user::User;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use crate::audit::insert_event;
use crate::credentials::void_tokens;
use crate::users::insert_user_in;
use crate::{PgStore, map_err, settle};

const INSERT_TOKEN: &str = "INSERT INTO account_tokens \
     (token_hash, user_id, purpose, email, created_at, expires_at, used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SUPERSEDE_TOKENS: &str = "UPDATE account_tokens SET used_at = $3 \
     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL";
const TOKEN_BY_HASH: &str = "SELECT token_hash, user_id, purpose, email, created_at, expires_at, \
     used_at FROM account_tokens WHERE token_hash = $1";
const TOKEN_FOR_UPDATE: &str = "SELECT token_hash, user_id, purpose, email, created_at, \
     expires_at, used_at FROM account_tokens WHERE token_hash = $1 FOR UPDATE";
const MARK_TOKEN_USED: &str = "UPDATE account_tokens SET used_at = $2 WHERE token_hash = $1";
const OWNER_FOR_UPDATE: &str = "SELECT email, email_normalized, deletion_due_at IS NOT NULL \
     FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE";
const INSERT_MAIL: &str = "INSERT INTO mail_outbox (id, user_id, template, sealed, created_at) \
     VALUES ($1, $2, $3, $4, $5)";
const INSERT_JOB: &str = "INSERT INTO jobs \
     (id, kind, idempotency_key, payload, run_at, max_attempts, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING";
const REVOKE_ALL: &str = "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
     WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $4";
const STATE: &str = "SELECT deactivated_at, deletion_due_at, deleted_at FROM users WHERE id = $1";
const CLAIM: &str = "UPDATE jobs SET locked_until = $2, locked_by = $3, attempts = attempts + 1 \
     WHERE id IN (SELECT id FROM jobs WHERE finished_at IS NULL AND run_at <= $1 \
                  AND (locked_until IS NULL OR locked_until <= $1) \
                  ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, idempotency_key, payload, attempts, max_attempts";
const DEVICE_SEEN: &str = "SELECT count(*), \
     count(*) FILTER (WHERE device_label IS NOT DISTINCT FROM $2 AND ip IS NOT DISTINCT FROM $3) \
     FROM sessions WHERE user_id = $1";
const ANONYMIZE: &str = "UPDATE users SET email = '', email_normalized = 'deleted:' || id, \
     email_verified = FALSE, username = NULL, username_normalized = NULL, name = NULL, \
     password_hash = NULL, suspended_at = NULL, suspended_until = NULL, \
     suspension_reason = NULL, deactivated_at = NULL, deletion_due_at = NULL, deleted_at = $2, updated_at = $2, \
     locale = NULL \
     WHERE id = $1 AND deleted_at IS NULL AND deletion_due_at <= $2";

pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

pub(crate) async fn exec(
    tx: &Transaction<'_>,
    sql: &str,
    params: &Params<'_>,
) -> Result<u64, StoreError> {
    let stmt = tx.prepare_cached(sql).await.map_err(map_err)?;
    tx.execute(&stmt, params).await.map_err(map_err)
}

pub(crate) async fn insert_job(tx: &Transaction<'_>, job: &NewJob) -> Result<bool, StoreError> {
    let run_at = truncate_to_millis(job.run_at);
    let created_at = truncate_to_millis(job.created_at);
    let max = job.max_attempts as i32;
    let n = exec(
        tx,
        INSERT_JOB,
        &[
            &job.id,
            &job.kind,
            &job.idempotency_key,
            &job.payload,
            &run_at,
            &max,
            &created_at,
        ],
    )
    .await?;
    Ok(n > 0)
}

pub(crate) async fn insert_mail(
    tx: &Transaction<'_>,
    mail: &QueuedMail,
    job: &NewJob,
) -> Result<bool, StoreError> {
    if !insert_job(tx, job).await? {
        return Ok(false);
    }
    let created_at = truncate_to_millis(mail.created_at);
    exec(
        tx,
        INSERT_MAIL,
        &[
            &mail.id,
            &mail.user_id,
            &mail.template,
            &mail.sealed,
            &created_at,
        ],
    )
    .await?;
    Ok(true)
}

async fn insert_token(tx: &Transaction<'_>, t: &AccountToken) -> Result<(), StoreError> {
    let created_at = truncate_to_millis(t.created_at);
    let expires_at = truncate_to_millis(t.expires_at);
    let used_at = t.used_at.map(truncate_to_millis);
    exec(
        tx,
        SUPERSEDE_TOKENS,
        &[&t.user_id, &t.purpose.as_str(), &created_at],
    )
    .await?;
    exec(
        tx,
        INSERT_TOKEN,
        &[
            &t.token_hash,
            &t.user_id,
            &t.purpose.as_str(),
            &t.email,
            &created_at,
            &expires_at,
            &used_at,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn revoke_all(
    tx: &Transaction<'_>,
    user_id: &str,
    keep: Option<&str>,
    now: OffsetDateTime,
    reason: &str,
) -> Result<u64, StoreError> {
    exec(tx, REVOKE_ALL, &[&user_id, &now, &reason, &keep]).await
}

/// An account token from a row of [`TOKEN_BY_HASH`] (or its locking twin).
fn token_from(r: &tokio_postgres::Row) -> Result<AccountToken, StoreError> {
    let purpose: String = r.try_get(2).map_err(map_err)?;
    Ok(AccountToken {
        token_hash: r.try_get(0).map_err(map_err)?,
        user_id: r.try_get(1).map_err(map_err)?,
        purpose: TokenPurpose::parse(&purpose).ok_or_else(|| {
            StoreError::Backend(format!("account token with unknown purpose {purpose:?}"))
        })?,
        email: r.try_get(3).map_err(map_err)?,
        created_at: r.try_get(4).map_err(map_err)?,
        expires_at: r.try_get(5).map_err(map_err)?,
        used_at: r.try_get(6).map_err(map_err)?,
    })
}

/// Locks the token, then its owner, lets core decide and executes the
/// decision; the caller commits when a redemption comes back. A concurrent
/// redemption of the same token waits on the token's lock and then reads it
/// used.
async fn redeem(
    tx: &Transaction<'_>,
    hash: &str,
    purpose: TokenPurpose,
    action: &Redemption,
    notice: Option<(&QueuedMail, &NewJob)>,
    now: OffsetDateTime,
    event: &AuditEvent,
) -> Result<Option<Redeemed>, StoreError> {
    let stmt = tx.prepare_cached(TOKEN_FOR_UPDATE).await.map_err(map_err)?;
    let Some(row) = tx.query_opt(&stmt, &[&hash]).await.map_err(map_err)? else {
        return Ok(None);
    };
    let token = token_from(&row)?;
    let stmt = tx.prepare_cached(OWNER_FOR_UPDATE).await.map_err(map_err)?;
    let owner = match tx
        .query_opt(&stmt, &[&token.user_id])
        .await
        .map_err(map_err)?
    {
        Some(r) => Some(TokenOwner {
            email: r.try_get(0).map_err(map_err)?,
            email_normalized: r.try_get(1).map_err(map_err)?,
            deletion_pending: r.try_get(2).map_err(map_err)?,
        }),
        None => None,
    };
    let (Ok(write), Some(owner)) = (action.decide(&token, purpose, owner.as_ref(), now), &owner)
    else {
        return Ok(None);
    };
    let user_id = token.user_id.as_str();
    exec(tx, MARK_TOKEN_USED, &[&hash, &now]).await?;
    match write {
        RedemptionWrite::VerifyEmail => {
            exec(
                tx,
                "UPDATE users SET email_verified = TRUE, updated_at = $2 WHERE id = $1",
                &[&user_id, &now],
            )
            .await?;
        }
        RedemptionWrite::ResetPassword { password_hash } => {
            exec(
                tx,
                "UPDATE users SET password_hash = $2, email_verified = TRUE, updated_at = $3 \
                 WHERE id = $1",
                &[&user_id, &password_hash, &now],
            )
            .await?;
            void_tokens(tx, user_id, now).await?;
            revoke_all(tx, user_id, None, now, "password_reset").await?;
        }
        RedemptionWrite::ChangeEmail {
            email,
            email_normalized,
        } => {
            exec(
                tx,
                "UPDATE users SET email = $2, email_normalized = $3, email_verified = TRUE, \
                 updated_at = $4 WHERE id = $1",
                &[&user_id, &email, &email_normalized, &now],
            )
            .await?;
            void_tokens(tx, user_id, now).await?;
        }
        RedemptionWrite::CancelDeletion => {
            exec(
                tx,
                "UPDATE users SET deletion_due_at = NULL, updated_at = $2 WHERE id = $1",
                &[&user_id, &now],
            )
            .await?;
        }
    }
    if let Some((mail, job)) = notice {
        insert_mail(tx, mail, job).await?;
    }
    insert_event(tx, event).await?;
    Ok(Some(Redeemed {
        user_id: token.user_id.clone(),
        previous_email: owner.email.clone(),
    }))
}

/// Runs `$body` (a block giving `(commit, value)`, where `?` and `return`
/// leave with an error or early value) in one transaction on one pooled
/// connection, bounded by the query timeout; commits only when asked to.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:block) => {{
        let store = $store;
        let mut client = store.client().await?;
        let result = store
            .bounded_store(async {
                let owned = client.transaction().await.map_err(map_err)?;
                let $tx = &owned;
                let (commit, value) = $body;
                if commit {
                    owned.commit().await.map_err(map_err)?;
                }
                Ok(value)
            })
            .await;
        settle(client, result)
    }};
}
pub(crate) use in_tx;

impl PgStore {
    /// One statement outside a transaction; the number of rows it changed.
    pub(crate) async fn exec1(
        &self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(sql).await?;
                client.execute(&stmt, params).await
            })
            .await;
        settle(client, result)
    }

    /// One query outside a transaction.
    pub(crate) async fn query1(
        &self,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(sql).await?;
                client.query(&stmt, params).await
            })
            .await;
        settle(client, result)
    }
}

#[async_trait]
impl LifecycleStore for PgStore {
    async fn insert_account_token(
        &self,
        token: &AccountToken,
        mail: &QueuedMail,
        job: &NewJob,
        notice: Option<(&QueuedMail, &NewJob)>,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        in_tx!(self, |tx| {
            // first the delivery job: its key says whether this was made before
            if !insert_mail(tx, mail, job).await? {
                return Ok(false); // rolls back (nothing was written)
            }
            insert_token(tx, token).await?;
            if let Some((m, j)) = notice {
                insert_mail(tx, m, j).await?;
            }
            if let Some(e) = event {
                insert_event(tx, e).await?;
            }
            (true, true)
        })
    }

    async fn register_user(
        &self,
        u: &User,
        token: &AccountToken,
        mail: &QueuedMail,
        job: &NewJob,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        in_tx!(self, |tx| {
            insert_user_in(tx, u).await?;
            insert_token(tx, token).await?;
            insert_mail(tx, mail, job).await?;
            insert_event(tx, event).await?;
            (true, ())
        })
    }

    async fn account_token(&self, hash: &str) -> Result<Option<AccountToken>, StoreError> {
        let rows = self.query1(TOKEN_BY_HASH, &[&hash]).await?;
        rows.first().map(token_from).transpose()
    }

    async fn redeem_account_token(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        action: &Redemption,
        notice: Option<(&QueuedMail, &NewJob)>,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<Option<Redeemed>, StoreError> {
        let now = truncate_to_millis(now);
        in_tx!(self, |tx| {
            let redeemed = redeem(tx, hash, purpose, action, notice, now, event).await?;
            (redeemed.is_some(), redeemed)
        })
    }

    async fn account_state(&self, user_id: &str) -> Result<Option<AccountState>, StoreError> {
        let rows = self.query1(STATE, &[&user_id]).await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(AccountState {
            deactivated_at: r.try_get(0).map_err(map_err)?,
            deletion_due_at: r.try_get(1).map_err(map_err)?,
            deleted_at: r.try_get(2).map_err(map_err)?,
        }))
    }

    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
        notice: Option<(&QueuedMail, &NewJob)>,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, StoreError> {
        let now = truncate_to_millis(now);
        in_tx!(self, |tx| {
            let n = exec(
                tx,
                "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
                &[&user_id, &password_hash, &now],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let ended = revoke_all(tx, user_id, keep, now, "password_changed").await?;
            void_tokens(tx, user_id, now).await?;
            if let Some((mail, job)) = notice {
                insert_mail(tx, mail, job).await?;
            }
            insert_event(tx, event).await?;
            (true, ended)
        })
    }

    async fn set_session_auth_time(
        &self,
        session_id: &str,
        auth_time: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let t = truncate_to_millis(auth_time);
        Ok(self
            .exec1(
                "UPDATE sessions SET auth_time = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&session_id, &t],
            )
            .await?
            > 0)
    }

    async fn device_seen(
        &self,
        user_id: &str,
        device_label: Option<&str>,
        ip: Option<&str>,
    ) -> Result<(bool, bool), StoreError> {
        let rows = self
            .query1(DEVICE_SEEN, &[&user_id, &device_label, &ip])
            .await?;
        let r = rows
            .first()
            .ok_or_else(|| StoreError::Backend("count returned no row".into()))?;
        let any: i64 = r.try_get(0).map_err(map_err)?;
        let seen: i64 = r.try_get(1).map_err(map_err)?;
        Ok((any > 0, seen > 0))
    }

    async fn schedule_deletion(
        &self,
        user_id: &str,
        cancel: &AccountToken,
        mail: &QueuedMail,
        job: &NewJob,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (due, now) = (
            truncate_to_millis(cancel.expires_at),
            truncate_to_millis(now),
        );
        in_tx!(self, |tx| {
            let n = exec(
                tx,
                "UPDATE users SET deletion_due_at = $2, updated_at = $3 \
                     WHERE id = $1 AND deleted_at IS NULL",
                &[&user_id, &due, &now],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            revoke_all(tx, user_id, None, now, "deletion_requested").await?;
            void_tokens(tx, user_id, now).await?;
            insert_token(tx, cancel).await?;
            insert_mail(tx, mail, job).await?;
            insert_event(tx, event).await?;
            (true, ())
        })
    }

    async fn set_deactivated(
        &self,
        user_id: &str,
        at: Option<OffsetDateTime>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let at = at.map(truncate_to_millis);
        in_tx!(self, |tx| {
            let n = exec(
                tx,
                "UPDATE users SET deactivated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
                &[&user_id, &at],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(at) = at {
                revoke_all(tx, user_id, None, at, "deactivated").await?;
            }
            insert_event(tx, event).await?;
            (true, ())
        })
    }

    async fn deletions_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let now = truncate_to_millis(now);
        let limit = i64::from(limit);
        self.query1(
            "SELECT id FROM users WHERE deletion_due_at <= $1 AND deleted_at IS NULL \
             ORDER BY deletion_due_at, id LIMIT $2",
            &[&now, &limit],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0).map_err(map_err))
        .collect()
    }

    async fn anonymize_user(
        &self,
        user_id: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        in_tx!(self, |tx| {
            if exec(tx, ANONYMIZE, &[&user_id, &now]).await? == 0 {
                return Ok(false);
            }
            for sql in [
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM account_tokens WHERE user_id = $1",
                "DELETE FROM mail_outbox WHERE user_id = $1",
                "DELETE FROM user_roles WHERE user_id = $1",
                "DELETE FROM login_failures WHERE key = 'user:' || $1",
                "DELETE FROM mfa_totp WHERE user_id = $1",
                "DELETE FROM mfa_backup_codes WHERE user_id = $1",
                "DELETE FROM mfa_challenges WHERE user_id = $1",
                "DELETE FROM identities WHERE user_id = $1",
            ] {
                exec(tx, sql, &[&user_id]).await?;
            }
            insert_event(tx, event).await?;
            (true, true)
        })
    }

    async fn enqueue_mail(&self, mail: &QueuedMail, job: &NewJob) -> Result<bool, StoreError> {
        in_tx!(self, |tx| {
            let stored = insert_mail(tx, mail, job).await?;
            (true, stored)
        })
    }

    async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>, StoreError> {
        let rows = self
            .query1(
                "SELECT id, user_id, template, sealed, created_at, sent_at \
                 FROM mail_outbox WHERE id = $1",
                &[&id],
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        (|| {
            Ok(Some(OutboxMessage {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                template: r.try_get(2)?,
                sealed: r.try_get(3)?,
                created_at: r.try_get(4)?,
                sent_at: r.try_get(5)?,
            }))
        })()
        .map_err(map_err)
    }

    async fn mark_mail_sent(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        Ok(self
            .exec1(
                "UPDATE mail_outbox SET sent_at = $2, sealed = NULL \
                 WHERE id = $1 AND sent_at IS NULL",
                &[&id, &now],
            )
            .await?
            > 0)
    }

    async fn enqueue_job(&self, job: &NewJob) -> Result<bool, StoreError> {
        in_tx!(self, |tx| {
            let stored = insert_job(tx, job).await?;
            (true, stored)
        })
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let (now, lease) = (truncate_to_millis(now), truncate_to_millis(lease_until));
        let limit = i64::from(limit);
        let rows = self.query1(CLAIM, &[&now, &lease, &worker, &limit]).await?;
        let mut jobs = rows
            .iter()
            .map(|r| {
                Ok(ClaimedJob {
                    id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    idempotency_key: r.try_get(2)?,
                    payload: r.try_get(3)?,
                    attempts: r.try_get::<_, i32>(4)? as u32,
                    max_attempts: r.try_get::<_, i32>(5)? as u32,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(map_err)?;
        // RETURNING does not keep the subquery's order.
        jobs.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(jobs)
    }

    async fn complete_job(
        &self,
        id: &str,
        worker: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        Ok(self
            .exec1(
                "UPDATE jobs SET finished_at = $3, outcome = 'done', payload = '\\x', \
                 locked_until = NULL WHERE id = $1 AND locked_by = $2 AND finished_at IS NULL",
                &[&id, &worker, &now],
            )
            .await?
            > 0)
    }

    async fn fail_job(
        &self,
        id: &str,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        let n = match retry_at.map(truncate_to_millis) {
            Some(retry) => {
                self.exec1(
                    "UPDATE jobs SET run_at = $4, last_error = $3, locked_until = NULL, \
                     locked_by = NULL WHERE id = $1 AND locked_by = $2 AND finished_at IS NULL",
                    &[&id, &worker, &error, &retry],
                )
                .await?
            }
            None => {
                self.exec1(
                    "UPDATE jobs SET finished_at = $4, outcome = 'failed', last_error = $3, \
                     payload = '\\x', locked_until = NULL \
                     WHERE id = $1 AND locked_by = $2 AND finished_at IS NULL",
                    &[&id, &worker, &error, &now],
                )
                .await?
            }
        };
        Ok(n > 0)
    }

    async fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let rows = self
            .query1(
                "SELECT id, kind, attempts, run_at, finished_at, outcome, last_error \
                 FROM jobs WHERE id = $1",
                &[&id],
            )
            .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        (|| {
            Ok(Some(JobRecord {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                attempts: r.try_get::<_, i32>(2)? as u32,
                run_at: r.try_get(3)?,
                finished_at: r.try_get(4)?,
                outcome: r.try_get(5)?,
                last_error: r.try_get(6)?,
            }))
        })()
        .map_err(map_err)
    }

    /// Runs core's [`SweepPlan`], one statement per kind of row, each the
    /// SQL form of the plan's predicate.
    async fn sweep(&self, plan: SweepPlan) -> Result<SweepReport, StoreError> {
        let ms = truncate_to_millis;
        in_tx!(self, |tx| {
            let report = SweepReport {
                sessions: exec(
                    tx,
                    "DELETE FROM sessions \
                         WHERE coalesce(revoked_at, LEAST(expires_at, idle_expires_at)) <= $1",
                    &[&ms(plan.sessions_ended_by)],
                )
                .await?,
                refresh_tokens: exec(
                    tx,
                    "DELETE FROM refresh_tokens WHERE expires_at <= $1",
                    &[&ms(plan.refresh_tokens_expired_by)],
                )
                .await?,
                grace_responses: exec(
                    tx,
                    "UPDATE refresh_tokens SET successor_sealed = NULL \
                         WHERE successor_sealed IS NOT NULL AND grace_until <= $1",
                    &[&ms(plan.grace_ended_by)],
                )
                .await?,
                account_tokens: exec(
                    tx,
                    "DELETE FROM account_tokens WHERE expires_at <= $1 OR used_at IS NOT NULL",
                    &[&ms(plan.account_tokens_expired_by)],
                )
                .await?
                    + exec(
                        tx,
                        "DELETE FROM passwordless_tokens \
                         WHERE expires_at <= $1 OR used_at IS NOT NULL",
                        &[&ms(plan.account_tokens_expired_by)],
                    )
                    .await?,
                jobs: exec(
                    tx,
                    "DELETE FROM jobs WHERE finished_at <= $1",
                    &[&ms(plan.jobs_finished_by)],
                )
                .await?,
                mail: exec(
                    tx,
                    "DELETE FROM mail_outbox WHERE coalesce(sent_at, created_at) <= $1",
                    &[&ms(plan.mail_settled_by)],
                )
                .await?,
            };
            (true, report)
        })
    }
}
