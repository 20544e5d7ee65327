//! A link or code used with `intent: signup`: for an address without an
//! account (sign-up on the way on), a sign-up ticket for a passkey-only
//! account (`crate::passkeys`, `Context::issue_signup_ticket`) instead of a
//! session. The link or code is used as at a sign-in (once, its tries
//! charged to the failure counters); an address with an account gets
//! [`SignupProof::AccountExists`] and its link or code stays usable for a
//! sign-in (whoever proved it holds the mailbox).

use super::error::PasswordlessError;
use super::model::PasswordlessToken;
use super::service::{CodeProof, LinkProof, Passwordless, link_error};
use crate::audit::{AuditEvent, EventType};
use crate::auth::ClientInfo;
use crate::passkeys::IssuedTicket;

/// What a link or code used with `intent: signup` gives.
#[derive(Debug, Clone)]
pub enum SignupProof {
    /// The sign-up ticket of the proven address.
    Ticket(IssuedTicket),
    /// The address has an account: sign in instead.
    AccountExists,
}

impl Passwordless {
    /// A magic link used with `intent: signup` (bound to the caller as at
    /// [`Passwordless::sign_in_with_link`]).
    pub async fn signup_with_link(
        &self,
        proof: LinkProof<'_>,
    ) -> Result<SignupProof, PasswordlessError> {
        let t = self.proven_link(&proof).await?;
        self.ticket(&t, proof.client).await.map_err(link_error)
    }

    /// An email code used with `intent: signup`.
    pub async fn signup_with_code(
        &self,
        proof: CodeProof<'_>,
    ) -> Result<SignupProof, PasswordlessError> {
        let t = self.proven_code(&proof).await?;
        self.ticket(&t, proof.client).await
    }

    async fn ticket(
        &self,
        t: &PasswordlessToken,
        client: &ClientInfo,
    ) -> Result<SignupProof, PasswordlessError> {
        if t.user_id.is_some() || self.store.user_by_email(&t.email).await?.is_some() {
            return Ok(SignupProof::AccountExists);
        }
        if !self.config().signup {
            return Err(PasswordlessError::InvalidCode);
        }
        // a token without an account: the store has no address to mark
        // verified (the account made from the ticket is born verified)
        let now = self.now();
        let verified = AuditEvent::new(EventType::EmailVerified, now, client)
            .detail("method", "signup_ticket");
        if !self
            .store
            .use_passwordless_token(&t.id, now, &verified)
            .await?
        {
            return Err(PasswordlessError::InvalidCode);
        }
        Ok(SignupProof::Ticket(
            self.issue_signup_ticket(&t.email).await?,
        ))
    }
}
