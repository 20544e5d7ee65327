//! `[sessions]`: absolute and idle lifetimes.

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[sessions]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::int(
        "sessions.ttl_secs",
        "LATCHKEY_SESSIONS_TTL_SECS",
        2_592_000,
        60,
        31_536_000,
        "absolute lifetime of a session (30 days)",
    ),
    Setting::int(
        "sessions.idle_ttl_secs",
        "LATCHKEY_SESSIONS_IDLE_TTL_SECS",
        604_800,
        60,
        31_536_000,
        "a session unused for this long ends (7 days)",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    ttl_secs: Option<u64>,
    idle_ttl_secs: Option<u64>,
}

/// Session lifetimes.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Absolute lifetime.
    pub ttl: time::Duration,
    /// Idle lifetime (never longer than the absolute one).
    pub idle_ttl: time::Duration,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> SessionConfig {
        let ttl = c.span_secs("sessions.ttl_secs", self.ttl_secs);
        let idle_ttl = c
            .span_secs("sessions.idle_ttl_secs", self.idle_ttl_secs)
            .min(ttl);
        c.show(
            "sessions.idle_ttl_secs",
            idle_ttl.whole_seconds().to_string(),
        );
        SessionConfig { ttl, idle_ttl }
    }
}
