//! Administration as an [`crate::auth::Actor`]: users, suspension, sessions,
//! roles, the audit log, the admin's password-reset mail, and import.
//!
//! The service holds an `Arc<Context>` (store, clock, hasher, keys, config)
//! and derefs to it for the shared helpers; errors are the shared
//! [`crate::auth::AuthError`] for now.

mod service;

pub use service::Admin;
