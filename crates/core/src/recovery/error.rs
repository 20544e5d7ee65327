//! The recovery slice's failures.

use crate::error::{SharedError, shared_sources};
use crate::sign_in::SignInError;

/// Why a verification, reset, change, re-authentication or deletion failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// A mailed token is unknown, expired, used, superseded or for something else.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The current password given to confirm a change is wrong.
    #[error("wrong current password")]
    WrongPassword,
    /// The operation needs a recent authentication (`POST /v1/auth/reauth`).
    #[error("recent authentication required")]
    ReauthRequired,
    /// The new address belongs to another account.
    #[error("email taken")]
    EmailTaken,
    /// The caller's session ended meanwhile (the reason is for logs).
    #[error("invalid credentials: {0}")]
    Unauthenticated(&'static str),
    /// A password check refused like a sign-in (throttled, locked): the
    /// checks of a password the user knows share the failure counters.
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(RecoveryError);
