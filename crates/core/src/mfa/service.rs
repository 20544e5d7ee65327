//! The mfa service: enrolment, the second step of sign-in, step-up, and the
//! administrator's reset.

use std::sync::Arc;

use latchkey_tokens::{Sealer, random_bytes, random_token, sha256_hex};

use super::backup::BackupCodes;
use super::error::MfaError;
use super::model::{
    MFA_TOKEN_TTL, Method, MfaChallenge, MfaRequired, MfaStatus, TotpFactor, has_second_factor,
};
use super::second_step::raised;
use super::totp::{Generator, SECRET_LEN};
use crate::admin::Actor;
use crate::audit::{AuditEvent, EventType};
use crate::auth::{ClientInfo, Context};
use crate::error::SharedError;
use crate::mail::{MailKind, MfaChange};
use crate::recovery::ReauthInfo;
use crate::recovery::RecoveryError;
use crate::roles::perm;
use crate::session::SessionKind;
use crate::sessions::Principal;
use crate::sessions::SessionError;
use crate::sign_in::LoginSuccess;
use crate::store::StoreError;
use crate::user::User;

/// What enrolment shows once: the secret, and the URI an app scans.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// The secret in base32, to type in by hand.
    pub secret: String,
    /// `otpauth://totp/...`, for the QR code.
    pub otpauth_uri: String,
}

/// The second step of a sign-in, as presented.
#[derive(Debug, Clone, Copy)]
pub struct SecondStep<'a> {
    /// The `mfa_token` of the first step.
    pub mfa_token: &'a str,
    /// The binding cookie the first step set (cookie mode).
    pub binding_cookie: Option<&'a str>,
    /// The mode asked for: must be the first step's.
    pub kind: SessionKind,
    /// `totp` or `backup_code`.
    pub method: &'a str,
    /// The code as typed.
    pub code: &'a str,
    /// Where the request came from.
    pub client: &'a ClientInfo,
}

/// The mfa service over the shared [`Context`].
#[derive(Clone)]
pub struct Mfa {
    ctx: Arc<Context>,
    sealer: Arc<Sealer>,
    codes: BackupCodes,
}

impl std::fmt::Debug for Mfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mfa").finish_non_exhaustive()
    }
}

impl std::ops::Deref for Mfa {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Mfa {
    /// The service over `ctx`; its keys derive from the context's master key.
    pub fn new(ctx: Arc<Context>) -> Mfa {
        let master = ctx.device_key;
        Mfa {
            sealer: Arc::new(Sealer::new(&master, "latchkey/totp-secrets/v1")),
            codes: BackupCodes::new(&master),
            ctx,
        }
    }

    /// What the user has enrolled.
    pub async fn status(&self, user_id: &str) -> Result<MfaStatus, MfaError> {
        status(&self.ctx, user_id).await.map_err(MfaError::from)
    }

    fn generator(&self, user: &User, sealed: &[u8]) -> Result<Generator, MfaError> {
        let secret = self
            .sealer
            .open(sealed, user.id.as_bytes())
            .map_err(|e| SharedError::Internal(format!("TOTP secret cannot be opened: {e}")))?;
        Generator::new(&secret, &self.lifecycle.theme.product_name, &user.email)
            .map_err(|e| MfaError::Shared(SharedError::Internal(e.to_string())))
    }

    /// Starts (or restarts) TOTP enrolment: a new secret, pending until
    /// [`Mfa::confirm_totp`]. `AlreadyEnrolled` when a confirmed one exists.
    pub async fn start_totp(&self, principal: &Principal) -> Result<TotpEnrolment, MfaError> {
        let user = &principal.user;
        let secret: [u8; SECRET_LEN] = random_bytes();
        let factor = TotpFactor {
            user_id: user.id.clone(),
            secret_sealed: self.sealer.seal(&secret, user.id.as_bytes()),
            created_at: self.now(),
            confirmed_at: None,
            last_step: None,
        };
        let enrolment = self.enrolment(user, &factor.secret_sealed)?;
        match self.store.put_pending_totp(&factor).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(MfaError::AlreadyEnrolled),
            Err(e) => return Err(e.into()),
        }
        Ok(enrolment)
    }

    /// The enrolment of `user` under way (started, not confirmed), to show
    /// its secret again until the first code confirms it; `None` without one.
    pub async fn pending_totp(&self, user: &User) -> Result<Option<TotpEnrolment>, MfaError> {
        match self.store.totp_factor(&user.id).await? {
            Some(f) if f.confirmed_at.is_none() => {
                Ok(Some(self.enrolment(user, &f.secret_sealed)?))
            }
            _ => Ok(None),
        }
    }

    fn enrolment(&self, user: &User, sealed: &[u8]) -> Result<TotpEnrolment, MfaError> {
        let generator = self.generator(user, sealed)?;
        Ok(TotpEnrolment {
            secret: generator.secret_base32(),
            otpauth_uri: generator.otpauth_uri(),
        })
    }

    /// Confirms the pending factor with its first code: two-step sign-in is
    /// on, this session counts as having passed it (`aal2`), the user's
    /// other sessions end (none of them passed it), and ten backup codes are
    /// returned, to be shown once.
    pub async fn confirm_totp(
        &self,
        principal: &Principal,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<String>, MfaError> {
        let user = &principal.user;
        let factor = self
            .store
            .totp_factor(&user.id)
            .await?
            .ok_or(MfaError::NoPendingEnrolment)?;
        if factor.confirmed_at.is_some() {
            return Err(MfaError::AlreadyEnrolled);
        }
        let now = self.now();
        let generator = self.generator(user, &factor.secret_sealed)?;
        let step = generator
            .matching_step(code, now.unix_timestamp().max(0) as u64)
            .ok_or(MfaError::InvalidCode)?;
        let (codes, hashes) = self.codes.generate(&user.id);
        let amr = raised(&principal.session.amr, Method::Totp.amr());
        let event = AuditEvent::new(EventType::MfaEnabled, now, client)
            .actor(Some(&user.id))
            .subject(&user.id)
            .session(&principal.session.id)
            .detail("method", "totp");
        if !self
            .store
            .confirm_totp(
                &user.id,
                &factor.secret_sealed,
                step,
                &hashes,
                &principal.session.id,
                &amr,
                now,
                &event,
            )
            .await?
        {
            return Err(MfaError::NoPendingEnrolment);
        }
        self.mail(
            user,
            MailKind::MfaChanged {
                what: MfaChange::Enabled,
            },
        )
        .await;
        Ok(codes)
    }

    /// Turns two-step sign-in off: the factor and the backup codes go. The
    /// caller must have checked a recent `aal2` authentication.
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), MfaError> {
        let user = &principal.user;
        let event = AuditEvent::new(EventType::MfaDisabled, self.now(), client)
            .actor(Some(&user.id))
            .subject(&user.id)
            .session(&principal.session.id);
        self.remove(user, &event, MfaChange::Disabled).await
    }

    /// Removes the second factors of `user_id` as an administrator (the
    /// [`Access::may_act_on`](crate::roles::Access::may_act_on) rule;
    /// `mfa.reset`, the user is mailed). `NotEnrolled` when there are none.
    pub async fn admin_reset(&self, actor: &Actor, user_id: &str) -> Result<(), MfaError> {
        actor.require(perm::USERS_WRITE)?;
        let user = self.target(actor, user_id).await?;
        let event = actor
            .event(EventType::MfaReset, self.now())
            .subject(&user.id);
        self.remove(&user, &event, MfaChange::Reset).await
    }

    async fn remove(
        &self,
        user: &User,
        event: &AuditEvent,
        what: MfaChange,
    ) -> Result<(), MfaError> {
        let (mail, job) = self.compose(user, &user.email, &MailKind::MfaChanged { what });
        if !self
            .store
            .remove_mfa(&user.id, event, Some((&mail, &job)))
            .await?
        {
            return Err(MfaError::NotEnrolled);
        }
        self.wake_jobs();
        Ok(())
    }

    /// Replaces the backup codes (the old ones stop working); the new ones
    /// are returned, to be shown once. The caller must have checked a recent
    /// `aal2` authentication.
    pub async fn regenerate_backup_codes(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<Vec<String>, MfaError> {
        let user = &principal.user;
        let now = self.now();
        let (codes, hashes) = self.codes.generate(&user.id);
        let event = AuditEvent::new(EventType::MfaBackupCodesRegenerated, now, client)
            .actor(Some(&user.id))
            .subject(&user.id)
            .session(&principal.session.id);
        if !self
            .store
            .replace_backup_codes(&user.id, &hashes, now, &event)
            .await?
        {
            return Err(MfaError::NotEnrolled);
        }
        self.mail(
            user,
            MailKind::MfaChanged {
                what: MfaChange::BackupCodesRegenerated,
            },
        )
        .await;
        Ok(codes)
    }

    /// Whether the principal may make a sensitive change now: a recent
    /// authentication (`accounts.reauth_max_age_minutes`), and, when the
    /// account has a second factor, a session that passed one (`aal2`).
    pub async fn require_recent(&self, principal: &Principal) -> Result<(), MfaError> {
        if principal.session.auth_time + self.lifecycle.reauth_max_age <= self.now() {
            return Err(RecoveryError::ReauthRequired.into());
        }
        self.require_aal2_if_enrolled(principal).await
    }

    /// Whether `user_id` must enrol a second factor before anything else:
    /// it holds a role of `mfa.required_for_roles` and has no confirmed
    /// factor. Nothing is read while the policy names no role.
    pub async fn enrolment_required(&self, user_id: &str) -> Result<bool, MfaError> {
        let policy = &self.lifecycle.mfa;
        if policy.required_for_roles.is_empty() {
            return Ok(false);
        }
        if !policy.applies_to(&self.access(user_id).await?.roles) {
            return Ok(false);
        }
        Ok(!enrolled(&self.ctx, user_id).await?)
    }

    /// `EnrolmentRequired` for a session of an account that must enrol
    /// first (the gate of every route but enrolment and sign-out).
    pub async fn require_enrolled_if_required(
        &self,
        principal: &Principal,
    ) -> Result<(), MfaError> {
        if self.enrolment_required(&principal.user_id).await? {
            return Err(MfaError::EnrolmentRequired);
        }
        Ok(())
    }

    /// `StepUpRequired` when the account has a second factor and this
    /// session never passed it.
    pub async fn require_aal2_if_enrolled(&self, principal: &Principal) -> Result<(), MfaError> {
        if has_second_factor(&principal.session.amr) {
            return Ok(());
        }
        if enrolled(&self.ctx, &principal.user_id).await? {
            return Err(MfaError::StepUpRequired);
        }
        Ok(())
    }

    /// For writes that need recent `aal2` only from accounts with a factor
    /// (administration): nothing without one; with one, as
    /// [`Mfa::require_recent`].
    pub async fn require_step_up_if_enrolled(&self, principal: &Principal) -> Result<(), MfaError> {
        if !enrolled(&self.ctx, &principal.user_id).await? {
            return Ok(());
        }
        if !has_second_factor(&principal.session.amr) {
            return Err(MfaError::StepUpRequired);
        }
        self.require_recent(principal).await
    }

    /// Step-up with a second factor: the session's `auth_time` becomes now
    /// and it counts as `aal2` from here on.
    pub async fn reauthenticate(
        &self,
        principal: &Principal,
        method: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<ReauthInfo, MfaError> {
        let user = self.account(&principal.user_id).await?;
        let method = self.verify(&user, method, code, client, "reauth").await?;
        let now = self.now();
        let amr = raised(&principal.session.amr, method.amr());
        if !self
            .store
            .raise_session(&principal.session.id, now, &amr)
            .await?
        {
            return Err(SessionError::Unauthenticated("session ended").into());
        }
        Ok(ReauthInfo {
            auth_time: now,
            valid_until: now + self.lifecycle.reauth_max_age,
        })
    }

    /// The second step of a sign-in: the `mfa_token` (with its cookie in
    /// cookie mode) and a code. Every code checked takes one of the token's
    /// five attempts first (five wrong codes and it is dead) and the account's failure counters; the right one
    /// uses the token and starts the session.
    pub async fn complete_sign_in(&self, step: SecondStep<'_>) -> Result<LoginSuccess, MfaError> {
        let open = self
            .open_second_step(step.mfa_token, step.binding_cookie, step.kind)
            .await?;
        self.reserve_second_step(&open).await?;
        let method = self
            .verify(&open.user, step.method, step.code, step.client, "sign_in")
            .await?;
        self.finish_second_step(open, method, method.amr(), step.client)
            .await
    }

    /// Checks a code of `method` for `user`: charged to the account's
    /// failure counter first (a locked account gets no check), one use of a
    /// time step or backup code on success, `mfa.failed` on failure.
    async fn verify(
        &self,
        user: &User,
        method: &str,
        code: &str,
        client: &ClientInfo,
        place: &'static str,
    ) -> Result<Method, MfaError> {
        let method = Method::parse(method).ok_or(MfaError::MethodUnavailable)?;
        let status = status(&self.ctx, &user.id).await?;
        if !status.methods().contains(&method) {
            return Err(MfaError::MethodUnavailable);
        }
        let now = self.now();
        let charged = self
            .charge_attempt(&format!("user:{}", user.id), None, now)
            .await?;
        let accepted = match method {
            Method::Totp => match &status.totp {
                Some(factor) => {
                    let generator = self.generator(user, &factor.secret_sealed)?;
                    match generator.matching_step(code, now.unix_timestamp().max(0) as u64) {
                        Some(step) => self.store.use_totp_step(&user.id, step).await?,
                        None => false,
                    }
                }
                None => false,
            },
            Method::BackupCode => {
                if BackupCodes::well_formed(code) {
                    self.use_backup_code(user, code, client, place).await?
                } else {
                    false
                }
            }
            // a passkey is no typed code: `methods()` never offers it here
            Method::Webauthn => false,
        };
        let outcome = if accepted { "success" } else { "invalid_code" };
        metrics::counter!("latchkey_mfa_verifications_total", "method" => method.as_str(), "outcome" => outcome)
            .increment(1);
        if accepted {
            if let Some(c) = &charged {
                self.store.clear_login_failures(&c.key).await?;
            }
            return Ok(method);
        }
        if let Some(c) = &charged {
            c.note_lock();
        }
        self.record(
            AuditEvent::new(EventType::MfaFailed, now, client)
                .subject(&user.id)
                .reason(place)
                .detail("method", method.as_str()),
        )
        .await;
        Err(MfaError::InvalidCode)
    }

    async fn use_backup_code(
        &self,
        user: &User,
        code: &str,
        client: &ClientInfo,
        place: &'static str,
    ) -> Result<bool, MfaError> {
        let now = self.now();
        let left_after = self
            .store
            .backup_codes_left(&user.id)
            .await?
            .saturating_sub(1);
        let event = AuditEvent::new(EventType::MfaBackupCodeUsed, now, client)
            .actor(Some(&user.id))
            .subject(&user.id)
            .detail("where", place);
        let (mail, job) = self.compose(
            user,
            &user.email,
            &MailKind::BackupCodeUsed { left: left_after },
        );
        let used = self
            .store
            .use_backup_code(
                &user.id,
                &self.codes.hash(&user.id, code),
                now,
                &event,
                Some((&mail, &job)),
            )
            .await?;
        if used.is_some() {
            self.wake_jobs();
        }
        Ok(used.is_some())
    }

    async fn mail(&self, user: &User, kind: MailKind) {
        if let Err(e) = self.notice(user, &user.email, kind).await {
            tracing::warn!(error = %e, "could not queue the two-step sign-in notice");
        }
    }
}

async fn status(ctx: &Context, user_id: &str) -> Result<MfaStatus, StoreError> {
    let totp = ctx.store.totp_factor(user_id).await?;
    let backup_codes_left = if totp.as_ref().is_some_and(|t| t.confirmed_at.is_some()) {
        ctx.store.backup_codes_left(user_id).await?
    } else {
        0
    };
    Ok(MfaStatus {
        totp,
        backup_codes_left,
    })
}

/// Whether the account has a confirmed second factor (for the sign-in gate).
pub(crate) async fn enrolled(ctx: &Context, user_id: &str) -> Result<bool, StoreError> {
    Ok(ctx
        .store
        .totp_factor(user_id)
        .await?
        .is_some_and(|t| t.confirmed_at.is_some()))
}

/// The sign-in gate's second-factor branch: when `user` has a factor and
/// `amr` does not include one, the challenge that the second step answers
/// (stored; its token and cookie returned once), else `None`. A factor is
/// a confirmed TOTP authenticator (`totp`, `backup_code`) or any registered
/// passkey (`webauthn`), the latter unless the first step was a passkey
/// (one without user verification: the same passkey proves nothing twice).
pub(crate) async fn challenge_if_enrolled(
    ctx: &Context,
    user: &User,
    kind: SessionKind,
    amr: &[String],
) -> Result<Option<MfaRequired>, SharedError> {
    if has_second_factor(amr) {
        return Ok(None);
    }
    let status = status(ctx, &user.id).await?;
    let mut methods = status.methods();
    // any registered passkey is a second factor, unless it was the first
    if !amr.iter().any(|a| a == "hwk" || a == "swk")
        && !ctx.store.passkeys_of(&user.id).await?.is_empty()
    {
        methods.push(Method::Webauthn);
    }
    if methods.is_empty() {
        return Ok(None);
    }
    let now = ctx.now();
    let mfa_token = random_token();
    let binding_cookie = (kind == SessionKind::Cookie).then(random_token);
    let challenge = MfaChallenge {
        token_hash: sha256_hex(mfa_token.as_bytes()),
        user_id: user.id.clone(),
        kind,
        binding_hash: binding_cookie.as_deref().map(|c| sha256_hex(c.as_bytes())),
        amr: amr.to_vec(),
        created_at: now,
        expires_at: now + MFA_TOKEN_TTL,
        failures: 0,
        used_at: None,
    };
    ctx.store.insert_mfa_challenge(&challenge).await?;
    Ok(Some(MfaRequired {
        mfa_token,
        methods,
        binding_cookie,
        user_id: user.id.clone(),
        expires_at: challenge.expires_at,
    }))
}
