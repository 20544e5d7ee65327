//! `/v1/admin`: users, roles, permissions and the audit log.
//!
//! Every handler states the permission it needs with [`Admin<P>`]; the
//! caller's roles are read from the store on each request, so removing a
//! role takes effect at once. Every change is recorded in the audit log
//! with the administrator as actor. Users are addressed by id in the path,
//! never by an id in the body.
//!
//! Users are here; roles and permissions in [`roles`], the audit log in
//! [`audit`].
//!
//! Not here yet: resetting MFA (built separately), OAuth clients, webhooks
//! and signing keys (`latchkey client`/`latchkey keys` on the command line
//! for now).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::admin::{AdminPatch, NewUser};
use latchkey_core::user::UserSearch;
use latchkey_proto::problem::FieldError;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use super::views::{AdminUserView, Page, SessionView, nullable};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::principal::{Admin, perm};
use crate::state::AppState;
use latchkey_core::abuse::RouteClass;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;

mod audit;
mod roles;

/// Default and largest page sizes.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

fn invalid(field: &str, code: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError {
        field: field.into(),
        code: code.into(),
        message: message.into(),
    }])
}

/// Checks `limit` (1 to 200; 50 when absent).
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(invalid("limit", "invalid_limit", "must be from 1 to 200")),
    }
}

/// Checks a cursor: the `next_cursor` of an earlier page (an id).
pub(crate) fn cursor(cursor: Option<String>) -> Result<Option<String>, ApiError> {
    match cursor {
        Some(c)
            if c.is_empty()
                || c.len() > 64
                || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Err(invalid(
                "cursor",
                "invalid_cursor",
                "pass the next_cursor of the previous page unchanged",
            ))
        }
        c => Ok(c),
    }
}

/// Given up to `limit + 1` items, the first `limit` and the cursor to the
/// next page (none when there is no more).
pub(crate) fn paged<T>(
    mut items: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more { items.last().map(key) } else { None };
    (items, next_cursor)
}

pub(crate) fn time_param(
    field: &str,
    value: Option<&str>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                invalid(
                    field,
                    "invalid_time",
                    "must be an RFC 3339 time such as 2026-11-22T10:00:00Z",
                )
            })
        })
        .transpose()
}

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

/// The user search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Text found in the email address, username or name (case-insensitive), or an exact user id.
    q: Option<String>,
    /// Only users assigned this role.
    role: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List and search users, in id order. **Requires** `users:read`.
#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(UsersQuery),
    responses(
        (status = 200, description = "A page of users.", body = Page<AdminUserView>),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission_denied`: `missing_permission` names what is missing.", body = latchkey_proto::Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:latchkey:problem:permission_denied", "title": "Permission denied", "status": 403, "detail": "This needs the permission users:read, which none of your roles grants.", "code": "permission_denied", "missing_permission": "users:read"})),
        (status = 422, description = "`validation_failed`: a bad limit or cursor.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_users(
    State(state): State<AppState>,
    admin: Admin<perm::UsersRead>,
    Query(q): Query<UsersQuery>,
) -> Result<axum::Json<Page<AdminUserView>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let search = UserSearch {
        query: q.q.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        role: q.role,
        after_id: cursor(q.cursor)?,
        limit: limit + 1,
    };
    let users = state.admin().admin_users(&admin.actor, &search).await?;
    let views = users
        .into_iter()
        .map(|(u, roles)| AdminUserView::new(u, roles))
        .collect();
    let (items, next_cursor) = paged(views, limit, |u: &AdminUserView| u.id.clone());
    Ok(axum::Json(Page { items, next_cursor }))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "grace@example.com", "password": "a long initial password", "name": "Grace Hopper", "email_verified": true, "roles": ["moderator"]}))]
pub struct CreateUserRequest {
    /// Email address (unique, case-insensitive).
    email: String,
    /// Initial password (8–1024 characters).
    password: String,
    /// Optional unique handle.
    username: Option<String>,
    /// Optional display name.
    name: Option<String>,
    /// Whether the address counts as confirmed (default false).
    #[serde(default)]
    email_verified: bool,
    /// Roles besides the implicit `user` (needs `roles:manage` too).
    #[serde(default)]
    roles: Vec<String>,
}

/// Create an account. **Requires** `users:write`, and `roles:manage` plus
/// every permission of the roles when `roles` is given. Recorded as
/// `user.created`.
#[utoipa::path(post, path = "/v1/admin/users", tag = "admin", request_body = CreateUserRequest, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "The account.", body = AdminUserView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken` or `username_taken`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_user(
    State(state): State<AppState>,
    admin: Admin<perm::UsersWrite>,
    Json(body): Json<CreateUserRequest>,
) -> Result<Response, ApiError> {
    let user = state
        .admin()
        .admin_create_user(
            &admin.actor,
            NewUser {
                email: body.email,
                password: body.password,
                username: body.username,
                name: body.name,
                email_verified: body.email_verified,
                roles: body.roles,
            },
        )
        .await?;
    let access = state.auth().access(&user.id).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AdminUserView::with_access(user, &access)),
    )
        .into_response())
}

/// One account, with its roles, inherited roles and permissions.
/// **Requires** `users:read`.
#[utoipa::path(get, path = "/v1/admin/users/{id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The account.", body = AdminUserView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    admin: Admin<perm::UsersRead>,
    Path(id): Path<String>,
) -> Result<axum::Json<AdminUserView>, ApiError> {
    let (user, access) = state.admin().admin_user(&admin.actor, &id).await?;
    Ok(axum::Json(AdminUserView::with_access(user, &access)))
}

/// Profile changes; absent fields stay, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "grace.hopper@example.com", "email_verified": true, "username": null}))]
pub struct PatchUserRequest {
    /// New email address (unconfirmed unless `email_verified` is also sent).
    email: Option<String>,
    /// Mark the address confirmed or not.
    email_verified: Option<bool>,
    /// New username, or null to remove it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    username: Option<Option<String>>,
    /// New display name, or null to remove it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
}

/// Change an account's profile. **Requires** `users:write` (and every
/// permission the account holds). Recorded as `user.updated`.
#[utoipa::path(patch, path = "/v1/admin/users/{id}", tag = "admin", request_body = PatchUserRequest, security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The account.", body = AdminUserView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken` or `username_taken`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_user(
    State(state): State<AppState>,
    admin: Admin<perm::UsersWrite>,
    Path(id): Path<String>,
    Json(body): Json<PatchUserRequest>,
) -> Result<axum::Json<AdminUserView>, ApiError> {
    let user = state
        .admin()
        .admin_update_user(
            &admin.actor,
            &id,
            AdminPatch {
                email: body.email,
                email_verified: body.email_verified,
                username: body.username,
                name: body.name,
            },
        )
        .await?;
    let access = state.auth().access(&user.id).await?;
    Ok(axum::Json(AdminUserView::with_access(user, &access)))
}

/// Delete an account: its sessions and tokens end, its roles go; audit
/// events about it stay. **Requires** `users:delete` (and every permission
/// the account holds); not your own account. Recorded as `user.deleted`.
#[utoipa::path(delete, path = "/v1/admin/users/{id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`cannot_act_on_self`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    admin: Admin<perm::UsersDelete>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.admin().admin_delete_user(&admin.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A suspension.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"until": "2126-12-01T00:00:00Z", "reason": "spam reports"}))]
pub struct SuspendRequest {
    /// When it ends by itself (RFC 3339, in the future); absent: until lifted.
    until: Option<String>,
    /// Why (1–500 characters; shown to administrators, not to the user).
    reason: String,
}

/// Suspend an account: every session ends now, and sign-in answers 423
/// `account_suspended` until `until` or until lifted. **Requires**
/// `users:suspend` (and every permission the account holds); not your own
/// account. Recorded as `user.suspended`.
#[utoipa::path(post, path = "/v1/admin/users/{id}/suspend", tag = "admin", request_body = SuspendRequest, security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The account, suspended.", body = AdminUserView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`cannot_act_on_self`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad `until` or `reason`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_suspend(
    State(state): State<AppState>,
    admin: Admin<perm::UsersSuspend>,
    Path(id): Path<String>,
    Json(body): Json<SuspendRequest>,
) -> Result<axum::Json<AdminUserView>, ApiError> {
    let until = time_param("until", body.until.as_deref())?;
    let user = state
        .admin()
        .admin_suspend(&admin.actor, &id, until, &body.reason)
        .await?;
    let access = state.auth().access(&user.id).await?;
    Ok(axum::Json(AdminUserView::with_access(user, &access)))
}

/// Mail the account a password reset link (valid 15 minutes, single use,
/// replacing earlier ones), as if the user had asked for one. The
/// administrator never sees the link; the password and sessions stay until
/// the user uses it. **Requires** `users:write` (and every permission the
/// account holds). Recorded as `password_reset.requested` with the
/// administrator as actor.
#[utoipa::path(post, path = "/v1/admin/users/{id}/password-reset", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 202, description = "The reset mail is queued."),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found` (also for a deleted account).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 423, description = "`account_pending_deletion`: the account is scheduled for deletion.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_password_reset(
    State(state): State<AppState>,
    admin: Admin<perm::UsersWrite>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state
        .admin()
        .admin_send_password_reset(&admin.actor, &id)
        .await?;
    metrics::counter!("latchkey_admin_password_resets_total").increment(1);
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Lift a suspension. **Requires** `users:suspend`. Recorded as
/// `user.unsuspended`.
#[utoipa::path(post, path = "/v1/admin/users/{id}/unsuspend", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The account.", body = AdminUserView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_unsuspend(
    State(state): State<AppState>,
    admin: Admin<perm::UsersSuspend>,
    Path(id): Path<String>,
) -> Result<axum::Json<AdminUserView>, ApiError> {
    let user = state.admin().admin_unsuspend(&admin.actor, &id).await?;
    let access = state.auth().access(&user.id).await?;
    Ok(axum::Json(AdminUserView::with_access(user, &access)))
}

/// An account's active sessions, newest first. **Requires** `users:read`.
#[utoipa::path(get, path = "/v1/admin/users/{id}/sessions", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Every active session (one page).", body = Page<SessionView>),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_user_sessions(
    State(state): State<AppState>,
    admin: Admin<perm::UsersRead>,
    Path(id): Path<String>,
) -> Result<axum::Json<Page<SessionView>>, ApiError> {
    let sessions = state.admin().admin_sessions(&admin.actor, &id).await?;
    let current = admin.who.principal.session.id.as_str();
    Ok(axum::Json(Page {
        items: sessions
            .into_iter()
            .map(|s| SessionView::new(s, current))
            .collect(),
        next_cursor: None,
    }))
}

/// End every session of an account (access tokens stop working on
/// latchkey at once, refresh tokens are refused). **Requires**
/// `sessions:revoke` (and every permission the account holds). Recorded as
/// `sessions.revoked` when any ended.
#[utoipa::path(delete, path = "/v1/admin/users/{id}/sessions", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "The sessions have ended."),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user_sessions(
    State(state): State<AppState>,
    admin: Admin<perm::SessionsRevoke>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state
        .admin()
        .admin_end_sessions(&admin.actor, &id, None)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// End one session of an account. **Requires** `sessions:revoke`. A
/// session of another account, or one that has ended, answers 404.
/// Recorded as `session.revoked`.
#[utoipa::path(delete, path = "/v1/admin/users/{id}/sessions/{session_id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id"), ("session_id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "The session has ended."),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user_session(
    State(state): State<AppState>,
    admin: Admin<perm::SessionsRevoke>,
    Path((id, session_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    state
        .admin()
        .admin_end_sessions(&admin.actor, &id, Some(&session_id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The roles an account should have.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"roles": ["moderator"], "end_sessions": false}))]
pub struct SetRolesRequest {
    /// Every role the account should have besides the implicit `user`
    /// (replaces the current set).
    roles: Vec<String>,
    /// Also end the account's sessions, so that tokens carrying the old
    /// roles stop at once (default false: they are updated at the next refresh).
    #[serde(default)]
    end_sessions: bool,
}

/// Replace an account's roles. Takes effect at once on latchkey's own
/// checks; tokens carry the new roles from their next refresh (or sign-in,
/// with `end_sessions`). **Requires** `roles:manage` and every permission
/// of the roles granted or removed. Recorded as `user.roles_changed`.
#[utoipa::path(put, path = "/v1/admin/users/{id}/roles", tag = "admin", request_body = SetRolesRequest, security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The account with its new roles.", body = AdminUserView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: an unknown role.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_user_roles(
    State(state): State<AppState>,
    admin: Admin<perm::RolesManage>,
    Path(id): Path<String>,
    Json(body): Json<SetRolesRequest>,
) -> Result<axum::Json<AdminUserView>, ApiError> {
    let access = state
        .admin()
        .admin_set_roles(&admin.actor, &id, &body.roles, body.end_sessions)
        .await?;
    let (user, _) = state.admin().admin_user(&admin.actor, &id).await?;
    Ok(axum::Json(AdminUserView::with_access(user, &access)))
}

/// The group: JSON API errors, the general quota (each route also needs
/// its permission, which its `Admin<P>` extractor states).
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Api, routes!(get_users, post_user))
        .add(RouteClass::Api, routes!(get_user, patch_user, delete_user))
        .add(RouteClass::Api, routes!(post_suspend))
        .add(RouteClass::Api, routes!(post_unsuspend))
        .add(RouteClass::Api, routes!(post_password_reset))
        .add(
            RouteClass::Api,
            routes!(get_user_sessions, delete_user_sessions),
        )
        .add(RouteClass::Api, routes!(delete_user_session))
        .add(RouteClass::Api, routes!(put_user_roles))
        .add(RouteClass::Api, routes!(roles::get_roles, roles::post_role))
        .add(
            RouteClass::Api,
            routes!(roles::get_role, roles::patch_role, roles::delete_role),
        )
        .add(RouteClass::Api, routes!(roles::get_permissions))
        .add(RouteClass::Api, routes!(audit::get_audit))
}
