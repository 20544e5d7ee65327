//! Accounts brought in from another system with their password hashes
//! (`latchkey user import`): the same address, username and name rules as
//! every other way an account is made, roles that exist and that the actor
//! may grant, and a stored hash that the hasher accepts within its cost
//! limits (so an imported hash can never stall the hash pool). An imported
//! argon2 hash with other parameters is replaced by a fresh one at the
//! first successful sign-in, as any outdated hash is.
//!
//! Checking and importing are separate steps, so that a file is checked
//! whole before anything is written; importing an address that exists
//! already changes nothing, so an interrupted import can simply run again.

use time::OffsetDateTime;

use super::admin::Actor;
use super::{Auth, AuthError, FieldProblem, validate};
use crate::audit::EventType;
use crate::id;
use crate::password::check_stored_hash;
use crate::roles::perm;
use crate::store::{StoreError, truncate_to_millis};
use crate::user::{User, normalize_email, normalize_username};

/// One account as another system exported it.
#[derive(Debug, Clone, Default)]
pub struct ImportedUser {
    /// Email address.
    pub email: String,
    /// Whether the other system had confirmed the address.
    pub email_verified: bool,
    /// Username, if any.
    pub username: Option<String>,
    /// Display name, if any.
    pub name: Option<String>,
    /// Roles to assign (besides the implicit `user`).
    pub roles: Vec<String>,
    /// The password hash (an argon2 PHC string), if the account has a password.
    pub password_hash: Option<String>,
    /// When the account was created there; now if unknown.
    pub created_at: Option<OffsetDateTime>,
}

/// What importing one account did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// The account was created.
    Created(Box<User>),
    /// An account with this address exists already; nothing changed.
    Present,
}

impl Auth {
    /// Checks one account without writing: the account as it would be
    /// stored and its roles, or every problem found.
    async fn imported_account(
        &self,
        actor: &Actor,
        u: &ImportedUser,
    ) -> Result<(User, Vec<String>), AuthError> {
        actor.require(perm::USERS_WRITE)?;
        let mut problems = Vec::new();
        let email = validate::email(&u.email, &mut problems);
        let username = u
            .username
            .as_deref()
            .and_then(|n| validate::username(n, &mut problems));
        let name = u
            .name
            .as_deref()
            .and_then(|n| validate::name(n, &mut problems));
        if let Some(hash) = &u.password_hash
            && let Err(why) = check_stored_hash(hash)
        {
            problems.push(FieldProblem::new("password_hash", "unsupported_hash", why));
        }
        let roles = if u.roles.iter().all(|r| r.trim() == crate::roles::USER) {
            Vec::new()
        } else {
            actor.require(perm::ROLES_MANAGE)?;
            match self.grantable(actor, &u.roles).await {
                Ok(roles) => roles,
                Err(AuthError::Validation(p)) => {
                    problems.extend(p);
                    Vec::new()
                }
                Err(e) => return Err(e),
            }
        };
        let (Some(email), true) = (email, problems.is_empty()) else {
            return Err(AuthError::Validation(problems));
        };
        let now = self.now();
        let created_at = u.created_at.map_or(now, truncate_to_millis);
        let user = User {
            id: id::new_id(),
            email_normalized: normalize_email(&email),
            email,
            email_verified: u.email_verified,
            username_normalized: username.as_deref().map(normalize_username),
            username,
            name,
            password_hash: u.password_hash.clone(),
            created_at,
            updated_at: now,
            suspension: None,
        };
        Ok((user, roles))
    }

    /// Checks one account to import, and whether its address or username
    /// is taken already (an address taken is not a problem: importing it
    /// changes nothing). Writes nothing.
    pub async fn admin_check_import(
        &self,
        actor: &Actor,
        u: &ImportedUser,
    ) -> Result<Imported, AuthError> {
        let (user, _) = self.imported_account(actor, u).await?;
        if self
            .store
            .user_by_email(&user.email_normalized)
            .await?
            .is_some()
        {
            return Ok(Imported::Present);
        }
        if let Some(name) = &user.username_normalized
            && self.store.user_by_username(name).await?.is_some()
        {
            return Err(AuthError::UsernameTaken);
        }
        Ok(Imported::Created(Box::new(user)))
    }

    /// Imports one account (`user.created`, with `import: true`), or
    /// nothing when its address exists already.
    pub async fn admin_import_user(
        &self,
        actor: &Actor,
        u: &ImportedUser,
    ) -> Result<Imported, AuthError> {
        let (user, roles) = self.imported_account(actor, u).await?;
        let event = actor
            .event(EventType::UserCreated, self.now())
            .subject(&user.id)
            .detail("roles", roles.clone())
            .detail("import", true);
        let present = |user: &User| {
            let email = user.email_normalized.clone();
            async move { Ok::<_, AuthError>(self.store.user_by_email(&email).await?.is_some()) }
        };
        if present(&user).await? {
            return Ok(Imported::Present);
        }
        match self.store.insert_user(&user, &roles, Some(&event)).await {
            Ok(()) => Ok(Imported::Created(Box::new(user))),
            // A store names one violated constraint, not necessarily the
            // address: an account that came in meanwhile is present.
            Err(StoreError::Conflict(_)) if present(&user).await? => Ok(Imported::Present),
            Err(StoreError::Conflict("username")) => Err(AuthError::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }
}
