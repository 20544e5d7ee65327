//! [`ClientStore`] on SQLite.

use async_trait::async_trait;
use latchkey_core::keys::Client;
use latchkey_core::store::{ClientStore, StoreError, from_unix_millis, to_unix_millis};
use rusqlite::{OptionalExtension, Row, params};
use time::OffsetDateTime;

use crate::{SqliteStore, map_err};

const INSERT: &str =
    "INSERT INTO clients (id, name, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4)";
const BY_ID: &str = "SELECT id, name, secret_hash, created_at FROM clients WHERE id = ?1";
const ALL: &str = "SELECT id, name, secret_hash, created_at FROM clients ORDER BY id";

fn raw_client(r: &Row<'_>) -> rusqlite::Result<(Client, i64)> {
    Ok((
        Client {
            id: r.get(0)?,
            name: r.get(1)?,
            secret_hash: r.get(2)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
        },
        r.get(3)?,
    ))
}

fn finish((mut client, created): (Client, i64)) -> Result<Client, StoreError> {
    client.created_at = from_unix_millis(created)?;
    Ok(client)
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let cl = client.clone();
        self.write(move |c| {
            c.prepare_cached(INSERT)
                .map_err(map_err)?
                .execute(params![
                    cl.id,
                    cl.name,
                    cl.secret_hash,
                    to_unix_millis(cl.created_at)
                ])
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn client_by_id(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(BY_ID)
                .map_err(map_err)?
                .query_row(params![id], raw_client)
                .optional()
                .map_err(map_err)?
                .map(finish)
                .transpose()
        })
        .await
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(ALL).map_err(map_err)?;
            let rows = stmt.query_map([], raw_client).map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(finish)).collect()
        })
        .await
    }
}
