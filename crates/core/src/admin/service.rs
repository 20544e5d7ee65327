//! The admin service; method bodies moved unchanged from the former `Auth`.

use std::collections::BTreeSet;

use super::actor::store_error;
use super::import::GrantedRoles;
use super::{Actor, AdminError, AdminPatch, CheckedAccount, ImportedUser, NewUser};
use crate::audit::AuditEvent;
use crate::audit::AuditQuery;
use crate::audit::EventType;
use crate::auth::*;
use crate::error::SharedError;
use crate::roles;
use crate::roles::Access;
use crate::roles::PermissionDenied;
use crate::roles::perm;
use crate::session::Session;
use crate::session::WhichSessions;
use crate::store::StoreError;
use crate::user::Suspension;
use crate::user::User;
use crate::user::UserSearch;
use crate::user::normalize_email;
use crate::user::normalize_username;
use std::sync::Arc;
use time::OffsetDateTime;

/// The admin service: its methods over the shared [`Context`].
#[derive(Clone)]
pub struct Admin {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl std::ops::Deref for Admin {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Admin {
    /// The service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Admin {
        Admin { ctx }
    }

    /// Users matching a search, each with their assigned roles.
    pub async fn admin_users(
        &self,
        actor: &Actor,
        search: &UserSearch,
    ) -> Result<Vec<(User, Vec<String>)>, AdminError> {
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
    ) -> Result<(User, Access), AdminError> {
        actor.require(perm::USERS_READ)?;
        let user = self.existing_user(user_id).await?;
        let access = self.access(&user.id).await?;
        Ok((user, access))
    }

    /// Creates an account (`user.created`). Assigning roles also needs
    /// `roles:manage` and the roles' permissions.
    pub async fn admin_create_user(&self, actor: &Actor, new: NewUser) -> Result<User, AdminError> {
        actor.require(perm::USERS_WRITE)?;
        let roles = if new.roles.is_empty() {
            Vec::new()
        } else {
            actor.require(perm::ROLES_MANAGE)?;
            self.grantable(actor, &new.roles).await?
        };
        // the same rules as sign-up: length, common and breached lists, identity
        let user = self
            .new_account(
                &new.email,
                new.username.as_deref(),
                new.name.as_deref(),
                &new.password,
                new.email_verified,
            )
            .await?;
        let now = user.created_at;
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
    ) -> Result<User, AdminError> {
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
            return Err(SharedError::Validation(problems).into());
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
    pub async fn admin_delete_user(&self, actor: &Actor, user_id: &str) -> Result<(), AdminError> {
        actor.require(perm::USERS_DELETE)?;
        if actor.user_id.as_deref() == Some(user_id) {
            return Err(AdminError::SelfAction);
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
    ) -> Result<User, AdminError> {
        actor.require(perm::USERS_SUSPEND)?;
        if actor.user_id.as_deref() == Some(user_id) {
            return Err(AdminError::SelfAction);
        }
        let now = self.now();
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control)
        {
            return Err(SharedError::field(
                "reason",
                "invalid_reason",
                "a reason of 1 to 500 characters without control characters is required",
            )
            .into());
        }
        let until = until.map(crate::store::truncate_to_millis);
        if until.is_some_and(|u| u <= now) {
            return Err(SharedError::field(
                "until",
                "invalid_until",
                "must be in the future (RFC 3339), or absent for a suspension until lifted",
            )
            .into());
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
    ) -> Result<(), AdminError> {
        actor.require(perm::USERS_WRITE)?;
        let user = self.target(actor, user_id).await?;
        let state = self
            .store
            .account_state(&user.id)
            .await?
            .ok_or(SharedError::NotFound)?;
        if state.deleted_at.is_some() {
            return Err(SharedError::NotFound.into());
        }
        if let Some(due) = state.deletion_due_at {
            return Err(AdminError::PendingDeletion { due });
        }
        let event = actor
            .event(EventType::PasswordResetRequested, self.now())
            .subject(&user.id);
        Ok(self.mail_reset_link(&user, &event, None).await?)
    }

    /// Lifts a suspension (`user.unsuspended`).
    pub async fn admin_unsuspend(&self, actor: &Actor, user_id: &str) -> Result<User, AdminError> {
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
    ) -> Result<Vec<Session>, AdminError> {
        actor.require(perm::USERS_READ)?;
        let user = self.existing_user(user_id).await?;
        Ok(self.user_sessions(&user.id).await?)
    }

    /// Ends one session of a user (`session.revoked`), or all of them
    /// (`sessions.revoked`). Returns how many ended; one that is not the
    /// user's, or has ended already, is `NotFound`.
    pub async fn admin_end_sessions(
        &self,
        actor: &Actor,
        user_id: &str,
        session_id: Option<&str>,
    ) -> Result<u64, AdminError> {
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
            return Err(SharedError::NotFound.into());
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
    ) -> Result<Access, AdminError> {
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
            return Err(PermissionDenied(p).into());
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
        Ok(self.access(&user.id).await?)
    }

    /// Audit events matching the query (`audit:read`).
    pub async fn admin_audit(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEvent>, AdminError> {
        actor.require(perm::AUDIT_READ)?;
        Ok(self.store.audit_events(query).await?)
    }

    /// Checks a batch of accounts to import, with one store read for the
    /// whole batch: per account, the account as it will be stored (also when
    /// its address exists already: importing it changes nothing) or what is
    /// wrong with it, a username taken by another account included. Writes
    /// nothing.
    pub async fn admin_check_import_batch(
        &self,
        actor: &Actor,
        users: &[ImportedUser],
    ) -> Result<Vec<Result<CheckedAccount, AdminError>>, AdminError> {
        let mut checked = Vec::with_capacity(users.len());
        let mut granted = GrantedRoles::new();
        for u in users {
            checked.push(self.imported_account(actor, u, &mut granted).await);
        }
        let valid = || checked.iter().filter_map(|c| c.as_ref().ok());
        let emails: Vec<String> = valid().map(|a| a.user.email_normalized.clone()).collect();
        let usernames: Vec<String> = valid()
            .filter_map(|a| a.user.username_normalized.clone())
            .collect();
        let keys: Vec<(String, String)> = valid()
            .flat_map(|a| {
                a.identities
                    .iter()
                    .map(|i| (i.provider.clone(), i.subject.clone()))
            })
            .collect();
        let (present, taken) = self.store.taken(&emails, &usernames).await?;
        let present: BTreeSet<String> = present.into_iter().collect();
        let taken: BTreeSet<String> = taken.into_iter().collect();
        let linked: BTreeSet<(String, String)> = if keys.is_empty() {
            BTreeSet::new()
        } else {
            self.store
                .identities_taken(&keys)
                .await?
                .into_iter()
                .collect()
        };
        Ok(checked
            .into_iter()
            .map(|c| {
                let account = c?;
                let user = &account.user;
                // an address present is left alone, its identities too
                let new = !present.contains(&user.email_normalized);
                if new
                    && account
                        .identities
                        .iter()
                        .any(|i| linked.contains(&(i.provider.clone(), i.subject.clone())))
                {
                    return Err(super::import::identity_linked());
                }
                // an address present is left alone: its username is its own
                match &user.username_normalized {
                    Some(name)
                        if !present.contains(&user.email_normalized) && taken.contains(name) =>
                    {
                        Err(AdminError::UsernameTaken)
                    }
                    _ => Ok(account),
                }
            })
            .collect())
    }

    /// Imports accounts checked by [`Admin::admin_check_import_batch`] (for
    /// the same actor) in one transaction, each with its `user.created`
    /// event (`import: true`); those whose address exists are left alone.
    /// Answers how many were created and how many were present. Any error
    /// stores nothing of the batch.
    pub async fn admin_import_batch(
        &self,
        actor: &Actor,
        checked: Vec<CheckedAccount>,
    ) -> Result<(u64, u64), AdminError> {
        actor.require(perm::USERS_WRITE)?;
        if checked.iter().any(|a| !a.roles.is_empty()) {
            actor.require(perm::ROLES_MANAGE)?;
        }
        let total = checked.len() as u64;
        let now = self.now();
        let mut accounts = Vec::with_capacity(checked.len());
        for CheckedAccount {
            user,
            roles,
            identities,
        } in checked
        {
            let event = actor
                .event(EventType::UserCreated, now)
                .subject(&user.id)
                .detail("roles", roles.clone())
                .detail("import", true);
            accounts.push(crate::user_transfer::NewAccount {
                user,
                roles,
                events: vec![event],
                session: None,
                identities,
            });
        }
        let created = match self.store.insert_accounts(&accounts).await {
            Ok(n) => n,
            Err(StoreError::Conflict("username")) => return Err(AdminError::UsernameTaken),
            Err(StoreError::Conflict("identity")) => {
                return Err(super::import::identity_linked());
            }
            Err(e) => return Err(e.into()),
        };
        Ok((created, total - created))
    }
}
