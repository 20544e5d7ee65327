//! The accounts slice's failures.

use crate::error::{SharedError, shared_sources};

/// Why a registration or profile change failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The email address is registered already.
    #[error("email taken")]
    EmailTaken,
    /// The username is taken.
    #[error("username taken")]
    UsernameTaken,
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(AccountError);
