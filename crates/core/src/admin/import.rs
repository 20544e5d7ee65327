//! Accounts brought in from another system with their password hashes
//! (`latchkey user import`): the same address, username and name rules as
//! every other way an account is made, roles that exist and that the actor
//! may grant, and a stored hash that the hasher accepts within its cost
//! limits (so an imported hash can never stall the hash pool): argon2, or a
//! foreign scheme (bcrypt, scrypt, PBKDF2, ...) turned into its stored form
//! by [`crate::legacy_hashes::canonical`]. An imported hash of another
//! scheme or with other parameters is replaced by a fresh argon2id at the
//! first successful sign-in, as any outdated hash is.
//!
//! Checking and importing are separate steps, so that a file is checked
//! whole before anything is written; importing an address that exists
//! already changes nothing, so an interrupted import can simply run again.

use time::OffsetDateTime;

use super::{Actor, Admin, AdminError};
use crate::auth::{FieldProblem, validate};
use crate::error::SharedError;
use crate::id;
use crate::legacy_hashes::canonical;
use crate::roles::perm;
use crate::store::truncate_to_millis;
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
    /// The password hash (argon2 PHC or a form [`crate::legacy_hashes::canonical`]
    /// accepts), if the account has a password.
    pub password_hash: Option<String>,
    /// When the account was created there; now if unknown.
    pub created_at: Option<OffsetDateTime>,
}

impl Admin {
    /// Checks one account without writing: the account as it would be
    /// stored and its roles, or every problem found.
    pub(crate) async fn imported_account(
        &self,
        actor: &Actor,
        u: &ImportedUser,
    ) -> Result<(User, Vec<String>), AdminError> {
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
        let password_hash = match u.password_hash.as_deref().map(canonical).transpose() {
            Ok(hash) => hash,
            Err(why) => {
                problems.push(FieldProblem::new(
                    "password_hash",
                    "unsupported_hash",
                    why.to_string(),
                ));
                None
            }
        };
        let roles = if u.roles.iter().all(|r| r.trim() == crate::roles::USER) {
            Vec::new()
        } else {
            actor.require(perm::ROLES_MANAGE)?;
            match self.grantable(actor, &u.roles).await {
                Ok(roles) => roles,
                Err(AdminError::Shared(SharedError::Validation(p))) => {
                    problems.extend(p);
                    Vec::new()
                }
                Err(e) => return Err(e),
            }
        };
        let (Some(email), true) = (email, problems.is_empty()) else {
            return Err(SharedError::Validation(problems).into());
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
            password_hash,
            created_at,
            updated_at: now,
            suspension: None,
            locale: None,
        };
        Ok((user, roles))
    }
}
