//! The failures every slice shares: invalid input, a missing object, a full
//! hashing queue, the store, and bugs. Each slice's own error type (e.g.
//! [`crate::sessions::SessionError`]) holds only that slice's failures and
//! these through `#[from]`, so a slice never names another slice's failures.

use crate::keyring::KeyError;
use crate::password::PasswordError;
use crate::store::StoreError;
use crate::validate::FieldProblem;

/// A failure any slice can meet.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    /// The input has invalid fields.
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    /// The object does not exist (or belongs to someone else).
    #[error("not found")]
    NotFound,
    /// The password hashing queue is full: retry shortly.
    #[error("busy")]
    Busy {
        /// Seconds to wait.
        retry_after_secs: u32,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or a broken key: logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl SharedError {
    /// One invalid field.
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> SharedError {
        SharedError::Validation(vec![FieldProblem::new(field, code, message)])
    }
}

impl From<PasswordError> for SharedError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy { retry_after_secs } => SharedError::Busy { retry_after_secs },
            other => SharedError::Internal(other.to_string()),
        }
    }
}

impl From<KeyError> for SharedError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(s) => SharedError::Store(s),
            other => SharedError::Internal(other.to_string()),
        }
    }
}

/// Lets a slice error (with a `Shared(SharedError)` variant) take the
/// shared failures' sources directly with `?`.
macro_rules! shared_sources {
    ($slice:ty) => {
        impl From<$crate::store::StoreError> for $slice {
            fn from(e: $crate::store::StoreError) -> Self {
                <$slice>::Shared(e.into())
            }
        }
        impl From<$crate::password::PasswordError> for $slice {
            fn from(e: $crate::password::PasswordError) -> Self {
                <$slice>::Shared(e.into())
            }
        }
        impl From<$crate::keyring::KeyError> for $slice {
            fn from(e: $crate::keyring::KeyError) -> Self {
                <$slice>::Shared(e.into())
            }
        }
    };
}
pub(crate) use shared_sources;
