//! The sessions slice's failures.

use crate::error::{SharedError, shared_sources};

/// Why a token, cookie or session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The refresh token is unknown, expired, used or its session ended.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A refresh token was presented again after it was exchanged: the
    /// session has been ended.
    #[error("refresh token reused; session ended")]
    RefreshTokenReused,
    /// The access token, session cookie or client credential is invalid
    /// (the reason is for logs).
    #[error("invalid credentials: {0}")]
    Unauthenticated(&'static str),
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(SessionError);
