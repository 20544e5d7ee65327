//! The abuse-protection settings: rate limits, brute force, challenges,
//! Redis, proxies, IP lists, CORS, and the password rules beyond length.
//! Raw forms, validation and `config show` values; the keys are listed in
//! [`super::SETTINGS`] like every other setting.

use std::path::PathBuf;
use std::time::Duration;

use latchkey_core::abuse::brute_force::BruteForcePolicy;
use latchkey_core::abuse::{
    ChallengePolicy, ClassLimits, DEFAULT_API, DEFAULT_LOGIN, DEFAULT_MAIL, DEFAULT_REGISTER,
    DEFAULT_TOKEN, GuardConfig,
};
use latchkey_http::{CorsPolicy, IpList};
use serde::Deserialize;

use super::Checker;

/// A list given as a TOML array or as one comma-separated string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum List {
    One(String),
    Many(Vec<String>),
}

impl List {
    fn joined(&self) -> String {
        match self {
            List::One(s) => s.clone(),
            List::Many(v) => v.join(", "),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimits {
    enabled: Option<bool>,
    login: Option<String>,
    register: Option<String>,
    mail: Option<String>,
    token: Option<String>,
    api: Option<String>,
    max_keys: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBruteForce {
    enabled: Option<bool>,
    free_attempts: Option<u64>,
    max_delay_secs: Option<u64>,
    lockout_threshold: Option<u64>,
    reset_after_secs: Option<u64>,
    device_attempts: Option<u64>,
    device_cookie_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChallenge {
    enabled: Option<bool>,
    ip_threshold: Option<u64>,
    global_threshold: Option<u64>,
    base_difficulty: Option<u64>,
    max_difficulty: Option<u64>,
    ttl_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRedis {
    url: Option<String>,
    key_prefix: Option<String>,
    timeout_ms: Option<u64>,
    ca_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProxies {
    trusted: Option<List>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccess {
    allow: Option<List>,
    deny: Option<List>,
    admin_allow: Option<List>,
    admin_deny: Option<List>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCors {
    allowed_origins: Option<List>,
    allow_credentials: Option<bool>,
    max_age_secs: Option<u64>,
}

/// The raw abuse sections, as parsed from the file and environment.
#[derive(Debug)]
pub(super) struct RawAbuse<'a> {
    pub rate_limits: &'a RawRateLimits,
    pub brute_force: &'a RawBruteForce,
    pub challenge: &'a RawChallenge,
    pub redis: &'a RawRedis,
    pub proxies: &'a RawProxies,
    pub access: &'a RawAccess,
    pub cors: &'a RawCors,
    pub reject_common: Option<bool>,
    pub breached_filter: Option<&'a str>,
    pub min_strength: Option<u64>,
    pub hsts_max_age_secs: Option<u64>,
}

/// Redis for shared counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// The URL as given (may hold a password: never print it unredacted).
    pub url: String,
    /// Key prefix.
    pub key_prefix: String,
    /// Connect and command timeout.
    pub timeout: Duration,
    /// CAs trusted for `rediss://` instead of the system's.
    pub ca_file: Option<PathBuf>,
}

impl RedisSettings {
    /// The counters' settings (checked when the configuration is loaded).
    pub fn counters(&self) -> Result<latchkey_redis::RedisConfig, (&'static str, String)> {
        let config =
            latchkey_redis::RedisConfig::from_url(&self.url, &self.key_prefix, self.timeout)
                .map_err(|e| ("redis.url", e))?;
        match &self.ca_file {
            Some(path) => config.with_ca_file(path).map_err(|e| ("redis.ca_file", e)),
            None => Ok(config),
        }
    }
}

/// The validated abuse-protection settings.
#[derive(Debug, Clone)]
pub struct AbuseConfig {
    /// Rate limits and challenges.
    pub guard: GuardConfig,
    /// Keys the local limiter holds at most.
    pub max_keys: usize,
    /// Failed sign-in counters.
    pub brute_force: BruteForcePolicy,
    /// How long device cookies last.
    pub device_cookie_ttl: Duration,
    /// Shared counters, if configured.
    pub redis: Option<RedisSettings>,
    /// Trusted proxies.
    pub trusted_proxies: IpList,
    /// Server-wide allow list.
    pub allow: IpList,
    /// Server-wide deny list.
    pub deny: IpList,
    /// Admin allow list.
    pub admin_allow: IpList,
    /// Admin deny list.
    pub admin_deny: IpList,
    /// CORS.
    pub cors: CorsPolicy,
    /// HSTS max-age (sent only under an https public URL; 0: never).
    pub hsts_max_age_secs: u64,
    /// Refuse the bundled common passwords.
    pub reject_common: bool,
    /// A breach-corpus Bloom filter.
    pub breached_filter: Option<PathBuf>,
    /// Lowest strength score accepted (0: no estimate).
    pub min_strength: u8,
}

fn class(c: &mut Checker, key: &'static str, raw: Option<&String>, default: &str) -> ClassLimits {
    let text = raw.map_or(default, String::as_str);
    text.parse().unwrap_or_else(|e: String| {
        c.fail(
            key,
            Some(text),
            format!("{e}; expected e.g. `ip=20/min, account=30/min, ip_account=10/min` or `off`"),
        );
        default.parse().unwrap_or_default()
    })
}

fn list(c: &mut Checker, key: &'static str, raw: Option<&List>) -> IpList {
    let Some(raw) = raw else {
        return IpList::default();
    };
    let text = raw.joined();
    text.parse().unwrap_or_else(|e: String| {
        c.fail(key, Some(&text), e);
        IpList::default()
    })
}

/// A browser origin: `scheme://host[:port]`, nothing more.
fn valid_origin(o: &str) -> bool {
    let Ok(u) = url::Url::parse(o) else {
        return false;
    };
    matches!(u.scheme(), "http" | "https")
        && u.host_str().is_some()
        && u.path() == "/"
        && !o.ends_with('/')
        && u.query().is_none()
        && u.username().is_empty()
        && u.origin().ascii_serialization() == o.to_ascii_lowercase()
}

pub(super) fn validate(c: &mut Checker, raw: RawAbuse<'_>) -> AbuseConfig {
    let r = raw.rate_limits;
    let ch = raw.challenge;
    let base = c.range("challenge.base_difficulty", ch.base_difficulty, 16, 1, 26) as u8;
    let max = c.range("challenge.max_difficulty", ch.max_difficulty, 22, 1, 28) as u8;
    if max < base {
        c.fail(
            "challenge.max_difficulty",
            Some(&max.to_string()),
            format!("must be at least challenge.base_difficulty ({base})"),
        );
    }
    let guard = GuardConfig {
        rate_limits: r.enabled.unwrap_or(true),
        login: class(c, "rate_limits.login", r.login.as_ref(), DEFAULT_LOGIN),
        register: class(
            c,
            "rate_limits.register",
            r.register.as_ref(),
            DEFAULT_REGISTER,
        ),
        mail: class(c, "rate_limits.mail", r.mail.as_ref(), DEFAULT_MAIL),
        token: class(c, "rate_limits.token", r.token.as_ref(), DEFAULT_TOKEN),
        api: class(c, "rate_limits.api", r.api.as_ref(), DEFAULT_API),
        challenge: ChallengePolicy {
            enabled: ch.enabled.unwrap_or(true),
            ip_threshold: c.range("challenge.ip_threshold", ch.ip_threshold, 10, 1, 1_000_000)
                as u32,
            global_threshold: c.range(
                "challenge.global_threshold",
                ch.global_threshold,
                300,
                1,
                100_000_000,
            ) as u32,
            base_difficulty: base,
            max_difficulty: max.max(base),
            ttl: Duration::from_secs(c.range("challenge.ttl_secs", ch.ttl_secs, 300, 30, 3_600)),
        },
    };
    let b = raw.brute_force;
    let brute_force = BruteForcePolicy {
        enabled: b.enabled.unwrap_or(true),
        free_attempts: c.range("brute_force.free_attempts", b.free_attempts, 5, 0, 100) as u32,
        max_delay: Duration::from_secs(c.range(
            "brute_force.max_delay_secs",
            b.max_delay_secs,
            900,
            1,
            86_400,
        )),
        lockout_threshold: c.range(
            "brute_force.lockout_threshold",
            b.lockout_threshold,
            100,
            1,
            100,
        ) as u32,
        reset_after: Duration::from_secs(c.range(
            "brute_force.reset_after_secs",
            b.reset_after_secs,
            86_400,
            0,
            31_536_000,
        )),
        device_attempts: c.range("brute_force.device_attempts", b.device_attempts, 10, 1, 100)
            as u32,
    };
    let device_cookie_ttl = Duration::from_secs(
        86_400
            * c.range(
                "brute_force.device_cookie_days",
                b.device_cookie_days,
                180,
                1,
                3_650,
            ),
    );

    let redis = raw
        .redis
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|url| {
            let timeout = Duration::from_millis(c.range(
                "redis.timeout_ms",
                raw.redis.timeout_ms,
                250,
                10,
                60_000,
            ));
            let key_prefix = raw
                .redis
                .key_prefix
                .clone()
                .unwrap_or_else(|| "latchkey:".into());
            let settings = RedisSettings {
                url: url.to_owned(),
                key_prefix,
                timeout,
                ca_file: raw
                    .redis
                    .ca_file
                    .as_deref()
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from),
            };
            if let Err((key, e)) = settings.counters() {
                let value = match key {
                    "redis.url" => url.to_owned(),
                    _ => raw.redis.ca_file.clone().unwrap_or_default(),
                };
                c.fail(key, Some(&value), e);
            }
            settings
        });

    let origins: Vec<String> = raw
        .cors
        .allowed_origins
        .as_ref()
        .map(|l| l.joined())
        .unwrap_or_default()
        .split(|ch: char| ch == ',' || ch.is_whitespace())
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    for o in &origins {
        if o != "*" && !valid_origin(o) {
            c.fail(
                "cors.allowed_origins",
                Some(o),
                "expected origins such as https://app.example.com (scheme, host and port only), or `*`",
            );
        }
    }
    let allow_credentials = raw.cors.allow_credentials.unwrap_or(false);
    if allow_credentials && origins.iter().any(|o| o == "*") {
        c.fail(
            "cors.allow_credentials",
            Some("true"),
            "credentials are never allowed with the wildcard origin `*`; list the origins in cors.allowed_origins",
        );
    }
    let cors = CorsPolicy {
        origins,
        allow_credentials,
        max_age_secs: c.range("cors.max_age_secs", raw.cors.max_age_secs, 600, 0, 86_400),
    };

    AbuseConfig {
        guard,
        max_keys: c.range(
            "rate_limits.max_keys",
            r.max_keys,
            100_000,
            1_000,
            100_000_000,
        ) as usize,
        brute_force,
        device_cookie_ttl,
        redis,
        trusted_proxies: list(c, "proxies.trusted", raw.proxies.trusted.as_ref()),
        allow: list(c, "access.allow", raw.access.allow.as_ref()),
        deny: list(c, "access.deny", raw.access.deny.as_ref()),
        admin_allow: list(c, "access.admin_allow", raw.access.admin_allow.as_ref()),
        admin_deny: list(c, "access.admin_deny", raw.access.admin_deny.as_ref()),
        cors,
        hsts_max_age_secs: c.range(
            "http.hsts_max_age_secs",
            raw.hsts_max_age_secs,
            31_536_000,
            0,
            63_072_000,
        ),
        reject_common: raw.reject_common.unwrap_or(true),
        breached_filter: raw
            .breached_filter
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
        min_strength: c.range("passwords.min_strength", raw.min_strength, 0, 0, 4) as u8,
    }
}

/// `config show` values of the abuse settings.
pub(super) fn show(key: &str, a: &AbuseConfig) -> Option<String> {
    let q = |s: String| format!("{s:?}");
    let g = &a.guard;
    Some(match key {
        "rate_limits.enabled" => g.rate_limits.to_string(),
        "rate_limits.login" => q(g.login.to_string()),
        "rate_limits.register" => q(g.register.to_string()),
        "rate_limits.mail" => q(g.mail.to_string()),
        "rate_limits.token" => q(g.token.to_string()),
        "rate_limits.api" => q(g.api.to_string()),
        "rate_limits.max_keys" => a.max_keys.to_string(),
        "brute_force.enabled" => a.brute_force.enabled.to_string(),
        "brute_force.free_attempts" => a.brute_force.free_attempts.to_string(),
        "brute_force.max_delay_secs" => a.brute_force.max_delay.as_secs().to_string(),
        "brute_force.lockout_threshold" => a.brute_force.lockout_threshold.to_string(),
        "brute_force.reset_after_secs" => a.brute_force.reset_after.as_secs().to_string(),
        "brute_force.device_attempts" => a.brute_force.device_attempts.to_string(),
        "brute_force.device_cookie_days" => (a.device_cookie_ttl.as_secs() / 86_400).to_string(),
        "challenge.enabled" => g.challenge.enabled.to_string(),
        "challenge.ip_threshold" => g.challenge.ip_threshold.to_string(),
        "challenge.global_threshold" => g.challenge.global_threshold.to_string(),
        "challenge.base_difficulty" => g.challenge.base_difficulty.to_string(),
        "challenge.max_difficulty" => g.challenge.max_difficulty.to_string(),
        "challenge.ttl_secs" => g.challenge.ttl.as_secs().to_string(),
        "redis.url" => q(a
            .redis
            .as_ref()
            .map_or_else(String::new, |r| super::redact_url(&r.url))),
        "redis.key_prefix" => q(a
            .redis
            .as_ref()
            .map_or_else(|| "latchkey:".into(), |r| r.key_prefix.clone())),
        "redis.timeout_ms" => a
            .redis
            .as_ref()
            .map_or(250, |r| r.timeout.as_millis() as u64)
            .to_string(),
        "redis.ca_file" => q(a
            .redis
            .as_ref()
            .and_then(|r| r.ca_file.as_ref())
            .map_or_else(String::new, |p| p.display().to_string())),
        "proxies.trusted" => q(a.trusted_proxies.to_string()),
        "access.allow" => q(a.allow.to_string()),
        "access.deny" => q(a.deny.to_string()),
        "access.admin_allow" => q(a.admin_allow.to_string()),
        "access.admin_deny" => q(a.admin_deny.to_string()),
        "cors.allowed_origins" => q(a.cors.origins.join(", ")),
        "cors.allow_credentials" => a.cors.allow_credentials.to_string(),
        "cors.max_age_secs" => a.cors.max_age_secs.to_string(),
        "http.hsts_max_age_secs" => a.hsts_max_age_secs.to_string(),
        "passwords.reject_common" => a.reject_common.to_string(),
        "passwords.breached_filter" => q(a
            .breached_filter
            .as_ref()
            .map_or_else(String::new, |p| p.display().to_string())),
        "passwords.min_strength" => a.min_strength.to_string(),
        _ => return None,
    })
}
