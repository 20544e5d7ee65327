//! [`ClientStore`] on PostgreSQL.

use async_trait::async_trait;
use latchkey_core::keys::Client;
use latchkey_core::store::{ClientStore, StoreError, truncate_to_millis};
use tokio_postgres::Row;

use crate::{PgStore, settle};

const INSERT: &str =
    "INSERT INTO clients (id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4)";
const BY_ID: &str = "SELECT id, name, secret_hash, created_at FROM clients WHERE id = $1";
const ALL: &str = "SELECT id, name, secret_hash, created_at FROM clients ORDER BY id";

fn client_from(r: &Row) -> Result<Client, tokio_postgres::Error> {
    Ok(Client {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        secret_hash: r.try_get(2)?,
        created_at: r.try_get(3)?,
    })
}

#[async_trait]
impl ClientStore for PgStore {
    async fn insert_client(&self, cl: &Client) -> Result<(), StoreError> {
        let created_at = truncate_to_millis(cl.created_at);
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(INSERT).await?;
                client
                    .execute(&stmt, &[&cl.id, &cl.name, &cl.secret_hash, &created_at])
                    .await
            })
            .await;
        settle(client, result.map(|_| ()))
    }

    async fn client_by_id(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(BY_ID).await?;
                client
                    .query_opt(&stmt, &[&id])
                    .await?
                    .as_ref()
                    .map(client_from)
                    .transpose()
            })
            .await;
        settle(client, result)
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(ALL).await?;
                client
                    .query(&stmt, &[])
                    .await?
                    .iter()
                    .map(client_from)
                    .collect::<Result<Vec<_>, _>>()
            })
            .await;
        settle(client, result)
    }
}
