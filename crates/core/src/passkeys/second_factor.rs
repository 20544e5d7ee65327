//! A passkey as the second factor of a sign-in that answered
//! `mfa_required` (password, link, code or federation first): any passkey
//! the account registered counts (`methods` lists `webauthn`), with or
//! without user verification, since it is the second factor here. The
//! ceremony's challenge is bound to the `mfa_token` (its hash is the
//! challenge's binding) and to the account, single use; every answer takes
//! one of the token's attempts and is charged to the account's failure
//! counters before it is checked, as a TOTP code is.

use latchkey_tokens::sha256_hex;

use super::error::PasskeyError;
use super::model::Purpose;
use super::service::{AssertionResponse, Passkeys, Started};
use crate::audit::{AuditEvent, EventType};
use crate::auth::ClientInfo;
use crate::mfa::{Method, MfaError};
use crate::session::SessionKind;
use crate::sign_in::LoginSuccess;

/// A passkey answering the second step of a sign-in.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyStep<'a> {
    /// The `mfa_token` of the first step.
    pub mfa_token: &'a str,
    /// The binding cookie the first step set (cookie mode).
    pub binding_cookie: Option<&'a str>,
    /// The mode asked for: must be the first step's.
    pub kind: SessionKind,
    /// Where the request came from.
    pub client: &'a ClientInfo,
}

impl Passkeys {
    /// The options of the second step's ceremony: the account's passkeys,
    /// and a challenge bound to `mfa_token`. Spends none of the token's
    /// attempts; `InvalidMfaToken` for a token that is not open,
    /// `MethodUnavailable` for an account without passkeys.
    pub async fn second_factor_options(
        &self,
        step: PasskeyStep<'_>,
    ) -> Result<Started, PasskeyError> {
        let open = self
            .open_second_step(step.mfa_token, step.binding_cookie, step.kind)
            .await?;
        let passkeys = self.store.passkeys_of(&open.user.id).await?;
        if passkeys.is_empty() || webauthn_was_first(&open.challenge.amr) {
            return Err(MfaError::MethodUnavailable.into());
        }
        let (challenge, _) = self
            .issue(
                Purpose::SecondFactor,
                Some(open.user.id),
                false,
                Some(sha256_hex(step.mfa_token.as_bytes())),
            )
            .await?;
        Ok(Started {
            challenge,
            credentials: passkeys
                .into_iter()
                .map(|p| (p.credential_id, p.transports))
                .collect(),
            binding_cookie: None,
        })
    }

    /// The second step answered with a passkey: one of the token's
    /// attempts and a charge on the account's failure counters first, then
    /// the assertion (of this token's challenge, of this account's passkey),
    /// then the session through the sign-in gate, `amr` raised by the
    /// passkey's `hwk` or `swk` and `mfa` (`aal2`).
    pub async fn complete_second_factor(
        &self,
        step: PasskeyStep<'_>,
        answer: &AssertionResponse,
    ) -> Result<LoginSuccess, PasskeyError> {
        let open = self
            .open_second_step(step.mfa_token, step.binding_cookie, step.kind)
            .await?;
        if webauthn_was_first(&open.challenge.amr)
            || self.store.passkeys_of(&open.user.id).await?.is_empty()
        {
            return Err(MfaError::MethodUnavailable.into());
        }
        self.reserve_second_step(&open).await?;
        let now = self.now();
        let charged = self
            .charge_attempt(&format!("user:{}", open.user.id), None, now)
            .await?;
        let checked = self
            .check_assertion(
                answer,
                Purpose::SecondFactor,
                Some(step.mfa_token),
                "second_factor",
                step.client,
            )
            .await;
        let method = Method::Webauthn.as_str();
        let passkey = match checked {
            Ok((passkey, _)) if passkey.user_id == open.user.id => passkey,
            other => {
                metrics::counter!("latchkey_mfa_verifications_total", "method" => method, "outcome" => "invalid_passkey")
                    .increment(1);
                if let Some(c) = &charged {
                    c.note_lock();
                }
                self.record(
                    AuditEvent::new(EventType::MfaFailed, now, step.client)
                        .subject(&open.user.id)
                        .reason("sign_in")
                        .detail("method", method),
                )
                .await;
                return Err(other
                    .err()
                    .unwrap_or(PasskeyError::Refused("other_account")));
            }
        };
        metrics::counter!("latchkey_mfa_verifications_total", "method" => method, "outcome" => "success")
            .increment(1);
        if let Some(c) = &charged {
            self.store.clear_login_failures(&c.key).await?;
        }
        Ok(self
            .finish_second_step(open, Method::Webauthn, passkey.amr(), step.client)
            .await?)
    }
}

/// Whether the first step was a passkey (one without user verification):
/// the same kind of proof does not count twice.
fn webauthn_was_first(amr: &[String]) -> bool {
    amr.iter().any(|a| a == "hwk" || a == "swk")
}
