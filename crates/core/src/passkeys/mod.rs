//! Passkeys (WebAuthn Level 3): registration to a signed-in account,
//! sign-in with a discoverable credential (also from the browser's
//! autofill) or for an address, rename and delete.
//!
//! Decisions:
//! - **The relying party's checks are latchkey's own, on aws-lc-rs**
//!   ([`webauthn`], with the small CBOR reader of [`cbor`]): no second
//!   crypto library (webauthn-rs needs OpenSSL), and the policy the issue
//!   asks for (user verification preferred, not required: a passkey without
//!   it is one factor) is not one the maintained crates' safe APIs offer.
//!   ARCHITECTURE.md has the measurements.
//! - **Challenges are kept server-side**, found by the hash of the challenge
//!   the client data echoes, and taken (deleted) by the statement that reads
//!   them: single use, five minutes ([`CHALLENGE_TTL`]). In cookie mode a
//!   sign-in's challenge is bound to the browser that asked by a cookie.
//! - **Factors**: with user verification a passkey is two factors (`amr`
//!   `hwk` or `swk`, `user`, `mfa`; `acr` `aal2`); without, one (`hwk` or
//!   `swk`), and an account with a second factor then gets `mfa_required`
//!   from the one sign-in step (`Context::start_session`).
//! - **A passkey is a second factor** ([`second_factor`]): any registered
//!   passkey makes a password, link, code or federated sign-in of its
//!   account answer `mfa_required` with `webauthn` among the `methods`
//!   (`mfa::service::challenge_if_enrolled`), and answers that second step
//!   through the mfa slice's shared parts (`mfa/second_step.rs`).
//! - **Counters**: a signature counter that does not grow (unless the
//!   authenticator keeps none: both zero) refuses the sign-in
//!   ([`SignCount::decide`]), recorded as `passkey.failed`
//!   `sign_count_regressed`; the store writes the new counter only if the
//!   old one is unchanged, so two racing assertions cannot both pass.
//! - **No enumeration at a sign-in for an address**: an unknown address (or
//!   one without passkeys) gets a decoy credential id derived from it.

mod cbor;
mod error;
mod model;
mod second_factor;
mod service;
mod signup;
mod store;
pub mod webauthn;

pub use error::PasskeyError;
pub use model::{
    CHALLENGE_TTL, MAX_NAME_CHARS, Passkey, PasskeyChallenge, Purpose, SIGNUP_TICKET_TTL,
    SignupTicket,
};
pub use second_factor::PasskeyStep;
pub use service::{AssertionResponse, Attestation, Passkeys, Started, valid_name};
pub use signup::{IssuedTicket, SignupStart};
pub use store::{PasskeySignupStore, PasskeyStore};
pub use webauthn::{RelyingParty, SignCount};
