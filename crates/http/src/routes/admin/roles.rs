//! `/v1/admin/roles` and `/v1/admin/permissions`: custom roles and the
//! permissions they carry. A role's change applies at once to everyone who
//! has it or inherits from it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::roles::{RoleInput, RolePatch};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::principal::{Admin, perm};
use crate::routes::views::{Page, PermissionView, RoleView, nullable};
use crate::state::AppState;

/// Every role: the built-in ones first, then custom roles by name.
/// **Requires** `roles:read`.
#[utoipa::path(get, path = "/v1/admin/roles", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Every role (one page).", body = Page<RoleView>),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_roles(
    State(state): State<AppState>,
    admin: Admin<perm::RolesRead>,
) -> Result<axum::Json<Page<RoleView>>, ApiError> {
    let roles = state.roles().admin_roles(&admin.actor).await?;
    Ok(axum::Json(Page {
        items: roles.into_iter().map(RoleView::from).collect(),
        next_cursor: None,
    }))
}

/// A new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "support", "description": "First-line support", "parent": "moderator", "permissions": ["tickets:read"]}))]
pub struct CreateRoleRequest {
    /// 2–32 characters of `a-z 0-9 _ -`, starting with a letter.
    name: String,
    /// What it is for (at most 500 characters).
    description: Option<String>,
    /// The role it inherits every permission from.
    parent: Option<String>,
    /// Its own permissions, `resource:action`: latchkey's (see
    /// `/v1/admin/permissions`) or your own for resource servers.
    #[serde(default)]
    permissions: Vec<String>,
}

/// Create a custom role. **Requires** `roles:manage` and every latchkey
/// permission the role would carry (its own and its parent's). Recorded as
/// `role.created`.
#[utoipa::path(post, path = "/v1/admin/roles", tag = "admin", request_body = CreateRoleRequest, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "The role.", body = RoleView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`role_taken`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad name, permission or parent (unknown, or a cycle).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_role(
    State(state): State<AppState>,
    admin: Admin<perm::RolesManage>,
    Json(body): Json<CreateRoleRequest>,
) -> Result<Response, ApiError> {
    let role = state
        .roles()
        .admin_create_role(
            &admin.actor,
            RoleInput {
                name: body.name,
                description: body.description,
                parent: body.parent,
                permissions: body.permissions,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(RoleView::from(role))).into_response())
}

/// One role. **Requires** `roles:read`.
#[utoipa::path(get, path = "/v1/admin/roles/{name}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("name" = String, Path, description = "Role name")),
    responses(
        (status = 200, description = "The role.", body = RoleView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_role(
    State(state): State<AppState>,
    admin: Admin<perm::RolesRead>,
    Path(name): Path<String>,
) -> Result<axum::Json<RoleView>, ApiError> {
    Ok(axum::Json(
        state.roles().admin_role(&admin.actor, &name).await?.into(),
    ))
}

/// Changes to a role; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"permissions": ["tickets:read", "tickets:assign"], "parent": null}))]
pub struct PatchRoleRequest {
    /// New description.
    description: Option<String>,
    /// New parent, or null for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    parent: Option<Option<String>>,
    /// New permissions (replacing the current ones).
    permissions: Option<Vec<String>>,
}

/// Change a custom role; applies at once to everyone who has it or
/// inherits from it. **Requires** `roles:manage` and every latchkey
/// permission the role carries before and after. Built-in roles answer
/// 409 `role_builtin`. Recorded as `role.updated`.
#[utoipa::path(patch, path = "/v1/admin/roles/{name}", tag = "admin", request_body = PatchRoleRequest, security(("bearer" = []), ("session_cookie" = [])),
    params(("name" = String, Path, description = "Role name")),
    responses(
        (status = 200, description = "The role.", body = RoleView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`role_builtin`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_role(
    State(state): State<AppState>,
    admin: Admin<perm::RolesManage>,
    Path(name): Path<String>,
    Json(body): Json<PatchRoleRequest>,
) -> Result<axum::Json<RoleView>, ApiError> {
    let role = state
        .roles()
        .admin_update_role(
            &admin.actor,
            &name,
            RolePatch {
                description: body.description,
                parent: body.parent,
                permissions: body.permissions,
            },
        )
        .await?;
    Ok(axum::Json(role.into()))
}

/// Delete a custom role; everyone who had it loses it at once.
/// **Requires** `roles:manage` and every latchkey permission the role
/// carries. Built-in roles answer 409 `role_builtin`; a role other roles
/// inherit from answers 409 `role_in_use`. Recorded as `role.deleted`.
#[utoipa::path(delete, path = "/v1/admin/roles/{name}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("name" = String, Path, description = "Role name")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`role_builtin` or `role_in_use`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_role(
    State(state): State<AppState>,
    admin: Admin<perm::RolesManage>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    state.roles().admin_delete_role(&admin.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every permission: latchkey's own (`builtin: true`), then those custom
/// roles define for resource servers. **Requires** `roles:read`.
#[utoipa::path(get, path = "/v1/admin/permissions", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Every permission (one page).", body = Page<PermissionView>),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_permissions(
    State(state): State<AppState>,
    admin: Admin<perm::RolesRead>,
) -> Result<axum::Json<Page<PermissionView>>, ApiError> {
    let perms = state.roles().admin_permissions(&admin.actor).await?;
    Ok(axum::Json(Page {
        items: perms
            .into_iter()
            .map(|(name, description, builtin)| PermissionView {
                name,
                description,
                builtin,
            })
            .collect(),
        next_cursor: None,
    }))
}
