//! Access and refresh tokens: issuing a pair, and why a JWT was refused.

use latchkey_proto::{AccessClaims, TokenResponse};
use latchkey_tokens::{VerifyError, random_token, sha256_hex};
use time::OffsetDateTime;

use crate::auth::{AuthConfig, Keyring};
use crate::error::SharedError;
use crate::id;
use crate::roles::Access;
use crate::session::{RefreshToken, Session};

/// The `typ` of latchkey access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Longest refresh or cookie token accepted before hashing (ours are 43 chars).
pub(crate) const MAX_OPAQUE_TOKEN_LEN: usize = 256;

/// Signs an access token and makes a refresh token for `session`.
pub(crate) fn issue(
    keys: &Keyring,
    config: &AuthConfig,
    session: &Session,
    now: OffsetDateTime,
    access: &Access,
) -> Result<(TokenResponse, RefreshToken), SharedError> {
    let key = keys.active()?;
    let claims = AccessClaims {
        iss: config.issuer.clone(),
        sub: session.user_id.clone(),
        aud: config.audience.clone(),
        exp: (now + config.access_ttl).unix_timestamp(),
        iat: now.unix_timestamp(),
        nbf: now.unix_timestamp(),
        jti: id::new_id(),
        sid: session.id.clone(),
        client_id: config.first_party_client_id.clone(),
        scope: config.scope.clone(),
        roles: access.roles.iter().cloned().collect(),
        permissions: if config.include_permissions {
            access.permissions.iter().cloned().collect()
        } else {
            Vec::new()
        },
        amr: session.amr.clone(),
        acr: if session.amr.iter().any(|m| m == "mfa") {
            "aal2"
        } else {
            "aal1"
        }
        .into(),
        auth_time: session.auth_time.unix_timestamp(),
    };
    let access_token = key
        .sign_jwt(ACCESS_TOKEN_TYP, &claims)
        .map_err(|e| SharedError::Internal(format!("signing failed: {e}")))?;
    let refresh_token = random_token();
    let row = RefreshToken {
        token_hash: sha256_hex(refresh_token.as_bytes()),
        session_id: session.id.clone(),
        created_at: now,
        expires_at: (now + config.session_idle_ttl).min(session.expires_at),
        used_at: None,
    };
    let response = TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: config.access_ttl.whole_seconds().max(0) as u64,
        refresh_token,
        session_id: session.id.clone(),
        scope: config.scope.clone(),
    };
    Ok((response, row))
}

pub(crate) fn verify_reason(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Expired => "token expired",
        VerifyError::Signature => "bad signature",
        VerifyError::Algorithm => "algorithm not allowed",
        VerifyError::UnknownKey => "unknown key",
        VerifyError::Issuer => "wrong issuer",
        VerifyError::Audience => "wrong audience",
        VerifyError::Type => "wrong token type",
        VerifyError::NotYetValid => "token not yet valid",
        _ => "malformed token",
    }
}
