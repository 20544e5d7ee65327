//! What the OAuth slice needs from a store.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::code::{AuthorizationCode, CodeTaken};
use super::grants::{ClientSession, ClientSessions, Grant};
use super::model::{ClientSettings, OAuthClient};
use crate::audit::AuditEvent;
use crate::keys::{Client, StoredKey};
use crate::store::StoreError;

/// Persistence of OAuth clients' registrations. Every write records its
/// audit event in the same transaction.
#[async_trait]
pub trait OAuthStore: Send + Sync {
    /// Stores a new client and its settings. `Conflict("id")` if taken.
    async fn insert_oauth_client(
        &self,
        client: &Client,
        settings: &ClientSettings,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// A client with its settings (a client without a settings row reads
    /// with the defaults).
    async fn oauth_client(&self, id: &str) -> Result<Option<OAuthClient>, StoreError>;

    /// Every client, by id.
    async fn list_oauth_clients(&self) -> Result<Vec<OAuthClient>, StoreError>;

    /// Replaces a client's name and settings. `NotFound` if there is no such client.
    async fn update_oauth_client(
        &self,
        id: &str,
        name: &str,
        settings: &ClientSettings,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Replaces a client's secret hash. `NotFound` if there is no such client.
    async fn set_client_secret_hash(
        &self,
        id: &str,
        secret_hash: &str,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Deletes a client and its settings. `NotFound` if there is no such client.
    async fn delete_oauth_client(&self, id: &str, event: &AuditEvent) -> Result<(), StoreError>;

    /// Every ID-token signing key, newest first (like
    /// [`crate::store::KeyStore::signing_keys`], in its own table).
    async fn id_token_keys(&self) -> Result<Vec<StoredKey>, StoreError>;

    /// The active ID-token key's id.
    async fn active_id_token_kid(&self) -> Result<Option<String>, StoreError>;

    /// Makes `new` the active ID-token key, with the rules of
    /// [`crate::store::KeyStore::rotate_signing_key`].
    async fn rotate_id_token_key(
        &self,
        new: &StoredKey,
        rotate_if_created_before: Option<OffsetDateTime>,
        previous_publish_until: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Stores a new authorization code.
    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> Result<(), StoreError>;

    /// Takes a code in one atomic step: marks it used at `now` if it was
    /// unused ([`CodeTaken::Taken`], with the code as it was), or reports
    /// it used before or unknown. Of concurrent takes exactly one wins.
    async fn take_authorization_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<CodeTaken, StoreError>;
}

/// Persistence of the provider's flows: client sessions and remembered
/// consent (see [`super::grants`]).
#[async_trait]
pub trait OAuthGrantStore: Send + Sync {
    /// Stores a client session's row (its `sessions` row exists).
    async fn insert_client_session(&self, session: &ClientSession) -> Result<(), StoreError>;

    /// The client session of `session_id`, if it is one.
    async fn client_session(&self, session_id: &str) -> Result<Option<ClientSession>, StoreError>;

    /// The client session the refresh token with this hash belongs to.
    async fn client_session_by_refresh(
        &self,
        token_hash: &str,
    ) -> Result<Option<ClientSession>, StoreError>;

    /// Ends the unrevoked client sessions `which` selects; returns how many.
    async fn revoke_client_sessions(
        &self,
        which: ClientSessions<'_>,
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<u64, StoreError>;

    /// The consent remembered for (user, client).
    async fn grant(&self, user_id: &str, client_id: &str) -> Result<Option<Grant>, StoreError>;

    /// Remembers consent: inserts, or replaces the scope and `updated_at`;
    /// records `event` in the same transaction.
    async fn upsert_grant(&self, grant: &Grant, event: &AuditEvent) -> Result<(), StoreError>;

    /// The user's grants, by client id.
    async fn grants_of_user(&self, user_id: &str) -> Result<Vec<Grant>, StoreError>;

    /// Forgets a grant and ends the client's sessions of that user, in one
    /// transaction that records `event` when there was a grant. Returns
    /// whether there was one.
    async fn delete_grant(
        &self,
        user_id: &str,
        client_id: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;
}
