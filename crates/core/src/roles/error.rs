//! The roles slice's failures.

use crate::error::{SharedError, shared_sources};

/// The actor lacks this permission (to do the operation, to grant what a
/// role carries, or over the account acted upon).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("permission {0} denied")]
pub struct PermissionDenied(pub String);

/// Why an administrator's operation on roles failed.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// The actor lacks a permission.
    #[error(transparent)]
    Denied(#[from] PermissionDenied),
    /// The role name is taken.
    #[error("role name taken")]
    Taken,
    /// Built-in roles cannot be changed or deleted.
    #[error("built-in role")]
    ReadOnly,
    /// The role is the parent of other roles (named).
    #[error("role in use")]
    InUse(Vec<String>),
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(RoleError);
