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
    /// The token endpoint's client authentication failed (`invalid_client`).
    #[error("client authentication failed")]
    InvalidClient,
    /// The client may not use this grant or flow (`unauthorized_client`).
    #[error("unauthorized client: {0}")]
    UnauthorizedClient(&'static str),
    /// A malformed protocol request (`invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// A scope the client may not have, or wider than granted (`invalid_scope`).
    #[error("invalid scope: {0}")]
    InvalidScope(&'static str),
    /// An unacceptable RFC 8707 `resource` (`invalid_target`).
    #[error("invalid target: {0}")]
    InvalidTarget(&'static str),
    /// A grant type latchkey does not support (`unsupported_grant_type`).
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// A bearer token refused at a protected endpoint (RFC 6750 `invalid_token`).
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// A bearer token without the scope an endpoint needs (`insufficient_scope`).
    #[error("insufficient scope: {0}")]
    InsufficientScope(&'static str),
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
