//! The second step of a sign-in, in the parts every method shares: the
//! `mfa_token` opened (with its cookie, in its mode), an attempt reserved
//! before the proof is checked, and, once the proof is good, the token
//! used and the session started through the one sign-in gate. The codes
//! (`Mfa::complete_sign_in`) and a passkey
//! (`Passkeys::complete_second_factor`) check their proof in between.

use latchkey_tokens::sha256_hex;

use super::error::MfaError;
use super::model::{ChallengeVerdict, MAX_CHALLENGE_FAILURES, Method, MfaChallenge};
use crate::audit::{AuditEvent, EventType};
use crate::auth::{ClientInfo, Context};
use crate::error::SharedError;
use crate::session::SessionKind;
use crate::sessions::MAX_OPAQUE_TOKEN_LEN;
use crate::sign_in::{LoginOutcome, LoginSuccess, SignInError};
use crate::user::User;

/// An open second step: its challenge and account.
#[derive(Debug, Clone)]
pub(crate) struct OpenStep {
    /// SHA-256 of the `mfa_token`.
    pub(crate) token_hash: String,
    /// The stored challenge.
    pub(crate) challenge: MfaChallenge,
    /// The account the first step proved.
    pub(crate) user: User,
}

/// The `amr` of a session that passed second factor `factor` (`otp`,
/// `hwk`, `swk`) after `first`.
pub(crate) fn raised(first: &[String], factor: &str) -> Vec<String> {
    let mut amr = first.to_vec();
    for m in [factor, "mfa"] {
        if !amr.iter().any(|a| a == m) {
            amr.push(m.to_owned());
        }
    }
    amr
}

impl Context {
    /// Opens the second step of `mfa_token`: known, open
    /// ([`MfaChallenge::decide`]: unused, unexpired, tries left, its cookie
    /// when bound) and of the mode asked for; `InvalidMfaToken` otherwise.
    /// Spends nothing.
    pub(crate) async fn open_second_step(
        &self,
        mfa_token: &str,
        binding_cookie: Option<&str>,
        kind: SessionKind,
    ) -> Result<OpenStep, MfaError> {
        if mfa_token.is_empty() || mfa_token.len() > MAX_OPAQUE_TOKEN_LEN {
            return Err(MfaError::InvalidMfaToken);
        }
        let token_hash = sha256_hex(mfa_token.as_bytes());
        let binding = binding_cookie
            .filter(|c| c.len() <= MAX_OPAQUE_TOKEN_LEN)
            .map(|c| sha256_hex(c.as_bytes()));
        let challenge = self
            .store
            .mfa_challenge(&token_hash)
            .await?
            .ok_or(MfaError::InvalidMfaToken)?;
        if challenge.decide(self.now(), binding.as_deref()) == ChallengeVerdict::Refused
            || challenge.kind != kind
        {
            return Err(MfaError::InvalidMfaToken);
        }
        let user = self
            .store
            .user_by_id(&challenge.user_id)
            .await?
            .ok_or(MfaError::InvalidMfaToken)?;
        Ok(OpenStep {
            token_hash,
            challenge,
            user,
        })
    }

    /// Reserves one of the step's attempts before its proof is checked,
    /// atomically, so parallel wrong answers cannot outrun the limit; a
    /// right one keeps it taken.
    pub(crate) async fn reserve_second_step(&self, open: &OpenStep) -> Result<(), MfaError> {
        match self
            .store
            .reserve_mfa_attempt(&open.token_hash, MAX_CHALLENGE_FAILURES, self.now())
            .await?
        {
            Some(_) => Ok(()),
            None => Err(MfaError::InvalidMfaToken),
        }
    }

    /// Finishes a second step whose proof of `method` (`amr` value
    /// `factor`) was good: the token is used (once), and the session starts
    /// through the sign-in gate with the raised `amr`.
    pub(crate) async fn finish_second_step(
        &self,
        open: OpenStep,
        method: Method,
        factor: &str,
        client: &ClientInfo,
    ) -> Result<LoginSuccess, MfaError> {
        let now = self.now();
        let OpenStep {
            token_hash,
            challenge,
            user,
        } = open;
        if !self.store.use_mfa_challenge(&token_hash, now).await? {
            return Err(MfaError::InvalidMfaToken);
        }
        if let Some(s) = user.active_suspension(now) {
            return Err(SignInError::Suspended { until: s.until }.into());
        }
        let amr = raised(&challenge.amr, factor);
        let outcome = self
            .start_session(&user, client, challenge.kind, amr)
            .await?;
        let session_id = match &outcome {
            LoginOutcome::Tokens(t) => t.session_id.as_str(),
            LoginOutcome::Cookie(c) => c.session.id.as_str(),
            LoginOutcome::MfaRequired(_) => {
                return Err(SharedError::Internal("second factor asked twice".into()).into());
            }
        };
        let first = match challenge.amr.first().map(String::as_str) {
            Some("email") => "email",
            Some("fed") => "federation",
            Some("hwk" | "swk") => "passkey",
            _ => "password",
        };
        self.record(
            AuditEvent::new(EventType::LoginSucceeded, now, client)
                .actor(Some(&user.id))
                .subject(&user.id)
                .session(session_id)
                .detail("method", format!("{first}+{}", method.as_str()))
                .detail("mode", challenge.kind.as_str()),
        )
        .await;
        let device_cookie = self.devices.issue(&user.id, None, now);
        Ok(LoginSuccess {
            outcome,
            device_cookie,
        })
    }
}
