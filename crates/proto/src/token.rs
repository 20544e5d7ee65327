//! Token responses and access-token claims.

use serde::{Deserialize, Serialize};

/// The response of every endpoint that signs someone in or refreshes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "access_token": "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9.eyJ...",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "bL2m0fS3tq5HqvJ8tq0n2X4yQb8C1m9aP7cZ3wK6dEo",
    "session_id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60",
    "scope": "openid profile email"
})))]
pub struct TokenResponse {
    /// A JWT (RFC 9068, `typ: at+jwt`).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque, single use: exchange it at `/v1/auth/refresh` for a new pair.
    /// Absent after a login with `remember: false`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub refresh_token: String,
    /// The session these tokens belong to.
    pub session_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// The claims of a latchkey access token (RFC 9068 plus `sid`, `roles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessClaims {
    /// Issuer: latchkey's public URL.
    pub iss: String,
    /// Subject: the user id.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Unique token id.
    pub jti: String,
    /// The session id.
    pub sid: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The user's roles, inherited ones included (an admin is also a
    /// moderator and a user).
    pub roles: Vec<String>,
    /// The user's permissions, when the server is configured to include
    /// them (`tokens.include_permissions`); absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// Authentication context class.
    pub acr: String,
    /// When the user authenticated (Unix seconds).
    pub auth_time: i64,
}

/// The token endpoint's answer to an OAuth client (RFC 6749 §5.1, OpenID
/// Connect Core §3.1.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "access_token": "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9.eyJ...",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "lkr_bL2m0fS3tq5HqvJ8tq0n2X4yQb8C1m9aP7cZ3wK6dEo",
    "id_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9.eyJ...",
    "scope": "openid profile offline_access"
})))]
pub struct OAuthTokenResponse {
    /// A JWT (RFC 9068, `typ: at+jwt`) with the client's `client_id`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single use, rotated at each refresh; only with `offline_access`
    /// (or for a first-party client) and the `refresh_token` grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The ID token, when `openid` was granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// The claims a scope releases about a person (OpenID Connect Core §5.4):
/// in the ID token and at the UserInfo endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopedClaims {
    /// `email`: the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email`: whether it was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// `profile`: the name, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `profile`: the username, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// `profile`: the person's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// `roles`: latchkey's roles, inherited ones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

/// The claims of an ID token (OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// When the person signed in (Unix seconds).
    pub auth_time: i64,
    /// The authorization request's `nonce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// `aal1` or `aal2`.
    pub acr: String,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// The session of the client's tokens.
    pub sid: String,
    /// The authorized party: the client id.
    pub azp: String,
    /// The left half of the access token's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// What the granted scopes release.
    #[serde(flatten)]
    pub claims: ScopedClaims,
}

/// The UserInfo endpoint's answer (OpenID Connect Core §5.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "sub": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60",
    "email": "ada@example.com",
    "email_verified": true,
    "name": "Ada"
})))]
pub struct UserInfo {
    /// The user id.
    pub sub: String,
    /// What the granted scopes release.
    #[serde(flatten)]
    pub claims: ScopedClaims,
}
