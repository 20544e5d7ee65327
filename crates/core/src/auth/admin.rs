//! Administration: users, roles and the audit log, as an [`Actor`] may
//! manage them.
//!
//! Every operation checks the actor's permission itself (the HTTP
//! extractors check it first, to refuse early), records its audit event
//! with the actor named, and stores the event in the same transaction as
//! the change. Granting or defining a role requires holding every latchkey
//! permission it carries (no escalation through `roles:manage`).

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::{AuthError, ClientInfo, Context};
use crate::audit::{AuditEvent, EventType};
use crate::roles::{self, Access, CATALOGUE, Role};
use crate::store::StoreError;
use crate::user::User;

use super::FieldProblem;

/// Who is acting, with what rights, from where.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The acting user; `None` for the command line.
    pub user_id: Option<String>,
    /// Their roles and permissions, read for this request.
    pub access: Access,
    /// Where the request came from.
    pub client: ClientInfo,
}

impl Actor {
    /// The operator at the command line: every latchkey permission.
    pub fn command_line() -> Actor {
        let mut access = Access::resolve(&[roles::ADMIN.to_owned()], &[]);
        access.permissions = CATALOGUE.iter().map(|(p, _)| (*p).to_owned()).collect();
        Actor {
            user_id: None,
            access,
            client: ClientInfo {
                user_agent: Some("latchkey command line".into()),
                ..ClientInfo::default()
            },
        }
    }

    /// `PermissionDenied` unless the actor holds `permission`.
    pub fn require(&self, permission: &str) -> Result<(), AuthError> {
        if self.access.has(permission) {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied(permission.to_owned()))
        }
    }

    pub(crate) fn event(&self, kind: EventType, now: OffsetDateTime) -> AuditEvent {
        let mut e = AuditEvent::new(kind, now, &self.client).actor(self.user_id.as_deref());
        if self.user_id.is_none() {
            e = e.detail("via", "command_line");
        }
        e
    }
}

/// An account created by an administrator.
#[derive(Debug, Default)]
pub struct NewUser {
    /// Email address.
    pub email: String,
    /// Initial password.
    pub password: String,
    /// Optional handle.
    pub username: Option<String>,
    /// Optional display name.
    pub name: Option<String>,
    /// Whether the address counts as confirmed.
    pub email_verified: bool,
    /// Roles to assign (besides the implicit `user`).
    pub roles: Vec<String>,
}

/// An administrator's changes to a profile; `None` leaves a field alone.
#[derive(Debug, Default)]
pub struct AdminPatch {
    /// New email address (unconfirmed unless `email_verified` says so).
    pub email: Option<String>,
    /// Mark the address confirmed or not.
    pub email_verified: Option<bool>,
    /// New username, or `Some(None)` to remove it.
    pub username: Option<Option<String>>,
    /// New display name, or `Some(None)` to remove it.
    pub name: Option<Option<String>>,
}

/// A new role.
#[derive(Debug, Default)]
pub struct RoleInput {
    /// Name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The role it inherits from.
    pub parent: Option<String>,
    /// Its own permissions.
    pub permissions: Vec<String>,
}

/// Changes to a role; `None` leaves a field alone.
#[derive(Debug, Default)]
pub struct RolePatch {
    /// New description.
    pub description: Option<String>,
    /// New parent, or `Some(None)` for none.
    pub parent: Option<Option<String>>,
    /// New permissions (replacing the old ones).
    pub permissions: Option<Vec<String>>,
}

pub(crate) fn store_error(e: StoreError) -> AuthError {
    match e {
        StoreError::NotFound => AuthError::NotFound,
        StoreError::Conflict("email") => AuthError::EmailTaken,
        StoreError::Conflict("username") => AuthError::UsernameTaken,
        e => AuthError::Store(e),
    }
}

pub(crate) fn one_problem(field: &str, code: &'static str, msg: impl Into<String>) -> AuthError {
    AuthError::Validation(vec![FieldProblem::new(field, code, msg)])
}

impl Context {
    pub(crate) async fn existing_user(&self, user_id: &str) -> Result<User, AuthError> {
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// A user the actor may act upon ([`Access::may_act_on`]: one holding
    /// no latchkey permission the actor lacks, so a moderator can neither
    /// suspend nor unsuspend an administrator). Every write to an account
    /// goes through here, so whoever may not do something may not undo it.
    pub(crate) async fn target(&self, actor: &Actor, user_id: &str) -> Result<User, AuthError> {
        let user = self.existing_user(user_id).await?;
        let theirs = self.access(&user.id).await?;
        if let Some(p) = actor.access.may_act_on(&theirs) {
            return Err(AuthError::PermissionDenied(p));
        }
        Ok(user)
    }

    /// Every role, with the built-in definitions filled in.
    pub(crate) async fn all_roles(&self) -> Result<Vec<Role>, AuthError> {
        Ok(self
            .store
            .list_roles()
            .await?
            .into_iter()
            .map(Role::with_builtin_definition)
            .collect())
    }

    /// Checks role names against the existing roles and the actor's
    /// rights; returns them sorted, unique, without the implicit `user`.
    pub(crate) async fn grantable(
        &self,
        actor: &Actor,
        wanted: &[String],
    ) -> Result<Vec<String>, AuthError> {
        let all = self.all_roles().await?;
        let mut names = BTreeSet::new();
        for (i, name) in wanted.iter().enumerate() {
            let name = name.trim();
            if !all.iter().any(|r| r.name == name) {
                return Err(one_problem(
                    &format!("roles[{i}]"),
                    "unknown_role",
                    format!("there is no role named {name:?}; see GET /v1/admin/roles"),
                ));
            }
            if name != roles::USER {
                names.insert(name.to_owned());
            }
        }
        let names: Vec<String> = names.into_iter().collect();
        let granted = Access::resolve(&names, &all);
        if let Some(p) = actor.access.missing_for_grant(&granted.permissions) {
            return Err(AuthError::PermissionDenied(p));
        }
        Ok(names)
    }

    pub(crate) fn check_permissions(
        actor: &Actor,
        permissions: &[String],
    ) -> Result<Vec<String>, AuthError> {
        let mut problems = Vec::new();
        let mut out = BTreeSet::new();
        for (i, p) in permissions.iter().enumerate() {
            let p = p.trim();
            if roles::valid_permission(p) {
                out.insert(p.to_owned());
            } else {
                problems.push(FieldProblem::new(
                    &format!("permissions[{i}]"),
                    "invalid_permission",
                    "a permission is resource:action, e.g. users:read (a-z, 0-9, _ - .; the action may be *)",
                ));
            }
        }
        if permissions.len() > 100 {
            problems.push(FieldProblem::new(
                "permissions",
                "too_many",
                "at most 100 permissions",
            ));
        }
        if !problems.is_empty() {
            return Err(AuthError::Validation(problems));
        }
        let out: Vec<String> = out.into_iter().collect();
        if let Some(p) = actor.access.missing_for_grant(&out) {
            return Err(AuthError::PermissionDenied(p));
        }
        Ok(out)
    }

    pub(crate) fn check_description(description: Option<String>) -> Result<String, AuthError> {
        let d = description.unwrap_or_default().trim().to_owned();
        if d.chars().count() > 500 || d.chars().any(char::is_control) {
            return Err(one_problem(
                "description",
                "invalid_description",
                "at most 500 characters without control characters",
            ));
        }
        Ok(d)
    }

    /// Checks that `parent` exists, closes no cycle, and that the actor
    /// holds what it carries.
    pub(crate) fn check_parent(
        actor: &Actor,
        role: &str,
        parent: &str,
        all: &[Role],
    ) -> Result<(), AuthError> {
        if !all.iter().any(|r| r.name == parent) {
            return Err(one_problem(
                "parent",
                "unknown_role",
                format!("there is no role named {parent:?}"),
            ));
        }
        if roles::would_cycle(role, parent, all) {
            return Err(one_problem(
                "parent",
                "role_cycle",
                "a role cannot inherit from itself, directly or through its parents",
            ));
        }
        let inherited = Access::resolve(&[parent.to_owned()], all);
        if let Some(p) = actor.access.missing_for_grant(&inherited.permissions) {
            return Err(AuthError::PermissionDenied(p));
        }
        Ok(())
    }
}
