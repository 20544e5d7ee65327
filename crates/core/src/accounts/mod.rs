//! Accounts: registration, the profile and the account's own activity.
//!
//! The service holds an `Arc<Context>` (store, clock, hasher, keys, config)
//! and derefs to it for the shared helpers; its failures are [`AccountError`].

mod error;
mod model;
mod service;

pub use error::AccountError;
pub use model::{ProfilePatch, Registration};
pub use service::Accounts;
