//! The domain of latchkey: accounts, credentials, sessions, policies and the
//! store contract that every storage backend implements.
//!
//! Design decisions:
//! - This crate knows nothing of HTTP or SQL. It takes its effects as inputs:
//!   a [`Clock`](clock::Clock) for time and a [`Store`](store::Store) for
//!   persistence, so every rule here can be tested with a fixed clock and an
//!   in-memory or real store alike.
//! - The store traits live here, not in the backends, so the domain owns the
//!   contract and backends (`latchkey-store-sqlite`, `latchkey-store-postgres`)
//!   depend on it, never the other way round.
//! - Errors are typed: [`StoreError`](store::StoreError) for persistence, and
//!   the domain maps them into its own errors. Only the `http` crate decides
//!   what a client sees.

pub mod abuse;
pub mod accounts;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod client_info;
pub mod clock;
pub mod error;
pub mod events;
pub mod federation;
pub mod i18n;
pub mod id;
pub mod jobs;
pub mod keyring;
pub mod keys;
pub mod legacy_hashes;
pub mod lifecycle;
pub mod mail;
pub mod mfa;
pub mod oauth;
pub mod passkeys;
pub mod password;
pub mod password_policy;
pub mod passwordless;
pub mod recovery;
pub mod roles;
pub mod services;
pub mod session;
pub mod sessions;
pub mod sign_in;
pub mod store;
pub mod user;
pub mod user_transfer;
pub mod validate;
pub mod ways_in;
pub mod webhooks;

pub use clock::{Clock, ManualClock, SystemClock};

/// The target of spans that only traces show (hash-queue wait and hash,
/// store calls, mail sends): the log's formatter leaves them out, so a log
/// line inside one still names its request's span (request and trace id).
pub const SPAN_TARGET: &str = "latchkey::span";
pub use store::{
    AdminStore, AuditStore, ClientStore, KeyStore, LifecycleStore, LoginFailureStore, RoleStore,
    SessionStore, Store, StoreError, UserStore,
};
