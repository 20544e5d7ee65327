//! Second factors: the second step of sign-in (`/v1/auth/login/mfa`), the
//! account's own factors (`/v1/account/mfa/*`), and the administrator's
//! reset (`/v1/admin/users/{id}/mfa`). Errors of the mfa slice become
//! problem+json here.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::error::SharedError;
use latchkey_core::mfa::{MfaError, MfaRequired};
use latchkey_core::sign_in::LoginOutcome;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::Routes;
use super::auth::{CookieLoginResponse, LoginMode};
use super::views::rfc3339;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::principal::{Admin, ClientAddr, ClientMeta, Enrolling, RecentlyAuthenticated, perm};
use crate::render::Renderer;
use crate::sign_in::{SignIn, SignedIn};
use crate::state::AppState;

impl From<MfaError> for ApiError {
    fn from(e: MfaError) -> Self {
        match e {
            MfaError::InvalidCode => ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_code",
                "Invalid code",
                "The code is wrong, or was used already (each code, and each 30-second authenticator code, works once).",
            ),
            MfaError::InvalidMfaToken => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_mfa_token",
                "Invalid mfa_token",
                "The mfa_token is unknown, used, expired (5 minutes), was tried with 5 wrong codes, or came from another browser. Sign in again.",
            ),
            MfaError::MethodUnavailable => ApiError::new(
                StatusCode::BAD_REQUEST,
                "method_unavailable",
                "Method unavailable",
                "The account cannot use this method: see `methods` of the sign-in answer (`totp`, `backup_code`, `webauthn`).",
            ),
            MfaError::NotEnrolled => ApiError::new(
                StatusCode::CONFLICT,
                "mfa_not_enabled",
                "Two-step sign-in is off",
                "The account has no second factor.",
            ),
            MfaError::AlreadyEnrolled => ApiError::new(
                StatusCode::CONFLICT,
                "mfa_already_enabled",
                "Two-step sign-in is on",
                "The account has a confirmed authenticator already; disable it first to enrol another.",
            ),
            MfaError::NoPendingEnrolment => ApiError::new(
                StatusCode::CONFLICT,
                "no_pending_enrolment",
                "Nothing to confirm",
                "Start enrolment with POST /v1/account/mfa/totp first.",
            ),
            MfaError::StepUpRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "mfa_required",
                "Second factor required",
                "This account has a second factor and this change needs a recent sign-in with it: POST /v1/auth/reauth with {method, code}, then retry.",
            ),
            MfaError::EnrolmentRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "mfa_enrollment_required",
                "Second factor enrolment required",
                "A role of this account requires two-step sign-in (mfa.required_for_roles): until a second factor is enrolled (POST /v1/account/mfa/totp, then /confirm), this session can only enrol one or sign out.",
            ),
            MfaError::AdminWithoutFactor => ApiError::new(
                StatusCode::FORBIDDEN,
                "mfa_required",
                "Second factor required",
                "A role of this account requires two-step sign-in (mfa.required_for_roles): administration answers only once a second factor is enrolled.",
            ),
            MfaError::SignIn(e) => e.into(),
            MfaError::Session(e) => e.into(),
            MfaError::Recovery(e) => e.into(),
            MfaError::Admin(e) => e.into(),
            MfaError::Shared(e) => e.into(),
        }
    }
}

/// The first step's answer when the account has a second factor.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"mfa_required": true, "mfa_token": "pS0n9aVtq3Xc1Hq2o5yL7cJ0kQm8wR4tB6dE2fG3hI8", "methods": ["totp", "backup_code"], "expires_at": "2126-11-22T10:05:00Z"}))]
pub struct MfaChallengeResponse {
    /// Always `true`.
    pub mfa_required: bool,
    /// Single use, 5 minutes; POST it to `/v1/auth/login/mfa` with a code.
    /// In cookie mode it works only with the cookie set with it.
    pub mfa_token: String,
    /// `totp`, and `backup_code` while unused backup codes are left;
    /// `webauthn` when the account has a passkey (and the first step was
    /// not one).
    pub methods: Vec<&'static str>,
    /// When the `mfa_token` stops working (RFC 3339).
    pub expires_at: String,
}

impl MfaChallengeResponse {
    fn of(m: &MfaRequired) -> MfaChallengeResponse {
        MfaChallengeResponse {
            mfa_required: true,
            mfa_token: m.mfa_token.clone(),
            methods: m.methods.iter().map(|m| m.as_str()).collect(),
            expires_at: rfc3339(m.expires_at),
        }
    }
}

/// The JSON answer of a sign-in step: tokens, a cookie session's details,
/// or the second-factor challenge.
pub(super) fn signed_in_json(signed_in: SignedIn) -> Response {
    let response = match &signed_in.outcome {
        LoginOutcome::Tokens(tokens) => axum::Json(tokens).into_response(),
        LoginOutcome::Cookie(c) => axum::Json(CookieLoginResponse {
            session_id: c.session.id.clone(),
            csrf_token: c.csrf_token.clone(),
            expires_at: rfc3339(c.session.expires_at.min(c.session.idle_expires_at)),
        })
        .into_response(),
        LoginOutcome::MfaRequired(m) => axum::Json(MfaChallengeResponse::of(m)).into_response(),
    };
    signed_in.respond(response)
}

/// The second step of a sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mfa_token": "pS0n9aVtq3Xc1Hq2o5yL7cJ0kQm8wR4tB6dE2fG3hI8", "method": "totp", "code": "287082"}))]
pub struct LoginMfaRequest {
    /// The `mfa_token` of the first step.
    mfa_token: String,
    /// `totp`, `backup_code` or `webauthn`.
    method: String,
    /// `totp` and `backup_code`: the 6-digit code, or a backup code
    /// (`xxxx-xxxx-xxxx`).
    #[serde(default)]
    code: Option<String>,
    /// `webauthn`: `credential.toJSON()` of `navigator.credentials.get`
    /// called with the options of `/v1/auth/login/mfa/webauthn/options`.
    #[serde(default)]
    credential: Option<super::passkeys::AuthenticationCredential>,
    /// The first step's mode: `bearer` (default) or `cookie`.
    #[serde(default)]
    mode: LoginMode,
    /// As at the first step (default `true`).
    #[serde(default = "yes")]
    remember: bool,
}

fn yes() -> bool {
    true
}

/// The second step of a sign-in whose first step answered `mfa_required`:
/// the `mfa_token` and a code from the authenticator app, a backup code, or
/// (`method` `webauthn`) a passkey's assertion for the options of
/// `/v1/auth/login/mfa/webauthn/options`. Needs nothing else, except in
/// cookie mode: the request must come from latchkey's origin and carry the
/// cookie the first step set. The token works once, for 5 minutes, and
/// dies after 5 wrong answers; each wrong one also counts in the account's
/// failed sign-ins (429/423 as at login). A used backup code is mailed to
/// the owner.
#[utoipa::path(post, path = "/v1/auth/login/mfa", tag = "auth", request_body = LoginMfaRequest,
    responses(
        (status = 200, description = "Bearer mode: the token response. Cookie mode: `CookieLoginResponse` and `Set-Cookie`.", body = latchkey_proto::TokenResponse),
        (status = 400, description = "`method_unavailable`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_mfa_token`: unknown, used, expired, tried 5 times, or without its cookie; sign in again. `invalid_passkey`: the passkey's answer was refused (its challenge unknown, used or of another token, another origin, another account's passkey).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`invalid_code`; `csrf_failed` (cookie mode from another origin); `challenge_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_locked` or `account_suspended`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_login_mfa(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<LoginMfaRequest>,
) -> Result<Response, ApiError> {
    let step = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        kind: body.mode.kind(),
        // the account is not known before the token is read: its quota key
        // is the token, and wrong codes count on the account in core
        account: &body.mfa_token,
        pow: None,
        remember: body.remember,
    };
    let signed_in = match (body.method.as_str(), &body.code, &body.credential) {
        ("webauthn", None, Some(credential)) => {
            step.with_passkey_second_factor(&body.mfa_token, credential.decode())
                .await?
        }
        ("webauthn", _, _) => return Err(one_proof("credential")),
        (method, Some(code), None) => {
            step.with_second_factor(&body.mfa_token, method, code)
                .await?
        }
        _ => return Err(one_proof("code")),
    };
    Ok(signed_in_json(signed_in))
}

/// A second step without its proof, or with the other method's too.
fn one_proof(field: &'static str) -> ApiError {
    SharedError::field(
        field,
        "required",
        "`code` for totp and backup_code, `credential` for webauthn; not both",
    )
    .into()
}

/// The account's second factors.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"enabled": true, "totp": "enabled", "backup_codes_left": 8, "methods": ["totp", "backup_code"]}))]
pub struct MfaStatusView {
    /// Whether sign-in asks for a second factor.
    pub enabled: bool,
    /// `none`, `pending` (enrolment started, not confirmed) or `enabled`.
    pub totp: &'static str,
    /// Unused backup codes.
    pub backup_codes_left: u32,
    /// What the second step accepts.
    pub methods: Vec<&'static str>,
}

/// The caller's second factors. **Requires** an access token or the
/// session cookie.
#[utoipa::path(get, path = "/v1/account/mfa", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "What is enrolled.", body = MfaStatusView),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_mfa(
    State(state): State<AppState>,
    Enrolling(who): Enrolling,
) -> Result<axum::Json<MfaStatusView>, ApiError> {
    let status = state.mfa().status(&who.principal.user_id).await?;
    Ok(axum::Json(MfaStatusView {
        enabled: status.enabled(),
        totp: match &status.totp {
            None => "none",
            Some(t) if t.confirmed_at.is_none() => "pending",
            Some(_) => "enabled",
        },
        backup_codes_left: status.backup_codes_left,
        methods: status.methods().iter().map(|m| m.as_str()).collect(),
    }))
}

/// A new TOTP secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "otpauth_uri": "otpauth://totp/latchkey:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=latchkey", "qr_svg": "<svg xmlns=\"http://www.w3.org/2000/svg\" …</svg>"}))]
pub struct TotpEnrolmentView {
    /// The secret in base32, to type into an app by hand.
    pub secret: String,
    /// The `otpauth://` URI (SHA-1, 6 digits, 30 s).
    pub otpauth_uri: String,
    /// The URI as a QR code: an inline SVG document.
    pub qr_svg: String,
}

/// The QR code of `uri` as an SVG document.
pub(super) fn qr_svg(uri: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M)
        .map_err(|e| ApiError::internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Start TOTP enrolment: a new secret, its `otpauth://` URI and the QR
/// code, shown once; it takes effect when confirmed with a first code.
/// Starting again replaces a pending secret. **Requires** a recent
/// authentication (`reauth_required`).
#[utoipa::path(post, path = "/v1/account/mfa/totp", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "The secret (shown once).", body = TotpEnrolmentView),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_already_enabled`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_totp(
    State(state): State<AppState>,
    Enrolling(who): Enrolling,
) -> Result<Response, ApiError> {
    state.mfa().require_recent(&who.principal).await?;
    let enrolment = state.mfa().start_totp(&who.principal).await?;
    let view = TotpEnrolmentView {
        qr_svg: qr_svg(&enrolment.otpauth_uri)?,
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
    };
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// A code from the authenticator app.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "287082"}))]
pub struct CodeRequest {
    /// The 6-digit code.
    code: String,
}

/// Backup codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"backup_codes": ["4kq7-mz2x-9c8d", "…"]}))]
pub struct BackupCodesView {
    /// Ten single-use codes; only their hashes are kept.
    pub backup_codes: Vec<String>,
}

/// Confirm TOTP enrolment with a first code: two-step sign-in is on from
/// now, this session counts as having passed it (`aal2`), the account's
/// other sessions end, the owner is mailed, and ten backup codes are
/// returned, shown this once. **Requires** an access token or the session
/// cookie. Recorded as `mfa.enabled`.
#[utoipa::path(post, path = "/v1/account/mfa/totp/confirm", tag = "account", request_body = CodeRequest, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Enabled; the backup codes.", body = BackupCodesView),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`invalid_code`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_pending_enrolment` or `mfa_already_enabled`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_totp_confirm(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    Enrolling(who): Enrolling,
    Json(body): Json<CodeRequest>,
) -> Result<axum::Json<BackupCodesView>, ApiError> {
    let backup_codes = state
        .mfa()
        .confirm_totp(&who.principal, &body.code, &client)
        .await?;
    Ok(axum::Json(BackupCodesView { backup_codes }))
}

/// Turn two-step sign-in off: the authenticator and the backup codes go,
/// the owner is mailed. **Requires** a recent authentication with the
/// second factor (`reauth_required`, `mfa_required`). Recorded as
/// `mfa.disabled`.
#[utoipa::path(delete, path = "/v1/account/mfa/totp", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Disabled."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required` or `mfa_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enabled`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_totp(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
) -> Result<StatusCode, ApiError> {
    state.mfa().disable_totp(&who.principal, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the backup codes: ten new ones, shown this once; the old ones
/// stop working; the owner is mailed. **Requires** a recent authentication
/// with the second factor. Recorded as `mfa.backup_codes_regenerated`.
#[utoipa::path(post, path = "/v1/account/mfa/backup-codes", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The new codes.", body = BackupCodesView),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required` or `mfa_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enabled`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_backup_codes(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
) -> Result<axum::Json<BackupCodesView>, ApiError> {
    let backup_codes = state
        .mfa()
        .regenerate_backup_codes(&who.principal, &client)
        .await?;
    Ok(axum::Json(BackupCodesView { backup_codes }))
}

/// Remove a user's second factors (authenticator and backup codes), for a
/// user who lost them; the user is mailed and signs in with the password
/// alone until enrolling again. **Requires** `users:write` (and every
/// permission the account holds). Recorded as `mfa.reset`.
#[utoipa::path(delete, path = "/v1/admin/users/{id}/mfa", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Removed."),
        (status = 403, description = "`permission_denied`; `mfa_required` (the administrator has a factor and did not pass it recently).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_not_enabled`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user_mfa(
    State(state): State<AppState>,
    admin: Admin<perm::UsersWrite>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.mfa().admin_reset(&admin.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The group: JSON API errors. The second step and the confirmation check
/// a code the user knows, so they are limited like sign-in.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Login, routes!(post_login_mfa))
        .add(RouteClass::Api, routes!(get_mfa))
        .add(RouteClass::Api, routes!(post_totp, delete_totp))
        .add(RouteClass::Login, routes!(post_totp_confirm))
        .add(RouteClass::Api, routes!(post_backup_codes))
        .add(RouteClass::Api, routes!(delete_user_mfa))
}
