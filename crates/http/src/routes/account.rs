//! `/v1/account`: the signed-in user's profile and sessions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::accounts::ProfilePatch;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::views::{ActivityView, Page, SessionView, UserView, nullable};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::principal::{Authenticated, ClientMeta};
use crate::state::AppState;
use latchkey_core::abuse::RouteClass;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;

/// The caller's account. **Requires** an access token or the session cookie.
#[utoipa::path(get, path = "/v1/account", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The account.", body = UserView),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_account(who: Authenticated) -> Result<axum::Json<UserView>, ApiError> {
    Ok(axum::Json(who.principal.user.into()))
}

/// Profile changes; absent fields stay, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ada King", "username": null}))]
pub struct AccountPatch {
    /// New username, or null to remove it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    username: Option<Option<String>>,
    /// New display name, or null to remove it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    /// The language of the account's mail (one of `pages.locales`, such as
    /// `de`; a region takes its language), or null for the default
    /// (`mail.locale`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    locale: Option<Option<String>>,
}

/// Change the caller's profile (username, display name, the language of
/// their mail). **Requires** an
/// access token or the session cookie (with CSRF token). The email address
/// and password have flows of their own.
#[utoipa::path(patch, path = "/v1/account", tag = "account", request_body = AccountPatch, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The updated account.", body = UserView),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`username_taken`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_account(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    who: Authenticated,
    Json(body): Json<AccountPatch>,
) -> Result<axum::Json<UserView>, ApiError> {
    let patch = ProfilePatch {
        username: body.username,
        name: body.name,
        locale: body.locale,
    };
    Ok(axum::Json(
        state
            .accounts()
            .update_account(&who.principal.user_id, patch, &client)
            .await?
            .into(),
    ))
}

/// The caller's active sessions, newest first, the calling one marked
/// `current`. **Requires** an access token or the session cookie.
#[utoipa::path(get, path = "/v1/account/sessions", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Every active session (one page: a user has few).", body = Page<SessionView>),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_sessions(
    State(state): State<AppState>,
    who: Authenticated,
) -> Result<axum::Json<Page<SessionView>>, ApiError> {
    let sessions = state.auth().user_sessions(&who.principal.user_id).await?;
    let current = who.principal.session.id.as_str();
    Ok(axum::Json(Page {
        items: sessions
            .into_iter()
            .map(|s| SessionView::new(s, current))
            .collect(),
        next_cursor: None,
    }))
}

/// End one of the caller's sessions. **Requires** an access token or the
/// session cookie (with CSRF token). Another user's session id answers 404.
#[utoipa::path(delete, path = "/v1/account/sessions/{id}", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "The session has ended."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such active session of yours.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_session(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    who: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state
        .sessions()
        .end_session(&who.principal.user_id, &id, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Which sessions to end.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EndSessionsQuery {
    /// Also end the calling session.
    #[serde(default)]
    include_current: bool,
}

/// End every other session of the caller (sign out everywhere else), or all
/// of them with `include_current=true`. **Requires** an access token or the
/// session cookie (with CSRF token).
#[utoipa::path(delete, path = "/v1/account/sessions", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    params(EndSessionsQuery),
    responses(
        (status = 204, description = "The sessions have ended."),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_sessions(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    who: Authenticated,
    Query(q): Query<EndSessionsQuery>,
) -> Result<Response, ApiError> {
    let keep = (!q.include_current).then_some(who.principal.session.id.as_str());
    state
        .sessions()
        .end_sessions(&who.principal.user_id, keep, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A page of the caller's activity.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// At most this many events (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The caller's own security log, newest first: sign-ins (also failed
/// ones), sign-outs, ended sessions, profile changes, and what
/// administrators did to the account. **Requires** an access token or the
/// session cookie. For actions by an administrator, the administrator's
/// identity and address are not shown.
#[utoipa::path(get, path = "/v1/account/activity", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    params(ActivityQuery),
    responses(
        (status = 200, description = "A page of events.", body = Page<ActivityView>),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad limit or cursor.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_activity(
    State(state): State<AppState>,
    who: Authenticated,
    Query(q): Query<ActivityQuery>,
) -> Result<axum::Json<Page<ActivityView>>, ApiError> {
    let limit = super::admin::page_limit(q.limit)?;
    let cursor = super::admin::cursor(q.cursor)?;
    let me = who.principal.user_id.as_str();
    let events = state.accounts().activity(me, cursor, limit + 1).await?;
    let (items, next_cursor) = super::admin::paged(events, limit, |e| e.id.clone());
    Ok(axum::Json(Page {
        items: items
            .into_iter()
            .map(|e| ActivityView::new(e, me))
            .collect(),
        next_cursor,
    }))
}

/// The group: JSON API errors, the general quota.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Api, routes!(get_account, patch_account))
        .add(RouteClass::Api, routes!(get_sessions, delete_sessions))
        .add(RouteClass::Api, routes!(delete_session))
        .add(RouteClass::Api, routes!(get_activity))
}
