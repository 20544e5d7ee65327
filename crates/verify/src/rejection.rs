//! Why a request was refused, and its answer: problem+json with an RFC 6750
//! (or RFC 9470) `WWW-Authenticate` challenge.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_proto::problem::{PROBLEM_JSON, Problem};
use latchkey_tokens::VerifyError;

/// A refused request. Each variant names no token content, so it is safe
/// to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No bearer token in `Authorization`.
    #[error("no bearer token")]
    Missing,
    /// The token fails a check (signature, type, issuer, audience, expiry…).
    #[error("invalid token: {0}")]
    Invalid(VerifyError),
    /// Introspection says the token is no longer active (its session ended).
    #[error("token no longer active")]
    Inactive,
    /// Keys or introspection could not be reached.
    #[error("token cannot be checked now")]
    Unavailable,
    /// The token lacks a required scope (RFC 6750 `insufficient_scope`).
    #[error("scope {0} required")]
    InsufficientScope(&'static str),
    /// The user lacks a required role.
    #[error("role {0} required")]
    MissingRole(&'static str),
    /// The sign-in is not strong or recent enough (RFC 9470).
    #[error("stronger or more recent authentication required")]
    InsufficientAuthentication {
        /// The required `acr` value, e.g. `aal2`.
        acr: &'static str,
        /// The required maximum age of the authentication, in seconds.
        max_age: Option<u64>,
    },
}

impl Rejection {
    /// The HTTP status of the answer.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Missing
            | Rejection::Invalid(_)
            | Rejection::Inactive
            | Rejection::InsufficientAuthentication { .. } => StatusCode::UNAUTHORIZED,
            Rejection::InsufficientScope(_) | Rejection::MissingRole(_) => StatusCode::FORBIDDEN,
            Rejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable problem `code`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Missing => "unauthenticated",
            Rejection::Invalid(_) | Rejection::Inactive => "invalid_token",
            Rejection::Unavailable => "unavailable",
            Rejection::InsufficientScope(_) => "insufficient_scope",
            Rejection::MissingRole(_) => "forbidden",
            Rejection::InsufficientAuthentication { .. } => "insufficient_user_authentication",
        }
    }

    /// The `WWW-Authenticate` challenge, if the answer carries one.
    #[must_use]
    pub fn challenge(&self) -> Option<String> {
        match self {
            Rejection::Missing => Some("Bearer".into()),
            Rejection::Invalid(_) | Rejection::Inactive => Some(
                "Bearer error=\"invalid_token\", error_description=\"The access token is invalid or expired\"".into(),
            ),
            Rejection::InsufficientScope(scope) => Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            Rejection::InsufficientAuthentication { acr, max_age } => {
                let mut c = format!(
                    "Bearer error=\"insufficient_user_authentication\", error_description=\"A stronger or more recent sign-in is required\", acr_values=\"{acr}\""
                );
                if let Some(age) = max_age {
                    c.push_str(&format!(", max_age={age}"));
                }
                Some(c)
            }
            Rejection::Unavailable | Rejection::MissingRole(_) => None,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let title = status.canonical_reason().unwrap_or("Error");
        let problem = Problem::new(status.as_u16(), self.code(), title, self.to_string());
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(value) = self
            .challenge()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
