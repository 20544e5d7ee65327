//! [`OAuthStore`] on SQLite.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::keys::{Client, StoredKey};
use latchkey_core::oauth::{AuthorizationCode, ClientSettings, CodeTaken, OAuthClient, OAuthStore};
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::keys::ID_TOKEN_KEYS;
use crate::{SqliteStore, map_err};

const SELECT: &str = "SELECT c.id, c.name, c.secret_hash, c.created_at, o.settings \
     FROM clients c LEFT JOIN oauth_clients o ON o.client_id = c.id";

type Raw = (Client, i64, Option<String>);

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        Client {
            id: r.get(0)?,
            name: r.get(1)?,
            secret_hash: r.get(2)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
        },
        r.get(3)?,
        r.get(4)?,
    ))
}

fn finish((mut client, created, settings): Raw) -> Result<OAuthClient, StoreError> {
    client.created_at = from_unix_millis(created)?;
    let settings = match settings {
        Some(json) => ClientSettings::from_json(&json)?,
        None => ClientSettings::default(),
    };
    Ok(OAuthClient { client, settings })
}

/// Runs `f` in a transaction that also records `event`; `NotFound` when
/// `f` changed no row.
fn changing(
    c: &mut Connection,
    event: &AuditEvent,
    f: impl FnOnce(&Connection) -> rusqlite::Result<usize>,
) -> Result<(), StoreError> {
    let tx = c.transaction().map_err(map_err)?;
    if f(&tx).map_err(map_err)? == 0 {
        return Err(StoreError::NotFound);
    }
    insert_event(&tx, event)?;
    tx.commit().map_err(map_err)
}

const CODE_COLUMNS: &str = "code_hash, client_id, user_id, session_id, redirect_uri, scope, \
     nonce, code_challenge, resource, auth_time, amr, created_at, expires_at, used_at";

fn code_from(r: &Row<'_>) -> rusqlite::Result<(AuthorizationCode, [i64; 3], Option<i64>)> {
    let words = |s: String| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    Ok((
        AuthorizationCode {
            code_hash: r.get(0)?,
            client_id: r.get(1)?,
            user_id: r.get(2)?,
            session_id: r.get(3)?,
            redirect_uri: r.get(4)?,
            scope: words(r.get(5)?),
            nonce: r.get(6)?,
            code_challenge: r.get(7)?,
            resource: r.get(8)?,
            auth_time: OffsetDateTime::UNIX_EPOCH,
            amr: words(r.get(10)?),
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH,
            used_at: None,
        },
        [r.get(9)?, r.get(11)?, r.get(12)?],
        r.get(13)?,
    ))
}

fn finish_code(
    (mut code, [auth, created, expires], used): (AuthorizationCode, [i64; 3], Option<i64>),
) -> Result<AuthorizationCode, StoreError> {
    code.auth_time = from_unix_millis(auth)?;
    code.created_at = from_unix_millis(created)?;
    code.expires_at = from_unix_millis(expires)?;
    code.used_at = used.map(from_unix_millis).transpose()?;
    Ok(code)
}

fn take_code(c: &mut Connection, hash: &str, now: i64) -> Result<CodeTaken, StoreError> {
    let tx = c.transaction().map_err(map_err)?;
    let taken = tx
        .prepare_cached(
            "UPDATE oauth_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL",
        )
        .map_err(map_err)?
        .execute(params![hash, now])
        .map_err(map_err)?
        == 1;
    let row = tx
        .prepare_cached(&format!(
            "SELECT {CODE_COLUMNS} FROM oauth_codes WHERE code_hash = ?1"
        ))
        .map_err(map_err)?
        .query_row(params![hash], code_from)
        .optional()
        .map_err(map_err)?
        .map(finish_code)
        .transpose()?;
    tx.commit().map_err(map_err)?;
    Ok(match row {
        Some(code) if taken => CodeTaken::Taken(AuthorizationCode {
            used_at: None,
            ..code
        }),
        Some(code) => CodeTaken::AlreadyUsed(code),
        None => CodeTaken::Unknown,
    })
}

#[async_trait]
impl OAuthStore for SqliteStore {
    async fn insert_oauth_client(
        &self,
        client: &Client,
        settings: &ClientSettings,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (cl, json, event) = (client.clone(), settings.to_json(), event.clone());
        self.write(move |c| {
            let created = to_unix_millis(cl.created_at);
            changing(c, &event, |tx| {
                tx.prepare_cached(
                    "INSERT INTO clients (id, name, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![cl.id, cl.name, cl.secret_hash, created])?;
                tx.prepare_cached(
                    "INSERT INTO oauth_clients (client_id, settings, updated_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![cl.id, json, created])
            })
        })
        .await
    }

    async fn oauth_client(&self, id: &str) -> Result<Option<OAuthClient>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("{SELECT} WHERE c.id = ?1"))
                .map_err(map_err)?
                .query_row(params![id], raw)
                .optional()
                .map_err(map_err)?
                .map(finish)
                .transpose()
        })
        .await
    }

    async fn list_oauth_clients(&self) -> Result<Vec<OAuthClient>, StoreError> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(&format!("{SELECT} ORDER BY c.id"))
                .map_err(map_err)?;
            let rows = stmt.query_map([], raw).map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(finish)).collect()
        })
        .await
    }

    async fn update_oauth_client(
        &self,
        id: &str,
        name: &str,
        settings: &ClientSettings,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (id, name, json, event) = (
            id.to_owned(),
            name.to_owned(),
            settings.to_json(),
            event.clone(),
        );
        self.write(move |c| {
            changing(c, &event, |tx| {
                let n = tx
                    .prepare_cached("UPDATE clients SET name = ?2 WHERE id = ?1")?
                    .execute(params![id, name])?;
                if n == 0 {
                    return Ok(0);
                }
                tx.prepare_cached(
                    "INSERT INTO oauth_clients (client_id, settings, updated_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (client_id) DO UPDATE SET settings = excluded.settings, \
                     updated_at = excluded.updated_at",
                )?
                .execute(params![id, json, to_unix_millis(now)])?;
                Ok(n)
            })
        })
        .await
    }

    async fn set_client_secret_hash(
        &self,
        id: &str,
        secret_hash: &str,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (id, hash, event) = (id.to_owned(), secret_hash.to_owned(), event.clone());
        self.write(move |c| {
            changing(c, &event, |tx| {
                tx.prepare_cached("UPDATE clients SET secret_hash = ?2 WHERE id = ?1")?
                    .execute(params![id, hash])
            })
        })
        .await
    }

    async fn delete_oauth_client(&self, id: &str, event: &AuditEvent) -> Result<(), StoreError> {
        let (id, event) = (id.to_owned(), event.clone());
        self.write(move |c| {
            changing(c, &event, |tx| {
                tx.prepare_cached("DELETE FROM oauth_clients WHERE client_id = ?1")?
                    .execute(params![id])?;
                tx.prepare_cached("DELETE FROM clients WHERE id = ?1")?
                    .execute(params![id])
            })
        })
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
        let code = code.clone();
        self.write(move |c| {
            c.prepare_cached(&format!(
                "INSERT INTO oauth_codes ({CODE_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))
            .map_err(map_err)?
            .execute(params![
                code.code_hash,
                code.client_id,
                code.user_id,
                code.session_id,
                code.redirect_uri,
                code.scope.join(" "),
                code.nonce,
                code.code_challenge,
                code.resource,
                to_unix_millis(code.auth_time),
                code.amr.join(" "),
                to_unix_millis(code.created_at),
                to_unix_millis(code.expires_at),
                code.used_at.map(to_unix_millis),
            ])
            .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn take_authorization_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<CodeTaken, StoreError> {
        let hash = code_hash.to_owned();
        self.write(move |c| take_code(c, &hash, to_unix_millis(now)))
            .await
    }
}
