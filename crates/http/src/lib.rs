//! latchkey's HTTP surface.
//!
//! - [`router`] builds the whole axum application from an [`AppState`]; tests
//!   call it in-process with `tower::ServiceExt::oneshot`.
//! - [`serve`] runs a router on a listener with the connection-level limits
//!   (header size, header read timeout) and graceful shutdown.
//! - Every route is registered through `utoipa_axum::routes!`, so the router
//!   and `/openapi.json` come from the same list and cannot drift apart.
//! - Only this crate decides what a client sees: domain and store errors
//!   become RFC 9457 problem+json here ([`error`]), with details logged once
//!   inside the request's span and never sent.

pub mod abuse;
pub mod client_ip;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod principal;
pub mod routes;
pub mod serve;
pub mod state;

pub use abuse::{CorsPolicy, Network, Protection};
pub use client_ip::{ClientIp, IpList};
pub use error::ApiError;
pub use routes::{openapi, router, routes, with_middleware};
pub use serve::{ServeLimits, serve};
pub use state::{AppState, CookieSettings, Limits};
