//! The mail outbox and mailed links: a message rendered and sealed with
//! its delivery job, a token made with the mail carrying its link and
//! stored with it in one transaction, and the lifecycle settings. Shared by
//! the slices that mail (accounts, recovery, admin, sign-in notices).

use time::Duration;

use super::Context;
use crate::audit::AuditEvent;
use crate::error::SharedError;
use crate::id;
use crate::lifecycle::{AccountToken, NewJob, QueuedMail, TokenPurpose};
use crate::mail::{MailKind, OutgoingMail, Theme, render};
use crate::user::User;
use latchkey_tokens::{random_token, sha256_hex};

/// The job kind that delivers one outbox message.
pub(crate) const JOB_MAIL: &str = "mail.send";
/// The job kind that looks an address up and mails a reset link.
pub(crate) const JOB_RESET: &str = "password_reset.request";

/// The lifecycle rules.
#[derive(Debug, Clone)]
pub struct LifecycleConfig {
    /// Refuse sign-in until the address is verified.
    pub require_verified_email: bool,
    /// How long after signing in (or `reauth`) sensitive changes are allowed.
    pub reauth_max_age: Duration,
    /// Lifetime of verification and email-change links.
    pub verify_ttl: Duration,
    /// Lifetime of password reset links.
    pub reset_ttl: Duration,
    /// Time between a deletion request and the removal of personal data.
    pub deletion_grace: Duration,
    /// Mail a notice when someone signs in from a device never seen before.
    pub new_sign_in_notice: bool,
    /// Answer a registration for an address that has an account with
    /// `EmailTaken` (409) instead of exactly like a new one.
    pub reveal_existing_on_register: bool,
    /// Attempts to deliver one message before giving up.
    pub mail_max_attempts: u32,
    /// Branding of mail.
    pub theme: Theme,
    /// The language of mail to an account without a locale of its own
    /// (`mail.locale`).
    pub locale: String,
    /// The sentences of mail in every configured locale.
    pub catalogue: std::sync::Arc<crate::i18n::Catalogue>,
    /// `mfa.required_for_roles`.
    pub mfa: crate::mfa::MfaPolicy,
    /// Magic links, email codes, sign-up on the way.
    pub passwordless: crate::passwordless::PasswordlessConfig,
    /// Webhooks (`[webhooks]`).
    pub webhooks: crate::webhooks::WebhooksConfig,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            require_verified_email: false,
            reauth_max_age: Duration::minutes(10),
            verify_ttl: Duration::hours(24),
            reset_ttl: Duration::minutes(15),
            deletion_grace: Duration::days(30),
            new_sign_in_notice: true,
            reveal_existing_on_register: false,
            mail_max_attempts: 12,
            theme: Theme::default(),
            locale: "en".into(),
            catalogue: Default::default(),
            mfa: Default::default(),
            passwordless: Default::default(),
            webhooks: Default::default(),
        }
    }
}

/// A token and the mail carrying its link (with the mail's delivery job),
/// made together and stored together.
pub(crate) struct MailedToken {
    /// The stored form of the token.
    pub(crate) token: AccountToken,
    /// The message with the link.
    pub(crate) mail: QueuedMail,
    /// The job delivering it.
    pub(crate) job: NewJob,
}

impl Context {
    // ---------------------------------------------------------------------
    // mail
    // ---------------------------------------------------------------------

    /// The link to `path` on the public URL with `token`.
    pub(crate) fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.config.issuer)
    }

    /// Renders and seals a message about `user` for `to` in the user's
    /// language (else `mail.locale`), with the job delivering it.
    pub(crate) fn compose(&self, user: &User, to: &str, kind: &MailKind) -> (QueuedMail, NewJob) {
        self.compose_for(Some(user), to, kind)
    }

    /// [`Context::compose`] for an address that may have no account yet
    /// (then in `mail.locale`, concerning no user).
    pub(crate) fn compose_for(
        &self,
        user: Option<&User>,
        to: &str,
        kind: &MailKind,
    ) -> (QueuedMail, NewJob) {
        let now = self.now();
        let id = id::new_id();
        let locale = user
            .and_then(|u| u.locale.as_deref())
            .unwrap_or(&self.lifecycle.locale);
        let rendered = render(
            kind,
            &self.lifecycle.theme,
            &self.lifecycle.catalogue,
            locale,
        );
        let outgoing = OutgoingMail {
            id: id.clone(),
            to: to.to_owned(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            link: kind.link().map(str::to_owned),
            template: kind.template().to_owned(),
        };
        let plain = serde_json::to_vec(&outgoing).expect("mail serializes");
        let mail = QueuedMail {
            id: id.clone(),
            user_id: user.map(|u| u.id.clone()),
            template: kind.template().to_owned(),
            sealed: self.mail_sealer.seal(&plain, id.as_bytes()),
            created_at: now,
        };
        let job = NewJob {
            id: id::new_id(),
            kind: JOB_MAIL.into(),
            idempotency_key: format!("mail:{id}"),
            payload: id.into_bytes(),
            run_at: now,
            max_attempts: self.lifecycle.mail_max_attempts,
            created_at: now,
        };
        (mail, job)
    }

    /// Opens a sealed outbox message (for the delivery job).
    pub fn open_mail(&self, id: &str, sealed: &[u8]) -> Result<OutgoingMail, SharedError> {
        let plain = self.mail_sealer.open(sealed, id.as_bytes()).map_err(|e| {
            SharedError::Internal(format!("outbox message {id} cannot be opened: {e}"))
        })?;
        serde_json::from_slice(&plain).map_err(|e| SharedError::Internal(e.to_string()))
    }

    /// Queues a notice (a message without a token).
    pub(crate) async fn notice(
        &self,
        user: &User,
        to: &str,
        kind: MailKind,
    ) -> Result<(), SharedError> {
        let (mail, job) = self.compose(user, to, &kind);
        self.store.enqueue_mail(&mail, &job).await?;
        self.wake_jobs();
        Ok(())
    }

    /// A new token for `user` and the mail carrying its link to `to`, not
    /// yet stored (see [`Context::store_token`]).
    pub(crate) fn mailed_token(
        &self,
        user: &User,
        purpose: TokenPurpose,
        to: &str,
        email: Option<String>,
        ttl: Duration,
        kind: impl FnOnce(String) -> MailKind,
    ) -> MailedToken {
        let now = self.now();
        let token = random_token();
        let path = match purpose {
            TokenPurpose::VerifyEmail | TokenPurpose::EmailChange => "/verify-email",
            TokenPurpose::PasswordReset => "/reset-password",
            TokenPurpose::CancelDeletion => "/cancel-deletion",
        };
        let row = AccountToken {
            token_hash: sha256_hex(token.as_bytes()),
            user_id: user.id.clone(),
            purpose,
            email,
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
        };
        let (mail, job) = self.compose(user, to, &kind(self.link(path, &token)));
        MailedToken {
            token: row,
            mail,
            job,
        }
    }

    /// Stores a token with the mail carrying it (and `notice`, and `event`)
    /// in one transaction, and wakes the job runner. `false` when the
    /// mail's delivery job existed already (nothing stored).
    pub(crate) async fn store_token(
        &self,
        t: &MailedToken,
        notice: Option<&(QueuedMail, NewJob)>,
        event: Option<&AuditEvent>,
    ) -> Result<bool, SharedError> {
        let stored = self
            .store
            .insert_account_token(
                &t.token,
                &t.mail,
                &t.job,
                notice.map(|(m, j)| (m, j)),
                event,
            )
            .await?;
        self.wake_jobs();
        Ok(stored)
    }

    /// Wakes this node's job runner (others find the work at their next poll).
    pub fn wake_jobs(&self) {
        self.wakeup.notify_one();
    }

    /// Completes when [`Context::wake_jobs`] was called since the last wait.
    pub async fn jobs_woken(&self) {
        self.wakeup.notified().await;
    }

    // ---------------------------------------------------------------------
    // tokens
    // ---------------------------------------------------------------------

    // ---------------------------------------------------------------------
    // verification and email change
    // ---------------------------------------------------------------------

    /// Mails a verification link to the user's address, unless it is
    /// verified already.
    pub async fn send_verification(&self, user: &User) -> Result<(), SharedError> {
        if user.email_verified {
            return Ok(());
        }
        let t = self.verification(user);
        self.store_token(&t, None, None).await.map(|_| ())
    }

    /// A verification link for the user's address, not yet stored.
    pub(crate) fn verification(&self, user: &User) -> MailedToken {
        self.mailed_token(
            user,
            TokenPurpose::VerifyEmail,
            &user.email,
            Some(user.email_normalized.clone()),
            self.lifecycle.verify_ttl,
            |link| MailKind::VerifyEmail { link },
        )
    }

    /// Mails `user` a reset link, recording `event` with it. With `once`,
    /// the delivery job's idempotency key: when a job with it exists, the
    /// link was made already and nothing new is stored.
    pub(crate) async fn mail_reset_link(
        &self,
        user: &User,
        event: &AuditEvent,
        once: Option<String>,
    ) -> Result<(), SharedError> {
        let minutes = self.lifecycle.reset_ttl.whole_minutes();
        let mut t = self.mailed_token(
            user,
            TokenPurpose::PasswordReset,
            &user.email,
            Some(user.email_normalized.clone()),
            self.lifecycle.reset_ttl,
            |link| MailKind::PasswordReset { link, minutes },
        );
        if let Some(key) = once {
            t.job.idempotency_key = key;
        }
        if !self.store_token(&t, None, Some(event)).await? {
            tracing::info!(user_id = %user.id, "reset link made by an earlier run of this job: nothing new");
        }
        Ok(())
    }

    // ---------------------------------------------------------------------
    // the sign-in gate
    // ---------------------------------------------------------------------

    /// Tells the owner of an existing address that someone tried to
    /// register with it (a failure is logged: the registrant's answer must
    /// not depend on it).
    pub(crate) async fn notify_sign_up_attempt(&self, user: &User) {
        if let Err(e) = self
            .notice(user, &user.email, MailKind::SignUpAttempt)
            .await
        {
            tracing::warn!(error = %e, "could not queue the sign-up attempt notice");
        }
    }
}
