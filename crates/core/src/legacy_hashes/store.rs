//! What the store answers about imported hashes.

use async_trait::async_trait;

use super::LegacyFormat;
use crate::store::StoreError;

/// Counts of stored password hashes by scheme, for
/// `latchkey_legacy_password_hashes`.
#[async_trait]
pub trait LegacyHashStore: Send + Sync {
    /// The number of accounts per scheme id of their password hash (the text
    /// between the first two `$`; accounts without a password are not
    /// counted), in any order. One scan of the users; call it rarely.
    async fn password_hash_schemes(&self) -> Result<Vec<(String, u64)>, StoreError>;

    /// One stored hash per scheme id other than argon2id (the greatest by
    /// text, which for bcrypt is the highest cost), in any order: what
    /// [`crate::password::PasswordHasher::calibrate`] times. One scan of the
    /// users; call it rarely.
    async fn legacy_hash_samples(&self) -> Result<Vec<String>, StoreError>;
}

/// Sets `latchkey_legacy_password_hashes{format}` from one count of the
/// stored hashes by scheme: what is left to replace at sign-in.
pub async fn record_gauge(store: &dyn LegacyHashStore) -> Result<(), StoreError> {
    let counts = LegacyFormat::tally(&store.password_hash_schemes().await?);
    for (format, n) in counts {
        metrics::gauge!("latchkey_legacy_password_hashes", "format" => format.label())
            .set(n as f64);
    }
    Ok(())
}

/// Sets the hash pool's mismatch floor from the imported hashes left (see
/// [`crate::password::PasswordHasher::calibrate`]); returns it.
pub async fn calibrate_floor(
    store: &dyn LegacyHashStore,
    hasher: &crate::password::PasswordHasher,
) -> Result<std::time::Duration, crate::error::SharedError> {
    let samples = store.legacy_hash_samples().await?;
    Ok(hasher.calibrate(&samples).await?)
}
