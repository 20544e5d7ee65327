//! The recovery service.

use super::ReauthInfo;
use super::RecoveryError;
use super::tokens::ResetRequest;
use crate::audit::AuditEvent;
use crate::audit::EventType;
use crate::audit::own_event;
use crate::auth::*;
use crate::error::SharedError;
use crate::id;
use crate::lifecycle::AccountToken;
use crate::lifecycle::NewJob;
use crate::lifecycle::Redemption;
use crate::lifecycle::TokenPurpose;
use crate::mail::MailKind;
use crate::sessions::Principal;
use crate::store::StoreError;
use crate::user::{User, normalize_email};
use latchkey_tokens::random_token;
use latchkey_tokens::sha256_hex;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The recovery service: its methods over the shared [`Context`].
#[derive(Clone)]
pub struct Recovery {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recovery").finish_non_exhaustive()
    }
}

impl std::ops::Deref for Recovery {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Recovery {
    /// The service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Recovery {
        Recovery { ctx }
    }

    /// Resends the verification mail to the signed-in user.
    pub async fn resend_verification(&self, principal: &Principal) -> Result<(), RecoveryError> {
        let user = self.account(&principal.user_id).await?;
        Ok(self.send_verification(&user).await?)
    }

    /// Redeems a link that proves a mailbox: a verification link (the
    /// address becomes verified: `email.verified`) or an email-change link
    /// (the account moves to the new, verified address:
    /// `email_change.confirmed`).
    pub async fn verify_email(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<(), RecoveryError> {
        let t = self
            .usable_token(
                token,
                &[TokenPurpose::VerifyEmail, TokenPurpose::EmailChange],
            )
            .await?;
        let (action, kind) = match t.purpose {
            TokenPurpose::EmailChange => (Redemption::ChangeEmail, EventType::EmailChangeConfirmed),
            _ => (Redemption::VerifyEmail, EventType::EmailVerified),
        };
        let event = own_event(kind, self.now(), client, &t.user_id);
        self.redeem(&t, action, None, &event).await?;
        Ok(())
    }

    /// Starts an email change: a confirmation link to the new address, and
    /// a notice to the current one. Needs a recent authentication (checked
    /// by the caller's extractor).
    pub async fn request_email_change(
        &self,
        principal: &Principal,
        new_email: &str,
        client: &ClientInfo,
    ) -> Result<(), RecoveryError> {
        let mut problems = Vec::new();
        let Some(new_email) = validate::email(new_email, &mut problems) else {
            return Err(SharedError::Validation(problems).into());
        };
        let user = self.account(&principal.user_id).await?;
        let normalized = normalize_email(&new_email);
        if normalized == user.email_normalized {
            return Err(SharedError::Validation(vec![validate::FieldProblem::new(
                "new_email",
                "same_email",
                "this is the account's current address",
            )])
            .into());
        }
        if self.store.user_by_email(&normalized).await?.is_some() {
            return Err(RecoveryError::EmailTaken);
        }
        let event = own_event(
            EventType::EmailChangeRequested,
            self.now(),
            client,
            &user.id,
        )
        .session(&principal.session.id);
        let t = self.mailed_token(
            &user,
            TokenPurpose::EmailChange,
            &new_email,
            Some(new_email.clone()),
            self.lifecycle.verify_ttl,
            |link| MailKind::EmailChange { link },
        );
        // the link, the notice to the current address and the event commit together
        let notice = self.compose(
            &user,
            &user.email,
            &MailKind::EmailChangeNotice { new_email },
        );
        self.store_token(&t, Some(&notice), Some(&event)).await?;
        Ok(())
    }

    // ---------------------------------------------------------------------
    // passwords
    // ---------------------------------------------------------------------

    /// Queues a password reset for `email`, known or not: the answer and the
    /// work on the request path are the same either way. The job records
    /// `password_reset.requested` (with the caller's IP and User-Agent) when
    /// it mails a link.
    pub async fn request_password_reset(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), RecoveryError> {
        let now = self.now();
        let id = id::new_id();
        let email = email.trim();
        if email.is_empty() || email.len() > 320 {
            return Ok(());
        }
        let request = ResetRequest {
            email: email.to_owned(),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            request_id: client.request_id.clone(),
        };
        let plain = serde_json::to_vec(&request).expect("a reset request serializes");
        let job = NewJob {
            kind: JOB_RESET.into(),
            idempotency_key: format!("reset:{id}"),
            payload: self.job_sealer.seal(&plain, id.as_bytes()),
            id,
            run_at: now,
            max_attempts: 5,
            created_at: now,
        };
        self.store.enqueue_job(&job).await?;
        self.wake_jobs();
        Ok(())
    }

    /// Sets a new password with a reset link (`password_reset.completed`);
    /// ends every session, and lifts a brute-force lock on the account.
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<(), RecoveryError> {
        // check the token before spending a hash on it
        let t = self
            .usable_token(token, &[TokenPurpose::PasswordReset])
            .await?;
        let user = self
            .account(&t.user_id)
            .await
            .map_err(|_| RecoveryError::InvalidToken)?;
        let password = self
            .new_password(&user, new_password, "new_password")
            .await?;
        let password_hash = self.hasher.hash(password).await?;
        let event = own_event(
            EventType::PasswordResetCompleted,
            self.now(),
            client,
            &user.id,
        );
        // the notice commits with the new password
        let notice = self.compose(&user, &user.email, &MailKind::PasswordChanged);
        self.redeem(
            &t,
            Redemption::ResetPassword { password_hash },
            Some(&notice),
            &event,
        )
        .await?;
        self.wake_jobs();
        // the mailbox proved the owner: a lockout no longer protects anything
        if let Err(e) = self.unlock_account(&user.id).await {
            tracing::warn!(error = %e, "could not clear the failure counter after a reset");
        }
        Ok(())
    }

    /// Changes the password of the signed-in user, who proves it with the
    /// current one; ends every other session and mails a notice.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<(), RecoveryError> {
        let user = self.account(&principal.user_id).await?;
        let password = self
            .new_password(&user, new_password, "new_password")
            .await?;
        self.check_password(&user, current).await?;
        let hash = self.hasher.hash(password).await?;
        let event = own_event(EventType::PasswordChanged, self.now(), client, &user.id)
            .session(&principal.session.id);
        Ok(self.store_password(&user, principal, &hash, &event).await?)
    }

    /// Stores `hash` as the user's password at the time of `event`, ending
    /// every other session than the principal's, with the notice and
    /// `event` in the same write.
    pub(crate) async fn store_password(
        &self,
        user: &User,
        principal: &Principal,
        hash: &str,
        event: &AuditEvent,
    ) -> Result<(), SharedError> {
        let (mail, job) = self.compose(user, &user.email, &MailKind::PasswordChanged);
        match self
            .store
            .change_password(
                &user.id,
                hash,
                Some(&principal.session.id),
                Some((&mail, &job)),
                event.at,
                event,
            )
            .await
        {
            Ok(_) => {
                self.wake_jobs();
                Ok(())
            }
            Err(StoreError::NotFound) => Err(SharedError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    // ---------------------------------------------------------------------
    // re-authentication
    // ---------------------------------------------------------------------

    /// Re-authenticates the signed-in user with the password: the session's
    /// `auth_time` becomes now.
    pub async fn reauthenticate(
        &self,
        principal: &Principal,
        password: &str,
    ) -> Result<ReauthInfo, RecoveryError> {
        let user = self.account(&principal.user_id).await?;
        self.check_password(&user, password).await?;
        let now = self.now();
        if !self
            .store
            .set_session_auth_time(&principal.session.id, now)
            .await?
        {
            return Err(RecoveryError::Unauthenticated("session ended"));
        }
        Ok(ReauthInfo {
            auth_time: now,
            valid_until: now + self.lifecycle.reauth_max_age,
        })
    }

    /// Whether the principal authenticated recently enough for sensitive
    /// changes.
    pub fn require_recent_auth(&self, principal: &Principal) -> Result<(), RecoveryError> {
        if principal.session.auth_time + self.lifecycle.reauth_max_age > self.now() {
            Ok(())
        } else {
            Err(RecoveryError::ReauthRequired)
        }
    }

    /// How long a deleted account can still be restored with its cancel
    /// link (`accounts.deletion_grace_days`), for pages that explain it.
    pub fn deletion_grace(&self) -> time::Duration {
        self.lifecycle.deletion_grace
    }

    // ---------------------------------------------------------------------
    // deletion and deactivation
    // ---------------------------------------------------------------------

    /// Schedules the deletion of the signed-in user's account after the
    /// grace period, ends every session and mails a cancel link. Returns
    /// when the personal data will be removed.
    pub async fn schedule_deletion(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<OffsetDateTime, RecoveryError> {
        let user = self.account(&principal.user_id).await?;
        let now = self.now();
        let due = now + self.lifecycle.deletion_grace;
        let token = random_token();
        let cancel = AccountToken {
            token_hash: sha256_hex(token.as_bytes()),
            user_id: user.id.clone(),
            purpose: TokenPurpose::CancelDeletion,
            email: Some(user.email_normalized.clone()),
            created_at: now,
            expires_at: due,
            used_at: None,
        };
        let kind = MailKind::DeletionScheduled {
            link: self.link("/cancel-deletion", &token),
            due: due.date().to_string(),
        };
        let (mail, job) = self.compose(&user, &user.email, &kind);
        let event = own_event(EventType::AccountDeletionScheduled, now, client, &user.id)
            .session(&principal.session.id)
            .detail("due", due.format(&Rfc3339).unwrap_or_default());
        match self
            .store
            .schedule_deletion(&user.id, &cancel, &mail, &job, now, &event)
            .await
        {
            Ok(()) => {
                self.wake_jobs();
                Ok(due)
            }
            Err(StoreError::NotFound) => Err(SharedError::NotFound.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Cancels a pending deletion with the mailed link
    /// (`account.deletion_cancelled`).
    pub async fn cancel_deletion(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<(), RecoveryError> {
        let t = self
            .usable_token(token, &[TokenPurpose::CancelDeletion])
            .await?;
        let event = own_event(
            EventType::AccountDeletionCancelled,
            self.now(),
            client,
            &t.user_id,
        );
        self.redeem(&t, Redemption::CancelDeletion, None, &event)
            .await?;
        Ok(())
    }

    /// Deactivates the signed-in user's account (`account.deactivated`):
    /// every session ends; the next sign-in reactivates it.
    pub async fn deactivate(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), RecoveryError> {
        let now = self.now();
        let event = own_event(
            EventType::AccountDeactivated,
            now,
            client,
            &principal.user_id,
        )
        .session(&principal.session.id);
        match self
            .store
            .set_deactivated(&principal.user_id, Some(now), &event)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(SharedError::NotFound.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the personal data of every user whose deletion is due
    /// (the sweep job). Returns how many became tombstones.
    pub async fn anonymize_due_users(&self) -> Result<u64, SharedError> {
        let now = self.now();
        let mut done = 0;
        loop {
            let due = self.store.deletions_due(now, 100).await?;
            if due.is_empty() {
                return Ok(done);
            }
            let batch = due.len();
            for user_id in due {
                // done by the system when the grace period ended: no actor
                let event = AuditEvent::new(EventType::AccountDeleted, now, &ClientInfo::default())
                    .subject(&user_id)
                    .reason("grace_period_ended");
                if self.store.anonymize_user(&user_id, now, &event).await? {
                    tracing::info!(user_id = %user_id, "personal data removed: the account is a tombstone");
                    done += 1;
                }
            }
            if batch < 100 {
                return Ok(done);
            }
        }
    }
}
