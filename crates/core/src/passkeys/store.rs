//! What the passkeys slice needs from persistence.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::model::{Passkey, PasskeyChallenge, SignupTicket};
use crate::audit::AuditEvent;
use crate::store::StoreError;
use crate::user::User;
use crate::ways_in::LastWayIn;

/// Persistence of passkeys and their ceremonies' challenges.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// Stores a challenge (and drops the expired ones).
    async fn insert_passkey_challenge(
        &self,
        challenge: &PasskeyChallenge,
    ) -> Result<(), StoreError>;

    /// Takes the unexpired challenge whose hash is `challenge_hash`: it is
    /// deleted in the same statement, so of two requests with one challenge
    /// exactly one gets it. `None` when unknown, taken or expired.
    async fn take_passkey_challenge(
        &self,
        challenge_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<PasskeyChallenge>, StoreError>;

    /// Stores a new passkey with `event`, in one transaction;
    /// `Conflict` when the credential is registered already
    /// (to this account or another).
    async fn insert_passkey(&self, passkey: &Passkey, event: &AuditEvent)
    -> Result<(), StoreError>;

    /// The passkeys of an account, oldest first.
    async fn passkeys_of(&self, user_id: &str) -> Result<Vec<Passkey>, StoreError>;

    /// The passkey with credential id `credential_id`.
    async fn passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError>;

    /// Records a use: the new counter, backup state and `last_used_at`, only
    /// if the stored counter is still `expected` (so two assertions racing
    /// with one counter value cannot both pass). `false` otherwise.
    async fn record_passkey_use(
        &self,
        id: &str,
        expected: u32,
        sign_count: u32,
        backup_state: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Renames a passkey of `user_id`; `false` when the account has no
    /// passkey `id`.
    async fn rename_passkey(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Deletes a passkey of `user_id` with `event` if `rule` allows it
    /// ([`LastWayIn::enforce`] on the ways in counted with the account
    /// locked), in one transaction; `false` when the account has no passkey
    /// `id`, `Conflict("last_way_in")` when the rule refuses.
    async fn delete_passkey(
        &self,
        user_id: &str,
        id: &str,
        rule: LastWayIn,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;
}

/// Persistence of passkey-only sign-up: the tickets a used link or code
/// gives, and the account made with its first passkey.
#[async_trait]
pub trait PasskeySignupStore: Send + Sync {
    /// Stores a new sign-up ticket (and drops the expired ones).
    async fn insert_signup_ticket(&self, ticket: &SignupTicket) -> Result<(), StoreError>;

    /// The ticket whose hash is `ticket_hash`, unexpired at `now` (a used
    /// one is gone).
    async fn signup_ticket(
        &self,
        ticket_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<SignupTicket>, StoreError>;

    /// In one transaction: takes (deletes) the ticket `ticket_hash`
    /// (unexpired at `now`, for `user`'s address and id), creates `user` with
    /// `passkey` and appends `events`. `false` (nothing changes) when the
    /// ticket is not usable; `Conflict` when the address or the credential
    /// is taken meanwhile (nothing changes).
    async fn sign_up_with_passkey(
        &self,
        ticket_hash: &str,
        now: OffsetDateTime,
        user: &User,
        passkey: &Passkey,
        events: &[AuditEvent],
    ) -> Result<bool, StoreError>;
}
