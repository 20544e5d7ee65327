//! [`IdentityUpstreamStore`] on PostgreSQL: what providers said of linked
//! identities (profile, sealed tokens). A refresh's write is a compare on
//! `version` in one `UPDATE`.

use async_trait::async_trait;
use latchkey_core::federation::{IdentityUpstreamStore, UpstreamRecord};
use latchkey_core::store::{StoreError, truncate_to_millis};
use time::OffsetDateTime;

use crate::{PgStore, map_err};

const RECORD: &str = "INSERT INTO identity_upstream \
     (identity_id, name, picture, tokens_sealed, version, updated_at) \
     SELECT id, $2, $3, $4, 1, $5 FROM identities WHERE id = $1 \
     ON CONFLICT (identity_id) DO UPDATE SET name = excluded.name, \
     picture = excluded.picture, tokens_sealed = excluded.tokens_sealed, \
     version = identity_upstream.version + 1, updated_at = excluded.updated_at";
const OF: &str = "SELECT name, picture, tokens_sealed, version, updated_at \
     FROM identity_upstream WHERE identity_id = $1";
const REPLACE: &str = "UPDATE identity_upstream \
     SET tokens_sealed = $3, version = version + 1, updated_at = $4 \
     WHERE identity_id = $1 AND version = $2";

#[async_trait]
impl IdentityUpstreamStore for PgStore {
    async fn record_upstream(
        &self,
        identity_id: &str,
        record: &UpstreamRecord,
    ) -> Result<bool, StoreError> {
        let at = truncate_to_millis(record.updated_at);
        let n = self
            .exec1(
                RECORD,
                &[
                    &identity_id,
                    &record.name,
                    &record.picture,
                    &record.tokens_sealed,
                    &at,
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn upstream_of(&self, identity_id: &str) -> Result<Option<UpstreamRecord>, StoreError> {
        let rows = self.query1(OF, &[&identity_id]).await?;
        rows.first()
            .map(|r| {
                Ok(UpstreamRecord {
                    name: r.try_get(0).map_err(map_err)?,
                    picture: r.try_get(1).map_err(map_err)?,
                    tokens_sealed: r.try_get(2).map_err(map_err)?,
                    version: r.try_get(3).map_err(map_err)?,
                    updated_at: r.try_get(4).map_err(map_err)?,
                })
            })
            .transpose()
    }

    async fn replace_upstream_tokens(
        &self,
        identity_id: &str,
        version: i64,
        tokens_sealed: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let at = truncate_to_millis(now);
        let n = self
            .exec1(REPLACE, &[&identity_id, &version, &tokens_sealed, &at])
            .await?;
        Ok(n == 1)
    }
}
