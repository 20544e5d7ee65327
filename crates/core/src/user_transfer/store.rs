//! The store's part of moving accounts in.

use async_trait::async_trait;

use super::NewAccount;
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
    async fn insert_accounts(&self, accounts: &[NewAccount]) -> Result<u64, StoreError>;

    /// Of these normalized addresses and usernames, the ones stored already
    /// (one read for a whole batch of lines to check).
    async fn taken(
        &self,
        emails: &[String],
        usernames: &[String],
    ) -> Result<(Vec<String>, Vec<String>), StoreError>;
}
