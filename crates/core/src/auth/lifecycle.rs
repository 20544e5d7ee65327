//! The account lifecycle: email verification, password reset and change,
//! re-authentication, email change, deletion, deactivation and suspension.
//!
//! Decisions worth knowing:
//! - **Mailed tokens** are 256-bit random strings, stored only as SHA-256
//!   hashes, single use (the store marks them used atomically with the change
//!   they make), short-lived (verification and email change 24 hours, reset
//!   15 minutes, cancel-deletion the grace period), and a newer one of the
//!   same purpose voids the older ones. The stored hash is compared with the
//!   presented one in constant time after the lookup.
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
//!   refused meanwhile. When due, a job turns the user into a tombstone.
//! - **Suspension** is `suspension_reason` set and `suspended_until` null
//!   (indefinite) or in the future: it ends every session when it starts and
//!   lifts by itself when its time passes.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::{Auth, AuthError, ClientInfo, Principal, validate};
use crate::id;
use crate::lifecycle::{AccountToken, NewJob, QueuedMail, Redemption, TokenPurpose};
use crate::mail::{MailKind, OutgoingMail, Theme, render};
use crate::password::{Password, PasswordPolicyError, Verified};
use crate::store::StoreError;
use crate::user::{User, normalize_email};
use latchkey_tokens::{constant_time_eq, random_token, sha256_hex};

/// The job kind that delivers one outbox message.
pub(crate) const JOB_MAIL: &str = "mail.send";
/// The job kind that looks an address up and mails a reset link.
pub(crate) const JOB_RESET: &str = "password_reset.request";

/// Longest mailed token accepted before hashing (ours are 43 characters).
const MAX_TOKEN_LEN: usize = 256;

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
    /// Attempts to deliver one message before giving up.
    pub mail_max_attempts: u32,
    /// Branding of mail.
    pub theme: Theme,
    /// The language of mail.
    pub locale: String,
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
            mail_max_attempts: 12,
            theme: Theme::default(),
            locale: "en".into(),
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

fn policy_problem(e: PasswordPolicyError, field: &str) -> AuthError {
    let code = match e {
        PasswordPolicyError::TooShort { .. } => "password_too_short",
        PasswordPolicyError::TooLong { .. } => "password_too_long",
    };
    AuthError::Validation(vec![validate::FieldProblem::new(
        field,
        code,
        e.to_string(),
    )])
}

impl Auth {
    // ---------------------------------------------------------------------
    // mail
    // ---------------------------------------------------------------------

    /// The link to `path` on the public URL with `token`.
    fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.config.issuer)
    }

    /// Renders and seals a message for `to`, with the job delivering it.
    fn compose(&self, user_id: Option<&str>, to: &str, kind: &MailKind) -> (QueuedMail, NewJob) {
        let now = self.now();
        let id = id::new_id();
        let rendered = render(kind, &self.lifecycle.theme, &self.lifecycle.locale);
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
            user_id: user_id.map(str::to_owned),
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
    async fn notice(&self, user: &User, to: &str, kind: MailKind) -> Result<(), AuthError> {
        let (mail, job) = self.compose(Some(&user.id), to, &kind);
        self.store.enqueue_mail(&mail, &job).await?;
        self.wake_jobs();
        Ok(())
    }

    /// Makes a token for `user`, and queues the mail carrying its link.
    async fn mail_token(
        &self,
        user: &User,
        purpose: TokenPurpose,
        to: &str,
        email: Option<String>,
        ttl: Duration,
        kind: impl FnOnce(String) -> MailKind,
    ) -> Result<(), AuthError> {
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
        let (mail, job) = self.compose(Some(&user.id), to, &kind(self.link(path, &token)));
        self.store.insert_account_token(&row, &mail, &job).await?;
        self.wake_jobs();
        Ok(())
    }

    /// Wakes this node's job runner (others find the work at their next poll).
    pub fn wake_jobs(&self) {
        self.wakeup.notify_one();
    }

    /// Completes when [`Auth::wake_jobs`] was called since the last wait.
    pub async fn jobs_woken(&self) {
        self.wakeup.notified().await;
    }

    // ---------------------------------------------------------------------
    // tokens
    // ---------------------------------------------------------------------

    /// The stored token for `token` if it has one of `purposes` and is
    /// usable at `now` (compared in constant time after the lookup by hash).
    async fn usable_token(
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

    async fn redeem(
        &self,
        t: &AccountToken,
        action: Redemption,
    ) -> Result<crate::lifecycle::Redeemed, AuthError> {
        match self
            .store
            .redeem_account_token(&t.token_hash, t.purpose, &action, self.now())
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
        self.mail_token(
            user,
            TokenPurpose::VerifyEmail,
            &user.email,
            Some(user.email_normalized.clone()),
            self.lifecycle.verify_ttl,
            |link| MailKind::VerifyEmail { link },
        )
        .await
    }

    /// Resends the verification mail to the signed-in user.
    pub async fn resend_verification(&self, principal: &Principal) -> Result<(), AuthError> {
        let user = self.account(&principal.user_id).await?;
        self.send_verification(&user).await
    }

    /// Redeems a link that proves a mailbox: a verification link (the
    /// address becomes verified) or an email-change link (the account moves
    /// to the new, verified address).
    pub async fn verify_email(&self, token: &str) -> Result<(), AuthError> {
        let t = self
            .usable_token(
                token,
                &[TokenPurpose::VerifyEmail, TokenPurpose::EmailChange],
            )
            .await?;
        let action = match t.purpose {
            TokenPurpose::EmailChange => Redemption::ChangeEmail,
            _ => Redemption::VerifyEmail,
        };
        self.redeem(&t, action).await?;
        Ok(())
    }

    /// Starts an email change: a confirmation link to the new address, and
    /// a notice to the current one. Needs a recent authentication (checked
    /// by the caller's extractor).
    pub async fn request_email_change(
        &self,
        principal: &Principal,
        new_email: &str,
    ) -> Result<(), AuthError> {
        let mut problems = Vec::new();
        let Some(new_email) = validate::email(new_email, &mut problems) else {
            return Err(AuthError::Validation(problems));
        };
        let user = self.account(&principal.user_id).await?;
        let normalized = normalize_email(&new_email);
        if normalized == user.email_normalized {
            return Err(AuthError::Validation(vec![validate::FieldProblem::new(
                "new_email",
                "same_email",
                "this is the account's current address",
            )]));
        }
        if self.store.user_by_email(&normalized).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        self.mail_token(
            &user,
            TokenPurpose::EmailChange,
            &new_email,
            Some(new_email.clone()),
            self.lifecycle.verify_ttl,
            |link| MailKind::EmailChange { link },
        )
        .await?;
        self.notice(
            &user,
            &user.email,
            MailKind::EmailChangeNotice { new_email },
        )
        .await
    }

    // ---------------------------------------------------------------------
    // passwords
    // ---------------------------------------------------------------------

    /// Queues a password reset for `email`, known or not: the answer and the
    /// work on the request path are the same either way.
    pub async fn request_password_reset(&self, email: &str) -> Result<(), AuthError> {
        let now = self.now();
        let id = id::new_id();
        let email = email.trim();
        if email.is_empty() || email.len() > 320 {
            return Ok(());
        }
        let job = NewJob {
            kind: JOB_RESET.into(),
            idempotency_key: format!("reset:{id}"),
            payload: self.job_sealer.seal(email.as_bytes(), id.as_bytes()),
            id,
            run_at: now,
            max_attempts: 5,
            created_at: now,
        };
        self.store.enqueue_job(&job).await?;
        self.wake_jobs();
        Ok(())
    }

    /// The reset job: mails a link if the address belongs to an account
    /// that may reset its password.
    pub(crate) async fn send_password_reset(
        &self,
        job_id: &str,
        payload: &[u8],
    ) -> Result<(), AuthError> {
        let email = self
            .job_sealer
            .open(payload, job_id.as_bytes())
            .map_err(|e| AuthError::Internal(format!("reset job payload: {e}")))?;
        let email = String::from_utf8_lossy(&email).into_owned();
        let Some(user) = self.store.user_by_email(&normalize_email(&email)).await? else {
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
        let minutes = self.lifecycle.reset_ttl.whole_minutes();
        self.mail_token(
            &user,
            TokenPurpose::PasswordReset,
            &user.email,
            Some(user.email_normalized.clone()),
            self.lifecycle.reset_ttl,
            |link| MailKind::PasswordReset { link, minutes },
        )
        .await
    }

    /// Sets a new password with a reset link; ends every session.
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        new_password: &str,
    ) -> Result<(), AuthError> {
        let password = Password::new(new_password, &self.config.password_policy)
            .map_err(|e| policy_problem(e, "new_password"))?;
        // check the token before spending a hash on it
        let t = self
            .usable_token(token, &[TokenPurpose::PasswordReset])
            .await?;
        let password_hash = self.hasher.hash(password).await?;
        let redeemed = self
            .redeem(&t, Redemption::ResetPassword { password_hash })
            .await?;
        if let Ok(user) = self.account(&redeemed.user_id).await
            && let Err(e) = self
                .notice(&user, &user.email, MailKind::PasswordChanged)
                .await
        {
            tracing::warn!(error = %e, "could not queue the password-changed notice");
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
    ) -> Result<(), AuthError> {
        let password = Password::new(new_password, &self.config.password_policy)
            .map_err(|e| policy_problem(e, "new_password"))?;
        let user = self.account(&principal.user_id).await?;
        self.check_password(&user, current).await?;
        let hash = self.hasher.hash(password).await?;
        let (mail, job) = self.compose(Some(&user.id), &user.email, &MailKind::PasswordChanged);
        match self
            .store
            .change_password(
                &user.id,
                &hash,
                Some(&principal.session.id),
                Some((&mail, &job)),
                self.now(),
            )
            .await
        {
            Ok(_) => {
                self.wake_jobs();
                Ok(())
            }
            Err(StoreError::NotFound) => Err(AuthError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn check_password(&self, user: &User, password: &str) -> Result<(), AuthError> {
        match self
            .hasher
            .verify(
                Password::for_verification(password),
                user.password_hash.as_deref(),
            )
            .await?
        {
            Verified::Match { .. } => Ok(()),
            _ => Err(AuthError::WrongPassword),
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
    ) -> Result<ReauthInfo, AuthError> {
        let user = self.account(&principal.user_id).await?;
        self.check_password(&user, password).await?;
        let now = self.now();
        if !self
            .store
            .set_session_auth_time(&principal.session.id, now)
            .await?
        {
            return Err(AuthError::Unauthenticated("session ended"));
        }
        Ok(ReauthInfo {
            auth_time: now,
            valid_until: now + self.lifecycle.reauth_max_age,
        })
    }

    /// Whether the principal authenticated recently enough for sensitive
    /// changes.
    pub fn require_recent_auth(&self, principal: &Principal) -> Result<(), AuthError> {
        if principal.session.auth_time + self.lifecycle.reauth_max_age > self.now() {
            Ok(())
        } else {
            Err(AuthError::ReauthRequired)
        }
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
    ) -> Result<OffsetDateTime, AuthError> {
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
        let (mail, job) = self.compose(Some(&user.id), &user.email, &kind);
        match self
            .store
            .schedule_deletion(&user.id, due, &cancel, &mail, &job, now)
            .await
        {
            Ok(()) => {
                self.wake_jobs();
                Ok(due)
            }
            Err(StoreError::NotFound) => Err(AuthError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Cancels a pending deletion with the mailed link.
    pub async fn cancel_deletion(&self, token: &str) -> Result<(), AuthError> {
        let t = self
            .usable_token(token, &[TokenPurpose::CancelDeletion])
            .await?;
        self.redeem(&t, Redemption::CancelDeletion).await?;
        Ok(())
    }

    /// Deactivates the signed-in user's account: every session ends; the
    /// next sign-in reactivates it.
    pub async fn deactivate(&self, principal: &Principal) -> Result<(), AuthError> {
        match self
            .store
            .set_deactivated(&principal.user_id, Some(self.now()))
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AuthError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the personal data of every user whose deletion is due
    /// (the sweep job). Returns how many became tombstones.
    pub async fn anonymize_due_users(&self) -> Result<u64, AuthError> {
        let now = self.now();
        let mut done = 0;
        loop {
            let due = self.store.deletions_due(now, 100).await?;
            if due.is_empty() {
                return Ok(done);
            }
            let batch = due.len();
            for user_id in due {
                if self.store.anonymize_user(&user_id, now).await? {
                    tracing::info!(user_id = %user_id, "personal data removed: the account is a tombstone");
                    done += 1;
                }
            }
            if batch < 100 {
                return Ok(done);
            }
        }
    }

    // ---------------------------------------------------------------------
    // suspension (the admin routes call these)
    // ---------------------------------------------------------------------

    /// Suspends an account until `until` (`None`: until lifted) for
    /// `reason`; every session ends at once. Signing in answers
    /// `account_suspended` until the time passes.
    pub async fn suspend(
        &self,
        user_id: &str,
        until: Option<OffsetDateTime>,
        reason: &str,
    ) -> Result<(), AuthError> {
        let reason = reason.trim();
        let mut problems = Vec::new();
        if reason.is_empty() || reason.chars().count() > 500 {
            problems.push(validate::FieldProblem::new(
                "reason",
                "invalid_reason",
                "a reason of 1 to 500 characters is required",
            ));
        }
        let now = self.now();
        if until.is_some_and(|u| u <= now) {
            problems.push(validate::FieldProblem::new(
                "until",
                "in_the_past",
                "the end of a suspension must be in the future",
            ));
        }
        if !problems.is_empty() {
            return Err(AuthError::Validation(problems));
        }
        match self
            .store
            .set_suspension(user_id, until, Some(reason), now)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AuthError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Lifts a suspension now.
    pub async fn unsuspend(&self, user_id: &str) -> Result<(), AuthError> {
        match self
            .store
            .set_suspension(user_id, None, None, self.now())
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AuthError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    // ---------------------------------------------------------------------
    // the sign-in gate
    // ---------------------------------------------------------------------

    /// Whether `user` may start a session now (see [`Auth::start_session`]).
    pub(super) async fn admit(&self, user: &User) -> Result<(), AuthError> {
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
        if state.is_suspended(now) {
            return Err(AuthError::Suspended {
                until: state.suspended_until,
            });
        }
        if self.lifecycle.require_verified_email && !user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        if state.deactivated_at.is_some() {
            self.store.set_deactivated(&user.id, None).await?;
            tracing::info!(user_id = %user.id, "account reactivated by signing in");
        }
        Ok(())
    }

    /// The device label if this sign-in comes from a device the user never
    /// used (and the user has signed in before); `None` otherwise, or when
    /// notices are off.
    pub(super) async fn is_new_device(
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

    pub(super) async fn notify_new_sign_in(
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
