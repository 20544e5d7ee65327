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

const LOCK: &str = "SELECT pg_advisory_xact_lock($1)";

/// The statements of one key table: `signing_keys` (access tokens) or
/// `oauth_signing_keys` (ID tokens), which hold the same columns and rules
/// (both rotate under [`KEYS_LOCK_KEY`]).
pub(crate) struct KeyTable {
    all: &'static str,
    active_kid: &'static str,
    active_created_at: &'static str,
    retire_active: &'static str,
    insert: &'static str,
}

macro_rules! key_table {
    ($table:literal) => {
        KeyTable {
            all: concat!(
                "SELECT kid, alg, private_sealed, public_jwk, created_at, retired_at, \
                 publish_until FROM ",
                $table,
                " ORDER BY created_at DESC, kid DESC"
            ),
            active_kid: concat!("SELECT kid FROM ", $table, " WHERE retired_at IS NULL"),
            active_created_at: concat!(
                "SELECT created_at FROM ",
                $table,
                " WHERE retired_at IS NULL"
            ),
            retire_active: concat!(
                "UPDATE ",
                $table,
                " SET retired_at = $1, publish_until = $2 WHERE retired_at IS NULL"
            ),
            insert: concat!(
                "INSERT INTO ",
                $table,
                " (kid, alg, private_sealed, public_jwk, created_at, retired_at, publish_until) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6)"
            ),
        }
    };
}

/// The access-token signing keys.
pub(crate) const SIGNING_KEYS: KeyTable = key_table!("signing_keys");
/// The ID-token signing keys of the OAuth provider.
pub(crate) const ID_TOKEN_KEYS: KeyTable = key_table!("oauth_signing_keys");

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

impl PgStore {
    /// Every key of table `t`, newest first.
    pub(crate) async fn keys_in(&self, t: &KeyTable) -> Result<Vec<StoredKey>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(t.all).await?;
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

    /// The active key's id in table `t`.
    pub(crate) async fn active_kid_in(&self, t: &KeyTable) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(t.active_kid).await?;
                match client.query_opt(&stmt, &[]).await? {
                    Some(row) => Ok(Some(row.try_get(0)?)),
                    None => Ok(None),
                }
            })
            .await;
        settle(client, result)
    }

    /// A rotation in table `t` (see [`KeyStore::rotate_signing_key`]).
    pub(crate) async fn rotate_in(
        &self,
        t: &KeyTable,
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
                let stmt = tx.prepare_cached(t.active_created_at).await?;
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
                let stmt = tx.prepare_cached(t.retire_active).await?;
                tx.execute(&stmt, &[&created_at, &publish_until]).await?;
                let stmt = tx.prepare_cached(t.insert).await?;
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

#[async_trait]
impl KeyStore for PgStore {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.keys_in(&SIGNING_KEYS).await
    }

    async fn active_signing_kid(&self) -> Result<Option<String>, StoreError> {
        self.active_kid_in(&SIGNING_KEYS).await
    }

    async fn rotate_signing_key(
        &self,
        new: &StoredKey,
        rotate_if_created_before: Option<OffsetDateTime>,
        previous_publish_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.rotate_in(
            &SIGNING_KEYS,
            new,
            rotate_if_created_before,
            previous_publish_until,
        )
        .await
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
