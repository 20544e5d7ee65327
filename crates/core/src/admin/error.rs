//! The administration slice's failures.

use time::OffsetDateTime;

use crate::error::{SharedError, shared_sources};
use crate::roles::PermissionDenied;

/// Why an administrator's operation on accounts failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The actor lacks a permission (for the operation, or over the target).
    #[error(transparent)]
    Denied(#[from] PermissionDenied),
    /// An administrator tried to suspend or delete their own account.
    #[error("cannot act on own account")]
    SelfAction,
    /// The email address belongs to another account.
    #[error("email taken")]
    EmailTaken,
    /// The username belongs to another account.
    #[error("username taken")]
    UsernameTaken,
    /// The account's deletion is pending (no reset link is mailed to it).
    #[error("account pending deletion")]
    PendingDeletion {
        /// When the personal data will be removed.
        due: OffsetDateTime,
    },
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(AdminError);
