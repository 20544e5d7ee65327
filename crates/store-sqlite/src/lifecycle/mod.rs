//! [`LifecycleStore`] on SQLite: account tokens, account state, deletion
//! and the sweep here; the mail outbox and the job queue in [`queue`].
//!
//! Every write runs on the one writer thread, so job claims are serialized
//! by construction: a claim is one `UPDATE … RETURNING` over the due rows,
//! and no other claim can interleave with it. Multi-row changes run in one
//! `BEGIN IMMEDIATE` transaction.

mod queue;

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::lifecycle::{
    AccountState, AccountToken, ClaimedJob, JobRecord, NewJob, OutboxMessage, QueuedMail, Redeemed,
    Redemption, RedemptionWrite, SweepPlan, SweepReport, TokenOwner, TokenPurpose,
};
use latchkey_core::store::{LifecycleStore, StoreError, from_unix_millis, to_unix_millis};
use latchkey_core::user::User;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::credentials::void_tokens;
use crate::users::insert_user;
use crate::{SqliteStore, map_err};
pub(crate) use queue::{insert_job, insert_mail};

const INSERT_TOKEN: &str = "INSERT INTO account_tokens \
     (token_hash, user_id, purpose, email, created_at, expires_at, used_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const SUPERSEDE_TOKENS: &str = "UPDATE account_tokens SET used_at = ?3 \
     WHERE user_id = ?1 AND purpose = ?2 AND used_at IS NULL";
const TOKEN_BY_HASH: &str = "SELECT token_hash, user_id, purpose, email, created_at, expires_at, \
     used_at FROM account_tokens WHERE token_hash = ?1";
const MARK_TOKEN_USED: &str = "UPDATE account_tokens SET used_at = ?2 WHERE token_hash = ?1";
const OWNER: &str = "SELECT email, email_normalized, deletion_due_at IS NOT NULL FROM users \
     WHERE id = ?1 AND deleted_at IS NULL";
const REVOKE_ALL: &str = "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 \
     WHERE user_id = ?1 AND revoked_at IS NULL AND id IS NOT ?4";
const STATE: &str = "SELECT deactivated_at, deletion_due_at, deleted_at FROM users WHERE id = ?1";

fn token_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(AccountToken, String, i64, i64, Option<i64>)> {
    Ok((
        AccountToken {
            token_hash: r.get(0)?,
            user_id: r.get(1)?,
            purpose: TokenPurpose::VerifyEmail, // replaced by the caller
            email: r.get(3)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH,
            used_at: None,
        },
        r.get(2)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn insert_token(c: &Connection, t: &AccountToken) -> Result<(), StoreError> {
    c.prepare_cached(SUPERSEDE_TOKENS)
        .map_err(map_err)?
        .execute(params![
            t.user_id,
            t.purpose.as_str(),
            to_unix_millis(t.created_at)
        ])
        .map_err(map_err)?;
    c.prepare_cached(INSERT_TOKEN)
        .map_err(map_err)?
        .execute(params![
            t.token_hash,
            t.user_id,
            t.purpose.as_str(),
            t.email,
            to_unix_millis(t.created_at),
            to_unix_millis(t.expires_at),
            t.used_at.map(to_unix_millis),
        ])
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn revoke_all(
    c: &Connection,
    user_id: &str,
    keep: Option<&str>,
    now: i64,
    reason: &str,
) -> Result<u64, StoreError> {
    let n = c
        .prepare_cached(REVOKE_ALL)
        .map_err(map_err)?
        .execute(params![user_id, now, reason, keep])
        .map_err(map_err)?;
    Ok(n as u64)
}

pub(crate) fn immediate(c: &mut Connection) -> Result<rusqlite::Transaction<'_>, StoreError> {
    c.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)
}

fn opt_time(ms: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    ms.map(from_unix_millis).transpose()
}

/// An account token by hash, whatever its state.
fn token_by_hash(c: &Connection, hash: &str) -> Result<Option<AccountToken>, StoreError> {
    let Some((mut t, purpose, created, expires, used)) = c
        .prepare_cached(TOKEN_BY_HASH)
        .map_err(map_err)?
        .query_row(params![hash], token_row)
        .optional()
        .map_err(map_err)?
    else {
        return Ok(None);
    };
    t.purpose = TokenPurpose::parse(&purpose).ok_or_else(|| {
        StoreError::Backend(format!("account token with unknown purpose {purpose:?}"))
    })?;
    t.created_at = from_unix_millis(created)?;
    t.expires_at = from_unix_millis(expires)?;
    t.used_at = opt_time(used)?;
    Ok(Some(t))
}

/// Reads the token and its owner, lets core decide, and executes the
/// decision, in one `IMMEDIATE` transaction.
fn redeem(
    c: &mut Connection,
    hash: &str,
    purpose: TokenPurpose,
    action: &Redemption,
    notice: Option<&(QueuedMail, NewJob)>,
    now: OffsetDateTime,
    event: &AuditEvent,
) -> Result<Option<Redeemed>, StoreError> {
    let tx = immediate(c)?;
    let Some(token) = token_by_hash(&tx, hash)? else {
        return Ok(None);
    };
    let owner = tx
        .prepare_cached(OWNER)
        .map_err(map_err)?
        .query_row(params![token.user_id], |r| {
            Ok(TokenOwner {
                email: r.get(0)?,
                email_normalized: r.get(1)?,
                deletion_pending: r.get(2)?,
            })
        })
        .optional()
        .map_err(map_err)?;
    // A refusal returns without commit: nothing was written.
    let (Ok(write), Some(owner)) = (action.decide(&token, purpose, owner.as_ref(), now), &owner)
    else {
        return Ok(None);
    };
    let (user_id, now) = (token.user_id.as_str(), to_unix_millis(now));
    tx.prepare_cached(MARK_TOKEN_USED)
        .map_err(map_err)?
        .execute(params![hash, now])
        .map_err(map_err)?;
    match write {
        RedemptionWrite::VerifyEmail => {
            tx.execute(
                "UPDATE users SET email_verified = 1, updated_at = ?2 WHERE id = ?1",
                params![user_id, now],
            )
            .map_err(map_err)?;
        }
        RedemptionWrite::ResetPassword { password_hash } => {
            tx.execute(
                "UPDATE users SET password_hash = ?2, email_verified = 1, updated_at = ?3 \
                 WHERE id = ?1",
                params![user_id, password_hash, now],
            )
            .map_err(map_err)?;
            void_tokens(&tx, user_id, now)?;
            revoke_all(&tx, user_id, None, now, "password_reset")?;
        }
        RedemptionWrite::ChangeEmail {
            email,
            email_normalized,
        } => {
            tx.execute(
                "UPDATE users SET email = ?2, email_normalized = ?3, email_verified = 1, \
                 updated_at = ?4 WHERE id = ?1",
                params![user_id, email, email_normalized, now],
            )
            .map_err(map_err)?;
            void_tokens(&tx, user_id, now)?;
        }
        RedemptionWrite::CancelDeletion => {
            tx.execute(
                "UPDATE users SET deletion_due_at = NULL, updated_at = ?2 WHERE id = ?1",
                params![user_id, now],
            )
            .map_err(map_err)?;
        }
    }
    if let Some((mail, job)) = notice {
        insert_mail(&tx, mail, job)?;
    }
    insert_event(&tx, event)?;
    tx.commit().map_err(map_err)?;
    Ok(Some(Redeemed {
        user_id: token.user_id.clone(),
        previous_email: owner.email.clone(),
    }))
}

fn anonymize(
    c: &mut Connection,
    user_id: &str,
    now: i64,
    event: &AuditEvent,
) -> Result<bool, StoreError> {
    let tx = immediate(c)?;
    let n = tx
        .execute(
            "UPDATE users SET email = '', email_normalized = 'deleted:' || id, \
             email_verified = 0, username = NULL, username_normalized = NULL, name = NULL, \
             password_hash = NULL, suspended_at = NULL, suspended_until = NULL, \
             suspension_reason = NULL, deactivated_at = NULL, deletion_due_at = NULL, deleted_at = ?2, updated_at = ?2, \
             locale = NULL \
             WHERE id = ?1 AND deleted_at IS NULL AND deletion_due_at <= ?2",
            params![user_id, now],
        )
        .map_err(map_err)?;
    if n == 0 {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM sessions WHERE user_id = ?1",
        "DELETE FROM account_tokens WHERE user_id = ?1",
        "DELETE FROM mail_outbox WHERE user_id = ?1",
        "DELETE FROM user_roles WHERE user_id = ?1",
        "DELETE FROM login_failures WHERE key = 'user:' || ?1",
        "DELETE FROM mfa_totp WHERE user_id = ?1",
        "DELETE FROM mfa_backup_codes WHERE user_id = ?1",
        "DELETE FROM mfa_challenges WHERE user_id = ?1",
        "DELETE FROM identities WHERE user_id = ?1",
    ] {
        tx.execute(sql, params![user_id]).map_err(map_err)?;
    }
    insert_event(&tx, event)?;
    tx.commit().map_err(map_err)?;
    Ok(true)
}

/// Runs core's [`SweepPlan`], one statement per kind of row, each the SQL
/// form of the plan's predicate.
fn sweep(c: &mut Connection, plan: SweepPlan) -> Result<SweepReport, StoreError> {
    let ms = to_unix_millis;
    let tx = immediate(c)?;
    let run = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<u64, StoreError> {
        tx.execute(sql, p).map(|n| n as u64).map_err(map_err)
    };
    let report = SweepReport {
        sessions: run(
            "DELETE FROM sessions WHERE coalesce(revoked_at, min(expires_at, idle_expires_at)) <= ?1",
            &[&ms(plan.sessions_ended_by)],
        )?,
        refresh_tokens: run(
            "DELETE FROM refresh_tokens WHERE expires_at <= ?1",
            &[&ms(plan.refresh_tokens_expired_by)],
        )?,
        grace_responses: run(
            "UPDATE refresh_tokens SET successor_sealed = NULL \
             WHERE successor_sealed IS NOT NULL AND grace_until <= ?1",
            &[&ms(plan.grace_ended_by)],
        )?,
        account_tokens: run(
            "DELETE FROM account_tokens WHERE expires_at <= ?1 OR used_at IS NOT NULL",
            &[&ms(plan.account_tokens_expired_by)],
        )? + run(
            "DELETE FROM passwordless_tokens WHERE expires_at <= ?1 OR used_at IS NOT NULL",
            &[&ms(plan.account_tokens_expired_by)],
        )?,
        jobs: run(
            "DELETE FROM jobs WHERE finished_at <= ?1",
            &[&ms(plan.jobs_finished_by)],
        )?,
        mail: run(
            "DELETE FROM mail_outbox WHERE coalesce(sent_at, created_at) <= ?1",
            &[&ms(plan.mail_settled_by)],
        )?,
    };
    tx.commit().map_err(map_err)?;
    Ok(report)
}

#[async_trait]
impl LifecycleStore for SqliteStore {
    async fn insert_account_token(
        &self,
        token: &AccountToken,
        mail: &QueuedMail,
        job: &NewJob,
        notice: Option<(&QueuedMail, &NewJob)>,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let (token, mail, job) = (token.clone(), mail.clone(), job.clone());
        let notice = notice.map(|(m, j)| (m.clone(), j.clone()));
        let event = event.cloned();
        self.write(move |c| {
            let tx = immediate(c)?;
            // first the delivery job: its key says whether this was made before
            if !insert_mail(&tx, &mail, &job)? {
                return Ok(false); // rolls back (nothing was written)
            }
            insert_token(&tx, &token)?;
            if let Some((m, j)) = &notice {
                insert_mail(&tx, m, j)?;
            }
            if let Some(e) = &event {
                insert_event(&tx, e)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }

    async fn register_user(
        &self,
        user: &User,
        token: &AccountToken,
        mail: &QueuedMail,
        job: &NewJob,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (user, token, mail, job) = (user.clone(), token.clone(), mail.clone(), job.clone());
        let event = event.clone();
        self.write(move |c| {
            let tx = immediate(c)?;
            insert_user(&tx, &user)?;
            insert_token(&tx, &token)?;
            insert_mail(&tx, &mail, &job)?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn account_token(&self, hash: &str) -> Result<Option<AccountToken>, StoreError> {
        let hash = hash.to_owned();
        self.read(move |c| token_by_hash(c, &hash)).await
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
        let (hash, action, event) = (hash.to_owned(), action.clone(), event.clone());
        let notice = notice.map(|(m, j)| (m.clone(), j.clone()));
        self.write(move |c| redeem(c, &hash, purpose, &action, notice.as_ref(), now, &event))
            .await
    }

    async fn account_state(&self, user_id: &str) -> Result<Option<AccountState>, StoreError> {
        let id = user_id.to_owned();
        self.read(move |c| {
            let raw = c
                .prepare_cached(STATE)
                .map_err(map_err)?
                .query_row(params![id], |r| {
                    Ok((
                        r.get::<_, Option<i64>>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                })
                .optional()
                .map_err(map_err)?;
            raw.map(|(deactivated, due, deleted)| {
                Ok(AccountState {
                    deactivated_at: opt_time(deactivated)?,
                    deletion_due_at: opt_time(due)?,
                    deleted_at: opt_time(deleted)?,
                })
            })
            .transpose()
        })
        .await
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
        let (id, hash, event) = (user_id.to_owned(), password_hash.to_owned(), event.clone());
        let keep = keep.map(str::to_owned);
        let notice = notice.map(|(m, j)| (m.clone(), j.clone()));
        let now = to_unix_millis(now);
        self.write(move |c| {
            let tx = immediate(c)?;
            let n = tx
                .execute(
                    "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, hash, now],
                )
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let ended = revoke_all(&tx, &id, keep.as_deref(), now, "password_changed")?;
            void_tokens(&tx, &id, now)?;
            if let Some((mail, job)) = &notice {
                insert_mail(&tx, mail, job)?;
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(ended)
        })
        .await
    }

    async fn set_session_auth_time(
        &self,
        session_id: &str,
        auth_time: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (id, t) = (session_id.to_owned(), to_unix_millis(auth_time));
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE sessions SET auth_time = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            )
            .map_err(map_err)?
            .execute(params![id, t])
            .map(|n| n > 0)
            .map_err(map_err)
        })
        .await
    }

    async fn device_seen(
        &self,
        user_id: &str,
        device_label: Option<&str>,
        ip: Option<&str>,
    ) -> Result<(bool, bool), StoreError> {
        let id = user_id.to_owned();
        let (label, ip) = (device_label.map(str::to_owned), ip.map(str::to_owned));
        self.read(move |c| {
            c.prepare_cached(
                "SELECT count(*), count(*) FILTER (WHERE device_label IS ?2 AND ip IS ?3) \
                 FROM sessions WHERE user_id = ?1",
            )
            .map_err(map_err)?
            .query_row(params![id, label, ip], |r| {
                Ok((r.get::<_, i64>(0)? > 0, r.get::<_, i64>(1)? > 0))
            })
            .map_err(map_err)
        })
        .await
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
        let id = user_id.to_owned();
        let (cancel, mail, job) = (cancel.clone(), mail.clone(), job.clone());
        let event = event.clone();
        let (due, now) = (to_unix_millis(cancel.expires_at), to_unix_millis(now));
        self.write(move |c| {
            let tx = immediate(c)?;
            let n = tx
                .execute(
                    "UPDATE users SET deletion_due_at = ?2, updated_at = ?3 \
                     WHERE id = ?1 AND deleted_at IS NULL",
                    params![id, due, now],
                )
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            revoke_all(&tx, &id, None, now, "deletion_requested")?;
            void_tokens(&tx, &id, now)?;
            insert_token(&tx, &cancel)?;
            insert_mail(&tx, &mail, &job)?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn set_deactivated(
        &self,
        user_id: &str,
        at: Option<OffsetDateTime>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (id, event) = (user_id.to_owned(), event.clone());
        let at = at.map(to_unix_millis);
        self.write(move |c| {
            let tx = immediate(c)?;
            let n = tx
                .execute(
                    "UPDATE users SET deactivated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                    params![id, at],
                )
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(at) = at {
                revoke_all(&tx, &id, None, at, "deactivated")?;
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn deletions_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let now = to_unix_millis(now);
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id FROM users WHERE deletion_due_at <= ?1 AND deleted_at IS NULL \
                     ORDER BY deletion_due_at, id LIMIT ?2",
                )
                .map_err(map_err)?;
            let rows = stmt
                .query_map(params![now, limit], |r| r.get::<_, String>(0))
                .map_err(map_err)?;
            rows.collect::<Result<_, _>>().map_err(map_err)
        })
        .await
    }

    async fn anonymize_user(
        &self,
        user_id: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let (id, now, event) = (user_id.to_owned(), to_unix_millis(now), event.clone());
        self.write(move |c| {
            let erased = anonymize(c, &id, now, &event)?;
            crate::erase_traces(c);
            Ok(erased)
        })
        .await
    }

    async fn enqueue_mail(&self, mail: &QueuedMail, job: &NewJob) -> Result<bool, StoreError> {
        let (mail, job) = (mail.clone(), job.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            let stored = insert_mail(&tx, &mail, &job)?;
            tx.commit().map_err(map_err)?;
            Ok(stored)
        })
        .await
    }

    async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| queue::outbox_message(c, &id)).await
    }

    async fn mark_mail_sent(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let (id, now) = (id.to_owned(), to_unix_millis(now));
        self.write(move |c| queue::mark_mail_sent(c, &id, now))
            .await
    }

    async fn enqueue_job(&self, job: &NewJob) -> Result<bool, StoreError> {
        let job = job.clone();
        self.write(move |c| insert_job(c, &job)).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let worker = worker.to_owned();
        let (now, lease) = (to_unix_millis(now), to_unix_millis(lease_until));
        self.write(move |c| queue::claim_jobs(c, &worker, now, lease, limit))
            .await
    }

    async fn complete_job(
        &self,
        id: &str,
        worker: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (id, worker, now) = (id.to_owned(), worker.to_owned(), to_unix_millis(now));
        self.write(move |c| queue::complete_job(c, &id, &worker, now))
            .await
    }

    async fn fail_job(
        &self,
        id: &str,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (id, worker, error) = (id.to_owned(), worker.to_owned(), error.to_owned());
        let (retry, now) = (retry_at.map(to_unix_millis), to_unix_millis(now));
        self.write(move |c| queue::fail_job(c, &id, &worker, &error, retry, now))
            .await
    }

    async fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| queue::job(c, &id)).await
    }

    async fn sweep(&self, plan: SweepPlan) -> Result<SweepReport, StoreError> {
        self.write(move |c| sweep(c, plan)).await
    }
}
