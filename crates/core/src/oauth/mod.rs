//! The OAuth 2.0 / OpenID Connect provider's slice: registered clients with
//! their full registration data (redirect URIs, grant types, scopes, public
//! or confidential, first-party flag, token lifetimes, ID-token algorithm).
//!
//! Decisions:
//! - A client is the existing [`crate::keys::Client`] row (id, name, secret
//!   hash) plus its [`ClientSettings`], stored as one JSON document beside it
//!   (`oauth_clients`, migration 0030): the settings are always read whole
//!   by client id and never searched, and a new setting needs no migration.
//!   Clients registered before 0030 read as confidential clients with no
//!   redirect URI and no grant (what they could do before: introspect and
//!   revoke).
//! - Redirect URIs match exactly, byte for byte ([`redirect::matches`]); the
//!   one exception is RFC 8252 §7.3: a loopback IP literal (`127.0.0.1`,
//!   `[::1]`) registered over `http` accepts any port.
//! - A public client has no secret (its stored hash is empty and matches
//!   nothing) and must use PKCE.
//! - An authorization code is stored as its hash and used up by its first
//!   presentation, right or wrong ([`code`]); the rule deciding an exchange
//!   is the pure [`CodeTaken::decide`].
//! - `private_key_jwt` clients ([`assertion`]) hold no secret: they sign an
//!   assertion with a key they registered (`jwks` or `jwks_uri`), whose
//!   `jti` is used once (migration 0032).

pub mod assertion;
pub mod authorize;
pub mod code;
mod error;
mod flow;
pub mod grants;
mod model;
pub mod redirect;
pub mod scopes;
mod service;
mod store;

pub use assertion::{CLIENT_ASSERTION_TYPE, ClientAssertionStore};
pub use code::{AuthorizationCode, CODE_TTL, CodeExchange, CodeTaken, Redemption};
pub use error::OAuthError;
pub use flow::{ClientAuth, LoggedOut, scoped_claims};
pub use grants::{CLIENT_REFRESH_PREFIX, ClientSession, ClientSessions, Grant};
/// A JWK set (a `private_key_jwt` client's registered keys).
pub use latchkey_tokens::Jwks;
pub use model::{
    AuthMethod, ClientPatch, ClientSettings, ClientType, GrantType, IdTokenAlg, NewClient,
    OAuthClient,
};
pub use service::OAuth;
pub use store::{OAuthGrantStore, OAuthStore};
