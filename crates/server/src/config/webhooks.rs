//! `[webhooks]`: outbound webhook deliveries.

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[webhooks]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::flag(
        "webhooks.allow_private_addresses",
        "LATCHKEY_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES",
        false,
        "let webhook endpoints be on private, loopback, link-local and other special addresses (tests, intranets); off, they are refused at registration and at every connection",
    ),
    Setting::int(
        "webhooks.timeout_ms",
        "LATCHKEY_WEBHOOKS_TIMEOUT_MS",
        10_000,
        500,
        60_000,
        "the most one delivery attempt may take: connecting, sending and reading the answer",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    allow_private_addresses: Option<bool>,
    timeout_ms: Option<u64>,
}

/// Webhook settings.
#[derive(Debug, Clone)]
pub struct WebhooksSettings {
    /// Endpoints may be on private addresses.
    pub allow_private: bool,
    /// The bound of one attempt.
    pub timeout: std::time::Duration,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> WebhooksSettings {
        WebhooksSettings {
            allow_private: c.flag(
                "webhooks.allow_private_addresses",
                self.allow_private_addresses,
            ),
            timeout: c.millis("webhooks.timeout_ms", self.timeout_ms),
        }
    }
}
