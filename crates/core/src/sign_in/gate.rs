//! Where every way of signing in ends: the lifecycle gate, the session and
//! its credentials, the new-device notice.

use latchkey_tokens::{random_token, sha256_hex};
use time::format_description::well_known::Rfc3339;

use super::{CookieSession, LoginOutcome, SignInError};
use crate::audit::{EventType, own_event};
use crate::auth::Context;
use crate::client_info::ClientInfo;
use crate::id;
use crate::mail::MailKind;
use crate::session::{Session, SessionCreated, SessionKind, device_label};
use crate::sessions::issue;
use crate::user::User;

impl Context {
    /// Creates a session for an authenticated user and issues its
    /// credentials. Every way of signing in ends here, so the account's
    /// lifecycle state is checked here: one pending deletion, or (with
    /// `accounts.require_verified_email`) an unverified one is refused; a
    /// deactivated one is reactivated. Suspension is checked by the store
    /// when the session is stored (atomic with a concurrent suspension):
    /// `Suspended` then. A sign-in from a device the user never used before
    /// mails a notice.
    pub async fn start_session(
        &self,
        user: &User,
        client: &ClientInfo,
        kind: SessionKind,
        amr: Vec<String>,
    ) -> Result<LoginOutcome, SignInError> {
        self.admit(user, client).await?;
        // the one branch every way of signing in takes: a second factor first
        if let Some(required) =
            crate::mfa::service::challenge_if_enrolled(self, user, kind, &amr).await?
        {
            return Ok(LoginOutcome::MfaRequired(Box::new(required)));
        }
        let label = client.user_agent.as_deref().map(device_label);
        let new_device = self.is_new_device(user, label.as_deref(), client).await;
        let outcome = self.create_session(user, client, kind, amr).await?;
        if let Some(device) = new_device {
            self.notify_new_sign_in(user, device, client).await;
        }
        Ok(outcome)
    }

    pub(crate) async fn create_session(
        &self,
        user: &User,
        client: &ClientInfo,
        kind: SessionKind,
        amr: Vec<String>,
    ) -> Result<LoginOutcome, SignInError> {
        let now = self.now();
        let cookie_token = (kind == SessionKind::Cookie).then(random_token);
        let session = Session {
            id: id::new_id(),
            user_id: user.id.clone(),
            kind,
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.config.session_ttl,
            idle_expires_at: (now + self.config.session_idle_ttl)
                .min(now + self.config.session_ttl),
            auth_time: now,
            amr,
            ip: client.ip.clone(),
            user_agent: client.user_agent.as_ref().map(|ua| truncate(ua, 512)),
            device_label: client.user_agent.as_deref().map(device_label),
            cookie_token_hash: cookie_token.as_deref().map(|t| sha256_hex(t.as_bytes())),
            revoked_at: None,
            revoked_reason: None,
        };
        let admitted = |created: SessionCreated| match created {
            SessionCreated::Created => Ok(()),
            SessionCreated::UserSuspended => Err(SignInError::Suspended {
                until: user.suspension.as_ref().and_then(|s| s.until),
            }),
        };
        match cookie_token {
            Some(cookie_token) => {
                admitted(self.store.create_session(&session, None).await?)?;
                let csrf_token = self.csrf_token(&session.id);
                Ok(LoginOutcome::Cookie(Box::new(CookieSession {
                    session,
                    cookie_token,
                    csrf_token,
                })))
            }
            None => {
                let access = self.access(&user.id).await?;
                let (response, first) = issue(&self.keys, &self.config, &session, now, &access)?;
                admitted(self.store.create_session(&session, Some(&first)).await?)?;
                Ok(LoginOutcome::Tokens(response))
            }
        }
    }

    /// Whether `user` may start a session now (see [`Context::start_session`]):
    /// not deleted, not pending deletion, verified when that is required. A
    /// deactivated account is reactivated (`account.reactivated`).
    /// Suspension is not checked here: the store refuses the session
    /// atomically (`Suspended`), and password sign-in checks it first.
    pub(crate) async fn admit(&self, user: &User, client: &ClientInfo) -> Result<(), SignInError> {
        let state = self
            .store
            .account_state(&user.id)
            .await?
            .ok_or(SignInError::InvalidCredentials)?;
        let now = self.now();
        if state.deleted_at.is_some() {
            return Err(SignInError::InvalidCredentials);
        }
        if let Some(due) = state.deletion_due_at {
            return Err(SignInError::PendingDeletion { due });
        }
        if self.lifecycle.require_verified_email && !user.email_verified {
            return Err(SignInError::EmailNotVerified);
        }
        if state.deactivated_at.is_some() {
            let event = own_event(EventType::AccountReactivated, now, client, &user.id);
            self.store.set_deactivated(&user.id, None, &event).await?;
            tracing::info!(user_id = %user.id, "account reactivated by signing in");
        }
        Ok(())
    }

    /// The device label if this sign-in comes from a device the user never
    /// used (and the user has signed in before); `None` otherwise, or when
    /// notices are off.
    pub(crate) async fn is_new_device(
        &self,
        user: &User,
        label: Option<&str>,
        client: &ClientInfo,
    ) -> Option<String> {
        if !self.lifecycle.new_sign_in_notice {
            return None;
        }
        match self
            .store
            .device_seen(&user.id, label, client.ip.as_deref())
            .await
        {
            Ok((true, false)) => Some(label.unwrap_or("An unknown device").to_owned()),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not check the device of a sign-in");
                None
            }
        }
    }

    pub(crate) async fn notify_new_sign_in(
        &self,
        user: &User,
        device: String,
        client: &ClientInfo,
    ) {
        let kind = MailKind::NewSignIn {
            device,
            ip: client.ip.clone().unwrap_or_else(|| "unknown".into()),
            at: self.now().format(&Rfc3339).unwrap_or_default(),
        };
        if let Err(e) = self.notice(user, &user.email, kind).await {
            tracing::warn!(error = %e, "could not queue the new sign-in notice");
        }
    }
}

pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
