//! [`KeyStore`] on SQLite.
//!
//! A rotation is one `BEGIN IMMEDIATE` transaction on the writer thread:
//! reading the active key happens under the write lock, so of several
//! handles (or processes) racing to create the first key, one inserts and
//! the others then see its key. The partial unique index
//! `signing_keys_one_active` backs this up: there is never more than one
//! unretired key.

use async_trait::async_trait;
use latchkey_core::keys::StoredKey;
use latchkey_core::store::{KeyStore, StoreError, from_unix_millis, to_unix_millis};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::{SqliteStore, map_err};

const ALL: &str = "SELECT kid, alg, private_sealed, public_jwk, created_at, retired_at, \
     publish_until FROM signing_keys ORDER BY created_at DESC, kid DESC";
const ACTIVE_KID: &str = "SELECT kid FROM signing_keys WHERE retired_at IS NULL";
const ACTIVE_CREATED_AT: &str = "SELECT created_at FROM signing_keys WHERE retired_at IS NULL";
const RETIRE_ACTIVE: &str =
    "UPDATE signing_keys SET retired_at = ?1, publish_until = ?2 WHERE retired_at IS NULL";
const INSERT: &str = "INSERT INTO signing_keys \
     (kid, alg, private_sealed, public_jwk, created_at, retired_at, publish_until) \
     VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)";

type RawKey = (StoredKey, i64, Option<i64>, Option<i64>);

fn finish((mut key, created, retired, publish): RawKey) -> Result<StoredKey, StoreError> {
    key.created_at = from_unix_millis(created)?;
    key.retired_at = retired.map(from_unix_millis).transpose()?;
    key.publish_until = publish.map(from_unix_millis).transpose()?;
    Ok(key)
}

fn rotate(
    c: &mut Connection,
    new: &StoredKey,
    rotate_if_created_before: Option<OffsetDateTime>,
    previous_publish_until: OffsetDateTime,
) -> Result<bool, StoreError> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let active: Option<i64> = tx
        .prepare_cached(ACTIVE_CREATED_AT)
        .map_err(map_err)?
        .query_row([], |r| r.get(0))
        .optional()
        .map_err(map_err)?;
    if let (Some(active_created), Some(before)) = (active, rotate_if_created_before)
        && active_created >= to_unix_millis(before)
    {
        return Ok(false); // rolls back; nothing was written
    }
    let created = to_unix_millis(new.created_at);
    tx.prepare_cached(RETIRE_ACTIVE)
        .map_err(map_err)?
        .execute(params![created, to_unix_millis(previous_publish_until)])
        .map_err(map_err)?;
    tx.prepare_cached(INSERT)
        .map_err(map_err)?
        .execute(params![
            new.kid,
            new.alg,
            new.private_sealed,
            new.public_jwk,
            created,
            new.publish_until.map(to_unix_millis),
        ])
        .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(true)
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(ALL).map_err(map_err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        StoredKey {
                            kid: r.get(0)?,
                            alg: r.get(1)?,
                            private_sealed: r.get(2)?,
                            public_jwk: r.get(3)?,
                            created_at: OffsetDateTime::UNIX_EPOCH,
                            retired_at: None,
                            publish_until: None,
                        },
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(finish)).collect()
        })
        .await
    }

    async fn active_signing_kid(&self) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached(ACTIVE_KID)
                .map_err(map_err)?
                .query_row([], |r| r.get(0))
                .optional()
                .map_err(map_err)
        })
        .await
    }

    async fn rotate_signing_key(
        &self,
        new: &StoredKey,
        rotate_if_created_before: Option<OffsetDateTime>,
        previous_publish_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let new = new.clone();
        self.write(move |c| rotate(c, &new, rotate_if_created_before, previous_publish_until))
            .await
    }
}
