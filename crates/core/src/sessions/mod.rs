//! Sessions and tokens: password sign-in (charged against brute force), refresh
//! rotation, bearer and cookie authentication, logout and session ends, RFC 7662
//! introspection and RFC 7009 revocation, OAuth client credentials.
//!
//! The service holds an `Arc<Context>` (store, clock, hasher, keys, config)
//! and derefs to it for the shared helpers. Its failures are [`SessionError`];
//! sign-in's are [`crate::sign_in::SignInError`].

mod error;
mod model;
mod service;
mod tokens;

pub use error::SessionError;
pub use model::{Introspection, Principal, Revocation, TokenClient};
pub use service::Sessions;
pub use tokens::ACCESS_TOKEN_TYP;
pub(crate) use tokens::{MAX_OPAQUE_TOKEN_LEN, issue, verify_reason};
