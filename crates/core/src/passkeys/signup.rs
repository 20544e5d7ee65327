//! Passkey-only sign-up. Nobody claims an address they do not hold: a
//! mailed link or code used with `intent: signup` (for an address without
//! an account, with `accounts.passwordless_signup` on) gives a sign-up
//! ticket ([`Context::issue_signup_ticket`]) instead of a session. The
//! ticket lets `start_signup` issue creation options (the account's future
//! id as the user handle, a challenge bound to the ticket) and
//! `finish_signup` make the account (the address verified, no password)
//! with its first passkey, using the ticket, in one transaction; then it
//! signs in through the one sign-in step like a passkey sign-in.

use latchkey_tokens::{random_token, sha256_hex};
use time::OffsetDateTime;

use super::error::PasskeyError;
use super::model::{Purpose, SIGNUP_TICKET_TTL, SignupTicket};
use super::service::{Attestation, Passkeys, Started, new_passkey, valid_name};
use super::webauthn;
use crate::audit::{AuditEvent, EventType};
use crate::auth::{ClientInfo, Context};
use crate::id;
use crate::session::SessionKind;
use crate::sessions::MAX_OPAQUE_TOKEN_LEN;
use crate::sign_in::LoginSuccess;
use crate::store::StoreError;
use crate::user::User;

/// A sign-up ticket as issued: shown once.
#[derive(Debug, Clone)]
pub struct IssuedTicket {
    /// The ticket (256 random bits); stored only as a hash.
    pub ticket: String,
    /// The proven address.
    pub email: String,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// A passkey-only sign-up started: the ceremony, and the account to be.
#[derive(Debug, Clone)]
pub struct SignupStart {
    /// The challenge (bound to the ticket).
    pub started: Started,
    /// The account's future id: the credential's user handle.
    pub user_id: String,
    /// The proven address.
    pub email: String,
}

impl Context {
    /// Issues a sign-up ticket for the proven address `email` (normalized):
    /// the caller used a mailed link or code for it.
    pub(crate) async fn issue_signup_ticket(
        &self,
        email: &str,
    ) -> Result<IssuedTicket, StoreError> {
        let ticket = random_token();
        let now = self.now();
        let row = SignupTicket {
            ticket_hash: sha256_hex(ticket.as_bytes()),
            email: email.to_owned(),
            user_id: id::new_id(),
            created_at: now,
            expires_at: now + SIGNUP_TICKET_TTL,
        };
        self.store.insert_signup_ticket(&row).await?;
        metrics::counter!("latchkey_passkey_ceremonies_total", "ceremony" => "signup_ticket", "outcome" => "success").increment(1);
        Ok(IssuedTicket {
            ticket,
            email: row.email,
            expires_at: row.expires_at,
        })
    }
}

impl Passkeys {
    async fn ticket(&self, ticket: &str) -> Result<SignupTicket, PasskeyError> {
        if ticket.is_empty() || ticket.len() > MAX_OPAQUE_TOKEN_LEN {
            return Err(PasskeyError::InvalidSignupTicket);
        }
        self.store
            .signup_ticket(&sha256_hex(ticket.as_bytes()), self.now())
            .await?
            .ok_or(PasskeyError::InvalidSignupTicket)
    }

    /// Starts a passkey-only sign-up with a valid (unused, unexpired)
    /// ticket: the challenge is bound to it. Spends nothing.
    pub async fn start_signup(&self, ticket: &str) -> Result<SignupStart, PasskeyError> {
        let t = self.ticket(ticket).await?;
        let (challenge, _) = self
            .issue(
                Purpose::Signup,
                None,
                false,
                Some(sha256_hex(ticket.as_bytes())),
            )
            .await?;
        Ok(SignupStart {
            started: Started {
                challenge,
                credentials: Vec::new(),
                binding_cookie: None,
            },
            user_id: t.user_id,
            email: t.email,
        })
    }

    /// Finishes a passkey-only sign-up: the ticket's challenge and the
    /// attestation, then the account (verified address, no password) with
    /// its passkey, the ticket used, in one write; then the session, as a
    /// passkey sign-in gives it (`hwk`/`swk`, with user verification
    /// `user` and `mfa`).
    pub async fn finish_signup(
        &self,
        ticket: &str,
        answer: &Attestation,
        name: Option<&str>,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<LoginSuccess, PasskeyError> {
        let result = self.signup(ticket, answer, name, kind, client).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(PasskeyError::Refused(_) | PasskeyError::InvalidSignupTicket) => "refused",
            Err(_) => "error",
        };
        metrics::counter!("latchkey_passkey_ceremonies_total", "ceremony" => "signup", "outcome" => outcome).increment(1);
        result
    }

    async fn signup(
        &self,
        ticket: &str,
        answer: &Attestation,
        name: Option<&str>,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<LoginSuccess, PasskeyError> {
        let name = valid_name(name.unwrap_or("Passkey"))?;
        let t = self.ticket(ticket).await?;
        let (challenge, _) = self
            .take(&answer.client_data_json, Purpose::Signup, Some(ticket))
            .await?;
        let credential = match webauthn::verify_registration(
            self.relying_party(),
            &challenge,
            &answer.client_data_json,
            &answer.attestation_object,
            false,
        ) {
            Ok(c) => c,
            Err(e) => {
                self.refused(None, e.reason(), "signup", client).await;
                return Err(e.into());
            }
        };
        let user_verified = credential.flags.user_verified;
        let now = self.now();
        let user = User {
            id: t.user_id.clone(),
            email: t.email.clone(),
            email_normalized: t.email.clone(),
            email_verified: true,
            username: None,
            username_normalized: None,
            name: None,
            password_hash: None,
            created_at: now,
            updated_at: now,
            suspension: None,
            locale: None,
        };
        let passkey = new_passkey(&user.id, credential, answer, name, now);
        let events = [
            AuditEvent::new(EventType::UserRegistered, now, client)
                .actor(Some(&user.id))
                .subject(&user.id)
                .detail("method", "passkey"),
            AuditEvent::new(EventType::PasskeyAdded, now, client)
                .actor(Some(&user.id))
                .subject(&user.id)
                .detail("passkey_id", passkey.id.as_str()),
        ];
        match self
            .store
            .sign_up_with_passkey(&t.ticket_hash, now, &user, &passkey, &events)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Err(PasskeyError::InvalidSignupTicket),
            // the address has an account now (made another way meanwhile)
            Err(StoreError::Conflict(field)) if field == "email" || field == "id" => {
                return Err(PasskeyError::InvalidSignupTicket);
            }
            Err(StoreError::Conflict(_)) => return Err(PasskeyError::AlreadyRegistered),
            Err(e) => return Err(e.into()),
        }
        self.passkey_session(
            &user,
            &passkey,
            user_verified,
            kind,
            client,
            "passkey_signup",
        )
        .await
    }
}
