//! `[jobs]`: the background job runner's polling, retries, sweep and retention.

use std::time::Duration;

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[jobs]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::int(
        "jobs.poll_interval_ms",
        "LATCHKEY_JOBS_POLL_INTERVAL_MS",
        1_000,
        50,
        60_000,
        "how often each node looks for due background jobs (work queued on the node itself starts at once)",
    ),
    Setting::int(
        "jobs.lease_secs",
        "LATCHKEY_JOBS_LEASE_SECS",
        120,
        2,
        3_600,
        "how long a claimed job is reserved for its worker; a job whose node died runs again once it ends (keep it longer than a job takes)",
    ),
    Setting::int(
        "jobs.retry_base_secs",
        "LATCHKEY_JOBS_RETRY_BASE_SECS",
        10,
        1,
        3_600,
        "delay before the first retry of a failed job; doubles with each further attempt",
    ),
    Setting::int(
        "jobs.retry_max_secs",
        "LATCHKEY_JOBS_RETRY_MAX_SECS",
        3_600,
        1,
        86_400,
        "longest delay between two attempts of a job",
    ),
    Setting::int(
        "jobs.sweep_interval_secs",
        "LATCHKEY_JOBS_SWEEP_INTERVAL_SECS",
        300,
        10,
        86_400,
        "how often expired data is removed and due deletions carried out",
    ),
    Setting::int(
        "jobs.retention_days",
        "LATCHKEY_JOBS_RETENTION_DAYS",
        7,
        1,
        365,
        "how long ended sessions, finished jobs and sent mail records are kept",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    poll_interval_ms: Option<u64>,
    lease_secs: Option<u64>,
    retry_base_secs: Option<u64>,
    retry_max_secs: Option<u64>,
    sweep_interval_secs: Option<u64>,
    retention_days: Option<u64>,
}

/// Background job settings.
#[derive(Debug, Clone)]
pub struct JobsSettings {
    /// Poll period.
    pub poll_interval: Duration,
    /// How long a claimed job is reserved for its worker.
    pub lease: time::Duration,
    /// First retry delay.
    pub retry_base: time::Duration,
    /// Longest retry delay.
    pub retry_max: time::Duration,
    /// Sweep period.
    pub sweep_interval: time::Duration,
    /// Retention of ended sessions, finished jobs and sent mail.
    pub retention: time::Duration,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> JobsSettings {
        JobsSettings {
            poll_interval: c.millis("jobs.poll_interval_ms", self.poll_interval_ms),
            lease: c.span_secs("jobs.lease_secs", self.lease_secs),
            retry_base: c.span_secs("jobs.retry_base_secs", self.retry_base_secs),
            retry_max: c.span_secs("jobs.retry_max_secs", self.retry_max_secs),
            sweep_interval: c.span_secs("jobs.sweep_interval_secs", self.sweep_interval_secs),
            retention: c.span_days("jobs.retention_days", self.retention_days),
        }
    }
}
