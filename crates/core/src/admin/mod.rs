//! Administration as an [`Actor`]: users, suspension, sessions, the
//! audit log, the admin's password-reset mail, and import. Role
//! administration is the roles slice's ([`crate::roles::Roles`]).
//!
//! Every operation checks the actor's permission itself (the HTTP
//! extractors check it first, to refuse early), records its audit event
//! with the actor named, and stores the event in the same transaction as
//! the change. Granting a role requires holding every latchkey permission
//! it carries (no escalation through `roles:manage`).
//!
//! The service holds an `Arc<Context>` (store, clock, hasher, keys, config)
//! and derefs to it for the shared helpers; its failures are [`AdminError`].

mod actor;
mod error;
mod import;
mod service;

pub use actor::{Actor, AdminPatch, NewUser};
pub use error::AdminError;
pub use import::{CheckedAccount, ImportedIdentity, ImportedUser};
pub use service::Admin;
