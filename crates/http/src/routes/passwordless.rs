//! Signing in without a password (issue 15): magic links and email codes
//! over the API (`/v1/auth/magic-link`, `/v1/auth/email-otp`) and on the
//! hosted pages (`/magic-link`, the forms of `/login`). Errors of the
//! passwordless slice become problem+json (or the page again) here.
//!
//! Asking mails (`mail` class, per address and IP); verifying is a sign-in
//! (`login` class, through [`SignIn::run`]: quotas, challenge, failure
//! pressure, cookie replacement). The browser that asks for a link gets a
//! nonce cookie; the link signs in without its mailed code only there.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::error::SharedError;
use latchkey_core::passwordless::{CodeProof, LinkProof, LinkRequest, PasswordlessError};
use latchkey_core::sign_in::LoginSuccess;
use latchkey_core::user::normalize_email;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::Routes;
use super::auth::LoginMode;
use super::lifecycle::{account_limits, limited};
use super::mfa::signed_in_json;
use super::passkey_signup::{Intent, ticket_response};
use crate::cookies::{cookie_value, set_cookie};
use crate::error::ApiError;
use crate::extract::Json;
use crate::principal::{ClientAddr, ClientMeta, RecentlyAuthenticated};
use crate::render::Renderer;
use crate::sign_in::{CheckError, SignIn, SignedIn};
use crate::state::AppState;

impl From<PasswordlessError> for ApiError {
    fn from(e: PasswordlessError) -> Self {
        match e {
            PasswordlessError::Disabled => ApiError::new(
                StatusCode::FORBIDDEN,
                "method_disabled",
                "Method disabled",
                "This way of signing in is turned off on this server (`passwordless.magic_link`, `passwordless.email_code`).",
            ),
            PasswordlessError::InvalidLink => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Invalid or expired link",
                "The link is unknown, used, expired, replaced by a newer one, or no longer valid for the account. Ask for a new one.",
            ),
            PasswordlessError::CodeRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "code_required",
                "Code required",
                "The link was opened in another browser than the one that asked for it: send the 6-character code shown in the mail as `code`.",
            ),
            PasswordlessError::InvalidCode => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_code",
                "Invalid code",
                "The code is wrong, used, expired, replaced by a newer one, or was tried 5 times. Ask for a new one.",
            ),
            PasswordlessError::RedirectNotAllowed => ApiError::new(
                StatusCode::BAD_REQUEST,
                "redirect_not_allowed",
                "redirect_to not allowed",
                "`redirect_to` must be a path on this server or a URL on an origin of `pages.allowed_return_origins`.",
            ),
            PasswordlessError::PasswordExists => ApiError::new(
                StatusCode::CONFLICT,
                "password_exists",
                "The account has a password",
                "Change it with POST /v1/account/password (current and new password) instead.",
            ),
            PasswordlessError::NoPassword => ApiError::new(
                StatusCode::CONFLICT,
                "no_password",
                "The account has no password",
                "There is nothing to remove; set one with PUT /v1/account/password.",
            ),
            PasswordlessError::LastWayIn => ApiError::new(
                StatusCode::CONFLICT,
                "last_way_in",
                "The password is the last way in",
                "Without it the account could not sign in: add a passkey or a linked account first (sign-in by mail needs a verified address and passwordless sign-in turned on).",
            ),
            PasswordlessError::SignIn(e) => e.into(),
            PasswordlessError::Shared(e) => e.into(),
        }
    }
}

impl CheckError for PasswordlessError {
    fn outcome(&self) -> &'static str {
        match self {
            PasswordlessError::InvalidLink => "invalid_link",
            PasswordlessError::InvalidCode => "invalid_code",
            PasswordlessError::CodeRequired => "code_required",
            PasswordlessError::SignIn(e) => e.outcome(),
            PasswordlessError::Shared(SharedError::Busy { .. }) => "busy",
            _ => "error",
        }
    }

    fn is_guess(&self) -> bool {
        match self {
            PasswordlessError::InvalidLink | PasswordlessError::InvalidCode => true,
            PasswordlessError::SignIn(e) => e.is_guess(),
            _ => false,
        }
    }
}

/// The cookie holding the nonce of the browser that asked for a link.
pub(super) fn nonce_cookie(state: &AppState) -> &'static str {
    if state.cookies().secure {
        "__Host-latchkey_magic"
    } else {
        "latchkey_magic"
    }
}

/// `redirect_to` as given if latchkey may go there after signing in.
pub(super) fn allowed_redirect(
    state: &AppState,
    redirect_to: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match redirect_to.filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) if state.pages().return_target(r, &state.cookies().origin) == r => {
            Ok(Some(r.to_owned()))
        }
        Some(_) => Err(PasswordlessError::RedirectNotAllowed.into()),
    }
}

/// Asks for a link for `email` with a new nonce for this browser; the
/// headers carry its cookie.
pub(super) async fn ask_for_link(
    state: &AppState,
    client: &latchkey_core::auth::ClientInfo,
    email: &str,
    code_challenge: Option<&str>,
    redirect_to: Option<&str>,
) -> Result<HeaderMap, ApiError> {
    let nonce = state
        .passwordless()
        .request_link(
            email,
            LinkRequest {
                bind_browser: true,
                code_challenge,
                redirect_to,
            },
            client,
        )
        .await?;
    let mut headers = HeaderMap::new();
    if let Some(nonce) = nonce {
        let ttl = state.passwordless().config().magic_link_ttl.whole_seconds();
        set_cookie(
            &mut headers,
            nonce_cookie(state),
            &nonce,
            ttl,
            state.cookies().secure,
        );
    }
    Ok(headers)
}

/// A request for a sign-in link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "redirect_to": "/account"}))]
pub struct MagicLinkRequest {
    /// The address to mail the link to.
    email: String,
    /// Where the link's page goes after signing in: a path here or a URL on
    /// an allowed origin (`pages.allowed_return_origins`).
    #[serde(default)]
    redirect_to: Option<String>,
    /// API mode (native apps): BASE64URL(SHA-256(verifier)) of a PKCE
    /// verifier the app keeps; `/v1/auth/magic-link/verify` then needs it.
    #[serde(default)]
    code_challenge: Option<String>,
}

/// Mail a sign-in link. Needs nothing. Answers 202 with the same body
/// whether or not the address has an account (with
/// `accounts.passwordless_signup`, an unknown address gets a link that
/// creates its account when used); the lookup and the mail happen in a
/// background job. Sets a cookie holding this browser's nonce: the link
/// signs in without the mailed code only in this browser (or, with
/// `code_challenge`, for the holder of the verifier). The link works once,
/// for `passwordless.magic_link_ttl_minutes`; a newer one voids it.
/// Limited per address and per IP (`rate_limits.mail`).
#[utoipa::path(post, path = "/v1/auth/magic-link", tag = "auth", request_body = MagicLinkRequest,
    responses(
        (status = 202, description = "Queued (whatever the address)."),
        (status = 400, description = "`redirect_not_allowed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`method_disabled`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the body is not `{email, redirect_to?, code_challenge?}`, or the challenge is not a PKCE S256 value.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_magic_link(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    Json(body): Json<MagicLinkRequest>,
) -> Result<Response, ApiError> {
    let redirect_to = allowed_redirect(&state, body.redirect_to.as_deref())?;
    let verdicts = account_limits(
        &state,
        RouteClass::Mail,
        ip,
        &normalize_email(body.email.trim()),
    )
    .await?;
    let headers = ask_for_link(
        &state,
        &client,
        &body.email,
        body.code_challenge.as_deref(),
        redirect_to.as_deref(),
    )
    .await?;
    metrics::counter!("latchkey_passwordless_requests_total", "method" => "magic_link")
        .increment(1);
    let response = (StatusCode::ACCEPTED, headers).into_response();
    Ok(limited(response, &verdicts))
}

/// A sign-in link presented by an app.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "Qm9vGq3Yt3m4Jx0c2l6c0pQbW1yV0hBbG5xZ3lCb2M", "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}))]
pub struct MagicLinkVerify {
    /// The `token` parameter of the link.
    token: String,
    /// The PKCE verifier, when the link was asked for with a `code_challenge`.
    #[serde(default)]
    code_verifier: Option<String>,
    /// The 6-character code of the mail, when this is not the browser that
    /// asked (and there was no `code_challenge`).
    #[serde(default)]
    code: Option<String>,
    /// `bearer` (default) or `cookie`.
    #[serde(default)]
    mode: LoginMode,
    /// Default `true`; `false`: no refresh token (bearer), a browser-session
    /// cookie (cookie mode).
    #[serde(default = "yes")]
    remember: bool,
    /// `signin` (default), or `signup`: a sign-up ticket for a passkey-only
    /// account instead of a session.
    #[serde(default)]
    intent: Intent,
}

fn yes() -> bool {
    true
}

/// Signs in with a link's token and what binds it to the caller.
pub(super) async fn sign_in_with_link(
    step: SignIn<'_>,
    token: &str,
    code: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<SignedIn, ApiError> {
    let passwordless = step.state.passwordless();
    let nonce = cookie_value(step.headers, nonce_cookie(step.state));
    let (client, kind) = (step.client, step.kind);
    step.run(|device_cookie| async move {
        passwordless
            .sign_in_with_link(LinkProof {
                token,
                browser_nonce: nonce.as_deref(),
                code,
                code_verifier,
                kind,
                client,
                device_cookie: device_cookie.as_deref(),
            })
            .await
    })
    .await
}

/// Signs in with an email code.
pub(super) async fn sign_in_with_code(
    step: SignIn<'_>,
    email: &str,
    code: &str,
) -> Result<SignedIn, ApiError> {
    let passwordless = step.state.passwordless();
    let (client, kind) = (step.client, step.kind);
    step.run(|device_cookie| async move {
        passwordless
            .sign_in_with_code(CodeProof {
                email,
                code,
                kind,
                client,
                device_cookie: device_cookie.as_deref(),
            })
            .await
            .map(|s: LoginSuccess| s)
    })
    .await
}

/// Sign in with a link (API mode, or a browser app on latchkey's origin).
/// Needs the link's token and one of: the PKCE `code_verifier` (a link
/// asked for with `code_challenge`), the nonce cookie of the browser that
/// asked, or the 6-character `code` shown in the mail. The link works once;
/// a wrong code counts in the account's failed sign-ins, and 5 of them end
/// the link. An account with a second factor gets `mfa_required` (a link is
/// one factor). The session's `amr` is `email`.
#[utoipa::path(post, path = "/v1/auth/magic-link/verify", tag = "auth", request_body = MagicLinkVerify,
    responses(
        (status = 200, description = "The token response (or `CookieLoginResponse` with `Set-Cookie` in cookie mode), or `mfa_required`; with `intent: signup`, `SignupTicketResponse`.", body = latchkey_proto::TokenResponse),
        (status = 409, description = "`account_exists` (`intent: signup` for an address with an account; the link or code still signs in).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 400, description = "`invalid_token`: unknown, used, expired, superseded or voided link, or a wrong `code_verifier`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_code`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`code_required`: another browser, no code; `method_disabled`; `csrf_failed` (cookie mode from another origin); `challenge_required`; `email_not_verified`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_locked` or `account_suspended`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_magic_link_verify(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<MagicLinkVerify>,
) -> Result<Response, ApiError> {
    if body.intent == Intent::Signup {
        let nonce = cookie_value(&headers, nonce_cookie(&state));
        let proof = LinkProof {
            token: &body.token,
            browser_nonce: nonce.as_deref(),
            code: body.code.as_deref(),
            code_verifier: body.code_verifier.as_deref(),
            kind: body.mode.kind(),
            client: &client,
            device_cookie: None,
        };
        let proven = state.passwordless().signup_with_link(proof);
        return ticket_response(&state, ip, &body.token, proven).await;
    }
    let step = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        // the account is not known before the token is read: its quota key
        // is the token, and wrong codes count on the account in core
        account: &body.token,
        kind: body.mode.kind(),
        pow: None,
        remember: body.remember,
    };
    let signed_in = sign_in_with_link(
        step,
        &body.token,
        body.code.as_deref(),
        body.code_verifier.as_deref(),
    )
    .await?;
    Ok(signed_in_json(signed_in))
}

/// A request for a sign-in code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct EmailOtpRequest {
    /// The address to mail the code to.
    email: String,
}

/// Mail a 6-digit sign-in code. Needs nothing. Answers 202 whether or not
/// the address has an account (see `POST /v1/auth/magic-link`). The code
/// works once, for `passwordless.email_code_ttl_minutes`, 5 tries; a newer
/// one voids it. Limited per address and per IP (`rate_limits.mail`).
#[utoipa::path(post, path = "/v1/auth/email-otp", tag = "auth", request_body = EmailOtpRequest,
    responses(
        (status = 202, description = "Queued (whatever the address)."),
        (status = 403, description = "`method_disabled`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the body is not `{email}`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_email_otp(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    Json(body): Json<EmailOtpRequest>,
) -> Result<Response, ApiError> {
    let verdicts = account_limits(
        &state,
        RouteClass::Mail,
        ip,
        &normalize_email(body.email.trim()),
    )
    .await?;
    state
        .passwordless()
        .request_code(&body.email, &client)
        .await?;
    metrics::counter!("latchkey_passwordless_requests_total", "method" => "email_code")
        .increment(1);
    Ok(limited(StatusCode::ACCEPTED.into_response(), &verdicts))
}

/// A sign-in code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com", "code": "042917"}))]
pub struct EmailOtpVerify {
    /// The address the code was mailed to.
    email: String,
    /// The six digits.
    code: String,
    /// `bearer` (default) or `cookie`.
    #[serde(default)]
    mode: LoginMode,
    /// Default `true` (see `/v1/auth/magic-link/verify`).
    #[serde(default = "yes")]
    remember: bool,
    /// `signin` (default), or `signup`: a sign-up ticket for a passkey-only
    /// account instead of a session.
    #[serde(default)]
    intent: Intent,
}

/// Sign in with an email code. Needs nothing else. Each try counts in the
/// account's failed sign-ins (throttle and lockout as at login) and on the
/// code: the sixth fails even with the right code. An account with a second
/// factor gets `mfa_required`. The session's `amr` is `email`.
#[utoipa::path(post, path = "/v1/auth/email-otp/verify", tag = "auth", request_body = EmailOtpVerify,
    responses(
        (status = 200, description = "The token response (or `CookieLoginResponse` with `Set-Cookie` in cookie mode), or `mfa_required`; with `intent: signup`, `SignupTicketResponse`.", body = latchkey_proto::TokenResponse),
        (status = 409, description = "`account_exists` (`intent: signup` for an address with an account; the link or code still signs in).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_code`: wrong, used, expired, superseded, or tried 5 times.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`method_disabled`; `csrf_failed` (cookie mode from another origin); `challenge_required`; `email_not_verified`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_locked` or `account_suspended`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_email_otp_verify(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<EmailOtpVerify>,
) -> Result<Response, ApiError> {
    if body.intent == Intent::Signup {
        let proof = CodeProof {
            email: &body.email,
            code: &body.code,
            kind: body.mode.kind(),
            client: &client,
            device_cookie: None,
        };
        let proven = state.passwordless().signup_with_code(proof);
        let account = normalize_email(body.email.trim());
        return ticket_response(&state, ip, &account, proven).await;
    }
    let step = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        account: &body.email,
        kind: body.mode.kind(),
        pow: None,
        remember: body.remember,
    };
    let signed_in = sign_in_with_code(step, &body.email, &body.code).await?;
    Ok(signed_in_json(signed_in))
}

/// A first password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"new_password": "a new long passphrase"}))]
pub struct PasswordSet {
    /// The same rules as at registration.
    new_password: String,
}

/// Set a password on an account that has none (made by a link or code, or
/// after removing it). **Requires** an access token or the session cookie
/// (with CSRF token) **and a recent authentication**. The other sessions
/// end and a notice is mailed, as for a change. Recorded as
/// `password.changed` (`change: set`).
#[utoipa::path(put, path = "/v1/account/password", tag = "account", request_body = PasswordSet, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Set; the other sessions have ended."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`password_exists`: change it with `POST /v1/account/password`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the new password is refused (codes as for the reset).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_account_password(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
    Json(body): Json<PasswordSet>,
) -> Result<Response, ApiError> {
    state
        .passwordless()
        .set_password(&who.principal, &body.new_password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Remove the account's password. **Requires** an access token or the
/// session cookie (with CSRF token) **and a recent authentication**, and
/// another way in: sign-in by mail (magic links or email codes on, and a
/// verified address), a passkey or a linked account. The other sessions
/// end and a notice is mailed. Recorded as `password.changed` (`change:
/// removed`).
#[utoipa::path(delete, path = "/v1/account/password", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Removed; the other sessions have ended."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the password changed meanwhile.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_password`; `last_way_in`: without it the account could not sign in.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_account_password(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
) -> Result<Response, ApiError> {
    state
        .passwordless()
        .remove_password(&who.principal, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The routes of passwordless sign-in.
pub fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Mail, routes!(post_magic_link))
        .add(RouteClass::Login, routes!(post_magic_link_verify))
        .add(RouteClass::Mail, routes!(post_email_otp))
        .add(RouteClass::Login, routes!(post_email_otp_verify))
        .add(RouteClass::Api, routes!(put_account_password))
        .add(RouteClass::Api, routes!(delete_account_password))
}
