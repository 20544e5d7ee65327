//! Who administers ([`Actor`]), what they send, and the checks every
//! administration of an account shares: the target the actor may act upon,
//! the roles they may grant.
//!
//! Every operation checks the actor's permission itself (the HTTP
//! extractors check it first, to refuse early), records its audit event
//! with the actor named, and stores the event in the same transaction as
//! the change. Granting or defining a role requires holding every latchkey
//! permission it carries (no escalation through `roles:manage`).

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::{Admin, AdminError};
use crate::audit::{AuditEvent, EventType};
use crate::auth::{ClientInfo, Context};
use crate::error::SharedError;
use crate::roles::{self, Access, CATALOGUE, PermissionDenied, Role};
use crate::store::StoreError;
use crate::user::User;

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
    pub fn require(&self, permission: &str) -> Result<(), PermissionDenied> {
        if self.access.has(permission) {
            Ok(())
        } else {
            Err(PermissionDenied(permission.to_owned()))
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

/// A store failure of a write to an account, in the administrator's terms.
pub(crate) fn store_error(e: StoreError) -> AdminError {
    match e {
        StoreError::NotFound => SharedError::NotFound.into(),
        StoreError::Conflict("email") => AdminError::EmailTaken,
        StoreError::Conflict("username") => AdminError::UsernameTaken,
        e => e.into(),
    }
}

impl Context {
    /// Every role, with the built-in definitions filled in.
    pub(crate) async fn all_roles(&self) -> Result<Vec<Role>, SharedError> {
        Ok(self
            .store
            .list_roles()
            .await?
            .into_iter()
            .map(Role::with_builtin_definition)
            .collect())
    }

    pub(crate) async fn existing_user(&self, user_id: &str) -> Result<User, SharedError> {
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or(SharedError::NotFound)
    }

    /// A user the actor may act upon ([`Access::may_act_on`]: one holding
    /// no latchkey permission the actor lacks, so a moderator can neither
    /// suspend nor unsuspend an administrator). Every write to an account
    /// goes through here, so whoever may not do something may not undo it.
    pub(crate) async fn target(&self, actor: &Actor, user_id: &str) -> Result<User, AdminError> {
        let user = self.existing_user(user_id).await?;
        let theirs = self.access(&user.id).await?;
        if let Some(p) = actor.access.may_act_on(&theirs) {
            return Err(PermissionDenied(p).into());
        }
        Ok(user)
    }
}

impl Admin {
    /// Checks role names against the existing roles and the actor's
    /// rights; returns them sorted, unique, without the implicit `user`.
    pub(crate) async fn grantable(
        &self,
        actor: &Actor,
        wanted: &[String],
    ) -> Result<Vec<String>, AdminError> {
        let all = self.all_roles().await?;
        let mut names = BTreeSet::new();
        for (i, name) in wanted.iter().enumerate() {
            let name = name.trim();
            if !all.iter().any(|r| r.name == name) {
                return Err(SharedError::field(
                    &format!("roles[{i}]"),
                    "unknown_role",
                    format!("there is no role named {name:?}; see GET /v1/admin/roles"),
                )
                .into());
            }
            if name != roles::USER {
                names.insert(name.to_owned());
            }
        }
        let names: Vec<String> = names.into_iter().collect();
        let granted = Access::resolve(&names, &all);
        if let Some(p) = actor.access.missing_for_grant(&granted.permissions) {
            return Err(PermissionDenied(p).into());
        }
        Ok(names)
    }
}
