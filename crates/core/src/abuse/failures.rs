//! The stored shape of a failure counter (see [`super::brute_force`]), a
//! leaf module so that the store contract can name it without importing
//! the rules that use the store.

use time::OffsetDateTime;

/// The stored failure count of one key (an account, an unknown identifier or
/// a device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFailures {
    /// `user:<id>`, `ident:<sha256 of the identifier>` or `device:<id>`.
    pub key: String,
    /// Consecutive failures (including checks in progress).
    pub failures: u32,
    /// The last charged attempt.
    pub last_failure_at: OffsetDateTime,
    /// No check before this instant.
    pub next_attempt_at: OffsetDateTime,
    /// Set when the threshold was reached: no more checks until cleared.
    pub locked_at: Option<OffsetDateTime>,
}
