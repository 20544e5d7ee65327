//! The mfa slice's failures.

use crate::auth::AuthError;
use crate::store::StoreError;

/// What can go wrong with second factors.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// The code is wrong, of a step already used, or not a code at all.
    #[error("invalid second-factor code")]
    InvalidCode,
    /// The `mfa_token` is unknown, used, expired, tried too often, or
    /// presented without the cookie it is bound to.
    #[error("invalid or expired mfa_token")]
    InvalidMfaToken,
    /// The method is not one the account has (or not one latchkey knows).
    #[error("method not available")]
    MethodUnavailable,
    /// The account has no confirmed second factor.
    #[error("no second factor enrolled")]
    NotEnrolled,
    /// The account has a confirmed TOTP factor already.
    #[error("a second factor is enrolled already")]
    AlreadyEnrolled,
    /// There is no pending enrolment to confirm.
    #[error("no enrolment to confirm")]
    NoPendingEnrolment,
    /// The change needs a recent authentication with a second factor.
    #[error("recent aal2 authentication required")]
    StepUpRequired,
    /// A shared refusal (throttled, locked, suspended, busy, ...).
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<StoreError> for MfaError {
    fn from(e: StoreError) -> Self {
        MfaError::Auth(AuthError::Store(e))
    }
}
