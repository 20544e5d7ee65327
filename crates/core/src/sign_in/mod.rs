//! Sign-in: the step every way of signing in shares in core. A check of a
//! password the user knows is charged to the failure counters first
//! (`charge.rs`); every sign-in ends in the lifecycle gate and the session's
//! creation (`gate.rs`: deletion pending, address unverified, suspension
//! checked atomically by the store, the new-device notice). Its refusals
//! are [`SignInError`].

mod charge;
mod error;
mod gate;
mod model;

pub(crate) use charge::login_failed;
pub use error::SignInError;
pub use model::{CookieSession, LoginAttempt, LoginOutcome, LoginSuccess};
