//! Signing in without a password (issue 15): magic links and email codes,
//! with sign-up on the way.
//!
//! Decisions worth knowing:
//! - **Asking answers the same for any address**: the request only queues
//!   a sealed job (one insert); the job looks the address up and mails the
//!   link or code (or nothing). Rate limits are the HTTP layer's (`mail`
//!   class, per address and per IP).
//! - **A link signs in only on a POST**: its page (`GET /magic-link`) looks
//!   and spends nothing, so a mail scanner following it burns nothing. The
//!   link is bound to whoever asked: the browser holding the nonce cookie
//!   set when it asked, a native app holding the PKCE verifier of its
//!   `code_challenge`, or anyone typing the 6-character code shown in the
//!   mail (counted like a password). Never silently in another browser.
//! - **Codes** are 6 digits for 10 minutes; each try is charged to the
//!   account's failure counters first and reserved in the store (at most
//!   [`MAX_ATTEMPTS`] per code, atomically), then compared in constant time
//!   with a keyed hash. Links carry 256-bit tokens stored as SHA-256.
//! - **Single use, newest wins**: a new link (or code) for an address voids
//!   the older unused ones of its kind; of concurrent uses one wins. They
//!   die with the account's other credential tokens (address or password
//!   change, suspension, scheduled deletion).
//! - **One way in**: every sign-in ends in [`crate::auth::Context::start_session`]
//!   with `amr` `email`, so an account with a second factor gets
//!   `mfa_required`, and suspended or locked accounts are refused.
//! - **Sign-up on the way** (`accounts.passwordless_signup`): an unknown
//!   address gets a link or code too, and its account (verified, no
//!   password) is made when it is used, not when it is asked for.

mod error;
mod model;
mod password;
mod service;
mod signup_ticket;
mod store;

pub use error::PasswordlessError;
pub use model::{
    AttemptTarget, Kind, MAX_ATTEMPTS, PasswordlessConfig, PasswordlessToken, Refusal, Step,
};
pub(crate) use service::JOB_PASSWORDLESS;
pub use service::{CodeProof, LinkProof, LinkRequest, LinkState, Passwordless};
pub use signup_ticket::SignupProof;
pub use store::PasswordlessStore;
