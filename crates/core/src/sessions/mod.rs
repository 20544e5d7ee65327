//! Sessions and tokens: password sign-in (charged against brute force), refresh
//! rotation, bearer and cookie authentication, logout and session ends, RFC 7662
//! introspection and RFC 7009 revocation, OAuth client credentials.
//!
//! The service holds an `Arc<Context>` (store, clock, hasher, keys, config)
//! and derefs to it for the shared helpers; errors are the shared
//! [`crate::auth::AuthError`] for now.

mod service;

pub use service::Sessions;
