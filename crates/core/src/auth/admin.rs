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

use super::{Auth, AuthError, ClientInfo, validate};
use crate::audit::{AuditEvent, AuditQuery, EventType};
use crate::id;
use crate::roles::{self, Access, CATALOGUE, Role, perm};
use crate::session::{Session, WhichSessions};
use crate::store::StoreError;
use crate::user::{Suspension, User, UserSearch, normalize_email, normalize_username};

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

    pub(super) fn event(&self, kind: EventType, now: OffsetDateTime) -> AuditEvent {
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

fn store_error(e: StoreError) -> AuthError {
    match e {
        StoreError::NotFound => AuthError::NotFound,
        StoreError::Conflict("email") => AuthError::EmailTaken,
        StoreError::Conflict("username") => AuthError::UsernameTaken,
        e => AuthError::Store(e),
    }
}

fn one_problem(field: &str, code: &'static str, msg: impl Into<String>) -> AuthError {
    AuthError::Validation(vec![FieldProblem::new(field, code, msg)])
}

impl Auth {
    async fn existing_user(&self, user_id: &str) -> Result<User, AuthError> {
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// A user the actor may act upon ([`Access::may_act_on`]: one holding
    /// no latchkey permission the actor lacks, so a moderator can neither
    /// suspend nor unsuspend an administrator). Every write to an account
    /// goes through here, so whoever may not do something may not undo it.
    async fn target(&self, actor: &Actor, user_id: &str) -> Result<User, AuthError> {
        let user = self.existing_user(user_id).await?;
        let theirs = self.access(&user.id).await?;
        if let Some(p) = actor.access.may_act_on(&theirs) {
            return Err(AuthError::PermissionDenied(p));
        }
        Ok(user)
    }

    /// Every role, with the built-in definitions filled in.
    async fn all_roles(&self) -> Result<Vec<Role>, AuthError> {
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
    pub(super) async fn grantable(
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

    /// Users matching a search, each with their assigned roles.
    pub async fn admin_users(
        &self,
        actor: &Actor,
        search: &UserSearch,
    ) -> Result<Vec<(User, Vec<String>)>, AuthError> {
        actor.require(perm::USERS_READ)?;
        let users = self.store.search_users(search).await?;
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let assigned = if ids.is_empty() {
            Vec::new()
        } else {
            self.store.assigned_roles_of_users(&ids).await?
        };
        Ok(users
            .into_iter()
            .map(|u| {
                let mut roles: Vec<String> = assigned
                    .iter()
                    .filter(|(id, _)| *id == u.id)
                    .map(|(_, r)| r.clone())
                    .chain(std::iter::once(roles::USER.to_owned()))
                    .collect();
                roles.sort();
                roles.dedup();
                (u, roles)
            })
            .collect())
    }

    /// One user with their resolved roles.
    pub async fn admin_user(
        &self,
        actor: &Actor,
        user_id: &str,
    ) -> Result<(User, Access), AuthError> {
        actor.require(perm::USERS_READ)?;
        let user = self.existing_user(user_id).await?;
        let access = self.access(&user.id).await?;
        Ok((user, access))
    }

    /// Creates an account (`user.created`). Assigning roles also needs
    /// `roles:manage` and the roles' permissions.
    pub async fn admin_create_user(&self, actor: &Actor, new: NewUser) -> Result<User, AuthError> {
        actor.require(perm::USERS_WRITE)?;
        let roles = if new.roles.is_empty() {
            Vec::new()
        } else {
            actor.require(perm::ROLES_MANAGE)?;
            self.grantable(actor, &new.roles).await?
        };
        let mut problems = Vec::new();
        let email = validate::email(&new.email, &mut problems);
        let username = new
            .username
            .as_deref()
            .and_then(|u| validate::username(u, &mut problems));
        let name = new
            .name
            .as_deref()
            .and_then(|n| validate::name(n, &mut problems));
        // the same rules as sign-up: length, common and breached lists, identity
        let identity: Vec<&str> = [Some(new.email.as_str()), new.username.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let password = match self.check_new_password(&new.password, &identity).await {
            Ok(p) => Some(p),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let (Some(email), Some(password), true) = (email, password, problems.is_empty()) else {
            return Err(AuthError::Validation(problems));
        };
        let hash = self.hasher.hash(password).await?;
        let now = self.now();
        let user = User {
            id: id::new_id(),
            email_normalized: normalize_email(&email),
            email,
            email_verified: new.email_verified,
            username_normalized: username.as_deref().map(normalize_username),
            username,
            name,
            password_hash: Some(hash),
            created_at: now,
            updated_at: now,
            suspension: None,
        };
        let event = actor
            .event(EventType::UserCreated, now)
            .subject(&user.id)
            .detail("roles", roles.clone());
        self.store
            .insert_user(&user, &roles, Some(&event))
            .await
            .map_err(store_error)?;
        Ok(user)
    }

    /// Changes an account's profile (`user.updated`, naming the fields).
    pub async fn admin_update_user(
        &self,
        actor: &Actor,
        user_id: &str,
        patch: AdminPatch,
    ) -> Result<User, AuthError> {
        actor.require(perm::USERS_WRITE)?;
        let mut user = self.target(actor, user_id).await?;
        let mut problems = Vec::new();
        let mut fields = Vec::new();
        if let Some(email) = patch.email {
            if let Some(email) = validate::email(&email, &mut problems) {
                if normalize_email(&email) != user.email_normalized {
                    user.email_verified = false;
                }
                user.email_normalized = normalize_email(&email);
                user.email = email;
            }
            fields.push("email");
        }
        if let Some(v) = patch.email_verified {
            user.email_verified = v;
            fields.push("email_verified");
        }
        if let Some(username) = patch.username {
            user.username = username
                .as_deref()
                .and_then(|u| validate::username(u, &mut problems));
            user.username_normalized = user.username.as_deref().map(normalize_username);
            fields.push("username");
        }
        if let Some(name) = patch.name {
            user.name = name
                .as_deref()
                .and_then(|n| validate::name(n, &mut problems));
            fields.push("name");
        }
        if !problems.is_empty() {
            return Err(AuthError::Validation(problems));
        }
        user.updated_at = self.now();
        let event = actor
            .event(EventType::UserUpdated, user.updated_at)
            .subject(&user.id)
            .detail("fields", fields);
        self.store
            .update_user(&user, Some(&event))
            .await
            .map_err(store_error)?;
        Ok(user)
    }

    /// Deletes an account and everything hanging off it (`user.deleted`).
    pub async fn admin_delete_user(&self, actor: &Actor, user_id: &str) -> Result<(), AuthError> {
        actor.require(perm::USERS_DELETE)?;
        if actor.user_id.as_deref() == Some(user_id) {
            return Err(AuthError::SelfAction);
        }
        let user = self.target(actor, user_id).await?;
        let event = actor
            .event(EventType::UserDeleted, self.now())
            .subject(&user.id);
        self.store
            .delete_user(&user.id, &event)
            .await
            .map_err(store_error)
    }

    /// Suspends an account until `until` (or until lifted) and ends its
    /// sessions (`user.suspended`).
    pub async fn admin_suspend(
        &self,
        actor: &Actor,
        user_id: &str,
        until: Option<OffsetDateTime>,
        reason: &str,
    ) -> Result<User, AuthError> {
        actor.require(perm::USERS_SUSPEND)?;
        if actor.user_id.as_deref() == Some(user_id) {
            return Err(AuthError::SelfAction);
        }
        let now = self.now();
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control)
        {
            return Err(one_problem(
                "reason",
                "invalid_reason",
                "a reason of 1 to 500 characters without control characters is required",
            ));
        }
        let until = until.map(crate::store::truncate_to_millis);
        if until.is_some_and(|u| u <= now) {
            return Err(one_problem(
                "until",
                "invalid_until",
                "must be in the future (RFC 3339), or absent for a suspension until lifted",
            ));
        }
        let mut user = self.target(actor, user_id).await?;
        let suspension = Suspension {
            suspended_at: now,
            until,
            reason: reason.to_owned(),
        };
        let mut event = actor
            .event(EventType::UserSuspended, now)
            .subject(&user.id)
            .reason(reason);
        if let Some(u) = until {
            event = event.detail(
                "until",
                u.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            );
        }
        self.store
            .suspend_user(&user.id, &suspension, &event)
            .await
            .map_err(store_error)?;
        user.suspension = Some(suspension);
        Ok(user)
    }

    /// Mails the account a password reset link (`password_reset.requested`,
    /// with the administrator as actor, recorded with the link). The
    /// administrator never sees the link; the account keeps its password and
    /// sessions until the link is used. `NotFound` for a deleted account,
    /// `PendingDeletion` while its deletion is pending.
    pub async fn admin_send_password_reset(
        &self,
        actor: &Actor,
        user_id: &str,
    ) -> Result<(), AuthError> {
        actor.require(perm::USERS_WRITE)?;
        let user = self.target(actor, user_id).await?;
        let state = self
            .store
            .account_state(&user.id)
            .await?
            .ok_or(AuthError::NotFound)?;
        if state.deleted_at.is_some() {
            return Err(AuthError::NotFound);
        }
        if let Some(due) = state.deletion_due_at {
            return Err(AuthError::PendingDeletion { due });
        }
        let event = actor
            .event(EventType::PasswordResetRequested, self.now())
            .subject(&user.id);
        self.mail_reset_link(&user, &event, None).await
    }

    /// Lifts a suspension (`user.unsuspended`).
    pub async fn admin_unsuspend(&self, actor: &Actor, user_id: &str) -> Result<User, AuthError> {
        actor.require(perm::USERS_SUSPEND)?;
        let mut user = self.target(actor, user_id).await?;
        let now = self.now();
        let event = actor
            .event(EventType::UserUnsuspended, now)
            .subject(&user.id);
        self.store
            .unsuspend_user(&user.id, now, &event)
            .await
            .map_err(store_error)?;
        user.suspension = None;
        Ok(user)
    }

    /// A user's active sessions, newest first.
    pub async fn admin_sessions(
        &self,
        actor: &Actor,
        user_id: &str,
    ) -> Result<Vec<Session>, AuthError> {
        actor.require(perm::USERS_READ)?;
        let user = self.existing_user(user_id).await?;
        self.sessions(&user.id).await
    }

    /// Ends one session of a user (`session.revoked`), or all of them
    /// (`sessions.revoked`). Returns how many ended; one that is not the
    /// user's, or has ended already, is `NotFound`.
    pub async fn admin_end_sessions(
        &self,
        actor: &Actor,
        user_id: &str,
        session_id: Option<&str>,
    ) -> Result<u64, AuthError> {
        actor.require(perm::SESSIONS_REVOKE)?;
        let user = self.target(actor, user_id).await?;
        let now = self.now();
        let mut event = match session_id {
            Some(sid) => actor.event(EventType::SessionRevoked, now).session(sid),
            None => actor.event(EventType::SessionsRevoked, now),
        };
        event = event.subject(&user.id);
        let ended = self
            .store
            .revoke_sessions(
                &user.id,
                match session_id {
                    Some(sid) => WhichSessions::One(sid),
                    None => WhichSessions::AllExcept(None),
                },
                now,
                "admin",
                Some(&event),
            )
            .await?;
        if session_id.is_some() && ended == 0 {
            return Err(AuthError::NotFound);
        }
        Ok(ended)
    }

    /// Replaces a user's roles (`user.roles_changed`); takes effect at once
    /// on latchkey's own checks, and in tokens at the next refresh, or at
    /// once when `end_sessions` ends the user's sessions.
    pub async fn admin_set_roles(
        &self,
        actor: &Actor,
        user_id: &str,
        wanted: &[String],
        end_sessions: bool,
    ) -> Result<Access, AuthError> {
        actor.require(perm::ROLES_MANAGE)?;
        let user = self.target(actor, user_id).await?;
        let names = self.grantable(actor, wanted).await?;
        let before = self.access(&user.id).await?;
        // Removing a role is granting in reverse: it also needs its rights.
        let all = self.all_roles().await?;
        let before_assigned: Vec<String> = before.assigned.iter().cloned().collect();
        let removed: Vec<String> = before_assigned
            .iter()
            .filter(|r| *r != roles::USER && !names.contains(r))
            .cloned()
            .collect();
        let added: Vec<String> = names
            .iter()
            .filter(|r| !before.assigned.contains(*r))
            .cloned()
            .collect();
        let removed_access = Access::resolve(&removed, &all);
        if let Some(p) = actor.access.missing_for_grant(&removed_access.permissions) {
            return Err(AuthError::PermissionDenied(p));
        }
        let now = self.now();
        let mut event = actor
            .event(EventType::UserRolesChanged, now)
            .subject(&user.id)
            .detail("added", added)
            .detail("removed", removed)
            .detail("roles", names.clone());
        if end_sessions {
            event = event.detail("sessions_ended", true);
        }
        self.store
            .set_user_roles(
                &user.id,
                &names,
                end_sessions.then_some("roles_changed"),
                now,
                &event,
            )
            .await
            .map_err(store_error)?;
        self.access(&user.id).await
    }

    /// Every role, built-in ones first.
    pub async fn admin_roles(&self, actor: &Actor) -> Result<Vec<Role>, AuthError> {
        actor.require(perm::ROLES_READ)?;
        let mut all = self.all_roles().await?;
        all.sort_by_key(|r| {
            (
                roles::BUILTIN_ROLES
                    .iter()
                    .position(|b| b.name == r.name)
                    .unwrap_or(usize::MAX),
                r.name.clone(),
            )
        });
        Ok(all)
    }

    /// One role.
    pub async fn admin_role(&self, actor: &Actor, name: &str) -> Result<Role, AuthError> {
        actor.require(perm::ROLES_READ)?;
        self.store
            .role_by_name(name)
            .await?
            .map(Role::with_builtin_definition)
            .ok_or(AuthError::NotFound)
    }

    fn check_permissions(actor: &Actor, permissions: &[String]) -> Result<Vec<String>, AuthError> {
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

    fn check_description(description: Option<String>) -> Result<String, AuthError> {
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
    fn check_parent(
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

    /// Creates a custom role (`role.created`).
    pub async fn admin_create_role(
        &self,
        actor: &Actor,
        input: RoleInput,
    ) -> Result<Role, AuthError> {
        actor.require(perm::ROLES_MANAGE)?;
        let name = input.name.trim().to_owned();
        if !roles::valid_role_name(&name) {
            return Err(one_problem(
                "name",
                "invalid_role_name",
                "2 to 32 characters: a-z, 0-9, '_' or '-', starting with a letter",
            ));
        }
        let description = Self::check_description(input.description)?;
        let permissions = Self::check_permissions(actor, &input.permissions)?;
        let all = self.all_roles().await?;
        if all.iter().any(|r| r.name == name) {
            return Err(AuthError::RoleTaken);
        }
        if let Some(parent) = &input.parent {
            Self::check_parent(actor, &name, parent, &all)?;
        }
        let now = self.now();
        let role = Role {
            name,
            description,
            parent: input.parent,
            permissions,
            builtin: false,
            created_at: now,
            updated_at: now,
        };
        let event = actor
            .event(EventType::RoleCreated, now)
            .detail("role", role.name.clone())
            .detail("parent", role.parent.clone())
            .detail("permissions", role.permissions.clone());
        match self.store.insert_role(&role, &event).await {
            Ok(()) => Ok(role),
            Err(StoreError::Conflict(_)) => Err(AuthError::RoleTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes a custom role (`role.updated`). The change applies at once
    /// to every user who has the role, or inherits from it.
    pub async fn admin_update_role(
        &self,
        actor: &Actor,
        name: &str,
        patch: RolePatch,
    ) -> Result<Role, AuthError> {
        actor.require(perm::ROLES_MANAGE)?;
        let all = self.all_roles().await?;
        let mut role = all
            .iter()
            .find(|r| r.name == name)
            .cloned()
            .ok_or(AuthError::NotFound)?;
        if role.builtin {
            return Err(AuthError::RoleReadOnly);
        }
        // Changing a role changes what its holders may do: the actor must
        // hold what it carries now, as well as what it will carry.
        let current = Access::resolve(std::slice::from_ref(&role.name), &all);
        if let Some(p) = actor.access.missing_for_grant(&current.permissions) {
            return Err(AuthError::PermissionDenied(p));
        }
        if patch.description.is_some() {
            role.description = Self::check_description(patch.description)?;
        }
        if let Some(perms) = patch.permissions {
            role.permissions = Self::check_permissions(actor, &perms)?;
        }
        if let Some(parent) = patch.parent {
            if let Some(p) = &parent {
                Self::check_parent(actor, &role.name, p, &all)?;
            }
            role.parent = parent;
        }
        role.updated_at = self.now();
        let event = actor
            .event(EventType::RoleUpdated, role.updated_at)
            .detail("role", role.name.clone())
            .detail("parent", role.parent.clone())
            .detail("permissions", role.permissions.clone());
        self.store
            .update_role(&role, &event)
            .await
            .map_err(store_error)?;
        Ok(role)
    }

    /// Deletes a custom role and its assignments (`role.deleted`). A role
    /// that is another's parent is refused (`RoleInUse`).
    pub async fn admin_delete_role(&self, actor: &Actor, name: &str) -> Result<(), AuthError> {
        actor.require(perm::ROLES_MANAGE)?;
        let all = self.all_roles().await?;
        let role = all
            .iter()
            .find(|r| r.name == name)
            .ok_or(AuthError::NotFound)?;
        if role.builtin {
            return Err(AuthError::RoleReadOnly);
        }
        let current = Access::resolve(std::slice::from_ref(&role.name), &all);
        if let Some(p) = actor.access.missing_for_grant(&current.permissions) {
            return Err(AuthError::PermissionDenied(p));
        }
        let children: Vec<String> = all
            .iter()
            .filter(|r| r.parent.as_deref() == Some(name))
            .map(|r| r.name.clone())
            .collect();
        if !children.is_empty() {
            return Err(AuthError::RoleInUse(children));
        }
        let event = actor
            .event(EventType::RoleDeleted, self.now())
            .detail("role", name);
        match self.store.delete_role(name, &event).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err(AuthError::NotFound),
            Err(StoreError::Conflict(_)) => Err(AuthError::RoleInUse(Vec::new())),
            Err(e) => Err(e.into()),
        }
    }

    /// latchkey's permissions, then the custom ones roles carry:
    /// `(name, description, is latchkey's own)`.
    pub async fn admin_permissions(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(String, String, bool)>, AuthError> {
        actor.require(perm::ROLES_READ)?;
        let mut out: Vec<(String, String, bool)> = CATALOGUE
            .iter()
            .map(|(p, d)| ((*p).to_owned(), (*d).to_owned(), true))
            .collect();
        let custom: BTreeSet<String> = self
            .all_roles()
            .await?
            .into_iter()
            .flat_map(|r| r.permissions)
            .filter(|p| !roles::is_latchkey_permission(p))
            .collect();
        out.extend(
            custom
                .into_iter()
                .map(|p| (p, "Defined by a custom role".to_owned(), false)),
        );
        Ok(out)
    }

    /// Audit events matching the query (`audit:read`).
    pub async fn admin_audit(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEvent>, AuthError> {
        actor.require(perm::AUDIT_READ)?;
        Ok(self.store.audit_events(query).await?)
    }

    /// The user's own security log: events about them or by them.
    pub async fn activity(
        &self,
        user_id: &str,
        after_id: Option<String>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AuthError> {
        let query = AuditQuery {
            involving: Some(user_id.to_owned()),
            after_id,
            limit,
            ..AuditQuery::default()
        };
        Ok(self.store.audit_events(&query).await?)
    }
}
