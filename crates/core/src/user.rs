//! User accounts as the domain sees them.

use time::OffsetDateTime;

/// A user account as stored.
///
/// `email` keeps what the user typed (trimmed) for display and mail;
/// `email_normalized` is the lookup key and is unique. The same holds for
/// `username` and `username_normalized`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable identifier (UUIDv7).
    pub id: String,
    /// The address as entered, trimmed.
    pub email: String,
    /// The unique lookup form of the address, see [`normalize_email`].
    pub email_normalized: String,
    /// Whether the address has been confirmed by a link or code.
    pub email_verified: bool,
    /// Optional handle, as entered.
    pub username: Option<String>,
    /// The unique lookup form of the handle, see [`normalize_username`].
    pub username_normalized: Option<String>,
    /// Optional display name.
    pub name: Option<String>,
    /// A PHC-format password hash, or `None` for accounts without a password.
    pub password_hash: Option<String>,
    /// When the account was created (millisecond precision).
    pub created_at: OffsetDateTime,
    /// When the account last changed (millisecond precision).
    pub updated_at: OffsetDateTime,
    /// The account's suspension, if it has one (it may have ended: see
    /// [`Suspension::is_active`]).
    pub suspension: Option<Suspension>,
}

/// An administrator's suspension of an account: no sign-in while it lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    /// When it began.
    pub suspended_at: OffsetDateTime,
    /// When it ends by itself; `None`: until lifted.
    pub until: Option<OffsetDateTime>,
    /// Why (shown to administrators, not to the user).
    pub reason: String,
}

impl Suspension {
    /// Whether the suspension is in force at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

impl User {
    /// The suspension in force at `now`, if any.
    pub fn active_suspension(&self, now: OffsetDateTime) -> Option<&Suspension> {
        self.suspension.as_ref().filter(|s| s.is_active(now))
    }
}

/// A page of the admin user search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSearch {
    /// Lower-case text found in the email address, username or name, or
    /// equal to the id.
    pub query: Option<String>,
    /// Only users assigned this role (the implicit `user` matches everyone).
    pub role: Option<String>,
    /// Continue after this id (exclusive).
    pub after_id: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// The unique lookup form of an email address: trimmed and lower-cased as a
/// whole. Sub-addressing (`+tag`) and dots are kept: they are distinct
/// mailboxes at many providers.
///
/// Only ASCII letters are folded: registration refuses non-ASCII addresses
/// (see `auth::validate::email`), and full Unicode lower-casing would map
/// look-alikes such as U+212A KELVIN SIGN onto ASCII `k`.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// The unique lookup form of a username: trimmed and lower-cased.
pub fn normalize_username(username: &str) -> String {
    username.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_normalization_folds_case_and_trims() {
        for (input, expected) in [
            ("Alice@Example.COM", "alice@example.com"),
            ("  bob@example.com\t", "bob@example.com"),
            ("a.b+tag@example.com", "a.b+tag@example.com"),
            ("\u{212A}ate@example.com", "\u{212A}ate@example.com"),
        ] {
            assert_eq!(normalize_email(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn username_normalization_folds_case() {
        assert_eq!(normalize_username(" Alice_01 "), "alice_01");
    }
}
