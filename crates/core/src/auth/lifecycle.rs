//! The account lifecycle: email verification, password reset and change,
//! re-authentication, email change, deletion, deactivation and suspension.
//!
//! Decisions worth knowing:
//! - **Mailed tokens** are 256-bit random strings, stored only as SHA-256
//!   hashes, single use (the store marks them used atomically with the change
//!   they make), short-lived (verification and email change 24 hours, reset
//!   15 minutes, cancel-deletion the grace period), and a newer one of the
//!   same purpose voids the older ones. The stored hash is compared with the
//!   presented one in constant time after the lookup. Every reset,
//!   verification and email-change link dies, in the store's transaction of
//!   the change, when the address or password changes, a reset completes,
//!   or the account is suspended or scheduled for deletion.
//! - **A write that owes a mail commits it**: the token, its mail (and a
//!   notice, and the event) are one store write. A retried reset job finds
//!   the link of its first run (a key derived from the job's id) and stores
//!   nothing new.
//! - **Every password check counts**: re-authentication and password change
//!   are charged to the sign-in failure counters ([`Context::check_password`]).
//! - **Links are built from the issuer** (the configured public URL), never
//!   from anything in a request.
//! - **A reset request answers the same whatever the address**: the request
//!   only queues a job (one insert, for known and unknown addresses alike);
//!   the job looks the address up and mails the link. The address in the
//!   job's payload is sealed, and emptied when the job finishes.
//! - **A reset does not sign in.** It sets the password, marks the address
//!   verified (the mail proved it), ends every session and voids other reset
//!   links; the user then signs in normally, second factor included.
//! - **Recent authentication** is the session's `auth_time`, moved forward by
//!   `POST /v1/auth/reauth`; sensitive changes need it within
//!   `accounts.reauth_max_age_minutes`.
//! - **An email change** is confirmed through a link mailed to the new
//!   address (the same verify-email endpoint); the old address is told at
//!   once that a change was requested.
//! - **Deletion** schedules the removal of personal data after a grace
//!   period, ends every session and mails a cancel link; signing in is
//!   refused meanwhile. When due, a job turns the user into a tombstone
//!   (audit events about it stay until their retention ends).
//! - **Suspension** is the administrators' ([`crate::user::Suspension`],
//!   `Context::admin_suspend`): it is not part of this module. Sign-in refuses
//!   a suspended account after the password, and the store refuses the
//!   session atomically; the gate here checks only what the lifecycle adds.
//! - **New passwords** (reset, change) pass the same rules as at
//!   registration ([`Context::check_new_password`]: length, common and breached
//!   lists, likeness to the account's identity). A completed reset also
//!   lifts a brute-force lock: the mailbox proved the owner.
//! - **Audit**: every change here records its event (see
//!   [`crate::audit::EventType`]) in the same transaction as the change;
//!   events carry the account's id, never an address.

use std::sync::atomic::Ordering;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::{AuthError, ClientInfo, Context};
use crate::audit::{AuditEvent, EventType};
use crate::id;
use crate::lifecycle::{AccountToken, NewJob, QueuedMail, Redemption, TokenPurpose};
use crate::mail::{MailKind, OutgoingMail, Theme, render};
use crate::password::{Password, Verified};
use crate::store::StoreError;
use crate::user::{User, normalize_email};
use latchkey_tokens::{constant_time_eq, random_token, sha256_hex};

/// The job kind that delivers one outbox message.
pub(crate) const JOB_MAIL: &str = "mail.send";
/// The job kind that looks an address up and mails a reset link.
pub(crate) const JOB_RESET: &str = "password_reset.request";

/// Longest mailed token accepted before hashing (ours are 43 characters).
pub(crate) const MAX_TOKEN_LEN: usize = 256;

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
        }
    }
}

/// The outcome of a re-authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReauthInfo {
    /// The session's new `auth_time`.
    pub auth_time: OffsetDateTime,
    /// Until when sensitive changes are allowed without another one.
    pub valid_until: OffsetDateTime,
}

/// What the reset job needs: the address asked for and who asked (for the
/// audit event). Sealed in the job's payload.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ResetRequest {
    pub(crate) email: String,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) request_id: Option<String>,
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

/// An event by the user about their own account.
pub(crate) fn own_event(
    kind: EventType,
    now: OffsetDateTime,
    client: &ClientInfo,
    user_id: &str,
) -> AuditEvent {
    AuditEvent::new(kind, now, client)
        .actor(Some(user_id))
        .subject(user_id)
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
        let now = self.now();
        let id = id::new_id();
        let locale = user.locale.as_deref().unwrap_or(&self.lifecycle.locale);
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
            user_id: Some(user.id.clone()),
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
    pub fn open_mail(&self, id: &str, sealed: &[u8]) -> Result<OutgoingMail, AuthError> {
        let plain = self.mail_sealer.open(sealed, id.as_bytes()).map_err(|e| {
            AuthError::Internal(format!("outbox message {id} cannot be opened: {e}"))
        })?;
        serde_json::from_slice(&plain).map_err(|e| AuthError::Internal(e.to_string()))
    }

    /// Queues a notice (a message without a token).
    pub(crate) async fn notice(
        &self,
        user: &User,
        to: &str,
        kind: MailKind,
    ) -> Result<(), AuthError> {
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
    ) -> Result<bool, AuthError> {
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

    /// The stored token for `token` if it has one of `purposes` and is
    /// usable at `now` (compared in constant time after the lookup by hash).
    pub(crate) async fn usable_token(
        &self,
        token: &str,
        purposes: &[TokenPurpose],
    ) -> Result<AccountToken, AuthError> {
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::InvalidToken);
        }
        let hash = sha256_hex(token.as_bytes());
        let now = self.now();
        match self.store.account_token(&hash).await? {
            Some(t)
                if constant_time_eq(t.token_hash.as_bytes(), hash.as_bytes())
                    && purposes.contains(&t.purpose)
                    && t.used_at.is_none()
                    && t.expires_at > now =>
            {
                Ok(t)
            }
            _ => Err(AuthError::InvalidToken),
        }
    }

    pub(crate) async fn redeem(
        &self,
        t: &AccountToken,
        action: Redemption,
        notice: Option<&(QueuedMail, NewJob)>,
        event: &AuditEvent,
    ) -> Result<crate::lifecycle::Redeemed, AuthError> {
        match self
            .store
            .redeem_account_token(
                &t.token_hash,
                t.purpose,
                &action,
                notice.map(|(m, j)| (m, j)),
                self.now(),
                event,
            )
            .await
        {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(AuthError::InvalidToken),
            Err(StoreError::Conflict("email")) => Err(AuthError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    // ---------------------------------------------------------------------
    // verification and email change
    // ---------------------------------------------------------------------

    /// Mails a verification link to the user's address, unless it is
    /// verified already.
    pub async fn send_verification(&self, user: &User) -> Result<(), AuthError> {
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

    /// The reset job: mails a link if the address belongs to an account
    /// that may reset its password.
    pub(crate) async fn send_password_reset(
        &self,
        job_id: &str,
        payload: &[u8],
    ) -> Result<(), AuthError> {
        let plain = self
            .job_sealer
            .open(payload, job_id.as_bytes())
            .map_err(|e| AuthError::Internal(format!("reset job payload: {e}")))?;
        let request: ResetRequest = serde_json::from_slice(&plain)
            .map_err(|e| AuthError::Internal(format!("reset job payload: {e}")))?;
        let Some(user) = self
            .store
            .user_by_email(&normalize_email(&request.email))
            .await?
        else {
            return Ok(());
        };
        let state = self
            .store
            .account_state(&user.id)
            .await?
            .unwrap_or_default();
        if state.deleted_at.is_some() || state.deletion_due_at.is_some() {
            return Ok(());
        }
        let client = ClientInfo {
            ip: request.ip,
            user_agent: request.user_agent,
            request_id: request.request_id,
        };
        // requested by an anonymous caller: no actor
        let event = AuditEvent::new(EventType::PasswordResetRequested, self.now(), &client)
            .subject(&user.id);
        // A retry of this job (its first run crashed before finishing) finds
        // the link and mail of the first run under this key and stores
        // nothing: one request, one link.
        let once = format!("{JOB_RESET}:{job_id}");
        self.mail_reset_link(&user, &event, Some(once)).await
    }

    /// Mails `user` a reset link, recording `event` with it. With `once`,
    /// the delivery job's idempotency key: when a job with it exists, the
    /// link was made already and nothing new is stored.
    pub(crate) async fn mail_reset_link(
        &self,
        user: &User,
        event: &AuditEvent,
        once: Option<String>,
    ) -> Result<(), AuthError> {
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

    /// A new password for `user` that passes every rule
    /// ([`Context::check_new_password`]), the problem named after `field`.
    pub(crate) async fn new_password(
        &self,
        user: &User,
        raw: &str,
        field: &str,
    ) -> Result<Password, AuthError> {
        let identity: Vec<&str> = [Some(user.email.as_str()), user.username.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        self.check_new_password(raw, &identity)
            .await
            .map_err(|mut problem| {
                problem.field = field.to_owned();
                AuthError::Validation(vec![problem])
            })
    }

    /// Checks the password of a signed-in user (re-authentication, password
    /// change), charged to the account's failure counter exactly like a
    /// sign-in: a throttled or locked account gets `Throttled` or
    /// `AccountLocked` without a hash, a wrong password counts one failure
    /// (and may lock), the right one clears the counter. A stolen session
    /// therefore guesses no further than a sign-in form would let it.
    pub(crate) async fn check_password(
        &self,
        user: &User,
        password: &str,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let charged = self
            .charge_attempt(&format!("user:{}", user.id), None, now)
            .await?;
        self.password_checks.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("latchkey_password_checks_total").increment(1);
        let verdict = self
            .hasher
            .verify(
                Password::for_verification(password),
                user.password_hash.as_deref(),
            )
            .await;
        match (verdict, &charged) {
            (Ok(Verified::Match { .. }), Some(c)) => {
                self.store.clear_login_failures(&c.key).await?;
                Ok(())
            }
            (Ok(Verified::Match { .. }), None) => Ok(()),
            (Ok(_), c) => {
                if let Some(c) = c {
                    c.note_lock();
                }
                Err(AuthError::WrongPassword)
            }
            (Err(e), c) => {
                if let Some(c) = c {
                    self.refund(c).await;
                }
                Err(e.into())
            }
        }
    }

    // ---------------------------------------------------------------------
    // the sign-in gate
    // ---------------------------------------------------------------------

    /// Whether `user` may start a session now (see [`Context::start_session`]):
    /// not deleted, not pending deletion, verified when that is required. A
    /// deactivated account is reactivated (`account.reactivated`).
    /// Suspension is not checked here: the store refuses the session
    /// atomically (`Suspended`), and password sign-in checks it first.
    pub(crate) async fn admit(&self, user: &User, client: &ClientInfo) -> Result<(), AuthError> {
        let state = self
            .store
            .account_state(&user.id)
            .await?
            .ok_or(AuthError::InvalidCredentials)?;
        let now = self.now();
        if state.deleted_at.is_some() {
            return Err(AuthError::InvalidCredentials);
        }
        if let Some(due) = state.deletion_due_at {
            return Err(AuthError::PendingDeletion { due });
        }
        if self.lifecycle.require_verified_email && !user.email_verified {
            return Err(AuthError::EmailNotVerified);
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
