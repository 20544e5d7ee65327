//! [`OAuthGrantStore`] on PostgreSQL: client sessions and remembered
//! consent (migration 0031).

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::oauth::{ClientSession, ClientSessions, Grant, OAuthGrantStore};
use latchkey_core::store::{StoreError, truncate_to_millis};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::audit::insert_event;
use crate::{PgStore, settle};

const CS_COLUMNS: &str = "o.session_id, o.client_id, o.user_id, o.parent_session_id, o.scope, \
     o.resource, o.code_hash, o.created_at";
const GRANT_COLUMNS: &str = "user_id, client_id, scope, created_at, updated_at";
const REVOKE_OF_GRANT: &str = "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
     WHERE revoked_at IS NULL AND id IN \
     (SELECT session_id FROM oauth_sessions WHERE user_id = $1 AND client_id = $2)";

fn words(s: String) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn client_session(r: &Row) -> Result<ClientSession, tokio_postgres::Error> {
    Ok(ClientSession {
        session_id: r.try_get(0)?,
        client_id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        parent_session_id: r.try_get(3)?,
        scope: words(r.try_get(4)?),
        resource: r.try_get(5)?,
        code_hash: r.try_get(6)?,
        created_at: r.try_get(7)?,
    })
}

fn grant(r: &Row) -> Result<Grant, tokio_postgres::Error> {
    Ok(Grant {
        user_id: r.try_get(0)?,
        client_id: r.try_get(1)?,
        scope: words(r.try_get(2)?),
        created_at: r.try_get(3)?,
        updated_at: r.try_get(4)?,
    })
}

impl PgStore {
    /// One statement; the rows it returns.
    async fn grant_query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(sql).await?;
                client.query(&stmt, params).await
            })
            .await;
        settle(client, result)
    }

    /// One statement; how many rows it changed.
    async fn grant_execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(sql).await?;
                client.execute(&stmt, params).await
            })
            .await;
        settle(client, result)
    }
}

fn one<T>(
    rows: Vec<Row>,
    f: impl Fn(&Row) -> Result<T, tokio_postgres::Error>,
) -> Result<Option<T>, StoreError> {
    rows.first().map(f).transpose().map_err(crate::map_err)
}

#[async_trait]
impl OAuthGrantStore for PgStore {
    async fn insert_client_session(&self, s: &ClientSession) -> Result<(), StoreError> {
        let (scope, created) = (s.scope.join(" "), truncate_to_millis(s.created_at));
        self.grant_execute(
            "INSERT INTO oauth_sessions (session_id, client_id, user_id, parent_session_id, \
             scope, resource, code_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &s.session_id,
                &s.client_id,
                &s.user_id,
                &s.parent_session_id,
                &scope,
                &s.resource,
                &s.code_hash,
                &created,
            ],
        )
        .await?;
        Ok(())
    }

    async fn client_session(&self, session_id: &str) -> Result<Option<ClientSession>, StoreError> {
        let sql = format!("SELECT {CS_COLUMNS} FROM oauth_sessions o WHERE o.session_id = $1");
        one(
            self.grant_query(&sql, &[&session_id]).await?,
            client_session,
        )
    }

    async fn client_session_by_refresh(
        &self,
        token_hash: &str,
    ) -> Result<Option<ClientSession>, StoreError> {
        let sql = format!(
            "SELECT {CS_COLUMNS} FROM refresh_tokens t \
             JOIN oauth_sessions o ON o.session_id = t.session_id WHERE t.token_hash = $1"
        );
        one(
            self.grant_query(&sql, &[&token_hash]).await?,
            client_session,
        )
    }

    async fn revoke_client_sessions(
        &self,
        which: ClientSessions<'_>,
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let now = truncate_to_millis(now);
        match which {
            ClientSessions::FromCode(hash) => {
                self.grant_execute(
                    "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
                     WHERE revoked_at IS NULL AND id IN \
                     (SELECT session_id FROM oauth_sessions WHERE code_hash = $1)",
                    &[&hash, &now, &reason],
                )
                .await
            }
            ClientSessions::OfGrant { user_id, client_id } => {
                self.grant_execute(REVOKE_OF_GRANT, &[&user_id, &client_id, &now, &reason])
                    .await
            }
        }
    }

    async fn grant(&self, user_id: &str, client_id: &str) -> Result<Option<Grant>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE user_id = $1 AND client_id = $2"
        );
        one(
            self.grant_query(&sql, &[&user_id, &client_id]).await?,
            grant,
        )
    }

    async fn upsert_grant(&self, g: &Grant, event: &AuditEvent) -> Result<(), StoreError> {
        let (scope, created, updated) = (
            g.scope.join(" "),
            truncate_to_millis(g.created_at),
            truncate_to_millis(g.updated_at),
        );
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(crate::map_err)?;
                tx.execute(
                    "INSERT INTO oauth_grants (user_id, client_id, scope, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, client_id) DO UPDATE \
                     SET scope = excluded.scope, updated_at = excluded.updated_at",
                    &[&g.user_id, &g.client_id, &scope, &created, &updated],
                )
                .await
                .map_err(crate::map_err)?;
                insert_event(&tx, event).await?;
                tx.commit().await.map_err(crate::map_err)
            })
            .await;
        settle(client, result)
    }

    async fn grants_of_user(&self, user_id: &str) -> Result<Vec<Grant>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE user_id = $1 ORDER BY client_id"
        );
        self.grant_query(&sql, &[&user_id])
            .await?
            .iter()
            .map(grant)
            .collect::<Result<_, _>>()
            .map_err(crate::map_err)
    }

    async fn delete_grant(
        &self,
        user_id: &str,
        client_id: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(crate::map_err)?;
                let deleted = tx
                    .execute(
                        "DELETE FROM oauth_grants WHERE user_id = $1 AND client_id = $2",
                        &[&user_id, &client_id],
                    )
                    .await
                    .map_err(crate::map_err)?
                    == 1;
                tx.execute(
                    REVOKE_OF_GRANT,
                    &[&user_id, &client_id, &now, &"grant_revoked"],
                )
                .await
                .map_err(crate::map_err)?;
                if deleted {
                    insert_event(&tx, event).await?;
                }
                tx.commit().await.map_err(crate::map_err)?;
                Ok(deleted)
            })
            .await;
        settle(client, result)
    }
}
