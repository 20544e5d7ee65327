//! `/v1/auth`: register, log in, refresh, log out.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::auth::{AuthError, LoginOutcome, Registration};
use latchkey_core::session::SessionKind;
use latchkey_proto::TokenResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{UserView, rfc3339};
use crate::error::ApiError;
use crate::extract::Json;
use crate::principal::{Authenticated, ClientMeta, Via, check_origin, cookie_value};
use crate::state::AppState;

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery staple", "username": "ada", "name": "Ada Lovelace"}))]
pub struct RegisterRequest {
    /// Email address (unique, case-insensitive).
    email: String,
    /// 8 to 1024 characters; Unicode is normalized (NFKC), never truncated.
    password: String,
    /// Optional unique handle: 3–32 letters, digits, `_`, `.`, `-`.
    username: Option<String>,
    /// Optional display name (at most 200 characters).
    name: Option<String>,
}

/// Register an account. Needs nothing. The password is checked for length
/// (8–1024 characters after NFKC normalization) and hashed with argon2id.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "The account was created.", body = UserView),
        (status = 409, description = "`email_taken` or `username_taken`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: see `errors`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`: the hashing queue is full; retry after `Retry-After`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_register(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    Json(body): Json<RegisterRequest>,
) -> Result<Response, ApiError> {
    let user = state
        .auth()
        .register(
            Registration {
                email: body.email,
                password: body.password,
                username: body.username,
                name: body.name,
            },
            &client,
        )
        .await?;
    metrics::counter!("latchkey_registrations_total").increment(1);
    Ok((StatusCode::CREATED, axum::Json(UserView::from(user))).into_response())
}

/// How the session is held.
#[derive(Debug, Default, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LoginMode {
    /// Tokens in the response body (default).
    #[default]
    Bearer,
    /// An HttpOnly session cookie, for browser apps on latchkey's origin.
    Cookie,
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"identifier": "ada@example.com", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    /// Email address or username.
    identifier: String,
    /// The password.
    password: String,
    /// `bearer` (default) or `cookie`.
    #[serde(default)]
    mode: LoginMode,
}

/// The answer to a cookie-mode login (the session itself is in `Set-Cookie`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"session_id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "csrf_token": "Jm1V0n1y3c6m6t4bLq2QmC2wXf0cP9a1B7dKk3eR5s8", "expires_at": "2026-12-22T10:00:00Z"}))]
pub struct CookieLoginResponse {
    /// The new session.
    pub session_id: String,
    /// Send it as `X-CSRF-Token` on every POST, PATCH and DELETE.
    pub csrf_token: String,
    /// When the session ends at the latest (RFC 3339).
    pub expires_at: String,
}

/// Sign in with an email address or username and a password. Needs nothing.
/// Unknown identifiers and wrong passwords get the same answer, after the
/// same work. Every login creates a new session (a new session id, and in
/// cookie mode a new cookie). A suspended account gets 423
/// `account_suspended` with `suspended_until`, but only after the right
/// password. Every attempt is in the audit log (`login.succeeded`,
/// `login.failed` with the reason).
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Bearer mode: the token response. Cookie mode: `CookieLoginResponse` and `Set-Cookie`.", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`.", body = latchkey_proto::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:latchkey:problem:invalid_credentials", "title": "Invalid credentials", "status": 401, "detail": "The identifier or the password is wrong.", "code": "invalid_credentials"})),
        (status = 403, description = "`csrf_failed`: a cookie-mode login from another origin.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_suspended`: `suspended_until` says when it ends (null: until lifted).", body = latchkey_proto::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:latchkey:problem:account_suspended", "title": "Account suspended", "status": 423, "detail": "This account is suspended until 2026-12-01T00:00:00Z.", "code": "account_suspended", "suspended_until": "2026-12-01T00:00:00Z"})),
        (status = 503, description = "`busy`: the hashing queue is full; retry after `Retry-After`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_login(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let kind = match body.mode {
        LoginMode::Bearer => SessionKind::Bearer,
        LoginMode::Cookie => {
            // login CSRF: a cookie session may only be started from our own pages
            check_origin(&headers, &state.cookies().origin)?;
            SessionKind::Cookie
        }
    };
    let result = state
        .auth()
        .login(&body.identifier, &body.password, &client, kind)
        .await;
    let outcome = match &result {
        Ok(_) => "success",
        Err(AuthError::InvalidCredentials) => "invalid_credentials",
        Err(AuthError::Busy { .. }) => "busy",
        Err(AuthError::Suspended { .. }) => "suspended",
        Err(_) => "error",
    };
    metrics::counter!("latchkey_logins_total", "outcome" => outcome).increment(1);
    match result? {
        LoginOutcome::Tokens(tokens) => Ok(axum::Json(tokens).into_response()),
        LoginOutcome::Cookie(c) => {
            // A new sign-in replaces the browser's previous cookie session:
            // end it, so a stolen copy of the old cookie stops working too.
            if let Some(old) = cookie_value(&headers, state.cookies().name())
                && let Ok(previous) = state.auth().authenticate_cookie(old).await
            {
                state.auth().logout(&previous, &client).await?;
            }
            let max_age = (c.session.expires_at - c.session.created_at).whole_seconds();
            let body = CookieLoginResponse {
                session_id: c.session.id.clone(),
                csrf_token: c.csrf_token,
                expires_at: rfc3339(c.session.expires_at.min(c.session.idle_expires_at)),
            };
            let mut response = axum::Json(body).into_response();
            set_cookie(&mut response, &state, &c.cookie_token, max_age);
            Ok(response)
        }
    }
}

fn set_cookie(response: &mut Response, state: &AppState, value: &str, max_age: i64) {
    let settings = state.cookies();
    let secure = if settings.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        settings.name()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A refresh token to exchange.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "bL2m0fS3tq5HqvJ8tq0n2X4yQb8C1m9aP7cZ3wK6dEo"}))]
pub struct RefreshRequest {
    /// The current refresh token of the session.
    refresh_token: String,
}

/// Exchange a refresh token for a new pair. Needs nothing but the token.
/// Each refresh token works once: a token presented again after the grace
/// window (`tokens.refresh_grace_secs`) ends the whole session. Within the
/// window, a retry gets the same new pair. Cookie sessions need no refresh:
/// the cookie slides by itself. The new access token carries the user's
/// roles as they are now. A reuse is recorded in the audit log
/// (`refresh_token.reused`).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair.", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`, or `refresh_token_reused` (the session has been ended).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_refresh(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    Json(body): Json<RefreshRequest>,
) -> Result<Response, ApiError> {
    let result = state.auth().refresh(&body.refresh_token, &client).await;
    let outcome = match &result {
        Ok(_) => "success",
        Err(AuthError::RefreshTokenReused) => "reused",
        Err(AuthError::InvalidRefreshToken) => "invalid",
        Err(_) => "error",
    };
    metrics::counter!("latchkey_refreshes_total", "outcome" => outcome).increment(1);
    Ok(axum::Json(result?).into_response())
}

/// End the current session. **Requires** an access token or the session
/// cookie (with CSRF token). Its refresh token and every access token of the
/// session stop working at once.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "The session has ended."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_logout(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    who: Authenticated,
) -> Result<Response, ApiError> {
    state.auth().logout(&who.principal, &client).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if who.via == Via::Cookie {
        set_cookie(&mut response, &state, "", 0);
    }
    Ok(response)
}

/// The current session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"session_id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "user_id": "019a8d6e-1111-7c3b-9a57-3b1d2c4e5f60", "kind": "cookie", "expires_at": "2026-12-22T10:00:00Z", "auth_time": "2026-11-22T10:00:00Z", "amr": ["pwd"], "csrf_token": "Jm1V0n1y3c6m6t4bLq2QmC2wXf0cP9a1B7dKk3eR5s8"}))]
pub struct SessionInfo {
    /// The session.
    pub session_id: String,
    /// The signed-in user.
    pub user_id: String,
    /// `bearer` or `cookie`.
    pub kind: &'static str,
    /// When the session ends at the latest (RFC 3339).
    pub expires_at: String,
    /// When the user last authenticated (RFC 3339).
    pub auth_time: String,
    /// Authentication methods.
    pub amr: Vec<String>,
    /// Cookie sessions: the CSRF token to send as `X-CSRF-Token` (a page
    /// that was reloaded gets it back here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// The session making the request. **Requires** an access token or the
/// session cookie. Cookie sessions also get their CSRF token.
#[utoipa::path(get, path = "/v1/auth/session", tag = "auth",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The current session.", body = SessionInfo),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_session(
    State(state): State<AppState>,
    who: Authenticated,
) -> axum::Json<SessionInfo> {
    let s = &who.principal.session;
    axum::Json(SessionInfo {
        session_id: s.id.clone(),
        user_id: s.user_id.clone(),
        kind: s.kind.as_str(),
        expires_at: rfc3339(s.expires_at.min(s.idle_expires_at)),
        auth_time: rfc3339(s.auth_time),
        amr: s.amr.clone(),
        csrf_token: (who.via == Via::Cookie).then(|| state.auth().csrf_token(&s.id)),
    })
}
