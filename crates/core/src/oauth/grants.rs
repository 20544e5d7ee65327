//! What a person granted a client, and the sessions a client's tokens live
//! in (migration 0031).
//!
//! Decisions:
//! - A client's tokens from a code exchange are an ordinary bearer session
//!   of the user with a [`ClientSession`] row naming its client, scope and
//!   the browser session it was authorized from: refresh rotation, reuse
//!   detection and every way a session ends apply unchanged, and ending the
//!   browser session ends it (a trigger, in the same transaction).
//! - Its refresh tokens carry [`CLIENT_REFRESH_PREFIX`]: the first-party
//!   refresh endpoint refuses them, the token endpoint takes only them, so
//!   neither kind can be exchanged at the other's endpoint.
//! - Consent is remembered per (user, client) as the union of the scopes
//!   granted ([`Grant`]); revoking it ends the client's sessions of that
//!   user at once.

use time::OffsetDateTime;

/// The prefix of refresh tokens issued to OAuth clients.
pub const CLIENT_REFRESH_PREFIX: &str = "lkr_";

/// A client's session (the row beside the `sessions` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSession {
    /// The session (`sessions.id`, the tokens' `sid`).
    pub session_id: String,
    /// The client.
    pub client_id: String,
    /// The person.
    pub user_id: String,
    /// The browser session it was authorized from.
    pub parent_session_id: String,
    /// The granted scopes.
    pub scope: Vec<String>,
    /// RFC 8707 resource (the access tokens' `aud`).
    pub resource: Option<String>,
    /// The hash of the authorization code it came from.
    pub code_hash: String,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

/// Consent remembered for (user, client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The person.
    pub user_id: String,
    /// The client.
    pub client_id: String,
    /// Every scope granted so far.
    pub scope: Vec<String>,
    /// First granted.
    pub created_at: OffsetDateTime,
    /// Last widened.
    pub updated_at: OffsetDateTime,
}

impl Grant {
    /// Whether it covers every scope of `wanted`.
    pub fn covers(&self, wanted: &[String]) -> bool {
        wanted.iter().all(|w| self.scope.contains(w))
    }
}

/// Which client sessions a revocation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSessions<'a> {
    /// Every one made from this authorization code (its hash): a replayed code.
    FromCode(&'a str),
    /// Every one of this user at this client: a revoked grant.
    OfGrant {
        /// The user.
        user_id: &'a str,
        /// The client.
        client_id: &'a str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_covers_its_scopes_only() {
        let g = Grant {
            user_id: "u".into(),
            client_id: "c".into(),
            scope: vec!["openid".into(), "email".into()],
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(g.covers(&["openid".into()]));
        assert!(g.covers(&[]));
        assert!(!g.covers(&["openid".into(), "profile".into()]));
    }
}
