//! Sign-in: the refusals every way of signing in shares ([`SignInError`]):
//! the failure counters' throttle and lock, a suspended account, and the
//! lifecycle gate (deletion pending, address unverified).

mod error;

pub use error::SignInError;
