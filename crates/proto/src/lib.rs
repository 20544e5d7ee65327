//! Wire types of latchkey: the shapes clients and resource servers rely on.
//!
//! This crate is meant for outside users too (resource servers parse these
//! types), so it depends on `serde` only; OpenAPI schemas are behind the
//! `openapi` feature.

pub mod discovery;
pub mod problem;
pub mod token;

pub use problem::{FieldError, Problem};
pub use token::{AccessClaims, TokenResponse};
