//! The mfa slice's failures.

use crate::admin::AdminError;
use crate::error::{SharedError, shared_sources};
use crate::recovery::RecoveryError;
use crate::roles::PermissionDenied;
use crate::sessions::SessionError;
use crate::sign_in::SignInError;

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
    /// `mfa.required_for_roles` names a role of the account and it has no
    /// second factor: the session may only enrol one, or sign out.
    #[error("a second factor must be enrolled first")]
    EnrolmentRequired,
    /// The same, on an administration route: administrators of such a role
    /// act only with a second factor.
    #[error("administration needs a second factor")]
    AdminWithoutFactor,
    /// A refusal of the sign-in gate (throttled, locked, suspended, ...).
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// The session ended meanwhile.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The change needs a recent authentication (`ReauthRequired`).
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
    /// An administrator may not reset this account's factors.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

impl From<PermissionDenied> for MfaError {
    fn from(e: PermissionDenied) -> Self {
        MfaError::Admin(e.into())
    }
}

shared_sources!(MfaError);
