//! The account lifecycle: email verification, password reset and change,
//! re-authentication, email change, deletion and deactivation.
//!
//! Links in mail are built by core from the configured public URL; nothing
//! here reads `Host` or `X-Forwarded-*` to make them.
//!
//! Rate limits: the edge limits every route of a class per client IP (each
//! route's class is given in [`routes`]: mail-sending routes are `mail`,
//! token redemptions `token`, password checks `login`). The handlers here add the
//! per-account quotas of their class (`account`, `ip_account`), keyed by the
//! account's normalized address (the address typed, for a reset request),
//! so that one mailbox cannot be flooded from many addresses.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::{Dimension, Limited, RouteClass};
use latchkey_core::user::normalize_email;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::rfc3339;
use crate::abuse::{add_ratelimit_headers, check_limit};
use crate::error::ApiError;
use crate::extract::Json;
use crate::principal::{Authenticated, ClientAddr, ClientMeta, RecentlyAuthenticated};
use crate::state::AppState;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;

/// Applies the per-account quotas of `class` for `account` (a normalized
/// address); an error when one is used up, else the verdicts (for headers).
pub(super) async fn account_limits(
    state: &AppState,
    class: RouteClass,
    ip: Option<IpAddr>,
    account: &str,
) -> Result<Vec<Limited>, ApiError> {
    let guard = &state.protection().guard;
    let mut verdicts = Vec::new();
    for dim in [Dimension::Account, Dimension::IpAccount] {
        verdicts.extend(check_limit(guard, class, dim, ip, Some(account)).await?);
    }
    Ok(verdicts)
}

/// The per-account quotas of `class` for the signed-in user.
async fn own_limits(
    state: &AppState,
    class: RouteClass,
    ip: Option<IpAddr>,
    who: &Authenticated,
) -> Result<Vec<Limited>, ApiError> {
    account_limits(state, class, ip, &who.principal.user.email_normalized).await
}

/// `response` with the RateLimit headers of `verdicts`.
pub(super) fn limited(mut response: Response, verdicts: &[Limited]) -> Response {
    for v in verdicts {
        add_ratelimit_headers(response.headers_mut(), v);
    }
    response
}

const RATE_LIMITED: &str =
    "`rate_limited`: too many requests from this address or for this account; see `Retry-After`.";

/// A token from a mailed link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "Qm9vGq3Yt3m4Jx0c2l6c0pQbW1yV0hBbG5xZ3lCb2M"}))]
pub struct TokenRequest {
    /// The `token` parameter of the link.
    token: String,
}

/// Confirm an email address with the link mailed at registration (or by
/// `POST /v1/account/verify-email`), or confirm an email change with the link
/// mailed to the new address. Needs nothing but the token; it works once,
/// within 24 hours, and only while the account still has the address it was
/// sent to.
#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 204, description = "The address is verified (or the account now uses the new address)."),
        (status = 400, description = "`invalid_token`: unknown, expired, used or superseded.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`: someone registered the new address meanwhile.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; see `Retry-After`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_verify_email(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    Json(body): Json<TokenRequest>,
) -> Result<Response, ApiError> {
    state.recovery().verify_email(&body.token, &client).await?;
    metrics::counter!("latchkey_email_verifications_total").increment(1);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Send the verification mail again. **Requires** an access token or the
/// session cookie (with CSRF token). Nothing is sent for an address that is
/// verified already. A new link makes the older ones useless. Limited by
/// `rate_limits.mail`, per client IP and per account.
#[utoipa::path(post, path = "/v1/account/verify-email", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 202, description = "A verification mail is queued (unless the address is verified)."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 429, description = RATE_LIMITED, body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_resend_verification(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    who: Authenticated,
) -> Result<Response, ApiError> {
    let verdicts = own_limits(&state, RouteClass::Mail, ip, &who).await?;
    state.recovery().resend_verification(&who.principal).await?;
    Ok(limited(StatusCode::ACCEPTED.into_response(), &verdicts))
}

/// An address to send a reset link to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ada@example.com"}))]
pub struct PasswordResetRequest {
    /// The account's email address.
    email: String,
}

/// Ask for a password reset link. Needs nothing. Always answers 202, after
/// the same work whether or not the address has an account: the request is
/// queued, and a background job mails a link (valid 15 minutes, single use,
/// replacing earlier ones) if the address belongs to an account. The link
/// is built from the configured public URL, never from request headers.
/// Limited by `rate_limits.mail`, per client IP and per address asked for
/// (known or not, so the limit tells nothing either).
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted. If the address has an account, a link is on its way."),
        (status = 422, description = "`validation_failed`: the body is not `{email}`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 429, description = RATE_LIMITED, body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_password_reset(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    Json(body): Json<PasswordResetRequest>,
) -> Result<Response, ApiError> {
    let verdicts = account_limits(
        &state,
        RouteClass::Mail,
        ip,
        &normalize_email(body.email.trim()),
    )
    .await?;
    state
        .recovery()
        .request_password_reset(&body.email, &client)
        .await?;
    metrics::counter!("latchkey_password_reset_requests_total").increment(1);
    Ok(limited(StatusCode::ACCEPTED.into_response(), &verdicts))
}

/// A reset link's token and the new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "Qm9vGq3Yt3m4Jx0c2l6c0pQbW1yV0hBbG5xZ3lCb2M", "new_password": "a new long passphrase"}))]
pub struct PasswordResetConfirm {
    /// The `token` parameter of the reset link.
    token: String,
    /// The same rules as at registration: 8 to 1024 characters after NFKC
    /// normalization, not commonly used or breached, not the account's
    /// address or username.
    new_password: String,
}

/// Set a new password with a reset link. Needs nothing but the token. Ends
/// every session of the user, marks the address verified, voids every other
/// reset link, lifts a lock after failed sign-ins, and mails a notice. It
/// does not sign in: the user signs in with the new password (and any
/// second factor) afterwards. Recorded as `password_reset.completed`.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "The password is set; every session has ended."),
        (status = 400, description = "`invalid_token`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the new password is refused; its code is `password_too_short`, `password_too_long`, `password_too_common`, `password_breached`, `password_like_identity` or `password_too_weak`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; see `Retry-After`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_password_reset_confirm(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    Json(body): Json<PasswordResetConfirm>,
) -> Result<Response, ApiError> {
    state
        .recovery()
        .confirm_password_reset(&body.token, &body.new_password, &client)
        .await?;
    metrics::counter!("latchkey_password_resets_total").increment(1);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The current password and the new one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "correct horse battery staple", "new_password": "a new long passphrase"}))]
pub struct PasswordChange {
    /// The password now.
    current_password: String,
    /// The same rules as at registration (see the reset).
    new_password: String,
}

/// Change the password. **Requires** an access token or the session cookie
/// (with CSRF token), and the current password (and, for an account with a
/// second factor, a session that passed it). Every other session of the
/// user ends; the calling one stays. A notice is mailed. Limited like
/// sign-in (`rate_limits.login`), per client IP and per account. Recorded as
/// `password.changed`.
#[utoipa::path(post, path = "/v1/account/password", tag = "account", request_body = PasswordChange, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Changed; the other sessions have ended."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`wrong_password`: the current password is wrong; `mfa_required`: the account has a second factor and this session did not pass it.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the new password is refused (codes as for the reset).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_locked`: too many wrong passwords (here and at sign-in); the password is not checked until the owner signs in from a known device, resets it, or an administrator unlocks the account.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 429, description = RATE_LIMITED, body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_account_password(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    who: Authenticated,
    Json(body): Json<PasswordChange>,
) -> Result<Response, ApiError> {
    let verdicts = own_limits(&state, RouteClass::Login, ip, &who).await?;
    // with a second factor, only a session that passed it (aal2)
    state.mfa().require_aal2_if_enrolled(&who.principal).await?;
    state
        .recovery()
        .change_password(
            &who.principal,
            &body.current_password,
            &body.new_password,
            &client,
        )
        .await?;
    metrics::counter!("latchkey_password_changes_total").increment(1);
    Ok(limited(StatusCode::NO_CONTENT.into_response(), &verdicts))
}

/// The password, or a second factor's code, to confirm it is still the user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "correct horse battery staple"}))]
pub struct ReauthRequest {
    /// The account's password (or give `method` and `code`).
    password: Option<String>,
    /// A second factor: `totp` or `backup_code`.
    method: Option<String>,
    /// The code of `method`.
    code: Option<String>,
}

/// When the session last authenticated, and until when that counts as recent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"auth_time": "2126-11-22T10:00:00Z", "reauth_valid_until": "2126-11-22T10:10:00Z"}))]
pub struct ReauthResponse {
    /// The session's new authentication time (RFC 3339).
    pub auth_time: String,
    /// Sensitive changes are allowed until then (RFC 3339).
    pub reauth_valid_until: String,
}

/// Step-up: confirm the password, or a second factor's code (`method`
/// `totp` or `backup_code`), to refresh the session's `auth_time`, so that
/// changes needing a recent authentication (email change, deletion, the
/// account's factors) are allowed for `accounts.reauth_max_age_minutes`. A
/// code also raises the session to `aal2` (`amr` gains `otp` and `mfa`),
/// which accounts with a second factor need for those changes. **Requires** an access
/// token or the session cookie (with CSRF token). Access tokens issued
/// earlier keep their `auth_time` claim; refresh to get one with the new value.
/// Limited like sign-in (`rate_limits.login`), per client IP and per account.
#[utoipa::path(post, path = "/v1/auth/reauth", tag = "auth", request_body = ReauthRequest, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Re-authenticated.", body = ReauthResponse),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 400, description = "`method_unavailable`: the account has no such factor.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`wrong_password` or `invalid_code`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: neither a password nor a method and code.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_locked`: too many wrong passwords (here and at sign-in); the password is not checked until the owner signs in from a known device, resets it, or an administrator unlocks the account.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 429, description = RATE_LIMITED, body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_reauth(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    who: Authenticated,
    Json(body): Json<ReauthRequest>,
) -> Result<Response, ApiError> {
    let verdicts = own_limits(&state, RouteClass::Login, ip, &who).await?;
    let info = match (&body.password, &body.method, &body.code) {
        (Some(password), None, None) => {
            state
                .recovery()
                .reauthenticate(&who.principal, password)
                .await?
        }
        (None, Some(method), Some(code)) => {
            state
                .mfa()
                .reauthenticate(&who.principal, method, code, &client)
                .await?
        }
        _ => {
            return Err(ApiError::validation(vec![
                latchkey_proto::problem::FieldError {
                    field: "password".into(),
                    code: "password_or_code".into(),
                    message: "give either `password`, or `method` and `code`".into(),
                },
            ]));
        }
    };
    let body = axum::Json(ReauthResponse {
        auth_time: rfc3339(info.auth_time),
        reauth_valid_until: rfc3339(info.valid_until),
    });
    Ok(limited(body.into_response(), &verdicts))
}

/// The address to move the account to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"new_email": "ada.king@example.com"}))]
pub struct EmailChangeRequest {
    /// The new email address.
    new_email: String,
}

/// Change the email address. **Requires** an access token or the session
/// cookie (with CSRF token) **and a recent authentication**
/// (`POST /v1/auth/reauth`). A confirmation link (valid 24 hours) is mailed
/// to the new address, and the current address is told. The account keeps
/// its address until the link is used (`POST /v1/auth/verify-email`).
/// Limited by `rate_limits.mail`, per client IP and per account. Recorded
/// as `email_change.requested`.
#[utoipa::path(post, path = "/v1/account/email", tag = "account", request_body = EmailChangeRequest, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 202, description = "The confirmation link is on its way to the new address."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required`: authenticate again first.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 429, description = RATE_LIMITED, body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_account_email(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
    Json(body): Json<EmailChangeRequest>,
) -> Result<Response, ApiError> {
    let verdicts = own_limits(&state, RouteClass::Mail, ip, &who).await?;
    state
        .recovery()
        .request_email_change(&who.principal, &body.new_email, &client)
        .await?;
    Ok(limited(StatusCode::ACCEPTED.into_response(), &verdicts))
}

/// When the account's personal data will be removed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"deletion_due_at": "2126-12-22T10:00:00Z"}))]
pub struct DeletionScheduled {
    /// RFC 3339.
    pub deletion_due_at: String,
}

/// Delete the account. **Requires** an access token or the session cookie
/// (with CSRF token) **and a recent authentication**. The account becomes
/// pending deletion: every session ends, signing in is refused, and a link
/// to cancel is mailed. After `accounts.deletion_grace_days` (30 by
/// default) the personal data is removed: the account becomes a tombstone
/// without email, name or username, and its sessions, tokens and mail are
/// deleted. Recorded as `account.deletion_scheduled`, then
/// `account.deleted`.
#[utoipa::path(delete, path = "/v1/account", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 202, description = "Deletion scheduled.", body = DeletionScheduled),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_account(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
) -> Result<Response, ApiError> {
    let due = state
        .recovery()
        .schedule_deletion(&who.principal, &client)
        .await?;
    metrics::counter!("latchkey_account_deletions_requested_total").increment(1);
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(DeletionScheduled {
            deletion_due_at: rfc3339(due),
        }),
    )
        .into_response())
}

/// Cancel a pending deletion with the link mailed when it was requested.
/// Needs nothing but the token (the sessions ended with the request). The
/// account is usable again at once. Recorded as `account.deletion_cancelled`.
#[utoipa::path(post, path = "/v1/auth/cancel-deletion", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 204, description = "The deletion is cancelled; sign in again."),
        (status = 400, description = "`invalid_token`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many requests from this address; see `Retry-After`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_cancel_deletion(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    Json(body): Json<TokenRequest>,
) -> Result<Response, ApiError> {
    state
        .recovery()
        .cancel_deletion(&body.token, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deactivate the account. **Requires** an access token or the session
/// cookie (with CSRF token). Every session ends; signing in again
/// reactivates the account. Nothing is deleted. Recorded as
/// `account.deactivated` (and `account.reactivated` at the next sign-in).
#[utoipa::path(post, path = "/v1/account/deactivate", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Deactivated; every session has ended."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_deactivate(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    who: Authenticated,
) -> Result<Response, ApiError> {
    state.recovery().deactivate(&who.principal, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The group: JSON API errors. Routes that send mail are `mail`, those
/// that redeem a mailed token `token`, those that check a password `login`.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Token, routes!(post_verify_email))
        .add(RouteClass::Mail, routes!(post_resend_verification))
        .add(RouteClass::Mail, routes!(post_password_reset))
        .add(RouteClass::Token, routes!(post_password_reset_confirm))
        .add(RouteClass::Login, routes!(post_account_password))
        .add(RouteClass::Login, routes!(post_reauth))
        .add(RouteClass::Mail, routes!(post_account_email))
        .add(RouteClass::Api, routes!(delete_account))
        .add(RouteClass::Token, routes!(post_cancel_deletion))
        .add(RouteClass::Api, routes!(post_deactivate))
}
