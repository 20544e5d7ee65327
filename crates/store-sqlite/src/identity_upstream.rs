//! [`IdentityUpstreamStore`] on SQLite: what providers said of linked
//! identities (profile, sealed tokens). A refresh's write is a compare on
//! `version` in one statement on the single writer thread.

use async_trait::async_trait;
use latchkey_core::federation::{IdentityUpstreamStore, UpstreamRecord};
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::{SqliteStore, map_err};

const RECORD: &str = "INSERT INTO identity_upstream \
     (identity_id, name, picture, tokens_sealed, version, updated_at) \
     SELECT id, ?2, ?3, ?4, 1, ?5 FROM identities WHERE id = ?1 \
     ON CONFLICT (identity_id) DO UPDATE SET name = excluded.name, \
     picture = excluded.picture, tokens_sealed = excluded.tokens_sealed, \
     version = identity_upstream.version + 1, updated_at = excluded.updated_at";
const OF: &str = "SELECT name, picture, tokens_sealed, version, updated_at \
     FROM identity_upstream WHERE identity_id = ?1";
const REPLACE: &str = "UPDATE identity_upstream \
     SET tokens_sealed = ?3, version = version + 1, updated_at = ?4 \
     WHERE identity_id = ?1 AND version = ?2";

#[async_trait]
impl IdentityUpstreamStore for SqliteStore {
    async fn record_upstream(
        &self,
        identity_id: &str,
        record: &UpstreamRecord,
    ) -> Result<bool, StoreError> {
        let (id, r) = (identity_id.to_owned(), record.clone());
        self.write(move |c| {
            let n = c
                .prepare_cached(RECORD)
                .map_err(map_err)?
                .execute(params![
                    id,
                    r.name,
                    r.picture,
                    r.tokens_sealed,
                    to_unix_millis(r.updated_at)
                ])
                .map_err(map_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn upstream_of(&self, identity_id: &str) -> Result<Option<UpstreamRecord>, StoreError> {
        let id = identity_id.to_owned();
        self.read(move |c| {
            let row = c
                .prepare_cached(OF)
                .map_err(map_err)?
                .query_row(params![id], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<Vec<u8>>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .optional()
                .map_err(map_err)?;
            row.map(|(name, picture, tokens_sealed, version, at)| {
                Ok(UpstreamRecord {
                    name,
                    picture,
                    tokens_sealed,
                    version,
                    updated_at: from_unix_millis(at)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn replace_upstream_tokens(
        &self,
        identity_id: &str,
        version: i64,
        tokens_sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (id, sealed, at) = (
            identity_id.to_owned(),
            tokens_sealed.to_vec(),
            to_unix_millis(now),
        );
        self.write(move |c| {
            let n = c
                .prepare_cached(REPLACE)
                .map_err(map_err)?
                .execute(params![id, version, sealed, at])
                .map_err(map_err)?;
            Ok(n == 1)
        })
        .await
    }
}
