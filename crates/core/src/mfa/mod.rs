//! Second factors: TOTP (RFC 6238), backup codes, and the second step of
//! sign-in (the `mfa_token` challenge).
//!
//! Decisions:
//! - **TOTP as every authenticator app reads it**: SHA-1, 6 digits, 30 s,
//!   one step of clock skew either way ([`totp`], on the `totp-rs` crate).
//!   The secret (160 random bits) is sealed under the master key the way
//!   signing keys are (AES-256-GCM, its own purpose, the user id as
//!   associated data), so a copy of the database alone yields no codes.
//! - **A time step is accepted once per account, ever**: the store keeps the
//!   last accepted step and accepts a code only with one conditional update
//!   (`last_step < step`), so of concurrent submissions of one code exactly
//!   one wins, and a code of an earlier step than one already used is dead.
//! - **Backup codes** are ten single-use codes of 60 random bits, shown once
//!   and stored as HMAC-SHA-256 under a key derived from the master key. A
//!   slow password hash buys nothing here: the codes are random, not chosen
//!   by people, so no dictionary applies; online guessing meets the failure
//!   counters and the `mfa_token`'s five tries, and offline guessing needs
//!   the master key as well as the database.
//! - **The `mfa_token`** is a random single-use handle (256 bits, stored as
//!   a SHA-256 hash) for the second step of a sign-in: five minutes, bound to
//!   the account, in cookie mode also to a random cookie set by the first
//!   step, dead after [`MAX_CHALLENGE_FAILURES`] wrong codes. Every wrong
//!   code is also charged to the account's failure counters (the password's
//!   own), before the code is checked.
//! - **Assurance**: a session that passed a second factor carries `otp` and
//!   `mfa` in its `amr` (`acr` `aal2`); re-authentication with a factor
//!   raises a session to it. Sensitive changes of an account with a factor
//!   need recent `aal2` ([`Mfa::require_recent`]).

mod backup;
mod error;
mod model;
mod second_step;
pub(crate) mod service;
mod store;
pub mod totp;

pub use backup::{BACKUP_CODE_COUNT, BackupCodes};
pub use error::MfaError;
pub use model::{
    ChallengeVerdict, MAX_CHALLENGE_FAILURES, MFA_TOKEN_TTL, Method, MfaChallenge, MfaPolicy,
    MfaRequired, MfaStatus, TotpFactor, has_second_factor,
};
pub use service::{Mfa, SecondStep, TotpEnrolment};
pub use store::MfaStore;
