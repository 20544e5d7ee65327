//! What the mfa slice needs from persistence.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::model::{MfaChallenge, TotpFactor};
use crate::audit::AuditEvent;
use crate::lifecycle::{NewJob, QueuedMail};
use crate::store::StoreError;

/// Persistence of second factors and sign-in challenges. Every method that
/// decides (a step, a code, a challenge) does so with one conditional write,
/// so concurrent requests cannot both succeed.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// The user's TOTP factor, pending or confirmed.
    async fn totp_factor(&self, user_id: &str) -> Result<Option<TotpFactor>, StoreError>;

    /// How many unused backup codes the user has.
    async fn backup_codes_left(&self, user_id: &str) -> Result<u32, StoreError>;

    /// Stores a pending factor, replacing a pending one; `Conflict("totp")`
    /// when a confirmed one exists (nothing changes).
    async fn put_pending_totp(&self, factor: &TotpFactor) -> Result<(), StoreError>;

    /// Confirms the pending factor whose sealed secret is `secret_sealed`
    /// with the first code's `step`, replaces the backup codes with `codes`
    /// (hashes), raises session `session_id` to `amr` at `now`, ends the
    /// user's other sessions, and appends `event` — in one transaction.
    /// `false` (nothing changes) when there is no such pending factor.
    #[allow(clippy::too_many_arguments)]
    async fn confirm_totp(
        &self,
        user_id: &str,
        secret_sealed: &[u8],
        step: i64,
        codes: &[String],
        session_id: &str,
        amr: &[String],
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Accepts time step `step` of the confirmed factor only if it is later
    /// than every step accepted before (one conditional update).
    async fn use_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError>;

    /// Marks the unused backup code `code_hash` used, with `event` and the
    /// notice `mail` in the same transaction; the codes left, or `None`
    /// when there is no such unused code (nothing changes).
    async fn use_backup_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
        mail: Option<(&QueuedMail, &NewJob)>,
    ) -> Result<Option<u32>, StoreError>;

    /// Replaces every backup code of a user with a confirmed factor by
    /// `codes` (hashes), with `event`; `false` without a confirmed factor.
    async fn replace_backup_codes(
        &self,
        user_id: &str,
        codes: &[String],
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Removes every factor, backup code and open challenge of the user,
    /// with `event` and the notice `mail`; `false` when there was no factor.
    async fn remove_mfa(
        &self,
        user_id: &str,
        event: &AuditEvent,
        mail: Option<(&QueuedMail, &NewJob)>,
    ) -> Result<bool, StoreError>;

    /// Stores a new sign-in challenge.
    async fn insert_mfa_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError>;

    /// A challenge by the hash of its token, whatever its state.
    async fn mfa_challenge(&self, token_hash: &str) -> Result<Option<MfaChallenge>, StoreError>;

    /// Reserves one attempt at an open challenge (unused, unexpired at
    /// `now`, fewer than `max_attempts` reserved) before its code is
    /// checked: the attempt's number, or `None` (nothing changes) when the
    /// challenge is not open. One conditional update, so concurrent codes
    /// never reserve more than `max_attempts`; a right code does not give
    /// its attempt back.
    async fn reserve_mfa_attempt(
        &self,
        token_hash: &str,
        max_attempts: u32,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError>;

    /// Marks an unused challenge (whose attempt was reserved) used; `false`
    /// when another request used it first.
    async fn use_mfa_challenge(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Records a fresh authentication of an unrevoked session: `auth_time`
    /// and its `amr`. `false` when the session has ended.
    async fn raise_session(
        &self,
        session_id: &str,
        auth_time: OffsetDateTime,
        amr: &[String],
    ) -> Result<bool, StoreError>;
}
