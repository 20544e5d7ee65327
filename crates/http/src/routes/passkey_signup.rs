//! Passkey-only sign-up over HTTP: a mailed link or code used with
//! `intent: signup` (`/v1/auth/magic-link/verify`,
//! `/v1/auth/email-otp/verify`) answers a sign-up ticket for an address
//! without an account; `/v1/auth/passkeys/signup/start` takes the ticket
//! and answers creation options, `/finish` makes the account with its
//! passkey and signs in.

use std::future::Future;
use std::net::IpAddr;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::passwordless::{PasswordlessError, SignupProof};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::Routes;
use super::auth::LoginMode;
use super::lifecycle::{account_limits, limited};
use super::mfa::signed_in_json;
use super::passkeys::{CreationOptionsResponse, RegistrationCredential, creation_options, yes};
use super::views::rfc3339;
use crate::error::ApiError;
use crate::extract::Json;
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::sign_in::SignIn;
use crate::state::AppState;

/// What a mailed link or code is used for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Sign in (default): the token response.
    #[default]
    Signin,
    /// Passkey-only sign-up: a sign-up ticket for an address without an
    /// account (`SignupTicketResponse`); 409 `account_exists` otherwise.
    Signup,
}

/// A sign-up ticket: the proven address may make one passkey-only account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"signup_ticket": "Zk3v0pQ2c8yXo1rT5uW7aB9dE4fG6hJ2kL0mN8pQ1rS", "email": "ada@example.com", "expires_at": "2126-11-22T10:10:00Z"}))]
pub struct SignupTicketResponse {
    /// Single use, 10 minutes: for `POST /v1/auth/passkeys/signup/start`
    /// and `/finish`.
    pub signup_ticket: String,
    /// The proven address (normalized).
    pub email: String,
    /// When the ticket stops working (RFC 3339).
    pub expires_at: String,
}

/// The answer of a link or code used with `intent: signup`, after the
/// `login` quotas of `account` (the address, or the link's token).
pub(super) async fn ticket_response(
    state: &AppState,
    ip: Option<IpAddr>,
    account: &str,
    proof: impl Future<Output = Result<SignupProof, PasswordlessError>>,
) -> Result<Response, ApiError> {
    let verdicts = account_limits(state, RouteClass::Login, ip, account).await?;
    match proof.await? {
        SignupProof::Ticket(t) => Ok(limited(
            axum::Json(SignupTicketResponse {
                signup_ticket: t.ticket,
                email: t.email,
                expires_at: rfc3339(t.expires_at),
            })
            .into_response(),
            &verdicts,
        )),
        SignupProof::AccountExists => Err(ApiError::new(
            StatusCode::CONFLICT,
            "account_exists",
            "Account exists",
            "This address has an account: sign in with the same link or code (without `intent: signup`) and add a passkey in the account.",
        )),
    }
}

/// Starting a passkey-only sign-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"signup_ticket": "Zk3v0pQ2c8yXo1rT5uW7aB9dE4fG6hJ2kL0mN8pQ1rS"}))]
pub struct SignupStartRequest {
    /// The ticket of a link or code used with `intent: signup`.
    signup_ticket: String,
}

/// Starts a passkey-only sign-up: the options for
/// `navigator.credentials.create`, the account's future id as the user
/// handle. **Requires** a sign-up ticket (a mailed link or code used with
/// `intent: signup`); spends nothing. The challenge is bound to the ticket.
#[utoipa::path(post, path = "/v1/auth/passkeys/signup/start", tag = "auth", request_body = SignupStartRequest,
    responses(
        (status = 200, description = "The creation options.", body = CreationOptionsResponse),
        (status = 400, description = "`invalid_signup_ticket`: unknown, used or expired.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_passkey_signup_start(
    State(state): State<AppState>,
    Json(body): Json<SignupStartRequest>,
) -> Result<axum::Json<CreationOptionsResponse>, ApiError> {
    let start = state.passkeys().start_signup(&body.signup_ticket).await?;
    Ok(axum::Json(creation_options(
        &state,
        &start.started,
        &start.user_id,
        &start.email,
        &start.email,
    )))
}

/// Finishing a passkey-only sign-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupFinishRequest {
    /// The ticket `start` took.
    signup_ticket: String,
    /// `credential.toJSON()` of `navigator.credentials.create`.
    credential: RegistrationCredential,
    /// A name for the passkey (default `Passkey`), 1 to 64 characters.
    #[serde(default)]
    name: Option<String>,
    /// `bearer` (default) or `cookie`.
    #[serde(default)]
    mode: LoginMode,
    /// Keep me signed in (default `true`).
    #[serde(default = "yes")]
    remember: bool,
}

/// Finishes a passkey-only sign-up: the account (its address verified, no
/// password) with its passkey, the ticket used, in one write; then signed
/// in as with the passkey (the token response, or a cookie session; `aal2`
/// with user verification). **Requires** the ticket and the answer to its
/// challenge. Recorded as `user.registered` and `passkey.added`.
#[utoipa::path(post, path = "/v1/auth/passkeys/signup/finish", tag = "auth", request_body = SignupFinishRequest,
    responses(
        (status = 200, description = "Bearer mode: the token response. Cookie mode: `CookieLoginResponse` and `Set-Cookie`.", body = latchkey_proto::TokenResponse),
        (status = 400, description = "`invalid_signup_ticket`: unknown, used, expired, or the address has an account now.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_passkey`: the challenge is not this ticket's, or the answer is refused.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`csrf_failed` (cookie mode from another origin); `challenge_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`passkey_registered`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_passkey_signup_finish(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<SignupFinishRequest>,
) -> Result<Response, ApiError> {
    let kind = body.mode.kind();
    let passkeys = state.passkeys();
    let signed_in = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        kind,
        // no account yet: the ticket is the quota key
        account: &body.signup_ticket,
        pow: None,
        remember: body.remember,
    }
    .run(|_device_cookie| async {
        let answer = body.credential.decode()?;
        passkeys
            .finish_signup(
                &body.signup_ticket,
                &answer,
                body.name.as_deref(),
                kind,
                &client,
            )
            .await
    })
    .await?;
    Ok(signed_in_json(signed_in))
}

pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Register, routes!(post_passkey_signup_start))
        .add(RouteClass::Register, routes!(post_passkey_signup_finish))
}
