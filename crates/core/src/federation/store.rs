//! What the federation slice needs from persistence.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::model::Identity;
use crate::audit::AuditEvent;
use crate::store::StoreError;
use crate::user::User;
use crate::ways_in::LastWayIn;

/// Persistence of linked identities and of the one-time rows of a flow
/// (its `state`, the API mode's code).
#[async_trait]
pub trait FederationStore: Send + Sync {
    /// The identity of `subject` at `provider`.
    async fn identity_by_subject(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError>;

    /// The identities linked to a user, oldest first.
    async fn identities_of(&self, user_id: &str) -> Result<Vec<Identity>, StoreError>;

    /// Links `identity` with `event`, in one transaction;
    /// `Conflict("identity")` when (provider, subject) is linked already.
    async fn link_identity(
        &self,
        identity: &Identity,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Creates `user` (no roles, no password) with `identity` and `event`
    /// in one transaction; `Conflict("email")` or `Conflict("identity")`
    /// and nothing stored when taken.
    async fn create_user_with_identity(
        &self,
        user: &User,
        identity: &Identity,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Removes identity `id` of `user_id` with `event` if `rule` allows it
    /// ([`LastWayIn::enforce`] on the ways in counted with the account
    /// locked): in one transaction, so of two concurrent removals of the
    /// last two ways in at most one passes. `Ok(false)` when there is no
    /// such identity; `Conflict("last_way_in")` when the rule refuses.
    async fn unlink_identity(
        &self,
        user_id: &str,
        id: &str,
        rule: LastWayIn,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Stores a one-time row `data` of `purpose` under `key_hash` until
    /// `expires_at`, dropping the rows expired at `now`.
    async fn put_federation_pending(
        &self,
        key_hash: &str,
        purpose: &str,
        data: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Takes (deletes and returns) the row of `purpose` under `key_hash`
    /// if it has not expired at `now`: at most one caller gets it.
    async fn take_federation_pending(
        &self,
        key_hash: &str,
        purpose: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError>;
}

/// What a provider said of a linked identity at its last sign-in: the
/// profile and, when the provider keeps them, its tokens (sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRecord {
    /// The display name the provider asserted.
    pub name: Option<String>,
    /// The picture (avatar) URL the provider asserted.
    pub picture: Option<String>,
    /// The provider's tokens, sealed under the master key with the
    /// identity's id as associated data; `None`: none kept.
    pub tokens_sealed: Option<Vec<u8>>,
    /// Grows with every write (a sign-in or a refresh).
    pub version: i64,
    /// When it was last written.
    pub updated_at: OffsetDateTime,
}

/// Persistence of what providers said of linked identities (profile,
/// sealed upstream tokens); removed with the identity.
#[async_trait]
pub trait IdentityUpstreamStore: Send + Sync {
    /// Writes the record of identity `identity_id` (replacing the one
    /// before, version + 1; `record.version` is ignored). `Ok(false)` when
    /// there is no such identity.
    async fn record_upstream(
        &self,
        identity_id: &str,
        record: &UpstreamRecord,
    ) -> Result<bool, StoreError>;

    /// The record of identity `identity_id`.
    async fn upstream_of(&self, identity_id: &str) -> Result<Option<UpstreamRecord>, StoreError>;

    /// Replaces the sealed tokens of `identity_id` if its record is still
    /// at `version` (then version + 1): `Ok(false)` when another write came
    /// first, so two refreshes never both store their tokens.
    async fn replace_upstream_tokens(
        &self,
        identity_id: &str,
        version: i64,
        tokens_sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}
