//! [`ClientAssertionStore`] on PostgreSQL: the `jti`s of `private_key_jwt`
//! assertions (migration 0032).

use async_trait::async_trait;
use latchkey_core::oauth::ClientAssertionStore;
use latchkey_core::store::{StoreError, truncate_to_millis};
use time::OffsetDateTime;

use crate::{PgStore, settle};

#[async_trait]
impl ClientAssertionStore for PgStore {
    async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (expires_at, now) = (truncate_to_millis(expires_at), truncate_to_millis(now));
        let client = self.client().await?;
        let result = self
            .bounded(async {
                // a row still live blocks the insert; an expired one is taken over
                let upsert = client
                    .prepare_cached(
                        "INSERT INTO oauth_client_assertions (client_id, jti, expires_at) \
                         VALUES ($1, $2, $3) ON CONFLICT (client_id, jti) DO UPDATE \
                         SET expires_at = EXCLUDED.expires_at \
                         WHERE oauth_client_assertions.expires_at <= $4",
                    )
                    .await?;
                let fresh = client
                    .execute(&upsert, &[&client_id, &jti, &expires_at, &now])
                    .await?
                    == 1;
                let purge = client
                    .prepare_cached(
                        "DELETE FROM oauth_client_assertions \
                         WHERE client_id = $1 AND expires_at <= $2",
                    )
                    .await?;
                client.execute(&purge, &[&client_id, &now]).await?;
                Ok(fresh)
            })
            .await;
        settle(client, result)
    }
}
