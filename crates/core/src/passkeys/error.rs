//! The passkeys slice's failures.

use super::webauthn::CeremonyError;
use crate::error::{SharedError, shared_sources};
use crate::mfa::MfaError;
use crate::sign_in::SignInError;

/// What can go wrong with passkeys.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The ceremony's answer was refused: unknown, used or expired
    /// challenge, wrong origin or RP ID, bad signature, a counter that went
    /// back, an unknown credential or one of another account. One answer
    /// for all; the reason is logged and audited.
    #[error("passkey refused: {0}")]
    Refused(&'static str),
    /// The sign-up ticket is unknown, used, expired, or its address has an
    /// account now.
    #[error("invalid sign-up ticket")]
    InvalidSignupTicket,
    /// The credential is registered already.
    #[error("passkey registered already")]
    AlreadyRegistered,
    /// The signed-in account has no such passkey.
    #[error("no such passkey")]
    NotFound,
    /// Deleting it would leave the account no way to sign in.
    #[error("last way in")]
    LastWayIn,
    /// A refusal of the sign-in gate (suspended, pending deletion, ...).
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// The change needs a recent authentication.
    #[error(transparent)]
    Mfa(#[from] MfaError),
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

impl From<CeremonyError> for PasskeyError {
    fn from(e: CeremonyError) -> Self {
        PasskeyError::Refused(e.reason())
    }
}

shared_sources!(PasskeyError);
