//! What the store answers about imported hashes.

use async_trait::async_trait;

use crate::store::StoreError;

/// Counts of stored password hashes by scheme, for
/// `latchkey_legacy_password_hashes`.
#[async_trait]
pub trait LegacyHashStore: Send + Sync {
    /// The number of accounts per scheme id of their password hash (the text
    /// between the first two `$`; accounts without a password are not
    /// counted), in any order. One scan of the users; call it rarely.
    async fn password_hash_schemes(&self) -> Result<Vec<(String, u64)>, StoreError>;
}
