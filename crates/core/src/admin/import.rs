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
//! The check hands back each account as it will be stored
//! ([`CheckedAccount`]), and the import writes those: an account is checked
//! once, not again when it is written.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::{Actor, Admin, AdminError};
use crate::auth::{FieldProblem, validate};
use crate::error::SharedError;
use crate::id;
use crate::legacy_hashes::canonical;
use crate::roles::perm;
use crate::store::truncate_to_millis;
use crate::user::{User, normalize_email, normalize_username};
use crate::user_transfer::LinkedIdentity;

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
    /// Accounts at upstream identity providers linked to it.
    pub identities: Vec<ImportedIdentity>,
}

/// A linked upstream identity as another system exported it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedIdentity {
    /// The provider's name (`google.com`, `github`, ...): 1 to 64 printable
    /// ASCII characters without spaces.
    pub provider: String,
    /// The provider's id of the account: 1 to 255 bytes, no control
    /// characters.
    pub subject: String,
    /// The address the provider gave, if any.
    pub email: Option<String>,
    /// Whether the provider said that address was verified.
    pub email_verified: bool,
}

/// An account that passed [`Admin::admin_check_import_batch`], as it will
/// be stored: only the check makes one, so an import writes nothing that
/// was not checked.
#[derive(Debug, Clone)]
pub struct CheckedAccount {
    pub(super) user: User,
    pub(super) roles: Vec<String>,
    pub(super) identities: Vec<LinkedIdentity>,
}

/// The roles granted per list of roles asked for, within one batch: most
/// accounts of an import ask for the same few lists, and each check reads
/// every role from the store.
pub(super) type GrantedRoles = HashMap<Vec<String>, Vec<String>>;

/// A linked identity's (provider, subject) is another account's already.
pub(super) fn identity_linked() -> AdminError {
    SharedError::field(
        "identities",
        "identity_linked",
        "a provider and subject already linked to another account",
    )
    .into()
}

/// The longest provider name and subject of a linked identity, in bytes.
const MAX_PROVIDER: usize = 64;
const MAX_SUBJECT: usize = 255;

/// The identities of one account, checked: each field's rule, and each
/// (provider, subject) once.
fn linked_identities(
    given: &[ImportedIdentity],
    linked_at: OffsetDateTime,
    problems: &mut Vec<FieldProblem>,
) -> Vec<LinkedIdentity> {
    let mut out: Vec<LinkedIdentity> = Vec::with_capacity(given.len());
    for (i, g) in given.iter().enumerate() {
        let field = format!("identities[{i}]");
        let mut bad = |code: &'static str, message: &str| {
            problems.push(FieldProblem::new(&field, code, message));
        };
        let provider = g.provider.trim();
        if provider.is_empty()
            || provider.len() > MAX_PROVIDER
            || !provider.bytes().all(|b| b.is_ascii_graphic())
        {
            bad(
                "invalid_provider",
                "provider: 1 to 64 printable ASCII characters without spaces",
            );
            continue;
        }
        let subject = g.subject.trim();
        if subject.is_empty()
            || subject.len() > MAX_SUBJECT
            || subject.chars().any(char::is_control)
        {
            bad(
                "invalid_subject",
                "subject: 1 to 255 bytes without control characters",
            );
            continue;
        }
        let email = match g.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) => {
                let mut found = Vec::new();
                let email = validate::email(e, &mut found);
                if email.is_none() {
                    bad("invalid_email", "email: not an email address");
                    continue;
                }
                email
            }
        };
        if out
            .iter()
            .any(|o| o.provider == provider && o.subject == subject)
        {
            bad("duplicate_identity", "the same provider and subject twice");
            continue;
        }
        out.push(LinkedIdentity {
            provider: provider.to_owned(),
            subject: subject.to_owned(),
            email,
            email_verified: g.email_verified && g.email.is_some(),
            linked_at,
        });
    }
    out
}

impl Admin {
    /// Checks one account without writing: the account as it would be
    /// stored, its roles and its linked identities, or every problem found.
    /// `granted`: the role lists checked already in this batch (for this
    /// actor).
    pub(super) async fn imported_account(
        &self,
        actor: &Actor,
        u: &ImportedUser,
        granted: &mut GrantedRoles,
    ) -> Result<CheckedAccount, AdminError> {
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
            match granted.get(&u.roles) {
                Some(roles) => roles.clone(),
                None => match self.grantable(actor, &u.roles).await {
                    Ok(roles) => {
                        granted.insert(u.roles.clone(), roles.clone());
                        roles
                    }
                    Err(AdminError::Shared(SharedError::Validation(p))) => {
                        problems.extend(p);
                        Vec::new()
                    }
                    Err(e) => return Err(e),
                },
            }
        };
        let now = self.now();
        let identities = linked_identities(&u.identities, now, &mut problems);
        let (Some(email), true) = (email, problems.is_empty()) else {
            return Err(SharedError::Validation(problems).into());
        };
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
        Ok(CheckedAccount {
            user,
            roles,
            identities,
        })
    }
}
