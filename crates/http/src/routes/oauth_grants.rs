//! The person's grants to OAuth clients ("apps with access"): listed and
//! revoked. Revoking one forgets the consent and ends every token of that
//! client for this person at once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::Routes;
use super::views::{Page, rfc3339};
use crate::error::ApiError;
use crate::extract::Path;
use crate::principal::{Authenticated, ClientMeta};
use crate::render::Renderer;
use crate::state::AppState;

/// What the person granted a client.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"client_id": "lk_019a8d6e2f417c3b9a573b1d2c4e5f60", "client_name": "Partner app", "scopes": ["openid", "email"], "created_at": "2126-11-22T10:00:00Z", "updated_at": "2126-11-22T10:00:00Z"}))]
pub struct GrantView {
    /// The client.
    client_id: String,
    /// Its name (empty if it was deleted since).
    client_name: String,
    /// The scopes granted.
    scopes: Vec<String>,
    /// First granted (RFC 3339).
    created_at: String,
    /// Last widened (RFC 3339).
    updated_at: String,
}

/// The caller's grants, by client id. **Requires** an access token or the
/// session cookie.
#[utoipa::path(get, path = "/v1/account/grants", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Every grant (one page: a person has few).", body = Page<GrantView>),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_grants(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<axum::Json<Page<GrantView>>, ApiError> {
    let oauth = state.oauth();
    let mut items = Vec::new();
    for g in oauth.grants(&who.principal.user_id).await? {
        let client_name = oauth
            .registered(&g.client_id)
            .await
            .map(|c| c.client.name)
            .unwrap_or_default();
        items.push(GrantView {
            client_id: g.client_id,
            client_name,
            scopes: g.scope,
            created_at: rfc3339(g.created_at),
            updated_at: rfc3339(g.updated_at),
        });
    }
    Ok(axum::Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Revokes the caller's grant to a client: the consent is forgotten and
/// every token of that client for the caller ends at once. **Requires** an
/// access token or the session cookie (with CSRF token).
#[utoipa::path(delete, path = "/v1/account/grants/{client_id}", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    params(("client_id" = String, Path, description = "The client")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no grant to this client.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_grant(
    State(state): State<AppState>,
    who: Authenticated,
    ClientMeta(from): ClientMeta,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    state
        .oauth()
        .revoke_grant(&who.principal.user_id, &client_id, &from)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The group: problem+json.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Api, routes!(get_grants))
        .add(RouteClass::Api, routes!(delete_grant))
}
