//! `[accounts]`: verification, re-authentication, deletion and sign-in notices.

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[accounts]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::flag(
        "accounts.require_verified_email",
        "LATCHKEY_ACCOUNTS_REQUIRE_VERIFIED_EMAIL",
        false,
        "refuse sign-in (403 `email_not_verified`) until the address is verified",
    ),
    Setting::int(
        "accounts.reauth_max_age_minutes",
        "LATCHKEY_ACCOUNTS_REAUTH_MAX_AGE_MINUTES",
        10,
        1,
        1_440,
        "email change and deletion need a sign-in or `POST /v1/auth/reauth` this recent (else 403 `reauth_required`)",
    ),
    Setting::int(
        "accounts.deletion_grace_days",
        "LATCHKEY_ACCOUNTS_DELETION_GRACE_DAYS",
        30,
        0,
        365,
        "days between `DELETE /v1/account` and the removal of the personal data",
    ),
    Setting::flag(
        "accounts.new_sign_in_notice",
        "LATCHKEY_ACCOUNTS_NEW_SIGN_IN_NOTICE",
        true,
        "mail the user when someone signs in from a device (browser and IP) never used before",
    ),
    Setting::flag(
        "accounts.reveal_existing_on_register",
        "LATCHKEY_ACCOUNTS_REVEAL_EXISTING_ON_REGISTER",
        false,
        "answer a sign-up for an address that has an account with 409 `email_taken` (reveals who has an account) instead of exactly like a new one",
    ),
    Setting::flag(
        "accounts.passwordless_signup",
        "LATCHKEY_ACCOUNTS_PASSWORDLESS_SIGNUP",
        false,
        "a sign-in link or code asked for an unknown address creates its account (verified, no password) when it is used",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    require_verified_email: Option<bool>,
    reauth_max_age_minutes: Option<u64>,
    deletion_grace_days: Option<u64>,
    new_sign_in_notice: Option<bool>,
    reveal_existing_on_register: Option<bool>,
    passwordless_signup: Option<bool>,
}

/// Account lifecycle settings.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// Refuse sign-in until the address is verified.
    pub require_verified_email: bool,
    /// How recent an authentication sensitive changes need.
    pub reauth_max_age: time::Duration,
    /// Time between a deletion request and the removal of the data.
    pub deletion_grace: time::Duration,
    /// Mail a notice on sign-in from a new device.
    pub new_sign_in_notice: bool,
    /// Answer 409 to a sign-up for an address that has an account.
    pub reveal_existing_on_register: bool,
    /// A link or code for an unknown address creates the account when used.
    pub passwordless_signup: bool,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> AccountsConfig {
        AccountsConfig {
            require_verified_email: c.flag(
                "accounts.require_verified_email",
                self.require_verified_email,
            ),
            reauth_max_age: c.span_minutes(
                "accounts.reauth_max_age_minutes",
                self.reauth_max_age_minutes,
            ),
            deletion_grace: c.span_days("accounts.deletion_grace_days", self.deletion_grace_days),
            new_sign_in_notice: c.flag("accounts.new_sign_in_notice", self.new_sign_in_notice),
            reveal_existing_on_register: c.flag(
                "accounts.reveal_existing_on_register",
                self.reveal_existing_on_register,
            ),
            passwordless_signup: c.flag("accounts.passwordless_signup", self.passwordless_signup),
        }
    }
}
