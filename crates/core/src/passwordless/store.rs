//! What the passwordless slice needs from persistence.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::model::{AttemptTarget, CredentialCount, PasswordlessToken};
use crate::audit::AuditEvent;
use crate::lifecycle::{NewJob, QueuedMail};
use crate::store::StoreError;

/// Persistence of mailed links and codes. Each backend reads the row
/// locked inside its transaction, asks [`PasswordlessToken::decide`], and
/// writes only what it allows, so concurrent attempts or uses of one token
/// are serialized: of two uses exactly one wins, and no more attempts are
/// reserved than allowed. The user's outstanding ones are voided with the
/// other credential tokens (address or password change, suspension,
/// scheduled deletion).
#[async_trait]
pub trait PasswordlessStore: Send + Sync {
    /// Stores `token` with the mail carrying it, in one transaction, voiding
    /// the unused ones of the same kind mailed to the same address (a newer
    /// one supersedes them). `false` (nothing stored) when the mail's
    /// delivery job exists already (a retried job).
    async fn insert_passwordless_token(
        &self,
        token: &PasswordlessToken,
        mail: &QueuedMail,
        job: &NewJob,
    ) -> Result<bool, StoreError>;

    /// A link by the hash of its token, whatever its state.
    async fn passwordless_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<PasswordlessToken>, StoreError>;

    /// Reserves one attempt at the code of `target` if the rule allows it
    /// ([`super::Step::Attempt`]): the token with its attempts counted,
    /// or `None` (nothing changes).
    async fn reserve_passwordless_attempt(
        &self,
        target: AttemptTarget<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<PasswordlessToken>, StoreError>;

    /// Marks token `id` used if the rule allows it ([`super::Step::Use`]);
    /// `false` when it does not (used meanwhile, expired, exhausted).
    async fn use_passwordless_token(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// The user's credentials besides the password, by kind. Each kind of
    /// credential that can sign in alone (passkeys, linked identities) adds
    /// its count here, in both backends, when its table exists; none do yet.
    async fn credential_counts(&self, user_id: &str) -> Result<Vec<CredentialCount>, StoreError>;

    /// Removes the user's password if it is still `password_hash`, ends
    /// every other session than `keep`, voids the outstanding credential
    /// tokens and appends `event`, in one transaction; `false` (nothing
    /// changes) when the password is no longer that one.
    async fn remove_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;
}
