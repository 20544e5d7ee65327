//! `[challenge]`: proof-of-work under a surge of failures or sign-ups.

use latchkey_core::abuse::ChallengePolicy;
use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[challenge]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::flag(
        "challenge.enabled",
        "LATCHKEY_CHALLENGE_ENABLED",
        true,
        "demand proof-of-work under a surge of failures or sign-ups",
    ),
    Setting::int(
        "challenge.ip_threshold",
        "LATCHKEY_CHALLENGE_IP_THRESHOLD",
        10,
        1,
        1_000_000,
        "failed sign-ins plus sign-ups from one IP in 10 minutes that trigger challenges for it",
    ),
    Setting::int(
        "challenge.global_threshold",
        "LATCHKEY_CHALLENGE_GLOBAL_THRESHOLD",
        300,
        1,
        100_000_000,
        "failed sign-ins plus sign-ups server-wide per minute that trigger challenges for all",
    ),
    Setting::int(
        "challenge.base_difficulty",
        "LATCHKEY_CHALLENGE_BASE_DIFFICULTY",
        16,
        1,
        26,
        "leading zero bits at the threshold (one more per doubling of the pressure)",
    ),
    Setting::int(
        "challenge.max_difficulty",
        "LATCHKEY_CHALLENGE_MAX_DIFFICULTY",
        22,
        1,
        28,
        "the most bits ever demanded",
    ),
    Setting::int(
        "challenge.ttl_secs",
        "LATCHKEY_CHALLENGE_TTL_SECS",
        300,
        30,
        3_600,
        "how long a puzzle may be solved for",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    enabled: Option<bool>,
    ip_threshold: Option<u64>,
    global_threshold: Option<u64>,
    base_difficulty: Option<u64>,
    max_difficulty: Option<u64>,
    ttl_secs: Option<u64>,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> ChallengePolicy {
        let base = c.int("challenge.base_difficulty", self.base_difficulty) as u8;
        let max = c.int("challenge.max_difficulty", self.max_difficulty) as u8;
        if max < base {
            c.fail(
                "challenge.max_difficulty",
                Some(&max.to_string()),
                format!("must be at least challenge.base_difficulty ({base})"),
            );
        }
        ChallengePolicy {
            enabled: c.flag("challenge.enabled", self.enabled),
            ip_threshold: c.int("challenge.ip_threshold", self.ip_threshold) as u32,
            global_threshold: c.int("challenge.global_threshold", self.global_threshold) as u32,
            base_difficulty: base,
            max_difficulty: max.max(base),
            ttl: c.secs("challenge.ttl_secs", self.ttl_secs),
        }
    }
}
