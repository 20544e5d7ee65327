//! [`KeyStore`] on PostgreSQL.
//!
//! A rotation is one transaction that first takes the transaction-scoped
//! advisory lock [`KEYS_LOCK_KEY`]: the decision depends on a row that may
//! not exist yet (the first key), which `FOR UPDATE` cannot lock. Nodes
//! racing to rotate therefore run one after the other, and each reads the
//! active key only once it holds the lock (READ COMMITTED: a statement sees
//! what committed before it began). The partial unique index
//! `signing_keys_one_active` backs this up: there is never more than one
//! unretired key.

use async_trait::async_trait;
use latchkey_core::keys::StoredKey;
use latchkey_core::store::{KeyStore, StoreError, truncate_to_millis};
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::migrate::fnv1a;
use crate::{PgStore, settle};

/// The advisory lock serializing signing-key rotations: the 64-bit FNV-1a
/// hash of `"latchkey-signing-keys"`, distinct from the migrations' lock and
/// fixed so that every latchkey version takes the same one.
pub(crate) const KEYS_LOCK_KEY: i64 = fnv1a(b"latchkey-signing-keys");

const ALL: &str = "SELECT kid, alg, private_sealed, public_jwk, created_at, retired_at, \
     publish_until FROM signing_keys ORDER BY created_at DESC, kid DESC";
const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
const ACTIVE_KID: &str = "SELECT kid FROM signing_keys WHERE retired_at IS NULL";
const ACTIVE_CREATED_AT: &str = "SELECT created_at FROM signing_keys WHERE retired_at IS NULL";
const RETIRE_ACTIVE: &str =
    "UPDATE signing_keys SET retired_at = $1, publish_until = $2 WHERE retired_at IS NULL";
const INSERT: &str = "INSERT INTO signing_keys \
     (kid, alg, private_sealed, public_jwk, created_at, retired_at, publish_until) \
     VALUES ($1, $2, $3, $4, $5, NULL, $6)";

fn key_from(r: &Row) -> Result<StoredKey, tokio_postgres::Error> {
    Ok(StoredKey {
        kid: r.try_get(0)?,
        alg: r.try_get(1)?,
        private_sealed: r.try_get(2)?,
        public_jwk: r.try_get(3)?,
        created_at: r.try_get(4)?,
        retired_at: r.try_get(5)?,
        publish_until: r.try_get(6)?,
    })
}

#[async_trait]
impl KeyStore for PgStore {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(ALL).await?;
                client
                    .query(&stmt, &[])
                    .await?
                    .iter()
                    .map(key_from)
                    .collect::<Result<Vec<_>, _>>()
            })
            .await;
        settle(client, result)
    }

    async fn active_signing_kid(&self) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(ACTIVE_KID).await?;
                match client.query_opt(&stmt, &[]).await? {
                    Some(row) => Ok(Some(row.try_get(0)?)),
                    None => Ok(None),
                }
            })
            .await;
        settle(client, result)
    }

    async fn rotate_signing_key(
        &self,
        new: &StoredKey,
        rotate_if_created_before: Option<OffsetDateTime>,
        previous_publish_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let created_at = truncate_to_millis(new.created_at);
        let publish_until = truncate_to_millis(previous_publish_until);
        let new_publish_until = new.publish_until.map(truncate_to_millis);
        let before = rotate_if_created_before.map(truncate_to_millis);
        let mut client = self.client().await?;
        let result = self
            .bounded(async {
                let tx = client.transaction().await?;
                let stmt = tx.prepare_cached(LOCK).await?;
                tx.execute(&stmt, &[&KEYS_LOCK_KEY]).await?;
                let stmt = tx.prepare_cached(ACTIVE_CREATED_AT).await?;
                let active: Option<OffsetDateTime> = match tx.query_opt(&stmt, &[]).await? {
                    Some(row) => Some(row.try_get(0)?),
                    None => None,
                };
                if let (Some(active), Some(before)) = (active, before)
                    && active >= before
                {
                    tx.commit().await?;
                    return Ok(false);
                }
                let stmt = tx.prepare_cached(RETIRE_ACTIVE).await?;
                tx.execute(&stmt, &[&created_at, &publish_until]).await?;
                let stmt = tx.prepare_cached(INSERT).await?;
                tx.execute(
                    &stmt,
                    &[
                        &new.kid,
                        &new.alg,
                        &new.private_sealed,
                        &new.public_jwk,
                        &created_at,
                        &new_publish_until,
                    ],
                )
                .await?;
                tx.commit().await?;
                Ok(true)
            })
            .await;
        settle(client, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_lock_key_is_fixed_and_distinct() {
        assert_ne!(KEYS_LOCK_KEY, crate::migrate::LOCK_KEY);
        assert_eq!(
            KEYS_LOCK_KEY,
            latchkey_core::store::Migration {
                name: "",
                sql: "latchkey-signing-keys",
            }
            .checksum()
        );
    }
}
