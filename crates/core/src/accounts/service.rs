//! The accounts service.

use super::{AccountError, ProfilePatch, Registration};
use crate::audit::AuditEvent;
use crate::audit::AuditQuery;
use crate::audit::EventType;
use crate::auth::*;
use crate::error::SharedError;
use crate::id;
use crate::store::StoreError;
use crate::user::User;
use crate::user::normalize_username;
use std::sync::Arc;

/// The accounts service: its methods over the shared [`Context`].
#[derive(Clone)]
pub struct Accounts {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl std::ops::Deref for Accounts {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Accounts {
    /// The service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Accounts {
        Accounts { ctx }
    }

    /// Creates an account (recorded as `user.registered`).
    pub async fn register(
        &self,
        r: Registration,
        client: &ClientInfo,
    ) -> Result<User, AccountError> {
        let mut user = self
            .new_account(
                &r.email,
                r.username.as_deref(),
                r.name.as_deref(),
                &r.password,
                false,
            )
            .await?;
        user.locale = self.configured_locale(r.locale.as_deref());
        let now = user.created_at;
        let event = AuditEvent::new(EventType::UserRegistered, now, client)
            .actor(Some(&user.id))
            .subject(&user.id);
        // the account, its event and its verification mail commit together
        let verify = self.verification(&user);
        match self
            .store
            .register_user(&user, &verify.token, &verify.mail, &verify.job, &event)
            .await
        {
            Ok(()) => {
                self.wake_jobs();
                Ok(user)
            }
            Err(StoreError::Conflict("email")) if !self.lifecycle.reveal_existing_on_register => {
                self.existing_address_registered(user).await
            }
            Err(StoreError::Conflict("email")) => Err(AccountError::EmailTaken),
            Err(StoreError::Conflict("username")) => Err(AccountError::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes profile fields (recorded as `account.updated`).
    pub async fn update_account(
        &self,
        user_id: &str,
        patch: ProfilePatch,
        client: &ClientInfo,
    ) -> Result<User, AccountError> {
        let mut user = self.account(user_id).await?;
        let mut problems = Vec::new();
        if let Some(username) = patch.username {
            user.username = username
                .as_deref()
                .and_then(|u| validate::username(u, &mut problems));
            user.username_normalized = user.username.as_deref().map(normalize_username);
        }
        if let Some(locale) = patch.locale {
            user.locale = match locale.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
                None => None,
                Some(l) => match self.configured_locale(Some(l)) {
                    Some(ours) => Some(ours),
                    None => {
                        problems.push(validate::FieldProblem::new(
                            "locale",
                            "unsupported_locale",
                            format!(
                                "expected one of the configured languages: {}",
                                self.lifecycle.catalogue.locales().join(", ")
                            ),
                        ));
                        None
                    }
                },
            };
        }
        if let Some(name) = patch.name {
            user.name = name
                .as_deref()
                .and_then(|n| validate::name(n, &mut problems));
        }
        if !problems.is_empty() {
            return Err(SharedError::Validation(problems).into());
        }
        user.updated_at = self.now();
        let event = AuditEvent::new(EventType::AccountUpdated, user.updated_at, client)
            .actor(Some(user_id))
            .subject(user_id);
        match self.store.update_user(&user, Some(&event)).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict("username")) => Err(AccountError::UsernameTaken),
            Err(StoreError::NotFound) => Err(SharedError::NotFound.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// The user's own security log: events about them or by them.
    pub async fn activity(
        &self,
        user_id: &str,
        after_id: Option<String>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, AccountError> {
        let query = AuditQuery {
            involving: Some(user_id.to_owned()),
            after_id,
            limit,
            ..AuditQuery::default()
        };
        Ok(self.store.audit_events(&query).await?)
    }

    /// A registration for an address that has an account, when that is not
    /// to be revealed: the owner is mailed, and the registrant gets what a
    /// new account gets (same status and shape, one hash and one queued mail
    /// done), for an id that names no account. A taken username is still
    /// `UsernameTaken`, as it would be for a new address.
    async fn existing_address_registered(&self, decoy: User) -> Result<User, AccountError> {
        if let Some(username) = &decoy.username_normalized
            && self.store.user_by_username(username).await?.is_some()
        {
            return Err(AccountError::UsernameTaken);
        }
        match self.store.user_by_email(&decoy.email_normalized).await? {
            Some(owner) => self.notify_sign_up_attempt(&owner).await,
            None => tracing::warn!("registration conflict on an address no account has"),
        }
        Ok(User {
            id: id::new_id(),
            password_hash: None,
            ..decoy
        })
    }
}
