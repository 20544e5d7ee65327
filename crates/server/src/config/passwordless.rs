//! `[passwordless]`: signing in with a mailed link or code (issue 15).
//! Sign-up on the way is `accounts.passwordless_signup`.

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[passwordless]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::flag(
        "passwordless.magic_link",
        "LATCHKEY_PASSWORDLESS_MAGIC_LINK",
        true,
        "offer and accept sign-in links (`POST /v1/auth/magic-link`, \"Email me a link\" on /login)",
    ),
    Setting::flag(
        "passwordless.email_code",
        "LATCHKEY_PASSWORDLESS_EMAIL_CODE",
        true,
        "offer and accept 6-digit sign-in codes (`POST /v1/auth/email-otp`, \"Email me a code\" on /login)",
    ),
    Setting::int(
        "passwordless.magic_link_ttl_minutes",
        "LATCHKEY_PASSWORDLESS_MAGIC_LINK_TTL_MINUTES",
        15,
        1,
        15,
        "how long a sign-in link works (single use; a newer one voids it)",
    ),
    Setting::int(
        "passwordless.email_code_ttl_minutes",
        "LATCHKEY_PASSWORDLESS_EMAIL_CODE_TTL_MINUTES",
        10,
        1,
        15,
        "how long a sign-in code works (single use, 5 tries; a newer one voids it)",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    magic_link: Option<bool>,
    email_code: Option<bool>,
    magic_link_ttl_minutes: Option<u64>,
    email_code_ttl_minutes: Option<u64>,
}

/// Passwordless sign-in settings (the account setting `signup` is filled
/// in from `accounts.passwordless_signup`).
#[derive(Debug, Clone)]
pub struct PasswordlessSettings {
    /// Magic links on.
    pub magic_link: bool,
    /// Email codes on.
    pub email_code: bool,
    /// Lifetime of a link.
    pub magic_link_ttl: time::Duration,
    /// Lifetime of a code.
    pub email_code_ttl: time::Duration,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> PasswordlessSettings {
        PasswordlessSettings {
            magic_link: c.flag("passwordless.magic_link", self.magic_link),
            email_code: c.flag("passwordless.email_code", self.email_code),
            magic_link_ttl: c.span_minutes(
                "passwordless.magic_link_ttl_minutes",
                self.magic_link_ttl_minutes,
            ),
            email_code_ttl: c.span_minutes(
                "passwordless.email_code_ttl_minutes",
                self.email_code_ttl_minutes,
            ),
        }
    }
}
