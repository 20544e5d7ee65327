//! [`LegacyHashStore`] on PostgreSQL.

use async_trait::async_trait;
use latchkey_core::legacy_hashes::LegacyHashStore;
use latchkey_core::store::StoreError;

use crate::{PgStore, backend};

/// Accounts per scheme id: the text between the first two `$` of the hash.
const SCHEMES: &str = "SELECT split_part(password_hash, '$', 2), COUNT(*)
                       FROM users WHERE password_hash LIKE '$%$%' GROUP BY 1";

/// The greatest hash per scheme id, argon2id left out.
const SAMPLES: &str = "SELECT MAX(password_hash) FROM users
                       WHERE password_hash LIKE '$%$%' AND password_hash NOT LIKE '$argon2id$%'
                       GROUP BY split_part(password_hash, '$', 2)";

#[async_trait]
impl LegacyHashStore for PgStore {
    async fn legacy_hash_samples(&self) -> Result<Vec<String>, StoreError> {
        self.query1(SAMPLES, &[])
            .await?
            .iter()
            .map(|r| r.try_get(0).map_err(backend))
            .collect()
    }

    async fn password_hash_schemes(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.query1(SCHEMES, &[])
            .await?
            .iter()
            .map(|r| {
                let scheme: String = r.try_get(0).map_err(backend)?;
                let n: i64 = r.try_get(1).map_err(backend)?;
                Ok((scheme, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
    }
}
