//! The account lifecycle as stored: single-use account tokens, the account's
//! state (deactivated, pending deletion, deleted), the mail outbox and
//! background jobs. Suspension is the administrators' (see
//! [`crate::user::Suspension`]).
//!
//! These are plain data; the rules live in [`crate::auth`] (flows) and
//! [`crate::jobs`] (the runner), the SQL in the backends.

use time::OffsetDateTime;

/// What an account token is for. Each purpose has its own lifetime; a newer
/// token of one purpose supersedes the user's older unused ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    /// Proves the user reads the mailbox of their address (24 hours).
    VerifyEmail,
    /// Sets a new password without the old one (15 minutes).
    PasswordReset,
    /// Moves the account to a new address, proven by this link (24 hours).
    EmailChange,
    /// Cancels a pending deletion (the grace period).
    CancelDeletion,
}

impl TokenPurpose {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::EmailChange => "email_change",
            TokenPurpose::CancelDeletion => "cancel_deletion",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<TokenPurpose> {
        Some(match s {
            "verify_email" => TokenPurpose::VerifyEmail,
            "password_reset" => TokenPurpose::PasswordReset,
            "email_change" => TokenPurpose::EmailChange,
            "cancel_deletion" => TokenPurpose::CancelDeletion,
            _ => return None,
        })
    }
}

/// The tokens that die, all at once, when the account's address or password
/// changes (a change, a completed reset, an email change, an administrator's
/// edit of the address), and when the account is suspended or its deletion
/// is scheduled: a link mailed before such a change must not outlive it.
/// Cancel-deletion links are not among them: they are the way back from a
/// scheduled deletion. The store voids them inside the transaction of the
/// change (`used_at` = the change's time).
pub const CREDENTIAL_TOKENS: [TokenPurpose; 3] = [
    TokenPurpose::VerifyEmail,
    TokenPurpose::PasswordReset,
    TokenPurpose::EmailChange,
];

/// A single-use token mailed to a user, stored only as a SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountToken {
    /// SHA-256 (hex) of the token; the token itself is never stored.
    pub token_hash: String,
    /// Whose token it is.
    pub user_id: String,
    /// What it is for.
    pub purpose: TokenPurpose,
    /// The address the token was mailed to, normalized: for verification
    /// the user's address at the time (a later change makes it useless),
    /// for an email change the new address (as entered).
    pub email: Option<String>,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// When it was used, if it was.
    pub used_at: Option<OffsetDateTime>,
}

/// What redeeming a token does, atomically with marking it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// `email_verified = true`, if the user's address is still the one the
    /// token was mailed to.
    VerifyEmail,
    /// Sets the password hash, marks the address verified (the mail proved
    /// it), ends every session and voids the user's other credential tokens
    /// ([`CREDENTIAL_TOKENS`]). Only while the user's address is still the
    /// one the link was mailed to.
    ResetPassword {
        /// The new PHC hash.
        password_hash: String,
    },
    /// Replaces the address with the token's (verified), ending no session
    /// but voiding the user's other credential tokens ([`CREDENTIAL_TOKENS`]).
    /// Fails with `Conflict("email")` when someone took the address meanwhile.
    ChangeEmail,
    /// Clears the pending deletion.
    CancelDeletion,
}

/// A redeemed token: who it belonged to, and the address before the change
/// (for [`Redemption::ChangeEmail`], to notify it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    /// The token's user.
    pub user_id: String,
    /// The user's address before the redemption.
    pub previous_email: String,
}

/// The owner of a token as a redemption reads it, inside the backend's
/// transaction (`None` for a deleted or unknown account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    /// The current address, as entered.
    pub email: String,
    /// The current address, normalized.
    pub email_normalized: String,
    /// Whether a deletion is pending.
    pub deletion_pending: bool,
}

/// Why a token does not redeem. Nothing changes, and the caller sees
/// the same answer whatever the reason (`None` from the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It is for something else.
    WrongPurpose,
    /// It was used (or superseded) already.
    Used,
    /// Its lifetime is over.
    Expired,
    /// The account is deleted or unknown.
    NoAccount,
    /// A verification or reset link mailed to an address the account no
    /// longer has.
    AddressChanged,
    /// An email-change token that names no address.
    NoNewAddress,
    /// A cancellation with no deletion pending.
    NoDeletionPending,
}

/// What a backend writes for a redemption, besides marking the token used
/// and recording the event, as decided by [`Redemption::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedemptionWrite<'a> {
    /// `email_verified = true`.
    VerifyEmail,
    /// Sets the password hash, marks the address verified, voids the
    /// user's other outstanding credential tokens ([`CREDENTIAL_TOKENS`])
    /// and ends every session (reason `password_reset`).
    ResetPassword {
        /// The new PHC hash.
        password_hash: &'a str,
    },
    /// Replaces the address (verified) and voids the user's other
    /// outstanding credential tokens ([`CREDENTIAL_TOKENS`]).
    ChangeEmail {
        /// The new address, as entered.
        email: &'a str,
        /// The new address, normalized.
        email_normalized: String,
    },
    /// Clears the pending deletion.
    CancelDeletion,
}

impl Redemption {
    /// The redemption rule, decided once for every backend: the token must
    /// have `purpose`, be unused and unexpired at `now`, and belong to a
    /// live account; then each action has its own condition.
    pub fn decide<'a>(
        &'a self,
        token: &'a AccountToken,
        purpose: TokenPurpose,
        owner: Option<&TokenOwner>,
        now: OffsetDateTime,
    ) -> Result<RedemptionWrite<'a>, Refusal> {
        if token.purpose != purpose {
            return Err(Refusal::WrongPurpose);
        }
        if token.used_at.is_some() {
            return Err(Refusal::Used);
        }
        if token.expires_at <= now {
            return Err(Refusal::Expired);
        }
        let owner = owner.ok_or(Refusal::NoAccount)?;
        match self {
            Redemption::VerifyEmail => {
                if token.email.as_deref() != Some(owner.email_normalized.as_str()) {
                    return Err(Refusal::AddressChanged);
                }
                Ok(RedemptionWrite::VerifyEmail)
            }
            Redemption::ResetPassword { password_hash } => {
                if token.email.as_deref() != Some(owner.email_normalized.as_str()) {
                    return Err(Refusal::AddressChanged);
                }
                Ok(RedemptionWrite::ResetPassword { password_hash })
            }
            Redemption::ChangeEmail => {
                let email = token.email.as_deref().ok_or(Refusal::NoNewAddress)?;
                Ok(RedemptionWrite::ChangeEmail {
                    email,
                    email_normalized: crate::user::normalize_email(email),
                })
            }
            Redemption::CancelDeletion if owner.deletion_pending => {
                Ok(RedemptionWrite::CancelDeletion)
            }
            Redemption::CancelDeletion => Err(Refusal::NoDeletionPending),
        }
    }
}

/// An account's lifecycle state (beyond the profile in [`crate::user::User`],
/// whose `suspension` is the administrators' suspension).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountState {
    /// When the user deactivated the account (signing in again reactivates it).
    pub deactivated_at: Option<OffsetDateTime>,
    /// When its personal data will be removed, if deletion is pending.
    pub deletion_due_at: Option<OffsetDateTime>,
    /// When it became a tombstone, if it did.
    pub deleted_at: Option<OffsetDateTime>,
}

/// A message in the durable outbox, with the job that delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Outbox id; also the `Message-ID` and the delivery job's idempotency key.
    pub id: String,
    /// The user it concerns, if any (its rows go when the user's data goes).
    pub user_id: Option<String>,
    /// Which template made it (`verify_email`, `password_reset`, …), for logs.
    pub template: String,
    /// Recipient, subject, bodies and link, sealed under the master key: the
    /// link carries a live token, which is never stored in the clear.
    pub sealed: Vec<u8>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
}

/// An outbox row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Outbox id.
    pub id: String,
    /// The user it concerns.
    pub user_id: Option<String>,
    /// The template name.
    pub template: String,
    /// The sealed message; `None` once sent (the content is wiped).
    pub sealed: Option<Vec<u8>>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// When the transport accepted it.
    pub sent_at: Option<OffsetDateTime>,
}

/// A job to run in the background, at most once per idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Identifier (UUIDv7).
    pub id: String,
    /// The handler (`mail.send`, `password_reset.request`, `sweep`).
    pub kind: String,
    /// Unique: enqueueing a second job with the same key does nothing.
    pub idempotency_key: String,
    /// Handler input; sealed when it holds anything personal.
    pub payload: Vec<u8>,
    /// Not before this instant.
    pub run_at: OffsetDateTime,
    /// Attempts before it is given up.
    pub max_attempts: u32,
    /// When it was enqueued.
    pub created_at: OffsetDateTime,
}

/// A job claimed by one worker until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Identifier.
    pub id: String,
    /// The handler.
    pub kind: String,
    /// Its idempotency key.
    pub idempotency_key: String,
    /// Handler input.
    pub payload: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
}

/// A job's row, for inspection (tests, operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Identifier.
    pub id: String,
    /// The handler.
    pub kind: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Next run.
    pub run_at: OffsetDateTime,
    /// When it finished, if it did.
    pub finished_at: Option<OffsetDateTime>,
    /// `done` or `failed` once finished.
    pub outcome: Option<String>,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// What a sweep removed or cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Sessions that ended before the retention cut-off, deleted (their
    /// refresh tokens with them).
    pub sessions: u64,
    /// Expired refresh tokens deleted.
    pub refresh_tokens: u64,
    /// Grace responses (`successor_sealed`) cleared once `grace_until` passed.
    pub grace_responses: u64,
    /// Used or expired account tokens deleted.
    pub account_tokens: u64,
    /// Finished jobs past retention deleted.
    pub jobs: u64,
    /// Outbox rows past retention deleted.
    pub mail: u64,
}

/// The cut-offs of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepCutoffs {
    /// The current time: expiries are compared with it.
    pub now: OffsetDateTime,
    /// Ended sessions, finished jobs and old outbox rows before this go.
    pub retain_after: OffsetDateTime,
}

/// What a sweep removes, decided once from its cut-offs
/// ([`SweepCutoffs::plan`]). Each kind of row has one instant: a row goes
/// when its relevant time is at or before it. The predicates below are the
/// rule; a backend runs it as one statement per kind (the conformance suite
/// checks that the rows it leaves are the ones the predicates keep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepPlan {
    /// Sessions that ended (revoked, else the earlier of their absolute and
    /// sliding ends) at or before this go, with their refresh tokens.
    pub sessions_ended_by: OffsetDateTime,
    /// Refresh tokens that expire at or before this go.
    pub refresh_tokens_expired_by: OffsetDateTime,
    /// Grace responses whose window ends at or before this are wiped.
    pub grace_ended_by: OffsetDateTime,
    /// Account tokens that expire at or before this go, and every used one.
    pub account_tokens_expired_by: OffsetDateTime,
    /// Jobs finished at or before this go (unfinished ones never).
    pub jobs_finished_by: OffsetDateTime,
    /// Outbox rows sent (or, unsent, queued) at or before this go.
    pub mail_settled_by: OffsetDateTime,
}

impl SweepCutoffs {
    /// The sweep rule: what is expired goes at `now`; what only ended
    /// (sessions, jobs, mail) is kept for the retention period first.
    pub fn plan(&self) -> SweepPlan {
        SweepPlan {
            sessions_ended_by: self.retain_after,
            refresh_tokens_expired_by: self.now,
            grace_ended_by: self.now,
            account_tokens_expired_by: self.now,
            jobs_finished_by: self.retain_after,
            mail_settled_by: self.retain_after,
        }
    }
}

impl SweepPlan {
    /// Whether the sweep deletes this session (and its refresh tokens).
    pub fn removes_session(&self, s: &crate::session::Session) -> bool {
        let ended = s.revoked_at.unwrap_or(s.expires_at.min(s.idle_expires_at));
        ended <= self.sessions_ended_by
    }

    /// Whether the sweep deletes this refresh token.
    pub fn removes_refresh_token(&self, t: &crate::session::RefreshToken) -> bool {
        t.expires_at <= self.refresh_tokens_expired_by
    }

    /// Whether the sweep wipes a grace response kept until `grace_until`.
    pub fn clears_grace_response(&self, grace_until: OffsetDateTime) -> bool {
        grace_until <= self.grace_ended_by
    }

    /// Whether the sweep deletes this account token.
    pub fn removes_account_token(&self, t: &AccountToken) -> bool {
        t.used_at.is_some() || t.expires_at <= self.account_tokens_expired_by
    }

    /// Whether the sweep deletes a job that finished at `finished_at`.
    pub fn removes_job(&self, finished_at: Option<OffsetDateTime>) -> bool {
        finished_at.is_some_and(|f| f <= self.jobs_finished_by)
    }

    /// Whether the sweep deletes this outbox row.
    pub fn removes_mail(&self, m: &OutboxMessage) -> bool {
        m.sent_at.unwrap_or(m.created_at) <= self.mail_settled_by
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000) + time::Duration::minutes(minutes)
    }

    fn token(purpose: TokenPurpose, email: Option<&str>) -> AccountToken {
        AccountToken {
            token_hash: "h".into(),
            user_id: "u".into(),
            purpose,
            email: email.map(str::to_owned),
            created_at: t(0),
            expires_at: t(15),
            used_at: None,
        }
    }

    fn owner(deletion_pending: bool) -> TokenOwner {
        TokenOwner {
            email: "Ada@Example.com".into(),
            email_normalized: "ada@example.com".into(),
            deletion_pending,
        }
    }

    /// The redemption rule as a table: (case, token, purpose asked for,
    /// action, owner, minute of the redemption, expected decision).
    #[test]
    fn redemption_decisions() {
        use TokenPurpose::*;
        let reset = Redemption::ResetPassword {
            password_hash: "$argon2id$new".into(),
        };
        let verify = token(VerifyEmail, Some("ada@example.com"));
        let change = token(EmailChange, Some("New@Example.org"));
        let cancel = token(CancelDeletion, None);
        let used = AccountToken {
            used_at: Some(t(1)),
            ..token(PasswordReset, None)
        };
        type Case<'a> = (
            &'a str,
            AccountToken,
            TokenPurpose,
            &'a Redemption,
            Option<TokenOwner>,
            i64,
            Result<RedemptionWrite<'a>, Refusal>,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                "verification",
                verify.clone(),
                VerifyEmail,
                &Redemption::VerifyEmail,
                Some(owner(false)),
                5,
                Ok(RedemptionWrite::VerifyEmail),
            ),
            (
                "verification after the address changed",
                token(VerifyEmail, Some("old@example.com")),
                VerifyEmail,
                &Redemption::VerifyEmail,
                Some(owner(false)),
                5,
                Err(Refusal::AddressChanged),
            ),
            (
                "verification token without address",
                token(VerifyEmail, None),
                VerifyEmail,
                &Redemption::VerifyEmail,
                Some(owner(false)),
                5,
                Err(Refusal::AddressChanged),
            ),
            (
                "another purpose",
                verify.clone(),
                PasswordReset,
                &reset,
                Some(owner(false)),
                5,
                Err(Refusal::WrongPurpose),
            ),
            (
                "used",
                used,
                PasswordReset,
                &reset,
                Some(owner(false)),
                5,
                Err(Refusal::Used),
            ),
            (
                "expired (the end is exclusive)",
                token(PasswordReset, None),
                PasswordReset,
                &reset,
                Some(owner(false)),
                15,
                Err(Refusal::Expired),
            ),
            (
                "deleted account",
                token(PasswordReset, None),
                PasswordReset,
                &reset,
                None,
                5,
                Err(Refusal::NoAccount),
            ),
            (
                "reset",
                token(PasswordReset, Some("ada@example.com")),
                PasswordReset,
                &reset,
                Some(owner(false)),
                14,
                Ok(RedemptionWrite::ResetPassword {
                    password_hash: "$argon2id$new",
                }),
            ),
            (
                "reset mailed to an address the account left",
                token(PasswordReset, Some("old@example.com")),
                PasswordReset,
                &reset,
                Some(owner(false)),
                5,
                Err(Refusal::AddressChanged),
            ),
            (
                "email change",
                change.clone(),
                EmailChange,
                &Redemption::ChangeEmail,
                Some(owner(false)),
                5,
                Ok(RedemptionWrite::ChangeEmail {
                    email: "New@Example.org",
                    email_normalized: "new@example.org".into(),
                }),
            ),
            (
                "email change without address",
                token(EmailChange, None),
                EmailChange,
                &Redemption::ChangeEmail,
                Some(owner(false)),
                5,
                Err(Refusal::NoNewAddress),
            ),
            (
                "cancel deletion",
                cancel.clone(),
                CancelDeletion,
                &Redemption::CancelDeletion,
                Some(owner(true)),
                5,
                Ok(RedemptionWrite::CancelDeletion),
            ),
            (
                "cancel with nothing pending",
                cancel,
                CancelDeletion,
                &Redemption::CancelDeletion,
                Some(owner(false)),
                5,
                Err(Refusal::NoDeletionPending),
            ),
        ];
        for (name, token, purpose, action, owner, at, expected) in cases {
            assert_eq!(
                action.decide(&token, purpose, owner.as_ref(), t(at)),
                expected,
                "{name}"
            );
        }
    }

    /// The sweep rule as a table: for cut-offs at minute 1000 with seven
    /// days' retention, which rows go.
    #[test]
    fn sweep_decisions() {
        use crate::session::{RefreshToken, Session, SessionKind};
        let now = t(1_000);
        let keep = now - time::Duration::days(7);
        let plan = SweepCutoffs {
            now,
            retain_after: keep,
        }
        .plan();
        let ms = time::Duration::milliseconds(1);
        let session = |revoked: Option<OffsetDateTime>, expires, idle| Session {
            id: "s".into(),
            user_id: "u".into(),
            kind: SessionKind::Bearer,
            created_at: keep - time::Duration::days(30),
            last_seen_at: keep - time::Duration::days(30),
            expires_at: expires,
            idle_expires_at: idle,
            auth_time: keep,
            amr: vec![],
            ip: None,
            user_agent: None,
            device_label: None,
            cookie_token_hash: None,
            revoked_at: revoked,
            revoked_reason: None,
        };
        let far = now + time::Duration::days(30);
        for (name, s, goes) in [
            (
                "revoked at the retention cut-off",
                session(Some(keep), far, far),
                true,
            ),
            (
                "revoked just after it",
                session(Some(keep + ms), far, far),
                false,
            ),
            (
                "revoked, the ends long past",
                session(Some(keep + ms), keep, keep),
                false,
            ),
            ("expired at the cut-off", session(None, keep, far), true),
            ("idle at the cut-off", session(None, far, keep), true),
            (
                "expired after the cut-off",
                session(None, keep + ms, far),
                false,
            ),
            ("live", session(None, far, far), false),
        ] {
            assert_eq!(plan.removes_session(&s), goes, "session {name}");
        }
        let refresh = |expires| RefreshToken {
            token_hash: "h".into(),
            session_id: "s".into(),
            created_at: keep,
            expires_at: expires,
            used_at: None,
        };
        assert!(plan.removes_refresh_token(&refresh(now)));
        assert!(!plan.removes_refresh_token(&refresh(now + ms)));
        assert!(plan.clears_grace_response(now));
        assert!(!plan.clears_grace_response(now + ms));
        let account = |expires, used| AccountToken {
            expires_at: expires,
            used_at: used,
            ..token(TokenPurpose::PasswordReset, None)
        };
        for (name, tok, goes) in [
            ("expired now", account(now, None), true),
            ("live", account(now + ms, None), false),
            ("used, still live", account(far, Some(now)), true),
        ] {
            assert_eq!(
                plan.removes_account_token(&tok),
                goes,
                "account token {name}"
            );
        }
        for (finished, goes) in [(None, false), (Some(keep), true), (Some(keep + ms), false)] {
            assert_eq!(
                plan.removes_job(finished),
                goes,
                "job finished {finished:?}"
            );
        }
        let mail = |created, sent| OutboxMessage {
            id: "m".into(),
            user_id: None,
            template: "t".into(),
            sealed: None,
            created_at: created,
            sent_at: sent,
        };
        for (name, m, goes) in [
            ("unsent, queued at the cut-off", mail(keep, None), true),
            ("unsent, queued after it", mail(keep + ms, None), false),
            (
                "queued long ago, sent after the cut-off",
                mail(t(0) - time::Duration::days(30), Some(keep + ms)),
                false,
            ),
            ("sent at the cut-off", mail(keep - ms, Some(keep)), true),
        ] {
            assert_eq!(plan.removes_mail(&m), goes, "mail {name}");
        }
    }
}
