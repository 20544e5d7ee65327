//! Account lifecycle: email verification, password reset and change, email
//! change, re-authentication, deletion (scheduled, cancelled, anonymized) and
//! deactivation. The mailed-token and outbox helpers live on the shared
//! [`crate::auth::Context`] (`auth/lifecycle.rs`), which the admin slice uses too.
//!
//! The service holds an `Arc<Context>` (store, clock, hasher, keys, config)
//! and derefs to it for the shared helpers; its failures are [`RecoveryError`].

mod error;
mod service;

pub use error::RecoveryError;
pub use service::Recovery;
