//! A fresh upstream access token of a linked identity (issue 17 item 5):
//! `GET /v1/account/identities/{id}/token`, for an app that calls the
//! provider's API on the person's behalf. The provider's tokens are kept
//! sealed only for providers with `store_tokens = true`; the refresh token
//! never leaves latchkey.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::Routes;
use crate::error::ApiError;
use crate::extract::Path;
use crate::principal::Authenticated;
use crate::render::Renderer;
use crate::state::AppState;

/// A fresh access token at the provider.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"access_token": "ya29.a0AfB_byC…", "token_type": "Bearer", "expires_in": 3599, "scope": "openid email profile"}))]
pub struct UpstreamTokenView {
    /// The provider's access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds it is still good for, if the provider said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// Its scopes, if the provider said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A fresh access token of the signed-in user's linked identity at its
/// provider: the kept one while good, else one refreshed with the kept
/// refresh token (bounded by `federation.timeout_secs`; concurrent calls
/// refresh once). Needs authentication; another account's identity is 404.
#[utoipa::path(get, path = "/v1/account/identities/{id}/token", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "The identity's id")),
    responses(
        (status = 200, description = "The token (`Cache-Control: no-store`).", body = UpstreamTokenView),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such identity on this account.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`upstream_tokens_not_stored` (the provider keeps none), `upstream_token_expired` (cannot be refreshed: sign in with the provider again).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 502, description = "`provider_unavailable`: the refresh failed.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_identity_token(
    State(state): State<AppState>,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let token = state
        .federation()
        .upstream_token(&who.principal.user_id, &id)
        .await?;
    let now = state.auth().clock().now();
    let view = UpstreamTokenView {
        expires_in: token.expires_at.map(|at| (at - now).whole_seconds().max(0)),
        access_token: token.access_token,
        token_type: "Bearer",
        scope: token.scope,
    };
    let mut response = axum::Json(view).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem).add(RouteClass::Api, routes!(get_identity_token))
}
