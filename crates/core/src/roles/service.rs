//! Role administration: the custom roles and what they carry, as an
//! [`Actor`] may manage them (whoever defines or changes a role must hold
//! every latchkey permission it carries, before and after).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Access, CATALOGUE, PermissionDenied, Role, RoleError, perm};
use crate::admin::Actor;
use crate::audit::EventType;
use crate::auth::{Context, FieldProblem};
use crate::error::SharedError;
use crate::roles;
use crate::store::StoreError;

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

/// The roles service: role administration over the shared [`Context`].
#[derive(Clone)]
pub struct Roles {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for Roles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roles").finish_non_exhaustive()
    }
}

impl std::ops::Deref for Roles {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Roles {
    /// The service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Roles {
        Roles { ctx }
    }

    /// Every role, built-in ones first.
    pub async fn admin_roles(&self, actor: &Actor) -> Result<Vec<Role>, RoleError> {
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
    pub async fn admin_role(&self, actor: &Actor, name: &str) -> Result<Role, RoleError> {
        actor.require(perm::ROLES_READ)?;
        self.store
            .role_by_name(name)
            .await?
            .map(Role::with_builtin_definition)
            .ok_or(SharedError::NotFound.into())
    }

    /// Creates a custom role (`role.created`).
    pub async fn admin_create_role(
        &self,
        actor: &Actor,
        input: RoleInput,
    ) -> Result<Role, RoleError> {
        actor.require(perm::ROLES_MANAGE)?;
        let name = input.name.trim().to_owned();
        if !roles::valid_role_name(&name) {
            return Err(SharedError::field(
                "name",
                "invalid_role_name",
                "2 to 32 characters: a-z, 0-9, '_' or '-', starting with a letter",
            )
            .into());
        }
        let description = Self::check_description(input.description)?;
        let permissions = Self::check_permissions(actor, &input.permissions)?;
        let all = self.all_roles().await?;
        if all.iter().any(|r| r.name == name) {
            return Err(RoleError::Taken);
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
            Err(StoreError::Conflict(_)) => Err(RoleError::Taken),
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
    ) -> Result<Role, RoleError> {
        actor.require(perm::ROLES_MANAGE)?;
        let all = self.all_roles().await?;
        let mut role = Self::changeable(actor, name, &all)?.clone();
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
            .map_err(|e| match e {
                StoreError::NotFound => RoleError::from(SharedError::NotFound),
                e => e.into(),
            })?;
        Ok(role)
    }

    /// Deletes a custom role and its assignments (`role.deleted`). A role
    /// that is another's parent is refused (`RoleInUse`).
    pub async fn admin_delete_role(&self, actor: &Actor, name: &str) -> Result<(), RoleError> {
        actor.require(perm::ROLES_MANAGE)?;
        let all = self.all_roles().await?;
        Self::changeable(actor, name, &all)?;
        let children: Vec<String> = all
            .iter()
            .filter(|r| r.parent.as_deref() == Some(name))
            .map(|r| r.name.clone())
            .collect();
        if !children.is_empty() {
            return Err(RoleError::InUse(children));
        }
        let event = actor
            .event(EventType::RoleDeleted, self.now())
            .detail("role", name);
        match self.store.delete_role(name, &event).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err(SharedError::NotFound.into()),
            Err(StoreError::Conflict(_)) => Err(RoleError::InUse(Vec::new())),
            Err(e) => Err(e.into()),
        }
    }

    /// latchkey's permissions, then the custom ones roles carry:
    /// `(name, description, is latchkey's own)`.
    pub async fn admin_permissions(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(String, String, bool)>, RoleError> {
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

    /// The custom role `name` if the actor may change or delete it: not
    /// built in, and (since changing a role changes what its holders may
    /// do) carrying nothing the actor lacks.
    fn changeable<'a>(actor: &Actor, name: &str, all: &'a [Role]) -> Result<&'a Role, RoleError> {
        let role = all
            .iter()
            .find(|r| r.name == name)
            .ok_or(SharedError::NotFound)?;
        if role.builtin {
            return Err(RoleError::ReadOnly);
        }
        let current = Access::resolve(std::slice::from_ref(&role.name), all);
        if let Some(p) = actor.access.missing_for_grant(&current.permissions) {
            return Err(PermissionDenied(p).into());
        }
        Ok(role)
    }

    fn check_permissions(actor: &Actor, permissions: &[String]) -> Result<Vec<String>, RoleError> {
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
            return Err(SharedError::Validation(problems).into());
        }
        let out: Vec<String> = out.into_iter().collect();
        if let Some(p) = actor.access.missing_for_grant(&out) {
            return Err(PermissionDenied(p).into());
        }
        Ok(out)
    }

    fn check_description(description: Option<String>) -> Result<String, RoleError> {
        let d = description.unwrap_or_default().trim().to_owned();
        if d.chars().count() > 500 || d.chars().any(char::is_control) {
            return Err(SharedError::field(
                "description",
                "invalid_description",
                "at most 500 characters without control characters",
            )
            .into());
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
    ) -> Result<(), RoleError> {
        if !all.iter().any(|r| r.name == parent) {
            return Err(SharedError::field(
                "parent",
                "unknown_role",
                format!("there is no role named {parent:?}"),
            )
            .into());
        }
        if roles::would_cycle(role, parent, all) {
            return Err(SharedError::field(
                "parent",
                "role_cycle",
                "a role cannot inherit from itself, directly or through its parents",
            )
            .into());
        }
        let inherited = Access::resolve(&[parent.to_owned()], all);
        if let Some(p) = actor.access.missing_for_grant(&inherited.permissions) {
            return Err(PermissionDenied(p).into());
        }
        Ok(())
    }
}
