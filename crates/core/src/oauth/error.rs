//! The failures of the OAuth slice.

use crate::error::{SharedError, shared_sources};
use crate::roles::PermissionDenied;

/// What can go wrong when managing or using OAuth clients.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// A registration field is unacceptable (`field`, a stable `code`, why).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, e.g. `redirect_uris`.
        field: &'static str,
        /// A stable machine word, e.g. `invalid_redirect_uri`.
        code: &'static str,
        /// Why, for people.
        reason: String,
    },
    /// No client with that id.
    #[error("unknown client")]
    UnknownClient,
    /// A presented authorization code may not be exchanged (`invalid_grant`).
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    /// An authorization code came back after it was used: refuse, and
    /// revoke what was issued from it.
    #[error("authorization code replayed")]
    CodeReplayed {
        /// The code's hash (the key of what was issued from it).
        code_hash: String,
    },
    /// The caller lacks a permission.
    #[error(transparent)]
    Denied(#[from] PermissionDenied),
    /// A failure every slice shares (the store; ID-token keys that cannot
    /// be loaded or made).
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(OAuthError);

impl OAuthError {
    pub(crate) fn invalid(
        field: &'static str,
        code: &'static str,
        reason: impl Into<String>,
    ) -> Self {
        OAuthError::Invalid {
            field,
            code,
            reason: reason.into(),
        }
    }
}
