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
