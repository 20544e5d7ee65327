//! The background job runner's rules: what each job does, retries with
//! exponential backoff, and the periodic sweep.
//!
//! The runner is database-backed and needs no coordinator:
//! - **A job runs once.** It is claimed with one atomic statement (see
//!   [`LifecycleStore::claim_jobs`](crate::store::LifecycleStore::claim_jobs))
//!   that gives it a lease; while the lease runs no other worker, on this node
//!   or another, can claim it. Finishing it needs the lease (a worker whose
//!   lease ran out cannot overwrite its successor's outcome).
//! - **Restart-safe.** A worker that dies leaves a lease that expires; the job
//!   is then claimed again. Nothing is held in memory between attempts.
//! - **Retries** wait `retry_base · 2^(attempt-1)`, capped at `retry_max`,
//!   until the job's `max_attempts`; a permanent failure stops at once.
//! - **Idempotency keys** make enqueueing safe to repeat: the mail of one
//!   outbox row, the sweep of one interval, are each stored once however
//!   many nodes enqueue them.
//! - **Mail is delivered at least once and, barring a crash in the instant
//!   between the server's acceptance and our commit, exactly once**: the
//!   delivery job skips a message already marked sent, and the message keeps
//!   one `Message-ID` across attempts so a receiver can drop a repeat.
//!
//! The loop that calls [`Jobs::run_next`] lives in the server; tests call it
//! directly to run what is due, without sleeping.

use std::sync::Arc;
use tracing::Instrument;

use time::Duration;

use crate::auth::{JOB_MAIL, JOB_RESET};
use crate::error::SharedError;
use crate::id;
use crate::lifecycle::{ClaimedJob, NewJob, SweepCutoffs, SweepReport};
use crate::mail::{MailError, MailTransport};
use crate::services::Services;
use crate::store::StoreError;
use crate::webhooks::{DeliveryRun, JOB_WEBHOOK, WebhookTransport};

/// The job kind of the periodic sweep.
pub const JOB_SWEEP: &str = "sweep";

/// Tuning of the runner.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// How long a claimed job is reserved for its worker.
    pub lease: Duration,
    /// The first retry's delay; each further one doubles it.
    pub retry_base: Duration,
    /// The longest delay between two attempts.
    pub retry_max: Duration,
    /// How often the sweep runs (once per interval across all nodes).
    pub sweep_interval: Duration,
    /// How long ended sessions, finished jobs and sent mail are kept.
    pub retention: Duration,
    /// How long events stay resumable in the event stream.
    pub event_retention: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            lease: Duration::minutes(2),
            retry_base: Duration::seconds(10),
            retry_max: Duration::hours(1),
            sweep_interval: Duration::minutes(5),
            retention: Duration::days(7),
            event_retention: Duration::days(1),
        }
    }
}

impl JobsConfig {
    /// The delay before attempt `attempts + 1`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let delay = self.retry_base.saturating_mul(1_i32 << exp.min(30));
        delay.min(self.retry_max)
    }
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// Nothing was due.
    Idle,
    /// A job ran and finished.
    Done {
        /// Its kind.
        kind: String,
    },
    /// A job failed and will run again.
    Retry {
        /// Its kind.
        kind: String,
    },
    /// A job failed for good.
    Failed {
        /// Its kind.
        kind: String,
    },
}

enum Failure {
    Temporary(String),
    Permanent(String),
    /// Temporary, with its own wait (webhooks: backoff with jitter).
    Later(String, Duration),
}

impl From<SharedError> for Failure {
    fn from(e: SharedError) -> Self {
        Failure::Temporary(e.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Temporary(e.to_string())
    }
}

/// The runner: claims due jobs one at a time and runs them.
pub struct Jobs {
    auth: Arc<Services>,
    transport: Arc<dyn MailTransport>,
    webhooks: Option<Arc<dyn WebhookTransport>>,
    worker: String,
    config: JobsConfig,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("worker", &self.worker)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Jobs {
    /// A runner over the account service, delivering mail with `transport`.
    /// Each runner has its own worker id (leases name it).
    pub fn new(auth: Arc<Services>, transport: Arc<dyn MailTransport>, config: JobsConfig) -> Jobs {
        Jobs {
            auth,
            transport,
            webhooks: None,
            worker: format!("worker-{}", id::new_id()),
            config,
        }
    }

    /// Delivers webhooks through `transport` (without one, webhook jobs
    /// wait for a node that has it).
    #[must_use]
    pub fn with_webhooks(mut self, transport: Arc<dyn WebhookTransport>) -> Jobs {
        self.webhooks = Some(transport);
        self
    }

    /// The runner's configuration.
    pub fn config(&self) -> &JobsConfig {
        &self.config
    }

    /// The account service.
    pub fn auth(&self) -> &Services {
        &self.auth
    }

    /// Claims one due job and runs it to an outcome.
    pub async fn run_next(&self) -> Result<Ran, StoreError> {
        let store = self.auth.store();
        let now = self.auth.clock().now();
        let Some(job) = store
            .claim_jobs(&self.worker, now, now + self.config.lease, 1)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(Ran::Idle);
        };
        let started = std::time::Instant::now();
        let result = self.run(&job).await;
        let now = self.auth.clock().now();
        let kind = job.kind.clone();
        // Errors are kept on the job and logged: no address may ride along
        // (an SMTP refusal often quotes the recipient).
        let result = result.map_err(|f| match f {
            Failure::Temporary(e) => Failure::Temporary(redact_addresses(&e)),
            Failure::Permanent(e) => Failure::Permanent(redact_addresses(&e)),
            Failure::Later(e, wait) => Failure::Later(redact_addresses(&e), wait),
        });
        let ran = match result {
            Ok(()) => {
                store.complete_job(&job.id, &self.worker, now).await?;
                Ran::Done { kind }
            }
            Err(f @ (Failure::Temporary(_) | Failure::Later(..)))
                if job.attempts < job.max_attempts =>
            {
                let (e, wait) = match f {
                    Failure::Later(e, wait) => (e, wait),
                    Failure::Temporary(e) | Failure::Permanent(e) => {
                        (e, self.config.backoff(job.attempts))
                    }
                };
                let retry_at = now + wait;
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, retry_at = %retry_at, "job failed; will retry");
                store
                    .fail_job(&job.id, &self.worker, &e, Some(retry_at), now)
                    .await?;
                Ran::Retry { kind }
            }
            Err(Failure::Temporary(e) | Failure::Permanent(e) | Failure::Later(e, _)) => {
                tracing::error!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed for good");
                store.fail_job(&job.id, &self.worker, &e, None, now).await?;
                Ran::Failed { kind }
            }
        };
        let outcome = match &ran {
            Ran::Done { .. } => "done",
            Ran::Retry { .. } => "retry",
            _ => "failed",
        };
        metrics::counter!("latchkey_jobs_total", "kind" => job.kind.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("latchkey_job_duration_seconds", "kind" => job.kind)
            .record(started.elapsed().as_secs_f64());
        Ok(ran)
    }

    /// Claims one due job and does its work, then neither finishes nor
    /// releases it, as a worker killed at that instant would: the job runs
    /// again once its lease ends. For the tests of what a retry after a
    /// crash does; returns the kind of the job, `None` when none was due.
    pub async fn run_next_and_crash(&self) -> Result<Option<String>, StoreError> {
        let now = self.auth.clock().now();
        let Some(job) = self
            .auth
            .store()
            .claim_jobs(&self.worker, now, now + self.config.lease, 1)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let _ = self.run(&job).await;
        Ok(Some(job.kind))
    }

    /// Runs due jobs until none is left (at most `limit`); returns how many ran.
    pub async fn run_due(&self, limit: usize) -> Result<usize, StoreError> {
        self.fan_out_webhooks().await;
        let mut n = 0;
        while n < limit {
            if self.run_next().await? == Ran::Idle {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    /// Puts new events into the webhook outbox
    /// ([`crate::webhooks::Webhooks::fan_out`]); a failure is logged and
    /// retried at the next poll.
    pub async fn fan_out_webhooks(&self) {
        if self.webhooks.is_none() {
            return;
        }
        if let Err(e) = self.auth.webhooks().fan_out().await {
            tracing::warn!(error = %e, "webhook fan-out failed; will retry");
        }
    }

    /// Enqueues the sweep of the current interval; every node may call this,
    /// the idempotency key keeps it to one sweep per interval. Returns
    /// whether this call stored it.
    pub async fn schedule_sweep(&self) -> Result<bool, StoreError> {
        let now = self.auth.clock().now();
        let interval = self.config.sweep_interval.whole_seconds().max(1);
        let bucket = now.unix_timestamp().div_euclid(interval);
        let job = NewJob {
            id: id::new_id(),
            kind: JOB_SWEEP.into(),
            idempotency_key: format!("sweep:{interval}:{bucket}"),
            payload: Vec::new(),
            run_at: now,
            max_attempts: 3,
            created_at: now,
        };
        self.auth.store().enqueue_job(&job).await
    }

    /// Runs the sweep now: expired sessions, tokens and grace responses,
    /// old jobs and mail, and due deletions. Ended suspensions are not
    /// touched: they are inactive by their end time, and the administrators'
    /// view keeps showing the last one (`active: false`).
    pub async fn sweep(&self) -> Result<(SweepReport, u64), SharedError> {
        let now = self.auth.clock().now();
        let report = self
            .auth
            .store()
            .sweep(
                SweepCutoffs {
                    now,
                    retain_after: now - self.config.retention,
                }
                .plan(),
            )
            .await?;
        let deleted = self.auth.recovery().anonymize_due_users().await?;
        let events = purge_batches(now - self.config.event_retention, 5_000, |before, n| {
            self.auth.store().purge_events(before, n)
        })
        .await?;
        if report != SweepReport::default() || deleted > 0 || events > 0 {
            tracing::info!(
                sessions = report.sessions,
                refresh_tokens = report.refresh_tokens,
                grace_responses = report.grace_responses,
                account_tokens = report.account_tokens,
                jobs = report.jobs,
                mail = report.mail,
                accounts_deleted = deleted,
                events,
                "sweep"
            );
        }
        Ok((report, deleted))
    }

    async fn run(&self, job: &ClaimedJob) -> Result<(), Failure> {
        match job.kind.as_str() {
            JOB_MAIL => self.deliver(job).await,
            JOB_RESET => Ok(self
                .auth
                .recovery()
                .send_password_reset(&job.id, &job.payload)
                .await?),
            crate::passwordless::JOB_PASSWORDLESS => {
                Ok(self.auth.passwordless().send(&job.id, &job.payload).await?)
            }
            JOB_SWEEP => self.sweep().await.map(|_| ()).map_err(Failure::from),
            JOB_WEBHOOK => self.deliver_webhook(job).await,
            // A newer node's job met by an older one during a rolling
            // upgrade: leave it for later rather than burn it.
            other => Err(Failure::Temporary(format!("unknown job kind {other:?}"))),
        }
    }

    async fn deliver_webhook(&self, job: &ClaimedJob) -> Result<(), Failure> {
        let Some(transport) = &self.webhooks else {
            return Err(Failure::Temporary(
                "no webhook transport on this node".into(),
            ));
        };
        let id = String::from_utf8_lossy(&job.payload);
        let run = self
            .auth
            .webhooks()
            .deliver(&id, job.attempts, job.max_attempts, transport.as_ref())
            .instrument(tracing::info_span!(target: crate::SPAN_TARGET, "webhook.deliver"))
            .await?;
        match run {
            DeliveryRun::Done => Ok(()),
            DeliveryRun::Retry(wait, e) => Err(Failure::Later(e, wait)),
            DeliveryRun::GiveUp(e) => Err(Failure::Permanent(e)),
        }
    }

    async fn deliver(&self, job: &ClaimedJob) -> Result<(), Failure> {
        let id = String::from_utf8_lossy(&job.payload).into_owned();
        let store = self.auth.store();
        let Some(message) = store.outbox_message(&id).await? else {
            return Ok(()); // removed with its user's data
        };
        let Some(sealed) = message.sealed.filter(|_| message.sent_at.is_none()) else {
            return Ok(()); // sent already: never twice
        };
        let mail = self
            .auth
            .open_mail(&id, &sealed)
            .map_err(|e| Failure::Permanent(e.to_string()))?;
        let result = self
            .transport
            .send(&mail)
            .instrument(tracing::info_span!(target: crate::SPAN_TARGET, "mail.send"))
            .await;
        let outcome = match &result {
            Ok(()) => "sent",
            Err(MailError::Temporary(_)) => "temporary_failure",
            Err(MailError::Permanent(_)) => "permanent_failure",
        };
        metrics::counter!("latchkey_mail_total", "template" => mail.template.clone(), "outcome" => outcome)
            .increment(1);
        match result {
            Ok(()) => {
                store.mark_mail_sent(&id, self.auth.clock().now()).await?;
                Ok(())
            }
            Err(MailError::Temporary(e)) => Err(Failure::Temporary(e)),
            Err(MailError::Permanent(e)) => Err(Failure::Permanent(e)),
        }
    }
}

/// `text` with every word that contains an `@` replaced, and cut to 500
/// characters.
fn redact_addresses(text: &str) -> String {
    let redacted: Vec<String> = text
        .split(' ')
        .map(|w| {
            if w.contains('@') {
                "<address>".to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect();
    redacted.join(" ").chars().take(500).collect()
}

/// Deletes every event older than `cutoff`, `batch` rows per statement so
/// that no single transaction grows large or holds locks for long. Returns
/// how many were deleted. Stateless and idempotent: safe to run on every
/// node, and to stop and start at any moment.
pub async fn purge_audit_events_older_than(
    store: &dyn crate::store::Store,
    cutoff: time::OffsetDateTime,
    batch: u32,
) -> Result<u64, crate::store::StoreError> {
    purge_batches(cutoff, batch, |before, n| {
        store.purge_audit_events(before, n)
    })
    .await
}

/// Runs `purge(cutoff, batch)` until a call deletes fewer than `batch` rows;
/// returns how many it deleted in all.
async fn purge_batches<F, Fut>(
    cutoff: time::OffsetDateTime,
    batch: u32,
    purge: F,
) -> Result<u64, StoreError>
where
    F: Fn(time::OffsetDateTime, u32) -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let n = purge(cutoff, batch).await?;
        total += n;
        if n < u64::from(batch) {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_lose_their_addresses() {
        assert_eq!(
            redact_addresses(
                "permanent error (550): 5.1.1 <ada@example.com>: Recipient address rejected"
            ),
            "permanent error (550): 5.1.1 <address> Recipient address rejected"
        );
        assert_eq!(redact_addresses(&"x".repeat(900)).len(), 500);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let c = JobsConfig {
            retry_base: Duration::seconds(10),
            retry_max: Duration::minutes(5),
            ..JobsConfig::default()
        };
        for (attempts, secs) in [
            (0, 10),
            (1, 10),
            (2, 20),
            (3, 40),
            (5, 160),
            (6, 300),
            (40, 300),
        ] {
            assert_eq!(
                c.backoff(attempts),
                Duration::seconds(secs),
                "after {attempts}"
            );
        }
    }
}
