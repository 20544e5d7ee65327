//! [`UserTransferStore`] on PostgreSQL: one transaction per batch.

use async_trait::async_trait;
use latchkey_core::store::StoreError;
use latchkey_core::user_transfer::{LinkedIdentity, NewAccount, UserTransferStore};

use crate::audit::insert_event;
use crate::roles::assign;
use crate::sessions::insert_session_in;
use crate::users::insert_user_in;
use crate::{PgStore, backend, map_err, settle};

const PRESENT: &str = "SELECT 1 FROM users WHERE email_normalized = $1";
const EMAILS_TAKEN: &str = "SELECT email_normalized FROM users WHERE email_normalized = ANY($1)";
const USERNAMES_TAKEN: &str =
    "SELECT username_normalized FROM users WHERE username_normalized = ANY($1)";
const IDENTITIES_TAKEN: &str = "SELECT i.provider, i.subject FROM identities i
    JOIN UNNEST($1::text[], $2::text[]) AS k(provider, subject)
      ON i.provider = k.provider AND i.subject = k.subject";
const INSERT_IDENTITY: &str = "INSERT INTO identities
    (id, user_id, provider, subject, email, email_verified, linked_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
const IDENTITIES_OF: &str = "SELECT user_id, provider, subject, email, email_verified, linked_at
    FROM identities WHERE user_id = ANY($1) ORDER BY user_id, provider, subject";

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
                    for i in &a.identities {
                        let stmt = tx.prepare_cached(INSERT_IDENTITY).await.map_err(map_err)?;
                        let id = latchkey_core::id::new_id();
                        tx.execute(
                            &stmt,
                            &[
                                &id,
                                &a.user.id,
                                &i.provider,
                                &i.subject,
                                &i.email,
                                &i.email_verified,
                                &i.linked_at,
                            ],
                        )
                        .await
                        .map_err(map_err)?;
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

    async fn identities_taken(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let providers: Vec<&str> = keys.iter().map(|(p, _)| p.as_str()).collect();
        let subjects: Vec<&str> = keys.iter().map(|(_, s)| s.as_str()).collect();
        let rows = self
            .query1(IDENTITIES_TAKEN, &[&providers, &subjects])
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(backend)?,
                    r.try_get(1).map_err(backend)?,
                ))
            })
            .collect()
    }

    async fn identities_of_users(
        &self,
        user_ids: &[String],
    ) -> Result<Vec<(String, LinkedIdentity)>, StoreError> {
        let rows = self.query1(IDENTITIES_OF, &[&user_ids]).await?;
        rows.iter()
            .map(|r| {
                let identity = LinkedIdentity {
                    provider: r.try_get(1).map_err(backend)?,
                    subject: r.try_get(2).map_err(backend)?,
                    email: r.try_get(3).map_err(backend)?,
                    email_verified: r.try_get(4).map_err(backend)?,
                    linked_at: r.try_get(5).map_err(backend)?,
                };
                Ok((r.try_get(0).map_err(backend)?, identity))
            })
            .collect()
    }
}
