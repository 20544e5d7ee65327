//! Passkeys (WebAuthn): sign-in (`/v1/auth/passkeys/login/*`) and the
//! account's own passkeys (`/v1/account/passkeys*`). The options follow
//! WebAuthn Level 3's JSON forms (`PublicKeyCredentialCreationOptionsJSON`,
//! `PublicKeyCredentialRequestOptionsJSON`), so a browser passes them to
//! `PublicKeyCredential.parseCreationOptionsFromJSON` and sends back
//! `credential.toJSON()`. Errors of the passkeys slice become problem+json
//! here.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::abuse::RouteClass;
use latchkey_core::passkeys::{
    AssertionResponse, Attestation, CHALLENGE_TTL, Passkey, PasskeyError, PasskeyStep, Started,
};
use latchkey_core::session::SessionKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::Routes;
use super::auth::LoginMode;
use super::mfa::signed_in_json;
use super::views::rfc3339;
use crate::cookies::{cookie_value, set_cookie};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::principal::{Authenticated, ClientAddr, ClientMeta, RecentlyAuthenticated};
use crate::render::Renderer;
use crate::sign_in::{CheckError, SignIn};
use crate::state::AppState;

impl From<PasskeyError> for ApiError {
    fn from(e: PasskeyError) -> Self {
        match e {
            PasskeyError::Refused(_) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_passkey",
                "Passkey refused",
                "The answer of the authenticator was refused: its challenge is unknown, used or older than 5 minutes, it came from another origin or browser, the passkey is unknown or of another account, or its signature or counter is wrong. Start again.",
            ),
            PasskeyError::InvalidSignupTicket => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_signup_ticket",
                "Invalid sign-up ticket",
                "The sign-up ticket is unknown, used, older than 10 minutes, or its address has an account now. Use a new link or code with `intent: signup`.",
            ),
            PasskeyError::AlreadyRegistered => ApiError::new(
                StatusCode::CONFLICT,
                "passkey_registered",
                "Passkey registered already",
                "This authenticator's passkey is registered already.",
            ),
            PasskeyError::NotFound => ApiError::not_found("The account has no such passkey."),
            PasskeyError::LastWayIn => ApiError::new(
                StatusCode::CONFLICT,
                "last_way_in",
                "The passkey is the last way in",
                "Without it the account could not sign in: set a password or add another passkey or a linked account first (sign-in by mail needs a verified address and passwordless sign-in turned on).",
            ),
            PasskeyError::SignIn(e) => e.into(),
            PasskeyError::Mfa(e) => e.into(),
            PasskeyError::Shared(e) => e.into(),
        }
    }
}

impl CheckError for PasskeyError {
    fn outcome(&self) -> &'static str {
        match self {
            PasskeyError::Refused(_) => "invalid_passkey",
            PasskeyError::InvalidSignupTicket => "invalid_signup_ticket",
            PasskeyError::SignIn(e) => e.outcome(),
            _ => "error",
        }
    }

    fn is_guess(&self) -> bool {
        matches!(
            self,
            PasskeyError::Refused(_) | PasskeyError::InvalidSignupTicket
        )
    }
}

/// A credential descriptor (`PublicKeyCredentialDescriptorJSON`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialDescriptor {
    /// Always `public-key`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The credential id, base64url.
    id: String,
    /// Transports the browser reported at registration.
    transports: Vec<String>,
}

fn descriptors(started: &Started) -> Vec<CredentialDescriptor> {
    started
        .credentials
        .iter()
        .map(|(id, transports)| CredentialDescriptor {
            kind: "public-key",
            id: b64url_encode(id),
            transports: transports.clone(),
        })
        .collect()
}

/// The relying party (`PublicKeyCredentialRpEntity`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RpEntity {
    /// The RP ID.
    id: String,
    /// The name authenticators show.
    name: String,
}

/// The account (`PublicKeyCredentialUserEntityJSON`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserEntity {
    /// The user handle: the account id, base64url.
    id: String,
    /// The address.
    name: String,
    /// The name, or the address.
    display_name: String,
}

/// An accepted algorithm (`PublicKeyCredentialParameters`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialParameters {
    /// Always `public-key`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// COSE algorithm: -8 EdDSA, -7 ES256, -257 RS256.
    alg: i64,
}

/// What kind of authenticator to create a credential on.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    /// `required`: a discoverable credential (a passkey).
    resident_key: &'static str,
    /// `true`, for older browsers.
    require_resident_key: bool,
    /// `preferred`.
    user_verification: &'static str,
}

/// `PublicKeyCredentialCreationOptionsJSON`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    rp: RpEntity,
    user: UserEntity,
    /// 32 random bytes, base64url; single use, 5 minutes.
    challenge: String,
    pub_key_cred_params: Vec<CredentialParameters>,
    /// Milliseconds.
    timeout: i64,
    /// The account's passkeys: one authenticator is not registered twice.
    exclude_credentials: Vec<CredentialDescriptor>,
    authenticator_selection: AuthenticatorSelection,
    /// `none`: latchkey trusts no authenticator maker's attestation.
    attestation: &'static str,
}

/// The options for `navigator.credentials.create`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptionsResponse {
    /// Pass to `PublicKeyCredential.parseCreationOptionsFromJSON`.
    public_key: CreationOptions,
}

/// `PublicKeyCredentialRequestOptionsJSON`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    /// 32 random bytes, base64url; single use, 5 minutes.
    challenge: String,
    rp_id: String,
    /// Milliseconds.
    timeout: i64,
    /// `preferred`: with it the passkey is two factors, without one.
    user_verification: &'static str,
    /// Empty for a discoverable sign-in; the account's passkeys for one with
    /// an address.
    allow_credentials: Vec<CredentialDescriptor>,
}

/// The options for `navigator.credentials.get`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptionsResponse {
    /// Pass to `PublicKeyCredential.parseRequestOptionsFromJSON`.
    public_key: RequestOptions,
}

/// `AuthenticatorAttestationResponseJSON` (other members are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttestationJson {
    /// base64url.
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    /// base64url.
    attestation_object: String,
    #[serde(default)]
    transports: Vec<String>,
}

/// `RegistrationResponseJSON` (other members are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationCredential {
    /// The credential's answer.
    response: AttestationJson,
}

/// `AuthenticatorAssertionResponseJSON`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssertionJson {
    /// base64url.
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    /// base64url.
    authenticator_data: String,
    /// base64url.
    signature: String,
    /// base64url; the account id of a discoverable credential.
    #[serde(default)]
    user_handle: Option<String>,
}

/// `AuthenticationResponseJSON` (other members are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationCredential {
    /// The credential id, base64url.
    raw_id: String,
    /// The credential's answer.
    response: AssertionJson,
}

fn b64url_encode(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

fn bytes(text: &str) -> Result<Vec<u8>, PasskeyError> {
    if text.len() > 16 * 1024 {
        return Err(PasskeyError::Refused("malformed"));
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| PasskeyError::Refused("malformed"))
}

impl RegistrationCredential {
    pub(super) fn decode(&self) -> Result<Attestation, PasskeyError> {
        let r = &self.response;
        Ok(Attestation {
            client_data_json: bytes(&r.client_data_json)?,
            attestation_object: bytes(&r.attestation_object)?,
            transports: r.transports.clone(),
        })
    }
}

impl AuthenticationCredential {
    pub(super) fn decode(&self) -> Result<AssertionResponse, PasskeyError> {
        let r = &self.response;
        Ok(AssertionResponse {
            credential_id: bytes(&self.raw_id)?,
            client_data_json: bytes(&r.client_data_json)?,
            authenticator_data: bytes(&r.authenticator_data)?,
            signature: bytes(&r.signature)?,
            user_handle: r
                .user_handle
                .as_deref()
                .filter(|h| !h.is_empty())
                .map(bytes)
                .transpose()?,
        })
    }
}

/// Starting a passkey sign-in.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mode": "cookie"}))]
pub struct LoginStartRequest {
    /// An address, to list its passkeys; without, a discoverable
    /// (usernameless) sign-in, also for the browser's autofill.
    #[serde(default)]
    email: Option<String>,
    /// `bearer` (default) or `cookie`; in cookie mode the ceremony is bound
    /// to this browser by a cookie.
    #[serde(default)]
    mode: LoginMode,
}

/// The request options of a started ceremony.
fn request_options(state: &AppState, started: &Started) -> RequestOptionsResponse {
    RequestOptionsResponse {
        public_key: RequestOptions {
            challenge: b64url_encode(&started.challenge),
            rp_id: state.passkeys().relying_party().id.clone(),
            timeout: timeout_ms(),
            user_verification: "preferred",
            allow_credentials: descriptors(started),
        },
    }
}

fn timeout_ms() -> i64 {
    CHALLENGE_TTL.whole_milliseconds() as i64
}

/// Starts a passkey sign-in: the options for `navigator.credentials.get`.
/// Needs nothing. Without `email` the sign-in is discoverable (the browser
/// offers the passkeys it holds for latchkey, also in the autofill of a
/// field with `autocomplete="username webauthn"`); with one, the account's
/// passkeys are listed (an unknown address gets an answer of the same
/// shape). In cookie mode a cookie binds the ceremony to this browser.
#[utoipa::path(post, path = "/v1/auth/passkeys/login/start", tag = "auth", request_body = LoginStartRequest,
    responses(
        (status = 200, description = "The request options.", body = RequestOptionsResponse),
    ))]
pub async fn post_passkey_login_start(
    State(state): State<AppState>,
    Json(body): Json<LoginStartRequest>,
) -> Result<Response, ApiError> {
    let passkeys = state.passkeys();
    let started = passkeys
        .start_login(body.email.as_deref(), body.mode == LoginMode::Cookie)
        .await?;
    let mut response = axum::Json(request_options(&state, &started)).into_response();
    if let Some(binding) = &started.binding_cookie {
        let cookies = state.cookies();
        set_cookie(
            response.headers_mut(),
            cookies.passkey_name(),
            binding,
            CHALLENGE_TTL.whole_seconds(),
            cookies.secure,
        );
    }
    Ok(response)
}

/// Finishing a passkey sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginFinishRequest {
    /// `credential.toJSON()` of `navigator.credentials.get`.
    credential: AuthenticationCredential,
    /// As at `start`: `bearer` (default) or `cookie`.
    #[serde(default)]
    mode: LoginMode,
    /// Keep me signed in (default `true`).
    #[serde(default = "yes")]
    remember: bool,
}

pub(super) fn yes() -> bool {
    true
}

/// Finishes a passkey sign-in: the token response (or, in cookie mode, a
/// session cookie), or `mfa_required` when the authenticator did not verify
/// the user and the account has a second factor. Needs nothing; in cookie
/// mode the request must come from latchkey's origin with the cookie
/// `start` set. With user verification the session is `aal2` (`amr`
/// `hwk` or `swk`, `user`, `mfa`).
#[utoipa::path(post, path = "/v1/auth/passkeys/login/finish", tag = "auth", request_body = LoginFinishRequest,
    responses(
        (status = 200, description = "Bearer mode: the token response. Cookie mode: `CookieLoginResponse` and `Set-Cookie`. Or `MfaChallengeResponse`.", body = latchkey_proto::TokenResponse),
        (status = 401, description = "`invalid_passkey`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`csrf_failed` (cookie mode from another origin); `challenge_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_suspended`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_passkey_login_finish(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<LoginFinishRequest>,
) -> Result<Response, ApiError> {
    let kind = body.mode.kind();
    let binding = (kind == SessionKind::Cookie)
        .then(|| cookie_value(&headers, state.cookies().passkey_name()))
        .flatten();
    let passkeys = state.passkeys();
    let signed_in = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        kind,
        // the account is not known before the credential is read
        account: &body.credential.raw_id,
        pow: None,
        remember: body.remember,
    }
    .run(|_device_cookie| async {
        let answer = body.credential.decode()?;
        passkeys
            .finish_login(&answer, binding.as_deref(), kind, &client)
            .await
    })
    .await?;
    Ok(signed_in_json(signed_in))
}

/// Asking for the options of a passkey as the second factor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mfa_token": "pS0n9aVtq3Xc1Hq2o5yL7cJ0kQm8wR4tB6dE2fG3hI8"}))]
pub struct MfaOptionsRequest {
    /// The `mfa_token` of the first step (its `methods` listed `webauthn`).
    mfa_token: String,
    /// The first step's mode: `bearer` (default) or `cookie`.
    #[serde(default)]
    mode: LoginMode,
}

/// The options for `navigator.credentials.get` when a passkey answers the
/// second step of a sign-in (`methods` listed `webauthn`): the account's
/// passkeys, and a challenge bound to this `mfa_token`, single use, 5
/// minutes. Spends none of the token's attempts. Needs nothing else, except
/// in cookie mode the cookie the first step set. The answer goes to
/// `POST /v1/auth/login/mfa` with `method` `webauthn` and `credential`.
#[utoipa::path(post, path = "/v1/auth/login/mfa/webauthn/options", tag = "auth", request_body = MfaOptionsRequest,
    responses(
        (status = 200, description = "The request options.", body = RequestOptionsResponse),
        (status = 400, description = "`method_unavailable`: the account has no passkey, or the first step was one.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_mfa_token`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_login_mfa_webauthn_options(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    Json(body): Json<MfaOptionsRequest>,
) -> Result<axum::Json<RequestOptionsResponse>, ApiError> {
    let binding = cookie_value(&headers, state.cookies().mfa_name());
    let started = state
        .passkeys()
        .second_factor_options(PasskeyStep {
            mfa_token: &body.mfa_token,
            binding_cookie: binding.as_deref(),
            kind: body.mode.kind(),
            client: &client,
        })
        .await?;
    Ok(axum::Json(request_options(&state, &started)))
}

/// A passkey of the account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193a7c2-8f1e-7b3a-9c4d-2e5f6a7b8c9d", "name": "Laptop", "created_at": "2126-11-22T10:00:00Z", "last_used_at": null, "backup_eligible": true, "backup_state": true, "transports": ["internal", "hybrid"], "aaguid": "00000000000000000000000000000000"}))]
pub struct PasskeyView {
    /// Its id (in URLs).
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// When it was registered (RFC 3339).
    pub created_at: String,
    /// When it was last used to sign in.
    pub last_used_at: Option<String>,
    /// May be synced to other devices.
    pub backup_eligible: bool,
    /// Was backed up at its last use.
    pub backup_state: bool,
    /// How the browser reaches it.
    pub transports: Vec<String>,
    /// The authenticator model (hex; zeros for most passkey providers).
    pub aaguid: String,
}

impl PasskeyView {
    pub(crate) fn of(p: &Passkey) -> PasskeyView {
        PasskeyView {
            id: p.id.clone(),
            name: p.name.clone(),
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
            backup_eligible: p.backup_eligible,
            backup_state: p.backup_state,
            transports: p.transports.clone(),
            aaguid: p.aaguid.clone(),
        }
    }
}

/// The caller's passkeys, oldest first. **Requires** an access token or
/// the session cookie.
#[utoipa::path(get, path = "/v1/account/passkeys", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The passkeys.", body = Vec<PasskeyView>),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_passkeys(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<axum::Json<Vec<PasskeyView>>, ApiError> {
    let list = state.passkeys().list(&who.principal.user_id).await?;
    Ok(axum::Json(list.iter().map(PasskeyView::of).collect()))
}

/// Starts registering a passkey: the options for
/// `navigator.credentials.create` (the account's passkeys excluded).
/// **Requires** a recent authentication (`reauth_required`; with a second
/// factor, one that passed it).
#[utoipa::path(post, path = "/v1/account/passkeys/register/start", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The creation options.", body = CreationOptionsResponse),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required` or `mfa_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_passkey_register_start(
    State(state): State<AppState>,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
) -> Result<axum::Json<CreationOptionsResponse>, ApiError> {
    let started = state.passkeys().start_registration(&who.principal).await?;
    let user = &who.principal.user;
    let display = user.name.as_deref().unwrap_or(&user.email);
    Ok(axum::Json(creation_options(
        &state,
        &started,
        &user.id,
        &user.email,
        display,
    )))
}

/// The creation options of a started registration for the account (to be)
/// `user_id`.
pub(super) fn creation_options(
    state: &AppState,
    started: &Started,
    user_id: &str,
    email: &str,
    display_name: &str,
) -> CreationOptionsResponse {
    let rp = state.passkeys().relying_party();
    CreationOptionsResponse {
        public_key: CreationOptions {
            rp: RpEntity {
                id: rp.id.clone(),
                name: rp.name.clone(),
            },
            user: UserEntity {
                id: b64url_encode(user_id.as_bytes()),
                name: email.to_owned(),
                display_name: display_name.to_owned(),
            },
            challenge: b64url_encode(&started.challenge),
            pub_key_cred_params: latchkey_core::passkeys::webauthn::ALGORITHMS
                .iter()
                .map(|&alg| CredentialParameters {
                    kind: "public-key",
                    alg,
                })
                .collect(),
            timeout: timeout_ms(),
            exclude_credentials: descriptors(started),
            authenticator_selection: AuthenticatorSelection {
                resident_key: "required",
                require_resident_key: true,
                user_verification: "preferred",
            },
            attestation: "none",
        },
    }
}

/// Finishing a registration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterFinishRequest {
    /// `credential.toJSON()` of `navigator.credentials.create`.
    credential: RegistrationCredential,
    /// A name for it (default `Passkey`), 1 to 64 characters.
    #[serde(default)]
    name: Option<String>,
}

/// Finishes registering a passkey. **Requires** a recent authentication,
/// and the challenge of this account's `start`. Recorded as
/// `passkey.added`.
#[utoipa::path(post, path = "/v1/account/passkeys/register/finish", tag = "account", request_body = RegisterFinishRequest, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Registered.", body = PasskeyView),
        (status = 401, description = "`unauthenticated`; `invalid_passkey`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required` or `mfa_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`passkey_registered`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_passkey_register_finish(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
    Json(body): Json<RegisterFinishRequest>,
) -> Result<Response, ApiError> {
    let answer = body.credential.decode()?;
    let passkey = state
        .passkeys()
        .finish_registration(&who.principal, &answer, body.name.as_deref(), &client)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(PasskeyView::of(&passkey))).into_response())
}

/// A new name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Phone"}))]
pub struct RenameRequest {
    /// 1 to 64 characters.
    name: String,
}

/// Renames one of the caller's passkeys (another account's is 404).
/// **Requires** a recent authentication.
#[utoipa::path(patch, path = "/v1/account/passkeys/{id}", tag = "account", request_body = RenameRequest, security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "Passkey id")),
    responses(
        (status = 200, description = "Renamed.", body = PasskeyView),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required` or `mfa_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_passkey(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
    Path(id): Path<String>,
    Json(body): Json<RenameRequest>,
) -> Result<axum::Json<PasskeyView>, ApiError> {
    let passkey = state
        .passkeys()
        .rename(&who.principal, &id, &body.name, &client)
        .await?;
    Ok(axum::Json(PasskeyView::of(&passkey)))
}

/// Removes one of the caller's passkeys (another account's is 404), unless
/// it is the account's last way in (409 `last_way_in`, one rule with the
/// password and linked identities: `latchkey_core::ways_in`).
/// **Requires** a recent authentication. Recorded as `passkey.removed`.
#[utoipa::path(delete, path = "/v1/account/passkeys/{id}", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "Passkey id")),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required` or `mfa_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_way_in`: without it the account could not sign in.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_passkey(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .passkeys()
        .delete(&who.principal, &id, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The passkey ceremonies of the hosted pages (`/login`: the passkey
/// button and the autofill; `/account`: add and remove). Needs nothing.
#[utoipa::path(get, path = "/assets/latchkey-passkeys.js", tag = "pages",
    responses((status = 200, description = "JavaScript.", content_type = "text/javascript")))]
pub async fn get_passkeys_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/latchkey-passkeys.js"),
    )
        .into_response()
}

pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Login, routes!(post_passkey_login_start))
        .add(RouteClass::Login, routes!(post_passkey_login_finish))
        .add(RouteClass::Login, routes!(post_login_mfa_webauthn_options))
        .add(RouteClass::Api, routes!(get_passkeys))
        .add(RouteClass::Api, routes!(get_passkeys_script))
        .add(RouteClass::Api, routes!(post_passkey_register_start))
        .add(RouteClass::Api, routes!(post_passkey_register_finish))
        .add(RouteClass::Api, routes!(patch_passkey, delete_passkey))
}
