//! latchkey's HTTP surface.
//!
//! - [`app()`] assembles the application from settings (the server and the
//!   tests both use it); [`router`] builds the axum application from its
//!   [`AppState`]; tests call it in-process with `tower::ServiceExt::oneshot`.
//! - [`serve`] runs a router on a listener with the connection-level limits
//!   (header size, header read timeout) and graceful shutdown.
//! - Every route is registered through `utoipa_axum::routes!`, so the router
//!   and `/openapi.json` come from the same list and cannot drift apart.
//! - Only this crate decides what a client sees: domain and store errors
//!   become [`ApiError`] values ([`error`]); the pipeline logs each once
//!   inside the request's span and writes it in its route group's shape
//!   ([`render`]: problem+json, RFC 6749 JSON or an HTML page). Details are
//!   never sent.

pub mod abuse;
pub mod app;
pub mod authz;
pub mod client_ip;
pub mod client_scopes;
pub mod cookies;
mod core_errors;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod principal;
pub mod render;
pub mod routes;
pub mod serve;
pub mod sign_in;
pub mod state;
pub mod timefmt;
pub mod trace;
pub mod upstream;
pub mod webhook_transport;

pub use abuse::{CorsPolicy, Network, Protection};
pub use app::{App, AppSettings, AuthParts, app};
pub use authz::{AuthzPolicy, AuthzRule, Requirement};
pub use client_ip::{ClientIp, IpList};
pub use error::ApiError;
pub use pages::Pages;
pub use routes::{openapi, router, routes, with_middleware};
pub use serve::{ServeLimits, serve};
pub use state::{AppState, CookieSettings, Limits};
