//! Sign-in with other providers (issue 17): the authorization request
//! (`/v1/auth/oauth/{provider}/authorize`), the callback, the API mode's
//! code exchange, the provider list, and the account's linked identities.
//! Errors of the federation slice become problem+json here.
//!
//! The flow's `state` is bound to the browser by a short-lived cookie set
//! with the redirect to the provider: a callback without it (another
//! browser, login CSRF) is refused before anything is redeemed. A session
//! starts through the one sign-in step ([`SignIn::run_bound`]: the `state`
//! cookie replaces the `Origin` check a navigation from the provider's site
//! cannot pass), so a second factor still applies.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::federation::{Callback, FLOW_TTL, FederationError, FlowMode, Identity, outcome};
use latchkey_core::session::SessionKind;
use latchkey_core::sign_in::LoginOutcome;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::Routes;
use super::mfa::signed_in_json;
use crate::cookies::{cookie_value, set_cross_site_cookie};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::pages::csrf::PreSignIn;
use crate::pages::lang::Lang;
use crate::principal::{Authenticated, ClientAddr, ClientMeta, RecentlyAuthenticated};
use crate::render::Renderer;
use crate::sign_in::{CheckError, SignIn};
use crate::state::AppState;
use crate::timefmt::rfc3339;

impl From<FederationError> for ApiError {
    fn from(e: FederationError) -> Self {
        let (status, code, title, detail) = match e {
            FederationError::UnknownProvider => (
                StatusCode::NOT_FOUND,
                "unknown_provider",
                "Unknown provider",
                "No provider of this name is configured: see GET /v1/auth/providers.",
            ),
            FederationError::StateMismatch => (
                StatusCode::BAD_REQUEST,
                "state_mismatch",
                "Sign-in not started here",
                "The answer of the provider does not belong to a sign-in started in this browser. Start again.",
            ),
            FederationError::StateUnknown => (
                StatusCode::BAD_REQUEST,
                "state_expired",
                "Sign-in expired",
                "This sign-in expired (10 minutes) or was finished already. Start again.",
            ),
            FederationError::Denied => (
                StatusCode::FORBIDDEN,
                "provider_denied",
                "The provider refused",
                "The sign-in was cancelled or refused at the provider.",
            ),
            FederationError::IssuerMismatch => (
                StatusCode::BAD_REQUEST,
                "issuer_mismatch",
                "Answer from another provider",
                "The authorization response names another issuer (RFC 9207).",
            ),
            FederationError::InvalidIdToken(why) => {
                return ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "invalid_id_token",
                    "Invalid ID token",
                    "The provider's ID token did not pass validation.",
                )
                .with_reason(format!("ID token refused: {why}"));
            }
            FederationError::Upstream(why) => {
                return ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "provider_unavailable",
                    "Provider unavailable",
                    "The provider could not be reached or answered unexpectedly. Try again later.",
                )
                .with_reason(why);
            }
            FederationError::LinkRequired => (
                StatusCode::CONFLICT,
                "link_required",
                "Sign in to your account first",
                "An account with this address exists. Sign in to it, then link this provider from your account.",
            ),
            FederationError::AlreadyLinked => (
                StatusCode::CONFLICT,
                "identity_already_linked",
                "Linked to another account",
                "This account at the provider is linked to another account.",
            ),
            FederationError::SignUpClosed => (
                StatusCode::FORBIDDEN,
                "sign_up_closed",
                "No account",
                "There is no account for this sign-in, and none can be created through this provider.",
            ),
            FederationError::InvalidCode => (
                StatusCode::BAD_REQUEST,
                "invalid_code",
                "Invalid code",
                "The code is unknown, used, expired (2 minutes), or the code_verifier does not match.",
            ),
            FederationError::RedirectUriNotAllowed => (
                StatusCode::BAD_REQUEST,
                "redirect_uri_not_allowed",
                "redirect_uri not allowed",
                "The redirect_uri is not one of `federation.api_redirect_uris`.",
            ),
            FederationError::LastWayIn => (
                StatusCode::CONFLICT,
                "last_way_in",
                "The last way to sign in",
                "Set a password or link another provider before removing this one.",
            ),
            FederationError::IdentityNotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found",
                "No such linked identity on this account.",
            ),
            FederationError::NativeUnsupported => (
                StatusCode::BAD_REQUEST,
                "native_not_supported",
                "No native sign-in with this provider",
                "Native apps sign in with ID tokens of OpenID Connect providers only.",
            ),
            FederationError::NonceUnknown => (
                StatusCode::BAD_REQUEST,
                "invalid_nonce",
                "Invalid nonce",
                "The nonce is unknown, used, expired (5 minutes) or another provider's. Get a new one.",
            ),
            FederationError::IdTokenRefused(why) => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "id_token_refused",
                    "ID token refused",
                    "The ID token did not pass validation (signature, issuer, audience, expiry, nonce).",
                )
                .with_reason(format!("native ID token refused: {why}"));
            }
            FederationError::TokensNotStored => (
                StatusCode::CONFLICT,
                "upstream_tokens_not_stored",
                "No provider tokens kept",
                "latchkey keeps no tokens of this provider for this identity: the provider needs `store_tokens = true`, then a sign-in with it.",
            ),
            FederationError::UpstreamTokenExpired(why) => {
                return ApiError::new(
                    StatusCode::CONFLICT,
                    "upstream_token_expired",
                    "Provider token expired",
                    "The provider's access token expired and cannot be refreshed. Sign in with the provider again.",
                )
                .with_reason(why);
            }
            FederationError::SignIn(e) => return e.into(),
            FederationError::Shared(e) => return e.into(),
        };
        ApiError::new(status, code, title, detail)
    }
}

impl CheckError for FederationError {
    fn outcome(&self) -> &'static str {
        match self {
            FederationError::SignIn(e) => e.outcome(),
            e => outcome(e),
        }
    }

    fn is_guess(&self) -> bool {
        matches!(
            self,
            FederationError::InvalidCode
                | FederationError::NonceUnknown
                | FederationError::IdTokenRefused(_)
        )
    }
}

/// What the authorization request takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeQuery {
    /// Hosted pages (default): a path on latchkey to go to after sign-in.
    return_to: Option<String>,
    /// `api` for the API mode (a one-time code to `redirect_uri`).
    mode: Option<String>,
    /// API mode: one of `federation.api_redirect_uris`, exactly.
    redirect_uri: Option<String>,
    /// API mode: the app's PKCE challenge (S256, 43 characters).
    code_challenge: Option<String>,
    /// API mode: `S256` (the only method).
    code_challenge_method: Option<String>,
    /// API mode: the app's own state, handed back with the code.
    state: Option<String>,
}

/// The flow cookie is `SameSite=None` under https: a `form_post` callback
/// (Apple) is a cross-site POST, which a `Lax` cookie would not follow.
/// `state` is still compared with it, so it binds the flow to the browser.
pub(super) fn flow_cookie(state: &AppState, headers: &mut HeaderMap, value: &str, max_age: i64) {
    let cookies = state.cookies();
    set_cross_site_cookie(
        headers,
        cookies.federation_name(),
        value,
        max_age,
        cookies.secure,
    );
}

/// Answers with a redirect to the provider and the flow cookie.
fn to_provider(state: &AppState, url: &str, flow_state: &str) -> Response {
    let mut response = Redirect::to(url).into_response();
    flow_cookie(
        state,
        response.headers_mut(),
        flow_state,
        FLOW_TTL.whole_seconds(),
    );
    response
}

fn mode_of(state: &AppState, q: AuthorizeQuery) -> Result<FlowMode, ApiError> {
    if q.mode.as_deref() == Some("api") {
        let redirect_uri = q
            .redirect_uri
            .filter(|u| state.federation().api_redirect_allowed(u))
            .ok_or(FederationError::RedirectUriNotAllowed)?;
        let challenge_ok = q.code_challenge.as_deref().is_some_and(|c| {
            c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }) && q
            .code_challenge_method
            .as_deref()
            .is_none_or(|m| m == "S256");
        if !challenge_ok {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "PKCE required",
                "API mode needs code_challenge (S256 of a code_verifier, 43 base64url characters) and code_challenge_method S256.",
            ));
        }
        return Ok(FlowMode::Api {
            redirect_uri,
            code_challenge: q.code_challenge.unwrap_or_default(),
            app_state: q.state.filter(|s| s.len() <= 512),
        });
    }
    let return_to = q.return_to.unwrap_or_else(|| "/account".into());
    Ok(FlowMode::Cookie {
        return_to: state
            .pages()
            .return_target(&return_to, &state.cookies().origin),
    })
}

/// Starts a sign-in with `provider`: a redirect to its authorization
/// endpoint with `state`, `nonce` and PKCE, and the short-lived cookie that
/// binds `state` to this browser. Needs nothing; the `login` class.
#[utoipa::path(get, path = "/v1/auth/oauth/{provider}/authorize", tag = "auth",
    params(("provider" = String, Path, description = "The provider's configured name"), AuthorizeQuery),
    responses(
        (status = 303, description = "To the provider; sets the flow cookie (10 minutes)."),
        (status = 400, description = "`redirect_uri_not_allowed` or `invalid_request` (API mode).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_provider`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 502, description = "`provider_unavailable` (discovery failed).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_authorize(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(q): Query<AuthorizeQuery>,
) -> Result<Response, ApiError> {
    let mode = mode_of(&state, q)?;
    let begun = state.federation().begin(&provider, mode).await?;
    Ok(to_provider(&state, &begun.url, &begun.state))
}

/// The authorization response (query, or `form_post`).
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    /// The flow's state.
    state: Option<String>,
    /// The authorization code.
    code: Option<String>,
    /// RFC 9207: the issuer of the response.
    iss: Option<String>,
    /// An error of the provider.
    error: Option<String>,
    /// Apple (`form_post`): the person's name, as JSON, on the first
    /// sign-in only.
    user: Option<String>,
}

/// Finishes a sign-in: the provider's answer must carry the `state` of the
/// flow cookie of this browser; then the code is redeemed, the ID token
/// validated, and the account found (or created or linked, per the
/// provider's policy). Hosted pages: the session cookie and a redirect to
/// `return_to` (or the second-factor form); API mode: a redirect to
/// `redirect_uri` with a one-time `code`; linking: back to the account.
#[utoipa::path(get, path = "/v1/auth/oauth/{provider}/callback", tag = "auth",
    params(("provider" = String, Path, description = "The provider's configured name"), CallbackParams),
    responses(
        (status = 303, description = "Signed in (cookie) and on to `return_to`; or to the app's `redirect_uri` with `code`; or back to the account after linking."),
        (status = 200, description = "The second-factor form (the account has one)."),
        (status = 400, description = "`state_mismatch` (no flow cookie, another browser), `state_expired` (replayed or late), `issuer_mismatch`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`provider_denied`, `sign_up_closed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_provider`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`link_required` (an account has this address: sign in to it, then link), `identity_already_linked`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_suspended`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 502, description = "`invalid_id_token`, `provider_unavailable`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_callback(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Result<Response, ApiError> {
    callback(&state, &lang, &client, ip, &provider, &headers, params).await
}

/// The same as the `GET` callback, for providers answering with
/// `response_mode=form_post`.
#[utoipa::path(post, path = "/v1/auth/oauth/{provider}/callback", tag = "auth",
    params(("provider" = String, Path, description = "The provider's configured name")),
    request_body(content = CallbackParams, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "As the `GET` callback."),
        (status = 200, description = "As the `GET` callback."),
        (status = 400, description = "As the `GET` callback; or the form cannot be read.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "As the `GET` callback.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_provider`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "As the `GET` callback.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_suspended`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 502, description = "As the `GET` callback.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_callback(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    Path(provider): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CallbackParams>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(params) = form.map_err(|_| super::pages::unreadable())?;
    callback(&state, &lang, &client, ip, &provider, &headers, params).await
}

async fn callback(
    state: &AppState,
    lang: &Lang,
    client: &latchkey_core::auth::ClientInfo,
    ip: Option<std::net::IpAddr>,
    provider: &str,
    headers: &HeaderMap,
    params: CallbackParams,
) -> Result<Response, ApiError> {
    let cookie = cookie_value(headers, state.cookies().federation_name());
    let cb = Callback {
        state: params.state.as_deref(),
        code: params.code.as_deref(),
        iss: params.iss.as_deref(),
        error: params.error.as_deref(),
        user: params.user.as_deref(),
    };
    let arrived = state
        .federation()
        .callback(provider, &cb, cookie.as_deref(), client)
        .await?;
    let mut response = match &arrived.mode {
        FlowMode::Link { .. } => Redirect::to("/account").into_response(),
        FlowMode::Api {
            redirect_uri,
            app_state,
            code_challenge,
        } => {
            let code = state
                .federation()
                .grant_code(&arrived.user, &arrived.provider, code_challenge)
                .await?;
            let mut url = url::Url::parse(redirect_uri)
                .map_err(|_| FederationError::RedirectUriNotAllowed)?;
            url.query_pairs_mut().append_pair("code", &code);
            if let Some(s) = app_state {
                url.query_pairs_mut().append_pair("state", s);
            }
            Redirect::to(url.as_str()).into_response()
        }
        FlowMode::Cookie { return_to } => {
            let flow_state = params.state.as_deref().unwrap_or_default();
            let federation = state.federation();
            let signed_in = SignIn {
                state,
                headers,
                client,
                ip,
                // quotas per flow: the account is only known after the check
                account: flow_state,
                kind: SessionKind::Cookie,
                pow: None,
                remember: true,
            }
            .run_bound(|_device| {
                federation.sign_in(
                    &arrived.user,
                    &arrived.provider,
                    client,
                    SessionKind::Cookie,
                )
            })
            .await?;
            if let LoginOutcome::MfaRequired(required) = &signed_in.outcome {
                let required = required.clone();
                let pre = PreSignIn::of(state, headers);
                let page = super::mfa_page::challenge_page(
                    state,
                    &lang.tag,
                    signed_in,
                    &required,
                    return_to,
                    true,
                    &pre.token(state),
                );
                pre.keep(state, page)
            } else {
                signed_in.respond(Redirect::to(return_to).into_response())
            }
        }
    };
    flow_cookie(state, response.headers_mut(), "", 0);
    Ok(response)
}

/// The API mode's exchange.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "b6Yk0Jx1mQ2vR3tZ8wN5pL7cD9fH4gS6aE2iU0oK1jM", "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}))]
pub struct ExchangeRequest {
    /// The one-time code the callback sent to `redirect_uri`.
    code: String,
    /// The verifier of the `code_challenge` given at the authorization request.
    code_verifier: String,
}

/// Exchanges the API mode's one-time code (2 minutes, single use) and its
/// PKCE verifier for a bearer session (or the second-factor challenge).
/// Needs nothing; the `login` class.
#[utoipa::path(post, path = "/v1/auth/oauth/exchange", tag = "auth", request_body = ExchangeRequest,
    responses(
        (status = 200, description = "The token response, or `mfa_required` with an `mfa_token`.", body = latchkey_proto::TokenResponse),
        (status = 400, description = "`invalid_code`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_suspended`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_exchange(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<ExchangeRequest>,
) -> Result<Response, ApiError> {
    let federation = state.federation();
    let signed_in = bearer_sign_in(&state, &headers, &client, ip, &body.code)
        .run(|_device| federation.exchange(&body.code, &body.code_verifier, &client))
        .await?;
    Ok(signed_in_json(signed_in))
}

/// The sign-in step of an app's bearer session through a provider (the
/// API mode's exchange, native apps), its quotas by `account`: the one-time
/// code or nonce, the account being known only after the check.
pub(super) fn bearer_sign_in<'a>(
    state: &'a AppState,
    headers: &'a HeaderMap,
    client: &'a latchkey_core::auth::ClientInfo,
    ip: Option<std::net::IpAddr>,
    account: &'a str,
) -> SignIn<'a> {
    SignIn {
        state,
        headers,
        client,
        ip,
        account,
        kind: SessionKind::Bearer,
        pow: None,
        remember: true,
    }
}

/// A configured provider.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"name": "google", "display_name": "Google", "authorize_url": "/v1/auth/oauth/google/authorize"}))]
pub struct ProviderView {
    /// The `{provider}` of the routes.
    pub name: String,
    /// What a button says.
    pub display_name: String,
    /// Where a sign-in starts.
    pub authorize_url: String,
}

/// The configured providers, for sign-in buttons. Needs nothing.
#[utoipa::path(get, path = "/v1/auth/providers", tag = "auth",
    responses((status = 200, description = "The providers.", body = [ProviderView])))]
pub async fn get_providers(State(state): State<AppState>) -> axum::Json<Vec<ProviderView>> {
    axum::Json(provider_views(&state))
}

/// The providers as the sign-in buttons show them.
pub(crate) fn provider_views(state: &AppState) -> Vec<ProviderView> {
    state
        .federation()
        .providers()
        .iter()
        .map(|p| ProviderView {
            name: p.name.clone(),
            display_name: p.display_name.clone(),
            authorize_url: format!("/v1/auth/oauth/{}/authorize", p.name),
        })
        .collect()
}

/// The sign-in buttons of the hosted pages: each provider's name and the
/// authorization request that comes back to `return_to`.
pub(super) fn buttons(state: &AppState, return_to: &str) -> Vec<minijinja::Value> {
    provider_views(state)
        .into_iter()
        .map(|p| {
            let href = super::register_page::with_return_to(&p.authorize_url, state, return_to);
            minijinja::context! { name => p.name, display_name => p.display_name, href => href }
        })
        .collect()
}

/// A linked identity.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193c0de-7a1b-7cc3-9d2e-6f4a5b3c2d1e", "provider": "google", "email": "ada@example.com", "email_verified": true, "linked_at": "2126-11-22T10:00:00Z", "name": "Ada Lovelace", "picture": "https://lh3.googleusercontent.com/a/ada"}))]
pub struct IdentityView {
    /// Its id.
    pub id: String,
    /// The provider's name.
    pub provider: String,
    /// The address the provider asserted.
    pub email: Option<String>,
    /// Whether it asserted it verified.
    pub email_verified: bool,
    /// When it was linked (RFC 3339).
    pub linked_at: String,
    /// The name the provider asserted at the last sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The picture (avatar) URL the provider asserted at the last sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

impl From<Identity> for IdentityView {
    fn from(i: Identity) -> Self {
        IdentityView {
            id: i.id,
            provider: i.provider,
            email: i.email,
            email_verified: i.email_verified,
            linked_at: rfc3339(i.linked_at),
            name: None,
            picture: None,
        }
    }
}

/// The linked identities of `user_id`, as the API and the account page
/// show them.
pub(super) async fn identity_views(
    state: &AppState,
    user_id: &str,
) -> Result<Vec<IdentityView>, ApiError> {
    let list = state.federation().identities(user_id).await?;
    let mut views = Vec::with_capacity(list.len());
    for identity in list {
        let (name, picture) = state.federation().upstream_profile(&identity.id).await?;
        views.push(IdentityView {
            name,
            picture,
            ..identity.into()
        });
    }
    Ok(views)
}

/// The signed-in user's linked identities. Needs authentication.
#[utoipa::path(get, path = "/v1/account/identities", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The identities, oldest first.", body = [IdentityView]),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_identities(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<axum::Json<Vec<IdentityView>>, ApiError> {
    Ok(axum::Json(
        identity_views(&state, &who.principal.user_id).await?,
    ))
}

/// Which provider to link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"provider": "google"}))]
pub struct LinkRequest {
    /// The provider's name.
    provider: String,
}

/// Where to send the browser to link.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkStarted {
    /// The provider's authorization URL; open it in this browser (the flow
    /// cookie set with this answer binds it).
    pub authorize_url: String,
}

/// Starts linking a provider to the signed-in account: the answer holds
/// the provider's URL and sets the flow cookie; the callback links the
/// identity (refused when it is linked to another account) and returns to
/// `/account`. Needs a recent authentication (and, with a cookie session,
/// the CSRF token): linking adds a way into the account.
#[utoipa::path(post, path = "/v1/account/identities", tag = "account", request_body = LinkRequest, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The URL to open; sets the flow cookie.", body = LinkStarted),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_provider`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_identity(
    State(state): State<AppState>,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
    Json(body): Json<LinkRequest>,
) -> Result<Response, ApiError> {
    let begun = state
        .federation()
        .begin(
            &body.provider,
            FlowMode::Link {
                user_id: who.principal.user_id.clone(),
            },
        )
        .await?;
    let mut response = axum::Json(LinkStarted {
        authorize_url: begun.url,
    })
    .into_response();
    flow_cookie(
        &state,
        response.headers_mut(),
        &begun.state,
        FLOW_TTL.whole_seconds(),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Unlinks an identity from the signed-in account; refused when it is the
/// last way to sign in (no password, no other identity). Needs a recent
/// authentication.
#[utoipa::path(delete, path = "/v1/account/identities/{id}", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "The identity's id")),
    responses(
        (status = 204, description = "Unlinked."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`reauth_required`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_way_in`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_identity(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    RecentlyAuthenticated(who): RecentlyAuthenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .federation()
        .unlink(&who.principal.user_id, &id, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Login, routes!(get_authorize))
        .add(RouteClass::Login, routes!(get_callback, post_callback))
        .add(RouteClass::Login, routes!(post_exchange))
        .add(RouteClass::Api, routes!(get_providers))
        .add(RouteClass::Api, routes!(get_identities, post_identity))
        .add(RouteClass::Api, routes!(delete_identity))
}
