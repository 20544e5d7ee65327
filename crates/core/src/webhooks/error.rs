//! The webhooks slice's failures.

use crate::error::{SharedError, shared_sources};
use crate::roles::PermissionDenied;

/// What can go wrong managing webhooks.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No endpoint (or delivery) with that id.
    #[error("unknown webhook endpoint or delivery")]
    Unknown,
    /// The caller lacks `webhooks:manage`.
    #[error(transparent)]
    Denied(#[from] PermissionDenied),
    /// A failure every slice shares (invalid fields included).
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(WebhookError);
