//! Accounts: registration, the profile and the account's own activity.
//!
//! The service holds an `Arc<Context>` (store, clock, hasher, keys, config)
//! and derefs to it for the shared helpers; errors are the shared
//! [`crate::auth::AuthError`] for now.

mod service;

pub use service::Accounts;
