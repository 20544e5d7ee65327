//! The mail outbox and the job queue: the statements behind the outbox and
//! job methods of [`LifecycleStore`](latchkey_core::store::LifecycleStore),
//! each run by the caller on the writer (changes) or a reader (reads).
//!
//! A claim is one `UPDATE … RETURNING` over the due rows on the one writer
//! thread, so no other claim can interleave with it.

use latchkey_core::lifecycle::{ClaimedJob, JobRecord, NewJob, OutboxMessage, QueuedMail};
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use rusqlite::{Connection, OptionalExtension, params};

use super::opt_time;
use crate::map_err;

const INSERT_MAIL: &str = "INSERT INTO mail_outbox (id, user_id, template, sealed, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5)";
const INSERT_JOB: &str = "INSERT INTO jobs \
     (id, kind, idempotency_key, payload, run_at, max_attempts, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (idempotency_key) DO NOTHING";
const CLAIM: &str = "UPDATE jobs SET locked_until = ?2, locked_by = ?3, attempts = attempts + 1 \
     WHERE id IN (SELECT id FROM jobs WHERE finished_at IS NULL AND run_at <= ?1 \
                  AND (locked_until IS NULL OR locked_until <= ?1) \
                  ORDER BY run_at, id LIMIT ?4) \
     RETURNING id, kind, idempotency_key, payload, attempts, max_attempts";

/// Queues a mail and the job that sends it; nothing when a job with the
/// same idempotency key exists (false).
pub(crate) fn insert_mail(
    c: &Connection,
    mail: &QueuedMail,
    job: &NewJob,
) -> Result<bool, StoreError> {
    if !insert_job(c, job)? {
        return Ok(false);
    }
    c.prepare_cached(INSERT_MAIL)
        .map_err(map_err)?
        .execute(params![
            mail.id,
            mail.user_id,
            mail.template,
            mail.sealed,
            to_unix_millis(mail.created_at),
        ])
        .map_err(map_err)?;
    Ok(true)
}

/// Queues a job; false when one with the same idempotency key exists.
pub(crate) fn insert_job(c: &Connection, job: &NewJob) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(INSERT_JOB)
        .map_err(map_err)?
        .execute(params![
            job.id,
            job.kind,
            job.idempotency_key,
            job.payload,
            to_unix_millis(job.run_at),
            job.max_attempts,
            to_unix_millis(job.created_at),
        ])
        .map_err(map_err)?;
    Ok(n > 0)
}

pub(super) fn outbox_message(
    c: &Connection,
    id: &str,
) -> Result<Option<OutboxMessage>, StoreError> {
    let raw = c
        .prepare_cached(
            "SELECT id, user_id, template, sealed, created_at, sent_at \
             FROM mail_outbox WHERE id = ?1",
        )
        .map_err(map_err)?
        .query_row(params![id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })
        .optional()
        .map_err(map_err)?;
    raw.map(|(id, user_id, template, sealed, created, sent)| {
        Ok(OutboxMessage {
            id,
            user_id,
            template,
            sealed,
            created_at: from_unix_millis(created)?,
            sent_at: opt_time(sent)?,
        })
    })
    .transpose()
}

pub(super) fn mark_mail_sent(c: &Connection, id: &str, now: i64) -> Result<bool, StoreError> {
    c.prepare_cached(
        "UPDATE mail_outbox SET sent_at = ?2, sealed = NULL WHERE id = ?1 AND sent_at IS NULL",
    )
    .map_err(map_err)?
    .execute(params![id, now])
    .map(|n| n > 0)
    .map_err(map_err)
}

pub(super) fn claim_jobs(
    c: &Connection,
    worker: &str,
    now: i64,
    lease: i64,
    limit: u32,
) -> Result<Vec<ClaimedJob>, StoreError> {
    let mut stmt = c.prepare_cached(CLAIM).map_err(map_err)?;
    let rows = stmt
        .query_map(params![now, lease, worker, limit], |r| {
            Ok(ClaimedJob {
                id: r.get(0)?,
                kind: r.get(1)?,
                idempotency_key: r.get(2)?,
                payload: r.get(3)?,
                attempts: r.get(4)?,
                max_attempts: r.get(5)?,
            })
        })
        .map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub(super) fn complete_job(
    c: &Connection,
    id: &str,
    worker: &str,
    now: i64,
) -> Result<bool, StoreError> {
    c.prepare_cached(
        "UPDATE jobs SET finished_at = ?3, outcome = 'done', payload = x'', \
         locked_until = NULL WHERE id = ?1 AND locked_by = ?2 AND finished_at IS NULL",
    )
    .map_err(map_err)?
    .execute(params![id, worker, now])
    .map(|n| n > 0)
    .map_err(map_err)
}

/// A failed attempt: again at `retry` when given, otherwise finished as
/// failed.
pub(super) fn fail_job(
    c: &Connection,
    id: &str,
    worker: &str,
    error: &str,
    retry: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let n = match retry {
        Some(retry) => c
            .prepare_cached(
                "UPDATE jobs SET run_at = ?4, last_error = ?3, locked_until = NULL, \
                 locked_by = NULL WHERE id = ?1 AND locked_by = ?2 AND finished_at IS NULL",
            )
            .map_err(map_err)?
            .execute(params![id, worker, error, retry]),
        None => c
            .prepare_cached(
                "UPDATE jobs SET finished_at = ?4, outcome = 'failed', last_error = ?3, \
                 payload = x'', locked_until = NULL \
                 WHERE id = ?1 AND locked_by = ?2 AND finished_at IS NULL",
            )
            .map_err(map_err)?
            .execute(params![id, worker, error, now]),
    };
    n.map(|n| n > 0).map_err(map_err)
}

pub(super) fn job(c: &Connection, id: &str) -> Result<Option<JobRecord>, StoreError> {
    let raw = c
        .prepare_cached(
            "SELECT id, kind, attempts, run_at, finished_at, outcome, last_error \
             FROM jobs WHERE id = ?1",
        )
        .map_err(map_err)?
        .query_row(params![id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })
        .optional()
        .map_err(map_err)?;
    raw.map(
        |(id, kind, attempts, run_at, finished, outcome, last_error)| {
            Ok(JobRecord {
                id,
                kind,
                attempts,
                run_at: from_unix_millis(run_at)?,
                finished_at: opt_time(finished)?,
                outcome,
                last_error,
            })
        },
    )
    .transpose()
}
