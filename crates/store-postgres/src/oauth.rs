//! [`OAuthStore`] on PostgreSQL.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::keys::{Client, StoredKey};
use latchkey_core::oauth::{AuthorizationCode, ClientSettings, CodeTaken, OAuthClient, OAuthStore};
use latchkey_core::store::{StoreError, truncate_to_millis};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::audit::insert_event;
use crate::keys::ID_TOKEN_KEYS;
use crate::{PgStore, map_err, settle};

const SELECT: &str = "SELECT c.id, c.name, c.secret_hash, c.created_at, o.settings \
     FROM clients c LEFT JOIN oauth_clients o ON o.client_id = c.id";
const INSERT_CLIENT: &str =
    "INSERT INTO clients (id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4)";
const INSERT_SETTINGS: &str =
    "INSERT INTO oauth_clients (client_id, settings, updated_at) VALUES ($1, $2, $3)";
const RENAME: &str = "UPDATE clients SET name = $2 WHERE id = $1";
const UPSERT_SETTINGS: &str = "INSERT INTO oauth_clients (client_id, settings, updated_at) \
     VALUES ($1, $2, $3) ON CONFLICT (client_id) DO UPDATE \
     SET settings = excluded.settings, updated_at = excluded.updated_at";
const SET_SECRET: &str = "UPDATE clients SET secret_hash = $2 WHERE id = $1";
const DELETE_SETTINGS: &str = "DELETE FROM oauth_clients WHERE client_id = $1";
const DELETE_CLIENT: &str = "DELETE FROM clients WHERE id = $1";

fn from_row(r: &Row) -> Result<OAuthClient, StoreError> {
    let get = |e: tokio_postgres::Error| map_err(e);
    let client = Client {
        id: r.try_get(0).map_err(get)?,
        name: r.try_get(1).map_err(get)?,
        secret_hash: r.try_get(2).map_err(get)?,
        created_at: r.try_get(3).map_err(get)?,
    };
    let settings = match r.try_get::<_, Option<String>>(4).map_err(get)? {
        Some(json) => ClientSettings::from_json(&json)?,
        None => ClientSettings::default(),
    };
    Ok(OAuthClient { client, settings })
}

const CODE_COLUMNS: &str = "code_hash, client_id, user_id, session_id, redirect_uri, scope, \
     nonce, code_challenge, resource, auth_time, amr, created_at, expires_at, used_at";

fn code_from(r: &Row) -> Result<AuthorizationCode, tokio_postgres::Error> {
    let words = |s: String| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    Ok(AuthorizationCode {
        code_hash: r.try_get(0)?,
        client_id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        session_id: r.try_get(3)?,
        redirect_uri: r.try_get(4)?,
        scope: words(r.try_get(5)?),
        nonce: r.try_get(6)?,
        code_challenge: r.try_get(7)?,
        resource: r.try_get(8)?,
        auth_time: r.try_get(9)?,
        amr: words(r.try_get(10)?),
        created_at: r.try_get(11)?,
        expires_at: r.try_get(12)?,
        used_at: r.try_get(13)?,
    })
}

type Statement<'a> = (&'static str, Vec<&'a (dyn ToSql + Sync)>);

impl PgStore {
    /// Runs `statements` in one transaction that also records `event`;
    /// `NotFound` when the first changed no row (the rest then do not run).
    async fn oauth_write(
        &self,
        statements: Vec<Statement<'_>>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                for (i, (sql, params)) in statements.iter().enumerate() {
                    let stmt = tx.prepare_cached(sql).await.map_err(map_err)?;
                    let n = tx.execute(&stmt, params).await.map_err(map_err)?;
                    if i == 0 && n == 0 {
                        return Err(StoreError::NotFound);
                    }
                }
                insert_event(&tx, event).await?;
                tx.commit().await.map_err(map_err)
            })
            .await;
        settle(client, result)
    }

    async fn oauth_query(
        &self,
        sql: &str,
        id: Option<&str>,
    ) -> Result<Vec<OAuthClient>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded_store(async {
                let stmt = client.prepare_cached(sql).await.map_err(map_err)?;
                let rows = match id {
                    Some(id) => client.query(&stmt, &[&id]).await,
                    None => client.query(&stmt, &[]).await,
                }
                .map_err(map_err)?;
                rows.iter().map(from_row).collect()
            })
            .await;
        settle(client, result)
    }
}

#[async_trait]
impl OAuthStore for PgStore {
    async fn insert_oauth_client(
        &self,
        client: &Client,
        settings: &ClientSettings,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let created_at = truncate_to_millis(client.created_at);
        let json = settings.to_json();
        self.oauth_write(
            vec![
                (
                    INSERT_CLIENT,
                    vec![&client.id, &client.name, &client.secret_hash, &created_at],
                ),
                (INSERT_SETTINGS, vec![&client.id, &json, &created_at]),
            ],
            event,
        )
        .await
    }

    async fn oauth_client(&self, id: &str) -> Result<Option<OAuthClient>, StoreError> {
        let sql = format!("{SELECT} WHERE c.id = $1");
        Ok(self.oauth_query(&sql, Some(id)).await?.pop())
    }

    async fn list_oauth_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        let sql = format!("{SELECT} ORDER BY c.id");
        self.oauth_query(&sql, None).await
    }

    async fn update_oauth_client(
        &self,
        id: &str,
        name: &str,
        settings: &ClientSettings,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (json, now) = (settings.to_json(), truncate_to_millis(now));
        self.oauth_write(
            vec![
                (RENAME, vec![&id, &name]),
                (UPSERT_SETTINGS, vec![&id, &json, &now]),
            ],
            event,
        )
        .await
    }

    async fn set_client_secret_hash(
        &self,
        id: &str,
        secret_hash: &str,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.oauth_write(vec![(SET_SECRET, vec![&id, &secret_hash])], event)
            .await
    }

    async fn delete_oauth_client(&self, id: &str, event: &AuditEvent) -> Result<(), StoreError> {
        // the client first, so that an unknown id is NotFound; its settings
        // row goes with it (ON DELETE CASCADE), the second statement is a no-op
        self.oauth_write(
            vec![(DELETE_CLIENT, vec![&id]), (DELETE_SETTINGS, vec![&id])],
            event,
        )
        .await
    }

    async fn id_token_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.keys_in(&ID_TOKEN_KEYS).await
    }

    async fn active_id_token_kid(&self) -> Result<Option<String>, StoreError> {
        self.active_kid_in(&ID_TOKEN_KEYS).await
    }

    async fn rotate_id_token_key(
        &self,
        new: &StoredKey,
        rotate_if_created_before: Option<OffsetDateTime>,
        previous_publish_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.rotate_in(
            &ID_TOKEN_KEYS,
            new,
            rotate_if_created_before,
            previous_publish_until,
        )
        .await
    }

    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        let (scope, amr) = (code.scope.join(" "), code.amr.join(" "));
        let times = [code.auth_time, code.created_at, code.expires_at].map(truncate_to_millis);
        let used_at = code.used_at.map(truncate_to_millis);
        let sql = format!(
            "INSERT INTO oauth_codes ({CODE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(&sql).await?;
                client
                    .execute(
                        &stmt,
                        &[
                            &code.code_hash,
                            &code.client_id,
                            &code.user_id,
                            &code.session_id,
                            &code.redirect_uri,
                            &scope,
                            &code.nonce,
                            &code.code_challenge,
                            &code.resource,
                            &times[0],
                            &amr,
                            &times[1],
                            &times[2],
                            &used_at,
                        ],
                    )
                    .await
            })
            .await;
        settle(client, result.map(|_| ()))
    }

    async fn take_authorization_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<CodeTaken, StoreError> {
        // READ COMMITTED: of concurrent takes, the second UPDATE waits for
        // the first to commit, re-reads the row, and no longer matches
        let take = format!(
            "UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL \
             RETURNING {CODE_COLUMNS}"
        );
        let read = format!("SELECT {CODE_COLUMNS} FROM oauth_codes WHERE code_hash = $1");
        let now = truncate_to_millis(now);
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(&take).await?;
                if let Some(row) = client.query_opt(&stmt, &[&code_hash, &now]).await? {
                    let mut code = code_from(&row)?;
                    code.used_at = None;
                    return Ok(CodeTaken::Taken(code));
                }
                let stmt = client.prepare_cached(&read).await?;
                Ok(match client.query_opt(&stmt, &[&code_hash]).await? {
                    Some(row) => CodeTaken::AlreadyUsed(code_from(&row)?),
                    None => CodeTaken::Unknown,
                })
            })
            .await;
        settle(client, result)
    }
}
