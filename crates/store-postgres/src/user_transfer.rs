//! [`UserTransferStore`] on PostgreSQL: one transaction per batch.

use async_trait::async_trait;
use latchkey_core::store::StoreError;
use latchkey_core::user_transfer::{NewAccount, UserTransferStore};

use crate::audit::insert_event;
use crate::roles::assign;
use crate::sessions::insert_session_in;
use crate::users::insert_user_in;
use crate::{PgStore, map_err, settle};

const PRESENT: &str = "SELECT 1 FROM users WHERE email_normalized = $1";
const EMAILS_TAKEN: &str = "SELECT email_normalized FROM users WHERE email_normalized = ANY($1)";
const USERNAMES_TAKEN: &str =
    "SELECT username_normalized FROM users WHERE username_normalized = ANY($1)";

#[async_trait]
impl UserTransferStore for PgStore {
    async fn insert_accounts(&self, accounts: &[NewAccount]) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                let present = tx.prepare_cached(PRESENT).await.map_err(map_err)?;
                let mut inserted = 0;
                for a in accounts {
                    // An address that comes in meanwhile makes the insert
                    // fail with a conflict; the batch is then retried.
                    if tx
                        .query_opt(&present, &[&a.user.email_normalized])
                        .await
                        .map_err(map_err)?
                        .is_some()
                    {
                        continue;
                    }
                    insert_user_in(&tx, &a.user).await?;
                    assign(&tx, &a.user.id, &a.roles, a.user.created_at).await?;
                    if let Some(s) = &a.session {
                        insert_session_in(&tx, s).await?;
                    }
                    for e in &a.events {
                        insert_event(&tx, e).await?;
                    }
                    inserted += 1;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(inserted)
            })
            .await;
        settle(client, result)
    }

    async fn taken(
        &self,
        emails: &[String],
        usernames: &[String],
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let by_email = client.prepare_cached(EMAILS_TAKEN).await?;
                let by_username = client.prepare_cached(USERNAMES_TAKEN).await?;
                let emails = client.query(&by_email, &[&emails]).await?;
                let usernames = client.query(&by_username, &[&usernames]).await?;
                Ok((emails, usernames))
            })
            .await;
        let (emails, usernames) = settle(client, result)?;
        let column = |rows: Vec<tokio_postgres::Row>| {
            rows.iter()
                .map(|r| r.try_get::<_, String>(0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Backend(e.to_string()))
        };
        Ok((column(emails)?, column(usernames)?))
    }
}
