//! `/v1/auth`: register, log in, refresh, log out, and the proof-of-work
//! challenge that login and register demand under pressure.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::challenge::ChallengeAction;
use latchkey_core::abuse::{Dimension, Limited, RouteClass};
use latchkey_core::accounts::Registration;
use latchkey_core::auth::ClientInfo;
use latchkey_core::session::SessionKind;
use latchkey_core::sessions::SessionError;
use latchkey_core::user::User;
use latchkey_proto::TokenResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{UserView, rfc3339};
use crate::abuse::{
    add_ratelimit_headers, challenge_json, challenge_refusal, check_limit, pow_solution,
};
use crate::cookies::set_cookie;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::pages::lang::Lang;
use crate::principal::{Authenticated, ClientAddr, ClientMeta, Enrolling, Via};
use crate::sign_in::SignIn;
use crate::state::AppState;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;

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
    /// A solved challenge (`<token>:<counter>`), when one is demanded; the
    /// `Latchkey-Pow` header does the same.
    pow: Option<String>,
    /// The language of the account's mail (one of `pages.locales`; a region
    /// takes its language); without it, the request's (`?lang=`, the
    /// language cookie, `Accept-Language`), else `mail.locale`.
    locale: Option<String>,
}

/// Register an account. Needs nothing, except a solved challenge when the
/// server is under pressure (403 `challenge_required`). The password must
/// have 8–1024 characters after NFKC normalization and must not be a
/// commonly used or breached password, nor the email address or username;
/// it is hashed with argon2id.
///
/// **An address that has an account** answers, by default, exactly like a
/// new one: 201 with the same body shape (an `id` that names no account and
/// can do nothing; no session is made either way), the same headers and the
/// same work (one hash, one queued mail); the owner is mailed that someone
/// tried to sign up with the address. The response thus reveals nothing
/// about who has an account. With `accounts.reveal_existing_on_register`
/// the answer is 409 `email_taken` instead, which tells anyone who asks
/// whether an address has an account. A taken username is 409
/// `username_taken` either way.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    params(("Latchkey-Pow" = Option<String>, Header, description = "A solved challenge, `<token>:<counter>`, when one is demanded.")),
    responses(
        (status = 201, description = "The account was created, or (by default) the address has an account already and its owner was mailed: the two answers cannot be told apart.", body = UserView),
        (status = 403, description = "`challenge_required` or `challenge_failed`: solve the puzzle in `challenge` and repeat with `Latchkey-Pow`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`username_taken`; `email_taken` only with `accounts.reveal_existing_on_register`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: see `errors`; a refused password has the code `password_too_short`, `password_too_long`, `password_too_common`, `password_breached`, `password_like_identity` or `password_too_weak` and a message saying why.", body = latchkey_proto::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:latchkey:problem:validation_failed", "title": "Validation failed", "status": 422, "detail": "Some fields are invalid; see `errors` for each field and what is expected.", "code": "validation_failed",
                "errors": [{"field": "password", "code": "password_too_common", "message": "this password is one of the most commonly used passwords; choose another (a few unrelated words make a good one)"}]})),
        (status = 429, description = "`rate_limited`: too many sign-ups from this address or for this email address; see `Retry-After`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`: the hashing queue is full; retry after `Retry-After`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_register(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<RegisterRequest>,
) -> Result<Response, ApiError> {
    let registration = Registration {
        email: body.email,
        password: body.password,
        username: body.username,
        name: body.name,
        locale: body.locale.or(lang.negotiated.then_some(lang.tag)),
    };
    let pow = pow_solution(&headers, body.pow.as_deref());
    let (user, verdicts) = sign_up(&state, &client, ip, pow, registration).await?;
    let mut response = (StatusCode::CREATED, axum::Json(UserView::from(user))).into_response();
    with_limits(&mut response, &verdicts);
    Ok(response)
}

/// The sign-up step of `POST /v1/auth/register` and the `/register` page:
/// the challenge under pressure, the per-account quotas of the `register`
/// class, the pressure every sign-up adds, then the account (or, for an
/// address that has one, the indistinguishable answer). Returns the user
/// and the quota verdicts (for `RateLimit` headers).
pub(super) async fn sign_up(
    state: &AppState,
    client: &ClientInfo,
    ip: Option<IpAddr>,
    pow: Option<&str>,
    registration: Registration,
) -> Result<(User, Vec<Limited>), ApiError> {
    let guard = state.protection().guard.clone();
    guard
        .demand_challenge(ChallengeAction::Register, ip, pow)
        .await
        .map_err(|d| challenge_refusal(&d))?;
    let account = latchkey_core::user::normalize_email(&registration.email);
    let mut verdicts = Vec::new();
    for dim in [Dimension::Account, Dimension::IpAccount] {
        verdicts.extend(check_limit(&guard, RouteClass::Register, dim, ip, Some(&account)).await?);
    }
    // every sign-up, accepted or not, adds to the pressure behind challenges
    guard.record_pressure(ip, 1).await;
    let user = state.accounts().register(registration, client).await?;
    metrics::counter!("latchkey_registrations_total").increment(1);
    Ok((user, verdicts))
}

fn with_limits(response: &mut Response, verdicts: &[Limited]) {
    for v in verdicts {
        add_ratelimit_headers(response.headers_mut(), v);
    }
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

impl LoginMode {
    /// The kind of session the mode asks for.
    pub fn kind(self) -> SessionKind {
        match self {
            LoginMode::Bearer => SessionKind::Bearer,
            LoginMode::Cookie => SessionKind::Cookie,
        }
    }
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
    /// A solved challenge (`<token>:<counter>`), when one is demanded; the
    /// `Latchkey-Pow` header does the same.
    pow: Option<String>,
    /// "Keep me signed in" (default `true`). `false`: bearer mode issues no
    /// refresh token (the session ends with the access token); cookie mode
    /// sets the cookie without `Max-Age`, so it ends with the browser
    /// session, and the session still ends after the idle timeout.
    #[serde(default = "remember_by_default")]
    remember: bool,
}

fn remember_by_default() -> bool {
    true
}

/// The answer to a cookie-mode login (the session itself is in `Set-Cookie`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"session_id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "csrf_token": "Jm1V0n1y3c6m6t4bLq2QmC2wXf0cP9a1B7dKk3eR5s8", "expires_at": "2126-12-22T10:00:00Z"}))]
pub struct CookieLoginResponse {
    /// The new session.
    pub session_id: String,
    /// Send it as `X-CSRF-Token` on every POST, PATCH and DELETE.
    pub csrf_token: String,
    /// When the session ends at the latest (RFC 3339).
    pub expires_at: String,
}

/// Sign in with an email address or username and a password. Needs nothing,
/// except a solved challenge when the server is under pressure (403
/// `challenge_required`). Unknown identifiers and wrong passwords get the
/// same answer, after the same work. Every login creates a new session (a
/// new session id, and in cookie mode a new cookie) and sets a device cookie
/// (`__Host-latchkey_device`): after too many failures an account is first
/// delayed (429) and then locked (423 `account_locked`), but a sign-in from a
/// device that signed in to it before is neither delayed nor locked out. A
/// suspended account gets 423 `account_suspended` with `suspended_until`,
/// but only after the right password. Every attempt is in the audit log
/// (`login.succeeded`, `login.failed` with the reason).
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    params(("Latchkey-Pow" = Option<String>, Header, description = "A solved challenge, `<token>:<counter>`, when one is demanded.")),
    responses(
        (status = 200, description = "Bearer mode: the token response. Cookie mode: `CookieLoginResponse` and `Set-Cookie`. Both set the device cookie. When the account has a second factor: `MfaChallengeResponse` (`mfa_required`, and in cookie mode a cookie binding its `mfa_token` to this browser); no session yet: finish with `POST /v1/auth/login/mfa`.", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`.", body = latchkey_proto::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:latchkey:problem:invalid_credentials", "title": "Invalid credentials", "status": 401, "detail": "The identifier or the password is wrong.", "code": "invalid_credentials"})),
        (status = 403, description = "`csrf_failed`: a cookie-mode login from another origin; `challenge_required` or `challenge_failed`: solve the puzzle in `challenge` and repeat with `Latchkey-Pow`.", body = latchkey_proto::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:latchkey:problem:challenge_required", "title": "Challenge required", "status": 403, "code": "challenge_required",
                "detail": "A solved challenge is required. …",
                "challenge": {"token": "v1.login.16.4950673600.q1w2e3r4t5y6u7i8o9p0aa.Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg", "algorithm": "sha256-leading-zero-bits", "difficulty": 16, "action": "login", "expires_at": "2126-11-22T10:05:00Z"}})),
        (status = 423, description = "`account_locked`: too many consecutive failed sign-ins; passwords are not checked from unknown devices until the owner signs in from a known device, resets the password, or an administrator unlocks the account. `account_suspended`: `suspended_until` says when it ends (null: until lifted).", body = latchkey_proto::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:latchkey:problem:account_suspended", "title": "Account suspended", "status": 423, "detail": "This account is suspended until 2126-12-01T00:00:00Z.", "code": "account_suspended", "suspended_until": "2126-12-01T00:00:00Z"})),
        (status = 429, description = "`rate_limited`: too many attempts from this address, for this account from this address, or too soon after failed sign-ins of this account; see `Retry-After` and `RateLimit`.", body = latchkey_proto::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:latchkey:problem:rate_limited", "title": "Too many requests", "status": 429, "code": "rate_limited", "detail": "Too many login requests from this network address; retry after the number of seconds in Retry-After.", "policy": "login_ip"})),
        (status = 503, description = "`busy`: the hashing queue is full; retry after `Retry-After`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_login(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let kind = body.mode.kind();
    let signed_in = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        account: &body.identifier,
        kind,
        pow: body.pow.as_deref(),
        remember: body.remember,
    }
    .with_password(&body.identifier, &body.password)
    .await?;
    Ok(super::mfa::signed_in_json(signed_in))
}

/// Which action a challenge is wanted for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChallengeQuery {
    /// `login` or `register`.
    action: String,
}

/// A proof-of-work puzzle.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"token": "v1.login.16.4950673600.q1w2e3r4t5y6u7i8o9p0aa.Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg", "algorithm": "sha256-leading-zero-bits", "difficulty": 16, "action": "login", "expires_at": "2126-11-22T10:05:00Z", "required": true}))]
pub struct ChallengeResponse {
    /// The puzzle; opaque to clients apart from being solved.
    token: String,
    /// Always `sha256-leading-zero-bits`.
    algorithm: &'static str,
    /// Leading zero bits SHA-256(`<token>:<counter>`) must have.
    difficulty: u8,
    /// What it unlocks: `login` or `register`.
    action: &'static str,
    /// When it stops being accepted (RFC 3339).
    expires_at: String,
    /// Whether a solution is required from this client right now.
    required: bool,
}

/// Get a proof-of-work puzzle. Needs nothing. When the server sees a surge
/// of failed sign-ins or sign-ups (from this address or overall), login and
/// register answer 403 `challenge_required` until a puzzle is solved; the
/// 403 body carries one, so calling this first is optional. To solve it,
/// find a decimal counter `n` such that SHA-256(`<token>:<n>`) starts with
/// `difficulty` zero bits (about 2^difficulty hashes), then send
/// `Latchkey-Pow: <token>:<n>` (or the body field `pow`) with the request.
/// A solution works once, for its action, until `expires_at`; difficulty
/// grows by one bit each time the pressure doubles. `/assets/latchkey-pow.js`
/// does it in a browser.
#[utoipa::path(get, path = "/v1/auth/challenge", tag = "auth", params(ChallengeQuery),
    responses(
        (status = 200, description = "A puzzle.", body = ChallengeResponse),
        (status = 422, description = "`validation_failed`: `action` is not `login` or `register`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_challenge(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Query(q): Query<ChallengeQuery>,
) -> Result<Response, ApiError> {
    let Some(action) = ChallengeAction::parse(&q.action) else {
        return Err(ApiError::validation(vec![latchkey_proto::FieldError {
            field: "action".into(),
            code: "invalid_action".into(),
            message: "expected `login` or `register`".into(),
        }]));
    };
    let guard = &state.protection().guard;
    let required = guard.required_difficulty(ip).await;
    let c = guard.issue_challenge(action, required);
    let json = challenge_json(&c);
    Ok(axum::Json(ChallengeResponse {
        token: c.token,
        algorithm: "sha256-leading-zero-bits",
        difficulty: c.difficulty,
        action: action.as_str(),
        expires_at: json["expires_at"].as_str().unwrap_or_default().to_owned(),
        required: required > 0,
    })
    .into_response())
}

/// The proof-of-work solver for pages. Needs nothing. `latchkeyPow.solve(token,
/// difficulty)` returns a promise of the solution; forms marked
/// `data-latchkey-pow="login"` with a hidden `pow` input are solved before
/// they are submitted.
#[utoipa::path(get, path = "/assets/latchkey-pow.js", tag = "auth",
    responses((status = 200, description = "JavaScript.", content_type = "text/javascript")))]
pub async fn get_pow_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/latchkey-pow.js"),
    )
        .into_response()
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
/// window, a retry gets the same new pair, until that pair's refresh token
/// is used: then a retry is a replay too. Cookie sessions need no refresh:
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
    let result = state.sessions().refresh(&body.refresh_token, &client).await;
    let outcome = match &result {
        Ok(_) => "success",
        Err(SessionError::RefreshTokenReused) => "reused",
        Err(SessionError::InvalidRefreshToken) => "invalid",
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
    Enrolling(who): Enrolling,
) -> Result<Response, ApiError> {
    state.sessions().logout(&who.principal, &client).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if who.via == Via::Cookie {
        let settings = state.cookies();
        set_cookie(
            response.headers_mut(),
            settings.name(),
            "",
            0,
            settings.secure,
        );
    }
    Ok(response)
}

/// The current session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"session_id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "user_id": "019a8d6e-1111-7c3b-9a57-3b1d2c4e5f60", "kind": "cookie", "expires_at": "2126-12-22T10:00:00Z", "auth_time": "2126-11-22T10:00:00Z", "amr": ["pwd"], "csrf_token": "Jm1V0n1y3c6m6t4bLq2QmC2wXf0cP9a1B7dKk3eR5s8"}))]
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

/// The group: JSON API errors; sign-up, sign-in and refresh have their own
/// quotas.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Register, routes!(post_register))
        .add(RouteClass::Login, routes!(post_login))
        .add(RouteClass::Token, routes!(post_refresh))
        .add(RouteClass::Api, routes!(post_logout))
        .add(RouteClass::Api, routes!(get_session))
        .add(RouteClass::Api, routes!(get_challenge))
        .add(RouteClass::Api, routes!(get_pow_script))
}
