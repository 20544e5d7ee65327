//! [`ClientAssertionStore`] on SQLite: the `jti`s of `private_key_jwt`
//! assertions (migration 0032).

use async_trait::async_trait;
use latchkey_core::oauth::ClientAssertionStore;
use latchkey_core::store::{StoreError, to_unix_millis};
use rusqlite::params;
use time::OffsetDateTime;

use crate::{SqliteStore, map_err};

#[async_trait]
impl ClientAssertionStore for SqliteStore {
    async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (client_id, jti) = (client_id.to_owned(), jti.to_owned());
        let (expires_at, now) = (to_unix_millis(expires_at), to_unix_millis(now));
        self.write(move |c| {
            // a row still live blocks the insert; an expired one is taken over
            let fresh = c
                .prepare_cached(
                    "INSERT INTO oauth_client_assertions (client_id, jti, expires_at) \
                     VALUES (?1, ?2, ?3) ON CONFLICT (client_id, jti) DO UPDATE \
                     SET expires_at = excluded.expires_at \
                     WHERE oauth_client_assertions.expires_at <= ?4",
                )
                .map_err(map_err)?
                .execute(params![client_id, jti, expires_at, now])
                .map_err(map_err)?
                == 1;
            c.prepare_cached(
                "DELETE FROM oauth_client_assertions WHERE client_id = ?1 AND expires_at <= ?2",
            )
            .map_err(map_err)?
            .execute(params![client_id, now])
            .map_err(map_err)?;
            Ok(fresh)
        })
        .await
    }
}
