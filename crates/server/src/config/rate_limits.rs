//! `[rate_limits]`: quotas per class of route, and the local counter budget.

use latchkey_core::abuse::{
    ChallengePolicy, ClassLimits, DEFAULT_API, DEFAULT_LOGIN, DEFAULT_MAIL, DEFAULT_REGISTER,
    DEFAULT_TOKEN, GuardConfig,
};
use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[rate_limits]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::flag(
        "rate_limits.enabled",
        "LATCHKEY_RATE_LIMITS_ENABLED",
        true,
        "rate limits per class of route (off: none at all)",
    ),
    Setting::text(
        "rate_limits.login",
        "LATCHKEY_RATE_LIMITS_LOGIN",
        DEFAULT_LOGIN,
        "quotas of sign-in endpoints by ip, account and ip_account",
    ),
    Setting::text(
        "rate_limits.register",
        "LATCHKEY_RATE_LIMITS_REGISTER",
        DEFAULT_REGISTER,
        "quotas of sign-up",
    ),
    Setting::text(
        "rate_limits.mail",
        "LATCHKEY_RATE_LIMITS_MAIL",
        DEFAULT_MAIL,
        "quotas of endpoints that send mail",
    ),
    Setting::text(
        "rate_limits.token",
        "LATCHKEY_RATE_LIMITS_TOKEN",
        DEFAULT_TOKEN,
        "quotas of token endpoints",
    ),
    Setting::text(
        "rate_limits.api",
        "LATCHKEY_RATE_LIMITS_API",
        DEFAULT_API,
        "quotas of everything else",
    ),
    Setting::int(
        "rate_limits.max_keys",
        "LATCHKEY_RATE_LIMITS_MAX_KEYS",
        100_000,
        1_000,
        100_000_000,
        "counters kept in memory at most",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    enabled: Option<bool>,
    login: Option<String>,
    register: Option<String>,
    mail: Option<String>,
    token: Option<String>,
    api: Option<String>,
    max_keys: Option<u64>,
}

/// Rate limits per class of route.
#[derive(Debug, Clone)]
pub struct RateLimitsConfig {
    /// Off: no rate limits at all.
    pub enabled: bool,
    /// Login-class quotas.
    pub login: ClassLimits,
    /// Register-class quotas.
    pub register: ClassLimits,
    /// Mail-class quotas.
    pub mail: ClassLimits,
    /// Token-class quotas.
    pub token: ClassLimits,
    /// Everything else.
    pub api: ClassLimits,
    /// Keys the local limiter holds at most.
    pub max_keys: usize,
}

impl RateLimitsConfig {
    /// The guard's configuration: these quotas with `challenge`.
    pub fn guard(&self, challenge: &ChallengePolicy) -> GuardConfig {
        GuardConfig {
            rate_limits: self.enabled,
            login: self.login,
            register: self.register,
            mail: self.mail,
            token: self.token,
            api: self.api,
            challenge: challenge.clone(),
        }
    }
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> RateLimitsConfig {
        RateLimitsConfig {
            enabled: c.flag("rate_limits.enabled", self.enabled),
            login: class(c, "rate_limits.login", self.login),
            register: class(c, "rate_limits.register", self.register),
            mail: class(c, "rate_limits.mail", self.mail),
            token: class(c, "rate_limits.token", self.token),
            api: class(c, "rate_limits.api", self.api),
            max_keys: c.int("rate_limits.max_keys", self.max_keys) as usize,
        }
    }
}

fn class(c: &mut Checker, key: &'static str, raw: Option<String>) -> ClassLimits {
    let text = c.text(key, raw);
    match text.parse::<ClassLimits>() {
        Ok(limits) => {
            c.show_str(key, &limits.to_string());
            limits
        }
        Err(e) => {
            c.fail(
                key,
                Some(&text),
                format!(
                    "{e}; expected e.g. `ip=20/min, account=30/min, ip_account=10/min` or `off`"
                ),
            );
            ClassLimits::default()
        }
    }
}
