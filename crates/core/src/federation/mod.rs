//! Signing in with other providers (issue 17): generic OpenID Connect and
//! OAuth 2.0 providers and a catalogue of presets ([`presets`]), the
//! authorization-code flow with `state`, `nonce` and PKCE bound to the
//! browser, complete ID token validation ([`id_token`]), and linked
//! identities keyed by (provider, subject) with the one linking rule
//! ([`link`]). Every sign-in ends in the shared sign-in gate
//! (`Context::start_session`, `amr` `fed`), so a second factor still
//! applies.

mod dialect;
mod error;
pub mod id_token;
pub mod link;
mod model;
mod native;
pub mod presets;
mod service;
mod store;
mod upstream;
pub mod upstream_tokens;

pub use error::FederationError;
pub use model::{
    AppleSecret, ClaimMapping, ClientAuth, Dialect, EXCHANGE_TTL, ExchangeGrant, FLOW_TTL,
    FederationConfig, Flow, FlowMode, Identity, LinkPolicy, Provider, ProviderKind, TenantIssuer,
    Upstreamer,
};
pub use native::NONCE_TTL;
pub use service::{Arrived, Begun, Callback, Endpoints, Federation, outcome, s256};
pub use store::{FederationStore, IdentityUpstreamStore, UpstreamRecord};
pub use upstream::{Upstream, UpstreamError, VerifyingKey};
pub use upstream_tokens::UpstreamAccess;
