//! An authenticated caller, and the answers of RFC 7662 and RFC 7009.

use crate::session::Session;
use crate::user::User;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user id.
    pub user_id: String,
    /// The active session the credential belongs to.
    pub session: Session,
    /// The user, read with the session in the same store call.
    pub user: User,
    /// The OAuth client the access token was issued to; `None` for
    /// first-party tokens and the session cookie.
    pub client: Option<TokenClient>,
}

/// The OAuth client of an access token, and its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClient {
    /// `client_id`.
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
}

/// The answer of RFC 7662 introspection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// `access_token` or `refresh_token`.
    pub token_type: Option<&'static str>,
    /// The user.
    pub sub: Option<String>,
    /// The session.
    pub sid: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// Scopes.
    pub scope: Option<String>,
    /// Expiry (Unix seconds).
    pub exp: Option<i64>,
    /// Issued at (Unix seconds).
    pub iat: Option<i64>,
    /// Issuer.
    pub iss: Option<String>,
    /// Audience.
    pub aud: Option<String>,
}

/// What an RFC 7009 revocation request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The token's session has ended.
    Revoked,
    /// Not a live token of this server: nothing to do (not an error).
    Unknown,
    /// The token was issued to another client (or is first-party): refused.
    NotIssuedToClient,
}
