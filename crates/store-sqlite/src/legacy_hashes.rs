//! [`LegacyHashStore`] on SQLite.

use async_trait::async_trait;
use latchkey_core::legacy_hashes::LegacyHashStore;
use latchkey_core::store::StoreError;

use crate::{SqliteStore, map_err};

/// Accounts per scheme id: the text between the first two `$` of the hash.
const SCHEMES: &str =
    "SELECT substr(password_hash, 2, instr(substr(password_hash, 2), '$') - 1) AS scheme,
                              COUNT(*)
                       FROM users WHERE password_hash LIKE '$%$%' GROUP BY scheme";

/// The greatest hash per scheme id, argon2id left out.
const SAMPLES: &str = "SELECT MAX(password_hash) FROM users
                       WHERE password_hash LIKE '$%$%' AND password_hash NOT LIKE '$argon2id$%'
                       GROUP BY substr(password_hash, 2, instr(substr(password_hash, 2), '$') - 1)";

#[async_trait]
impl LegacyHashStore for SqliteStore {
    async fn legacy_hash_samples(&self) -> Result<Vec<String>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(SAMPLES).map_err(map_err)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err)).collect()
        })
        .await
    }

    async fn password_hash_schemes(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(SCHEMES).map_err(map_err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(map_err)?;
            rows.map(|r| {
                r.map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
                    .map_err(map_err)
            })
            .collect()
        })
        .await
    }
}
