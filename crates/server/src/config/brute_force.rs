//! `[brute_force]`: per-account failure counters, delays, lockout and
//! device cookies, with the production refusal to turn them off.

use latchkey_core::abuse::brute_force::BruteForcePolicy;
use serde::Deserialize;

use super::server::Profile;
use super::setting::{Checker, Setting};

/// The `[brute_force]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::flag(
        "brute_force.enabled",
        "LATCHKEY_BRUTE_FORCE_ENABLED",
        true,
        "per-account failure counters, delays and lockout; `false` only for benchmarks (refused in production)",
    ),
    Setting::int(
        "brute_force.free_attempts",
        "LATCHKEY_BRUTE_FORCE_FREE_ATTEMPTS",
        5,
        0,
        100,
        "consecutive failed sign-ins of an account before delays start",
    ),
    Setting::int(
        "brute_force.max_delay_secs",
        "LATCHKEY_BRUTE_FORCE_MAX_DELAY_SECS",
        900,
        1,
        86_400,
        "longest delay between two sign-in attempts of an account",
    ),
    Setting::int(
        "brute_force.lockout_threshold",
        "LATCHKEY_BRUTE_FORCE_LOCKOUT_THRESHOLD",
        100,
        1,
        100,
        "consecutive failures that lock an account (1 to 100)",
    ),
    Setting::int(
        "brute_force.reset_after_secs",
        "LATCHKEY_BRUTE_FORCE_RESET_AFTER_SECS",
        86_400,
        0,
        31_536_000,
        "an unlocked failure count is forgotten after this long without failures (0: never)",
    ),
    Setting::int(
        "brute_force.device_attempts",
        "LATCHKEY_BRUTE_FORCE_DEVICE_ATTEMPTS",
        10,
        1,
        100,
        "failures allowed from a known device before its cookie stops helping",
    ),
    Setting::int(
        "brute_force.device_cookie_days",
        "LATCHKEY_BRUTE_FORCE_DEVICE_COOKIE_DAYS",
        180,
        1,
        3_650,
        "lifetime of device cookies",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    enabled: Option<bool>,
    free_attempts: Option<u64>,
    max_delay_secs: Option<u64>,
    lockout_threshold: Option<u64>,
    reset_after_secs: Option<u64>,
    device_attempts: Option<u64>,
    device_cookie_days: Option<u64>,
}

/// Failed sign-in counters and device cookies.
#[derive(Debug, Clone)]
pub struct BruteForceConfig {
    /// The counters' rules.
    pub policy: BruteForcePolicy,
    /// How long device cookies last.
    pub device_cookie_ttl: time::Duration,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker, profile: Profile) -> BruteForceConfig {
        let enabled = c.flag("brute_force.enabled", self.enabled);
        if !enabled && profile == Profile::Production {
            c.fail(
                "brute_force.enabled",
                Some("false"),
                "production refuses to turn off the sign-in failure counters",
            );
        }
        BruteForceConfig {
            policy: BruteForcePolicy {
                enabled,
                free_attempts: c.int("brute_force.free_attempts", self.free_attempts) as u32,
                max_delay: c.secs("brute_force.max_delay_secs", self.max_delay_secs),
                lockout_threshold: c.int("brute_force.lockout_threshold", self.lockout_threshold)
                    as u32,
                reset_after: c.secs("brute_force.reset_after_secs", self.reset_after_secs),
                device_attempts: c.int("brute_force.device_attempts", self.device_attempts) as u32,
            },
            device_cookie_ttl: c
                .span_days("brute_force.device_cookie_days", self.device_cookie_days),
        }
    }
}
