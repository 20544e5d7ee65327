//! What a re-authentication answers.

use time::OffsetDateTime;

/// The outcome of a re-authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReauthInfo {
    /// The session's new `auth_time`.
    pub auth_time: OffsetDateTime,
    /// Until when sensitive changes are allowed without another one.
    pub valid_until: OffsetDateTime,
}
