//! `[http]`: request limits, timeouts and HSTS.

use std::time::Duration;

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[http]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::int(
        "http.max_body_bytes",
        "LATCHKEY_HTTP_MAX_BODY_BYTES",
        65_536,
        1_024,
        64 << 20,
        "largest request body accepted (413 beyond)",
    ),
    Setting::int(
        "http.max_header_bytes",
        "LATCHKEY_HTTP_MAX_HEADER_BYTES",
        16_384,
        8_192,
        1 << 20,
        "largest total size of request headers accepted (431 beyond)",
    ),
    Setting::int(
        "http.request_timeout_secs",
        "LATCHKEY_HTTP_REQUEST_TIMEOUT_SECS",
        30,
        1,
        3_600,
        "longest a request may take before it is answered 503",
    ),
    Setting::int(
        "http.header_read_timeout_secs",
        "LATCHKEY_HTTP_HEADER_READ_TIMEOUT_SECS",
        10,
        1,
        300,
        "longest a client may take to send its request headers (slow-loris guard)",
    ),
    Setting::int(
        "http.shutdown_timeout_secs",
        "LATCHKEY_HTTP_SHUTDOWN_TIMEOUT_SECS",
        20,
        0,
        3_600,
        "on SIGTERM/SIGINT, how long in-flight requests may run before the process exits",
    ),
    Setting::int(
        "http.hsts_max_age_secs",
        "LATCHKEY_HTTP_HSTS_MAX_AGE_SECS",
        31_536_000,
        0,
        63_072_000,
        "Strict-Transport-Security max-age, sent only when the public URL is https (0: never)",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    max_body_bytes: Option<u64>,
    max_header_bytes: Option<u64>,
    request_timeout_secs: Option<u64>,
    header_read_timeout_secs: Option<u64>,
    shutdown_timeout_secs: Option<u64>,
    hsts_max_age_secs: Option<u64>,
}

/// HTTP limits.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest accepted body.
    pub max_body_bytes: usize,
    /// Largest accepted total header size.
    pub max_header_bytes: usize,
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Time allowed to send the request head.
    pub header_read_timeout: Duration,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
    /// HSTS max-age (sent only under an https public URL; 0: never).
    pub hsts_max_age_secs: u64,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> HttpConfig {
        HttpConfig {
            max_body_bytes: c.int("http.max_body_bytes", self.max_body_bytes) as usize,
            max_header_bytes: c.int("http.max_header_bytes", self.max_header_bytes) as usize,
            request_timeout: c.secs("http.request_timeout_secs", self.request_timeout_secs),
            header_read_timeout: c.secs(
                "http.header_read_timeout_secs",
                self.header_read_timeout_secs,
            ),
            shutdown_timeout: c.secs("http.shutdown_timeout_secs", self.shutdown_timeout_secs),
            hsts_max_age_secs: c.int("http.hsts_max_age_secs", self.hsts_max_age_secs),
        }
    }
}
