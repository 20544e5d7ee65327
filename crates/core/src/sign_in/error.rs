//! Why a sign-in (or a check of a password the user knows) was refused.

use time::OffsetDateTime;

use crate::error::{SharedError, shared_sources};

/// A refused sign-in: the failures of the sign-in step and of the
/// lifecycle gate every way of signing in passes.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown identifier or wrong password: deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many recent failed sign-ins for this account (or identifier):
    /// the password was not checked.
    #[error("sign-in throttled")]
    Throttled {
        /// Seconds to wait.
        retry_after_secs: u32,
    },
    /// The account is locked after too many consecutive failed sign-ins:
    /// the password was not checked.
    #[error("account locked")]
    AccountLocked,
    /// The account is suspended (checked after the password, so only
    /// someone who knows it learns this).
    #[error("account suspended")]
    Suspended {
        /// When the suspension ends; `None`: until lifted.
        until: Option<OffsetDateTime>,
    },
    /// The account's deletion is pending: sign-in is refused until it is
    /// cancelled with the mailed link.
    #[error("account pending deletion")]
    PendingDeletion {
        /// When the personal data will be removed.
        due: OffsetDateTime,
    },
    /// Sign-in needs a verified address (`accounts.require_verified_email`).
    #[error("email not verified")]
    EmailNotVerified,
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(SignInError);
