//! The passwordless slice's failures.

use crate::error::{SharedError, shared_sources};
use crate::sign_in::SignInError;

/// Why a magic link or an email code did not sign in.
#[derive(Debug, thiserror::Error)]
pub enum PasswordlessError {
    /// This way of signing in is turned off by configuration.
    #[error("method disabled")]
    Disabled,
    /// A link that is unknown, used, superseded, expired, voided, or whose
    /// PKCE verifier does not match: one answer for all.
    #[error("invalid or expired link")]
    InvalidLink,
    /// The link was opened in another browser than the one that asked for
    /// it: the code shown in the mail is needed too.
    #[error("the code from the mail is needed")]
    CodeRequired,
    /// A wrong, used, expired or exhausted code: one answer for all.
    #[error("invalid or expired code")]
    InvalidCode,
    /// `redirect_to` is not on latchkey or an allowed origin.
    #[error("redirect_to not allowed")]
    RedirectNotAllowed,
    /// The account has a password already (change it instead).
    #[error("password exists")]
    PasswordExists,
    /// The account has no password to remove.
    #[error("no password")]
    NoPassword,
    /// Removing the password would leave no way to sign in.
    #[error("last way in")]
    LastWayIn,
    /// The sign-in step refused (locked, throttled, suspended, ...).
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(PasswordlessError);
