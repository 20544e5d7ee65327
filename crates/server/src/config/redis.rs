//! `[redis]`: shared rate-limit counters between nodes.

use latchkey_redis::RedisConfig;
use serde::Deserialize;

use super::setting::{Checker, Setting, redact_url};

/// The `[redis]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        "redis.url",
        "LATCHKEY_REDIS_URL",
        "",
        "`redis[s]://[USER:PASSWORD@]HOST:PORT/DB`: share rate limits between nodes",
    )
    .secret(),
    Setting::text(
        "redis.key_prefix",
        "LATCHKEY_REDIS_KEY_PREFIX",
        "latchkey:",
        "prefix of every Redis key",
    ),
    Setting::int(
        "redis.timeout_ms",
        "LATCHKEY_REDIS_TIMEOUT_MS",
        250,
        10,
        60_000,
        "connect and command timeout; past it, local limits apply",
    ),
    Setting::text(
        "redis.ca_file",
        "LATCHKEY_REDIS_CA_FILE",
        "",
        "PEM file of the CAs trusted for `rediss://` (instead of the system's)",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    url: Option<String>,
    key_prefix: Option<String>,
    timeout_ms: Option<u64>,
    ca_file: Option<String>,
}

/// Redis for shared counters, parsed once.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// The URL with its password redacted, for logs.
    pub redacted_url: String,
    /// Where and how to connect (key prefix and timeout included).
    pub connection: RedisConfig,
}

impl Raw {
    /// `None` without `redis.url`: counters stay local to each node.
    pub(super) fn validate(self, c: &mut Checker) -> Option<RedisSettings> {
        let key_prefix = c.text("redis.key_prefix", self.key_prefix);
        let timeout = c.millis("redis.timeout_ms", self.timeout_ms);
        let url = self.url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let redacted_url = url.map(redact_url).unwrap_or_default();
        c.show_str("redis.url", &redacted_url);
        let ca_file = c.optional("redis.ca_file", self.ca_file);
        let url = url?;
        let connection = RedisConfig::from_url(url, &key_prefix, timeout)
            .map_err(|e| c.fail("redis.url", Some(url), e))
            .ok()?;
        let connection = match ca_file {
            Some(path) => connection
                .with_ca_file(path.as_ref())
                .map_err(|e| c.fail("redis.ca_file", Some(&path), e))
                .ok()?,
            None => connection,
        };
        Some(RedisSettings {
            redacted_url,
            connection,
        })
    }
}
