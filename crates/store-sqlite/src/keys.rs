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

/// The statements of one key table: `signing_keys` (access tokens) or
/// `oauth_signing_keys` (ID tokens), which hold the same columns and rules.
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
                " SET retired_at = ?1, publish_until = ?2 WHERE retired_at IS NULL"
            ),
            insert: concat!(
                "INSERT INTO ",
                $table,
                " (kid, alg, private_sealed, public_jwk, created_at, retired_at, publish_until) \
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)"
            ),
        }
    };
}

/// The access-token signing keys.
pub(crate) const SIGNING_KEYS: KeyTable = key_table!("signing_keys");
/// The ID-token signing keys of the OAuth provider.
pub(crate) const ID_TOKEN_KEYS: KeyTable = key_table!("oauth_signing_keys");

type RawKey = (StoredKey, i64, Option<i64>, Option<i64>);

fn finish((mut key, created, retired, publish): RawKey) -> Result<StoredKey, StoreError> {
    key.created_at = from_unix_millis(created)?;
    key.retired_at = retired.map(from_unix_millis).transpose()?;
    key.publish_until = publish.map(from_unix_millis).transpose()?;
    Ok(key)
}

fn rotate(
    t: &KeyTable,
    c: &mut Connection,
    new: &StoredKey,
    rotate_if_created_before: Option<OffsetDateTime>,
    previous_publish_until: OffsetDateTime,
) -> Result<bool, StoreError> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let active: Option<i64> = tx
        .prepare_cached(t.active_created_at)
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
    tx.prepare_cached(t.retire_active)
        .map_err(map_err)?
        .execute(params![created, to_unix_millis(previous_publish_until)])
        .map_err(map_err)?;
    tx.prepare_cached(t.insert)
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

impl SqliteStore {
    /// Every key of table `t`, newest first.
    pub(crate) async fn keys_in(&self, t: &'static KeyTable) -> Result<Vec<StoredKey>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(t.all).map_err(map_err)?;
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

    /// The active key's id in table `t`.
    pub(crate) async fn active_kid_in(
        &self,
        t: &'static KeyTable,
    ) -> Result<Option<String>, StoreError> {
        self.read(move |c| {
            c.prepare_cached(t.active_kid)
                .map_err(map_err)?
                .query_row([], |r| r.get(0))
                .optional()
                .map_err(map_err)
        })
        .await
    }

    /// A rotation in table `t` (see [`KeyStore::rotate_signing_key`]).
    pub(crate) async fn rotate_in(
        &self,
        t: &'static KeyTable,
        new: &StoredKey,
        rotate_if_created_before: Option<OffsetDateTime>,
        previous_publish_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let new = new.clone();
        self.write(move |c| rotate(t, c, &new, rotate_if_created_before, previous_publish_until))
            .await
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
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
