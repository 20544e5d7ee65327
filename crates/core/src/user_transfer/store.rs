//! The store's part of moving accounts in.

use async_trait::async_trait;

use super::{LinkedIdentity, NewAccount};
use crate::store::StoreError;

/// Writes batches of accounts.
#[async_trait]
pub trait UserTransferStore: Send + Sync {
    /// Inserts `accounts` in one transaction, skipping every account whose
    /// normalized address is stored already (or comes earlier in the
    /// batch), with their roles, events and sessions; answers how many were
    /// inserted. A username taken by another account fails the whole batch
    /// with `Conflict("username")` (an unknown role with `NotFound`), and
    /// then nothing is stored. Running a batch again inserts nothing twice.
    /// A linked identity whose (provider, subject) is linked already fails
    /// the batch with `Conflict("identity")`.
    async fn insert_accounts(&self, accounts: &[NewAccount]) -> Result<u64, StoreError>;

    /// Of these (provider, subject) pairs, the ones linked already.
    async fn identities_taken(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// The identities linked to these accounts, as (user id, identity), in
    /// any order.
    async fn identities_of_users(
        &self,
        user_ids: &[String],
    ) -> Result<Vec<(String, LinkedIdentity)>, StoreError>;

    /// Of these normalized addresses and usernames, the ones stored already
    /// (one read for a whole batch of lines to check).
    async fn taken(
        &self,
        emails: &[String],
        usernames: &[String],
    ) -> Result<(Vec<String>, Vec<String>), StoreError>;
}
