//! Native apps' sign-in with a platform SDK's ID token (issue 17 item 3):
//! `POST /v1/auth/oauth/{provider}/nonce` gives the app a one-time nonce
//! to hand to the SDK (Sign in with Google, Sign in with Apple), and
//! `POST /v1/auth/oauth/{provider}/token` exchanges the SDK's ID token for
//! a bearer session, through the same sign-in step as every other way in
//! (the second factor applies: `mfa_required` then).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::federation::NONCE_TTL;
use latchkey_core::session::SessionKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::Routes;
use super::mfa::signed_in_json;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::state::AppState;

/// A nonce for the platform SDK.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"nonce": "Xv3q9Lr2bT7mKp0sWc4yNd8hJf6gAe1uZi5oQ2tYx0E", "expires_in": 300}))]
pub struct NonceResponse {
    /// Give it to the SDK's sign-in request as is (Apple's iOS SDK may be
    /// given its hex SHA-256); send it with the ID token. Single use.
    pub nonce: String,
    /// Seconds it is good for.
    pub expires_in: i64,
}

/// A nonce for a native sign-in with `provider` (single use, 5 minutes).
/// Needs nothing; the `login` class.
#[utoipa::path(post, path = "/v1/auth/oauth/{provider}/nonce", tag = "auth",
    params(("provider" = String, Path, description = "The provider's configured name")),
    responses(
        (status = 200, description = "The nonce.", body = NonceResponse),
        (status = 400, description = "`native_not_supported` (not an OpenID Connect provider).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_provider`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_nonce(
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Response, ApiError> {
    let nonce = state.federation().native_nonce(&provider).await?;
    let mut response = axum::Json(NonceResponse {
        nonce,
        expires_in: NONCE_TTL.whole_seconds(),
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A platform SDK's ID token and the nonce it was issued with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6IjFlOWdkazcifQ.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ.c2ln", "nonce": "Xv3q9Lr2bT7mKp0sWc4yNd8hJf6gAe1uZi5oQ2tYx0E"}))]
pub struct NativeTokenRequest {
    /// The ID token the SDK returned.
    id_token: String,
    /// The nonce from `POST /v1/auth/oauth/{provider}/nonce`.
    nonce: String,
}

/// Signs a native app in with a platform SDK's ID token: validated as the
/// callback's (the provider's keys, `iss`, `aud` this client or one of
/// its `native_client_ids`, `exp`, the nonce, taken once), the account
/// found, created or linked by the provider's linking rule; a bearer
/// session (or `mfa_required`). Needs nothing; the `login` class.
#[utoipa::path(post, path = "/v1/auth/oauth/{provider}/token", tag = "auth",
    params(("provider" = String, Path, description = "The provider's configured name")),
    request_body = NativeTokenRequest,
    responses(
        (status = 200, description = "The token response, or `mfa_required` with an `mfa_token`.", body = latchkey_proto::TokenResponse),
        (status = 400, description = "`invalid_nonce` (unknown, used, expired, another provider's), `native_not_supported`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`id_token_refused`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`sign_up_closed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_provider`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`link_required` (an account has this address: sign in to it, then link).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_suspended`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 502, description = "`provider_unavailable` (discovery or keys).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_token(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Json(body): Json<NativeTokenRequest>,
) -> Result<Response, ApiError> {
    let federation = state.federation();
    let signed_in = super::federation::bearer_sign_in(&state, &headers, &client, ip, &body.nonce)
        .run(|_device| async {
            let user = federation
                .native(&provider, &body.id_token, &body.nonce, &client)
                .await?;
            federation
                .sign_in(&user, &provider, &client, SessionKind::Bearer)
                .await
        })
        .await?;
    Ok(signed_in_json(signed_in))
}

pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Login, routes!(post_nonce))
        .add(RouteClass::Login, routes!(post_token))
}
