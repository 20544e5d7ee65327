//! Mailed tokens redeemed, new passwords checked, the reset job, and the
//! check of the current password.

use std::sync::atomic::Ordering;

use latchkey_tokens::{constant_time_eq, sha256_hex};

use super::{Recovery, RecoveryError};
use crate::audit::{AuditEvent, EventType};
use crate::auth::{ClientInfo, JOB_RESET};
use crate::error::SharedError;
use crate::lifecycle::{AccountToken, NewJob, QueuedMail, Redemption, TokenPurpose};
use crate::password::{Password, Verified};
use crate::store::StoreError;
use crate::user::{User, normalize_email};

/// Longest mailed token accepted before hashing (ours are 43 characters).
pub(crate) const MAX_TOKEN_LEN: usize = 256;

/// What the reset job needs: the address asked for and who asked (for the
/// audit event). Sealed in the job's payload.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ResetRequest {
    pub(crate) email: String,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) request_id: Option<String>,
}

impl Recovery {
    /// The stored token for `token` if it has one of `purposes` and is
    /// usable at `now` (compared in constant time after the lookup by hash).
    pub(crate) async fn usable_token(
        &self,
        token: &str,
        purposes: &[TokenPurpose],
    ) -> Result<AccountToken, RecoveryError> {
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(RecoveryError::InvalidToken);
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
            _ => Err(RecoveryError::InvalidToken),
        }
    }

    pub(crate) async fn redeem(
        &self,
        t: &AccountToken,
        action: Redemption,
        notice: Option<&(QueuedMail, NewJob)>,
        event: &AuditEvent,
    ) -> Result<crate::lifecycle::Redeemed, RecoveryError> {
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
            Ok(None) => Err(RecoveryError::InvalidToken),
            Err(StoreError::Conflict("email")) => Err(RecoveryError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// The reset job: mails a link if the address belongs to an account
    /// that may reset its password.
    pub(crate) async fn send_password_reset(
        &self,
        job_id: &str,
        payload: &[u8],
    ) -> Result<(), SharedError> {
        let plain = self
            .job_sealer
            .open(payload, job_id.as_bytes())
            .map_err(|e| SharedError::Internal(format!("reset job payload: {e}")))?;
        let request: ResetRequest = serde_json::from_slice(&plain)
            .map_err(|e| SharedError::Internal(format!("reset job payload: {e}")))?;
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

    /// A new password for `user` that passes every rule
    /// ([`Context::check_new_password`]), the problem named after `field`.
    pub(crate) async fn new_password(
        &self,
        user: &User,
        raw: &str,
        field: &str,
    ) -> Result<Password, SharedError> {
        let identity: Vec<&str> = [Some(user.email.as_str()), user.username.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        self.check_new_password(raw, &identity)
            .await
            .map_err(|mut problem| {
                problem.field = field.to_owned();
                SharedError::Validation(vec![problem])
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
    ) -> Result<(), RecoveryError> {
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
                Err(RecoveryError::WrongPassword)
            }
            (Err(e), c) => {
                if let Some(c) = c {
                    self.refund(c).await;
                }
                Err(e.into())
            }
        }
    }
}
