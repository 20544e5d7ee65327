//! [`OAuthGrantStore`] on SQLite: client sessions and remembered consent
//! (migration 0031).

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::oauth::{ClientSession, ClientSessions, Grant, OAuthGrantStore};
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::{SqliteStore, map_err};

const CS_COLUMNS: &str = "o.session_id, o.client_id, o.user_id, o.parent_session_id, o.scope, \
     o.resource, o.code_hash, o.created_at";

fn words(s: String) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

fn client_session(r: &Row<'_>) -> rusqlite::Result<(ClientSession, i64)> {
    Ok((
        ClientSession {
            session_id: r.get(0)?,
            client_id: r.get(1)?,
            user_id: r.get(2)?,
            parent_session_id: r.get(3)?,
            scope: words(r.get(4)?),
            resource: r.get(5)?,
            code_hash: r.get(6)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
        },
        r.get(7)?,
    ))
}

fn finish_cs((mut cs, created): (ClientSession, i64)) -> Result<ClientSession, StoreError> {
    cs.created_at = from_unix_millis(created)?;
    Ok(cs)
}

fn grant(r: &Row<'_>) -> rusqlite::Result<(Grant, i64, i64)> {
    Ok((
        Grant {
            user_id: r.get(0)?,
            client_id: r.get(1)?,
            scope: words(r.get(2)?),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        },
        r.get(3)?,
        r.get(4)?,
    ))
}

fn finish_grant((mut g, created, updated): (Grant, i64, i64)) -> Result<Grant, StoreError> {
    g.created_at = from_unix_millis(created)?;
    g.updated_at = from_unix_millis(updated)?;
    Ok(g)
}

const GRANT_COLUMNS: &str = "user_id, client_id, scope, created_at, updated_at";

fn revoke_of_grant(
    c: &Connection,
    user_id: &str,
    client_id: &str,
    now: i64,
    reason: &str,
) -> Result<u64, StoreError> {
    Ok(c.prepare_cached(
        "UPDATE sessions SET revoked_at = ?3, revoked_reason = ?4 WHERE revoked_at IS NULL \
         AND id IN (SELECT session_id FROM oauth_sessions WHERE user_id = ?1 AND client_id = ?2)",
    )
    .map_err(map_err)?
    .execute(params![user_id, client_id, now, reason])
    .map_err(map_err)? as u64)
}

#[async_trait]
impl OAuthGrantStore for SqliteStore {
    async fn insert_client_session(&self, session: &ClientSession) -> Result<(), StoreError> {
        let cs = session.clone();
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO oauth_sessions (session_id, client_id, user_id, parent_session_id, \
                 scope, resource, code_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(map_err)?
            .execute(params![
                cs.session_id,
                cs.client_id,
                cs.user_id,
                cs.parent_session_id,
                cs.scope.join(" "),
                cs.resource,
                cs.code_hash,
                to_unix_millis(cs.created_at)
            ])
            .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn client_session(&self, session_id: &str) -> Result<Option<ClientSession>, StoreError> {
        let id = session_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {CS_COLUMNS} FROM oauth_sessions o WHERE o.session_id = ?1"
            ))
            .map_err(map_err)?
            .query_row(params![id], client_session)
            .optional()
            .map_err(map_err)?
            .map(finish_cs)
            .transpose()
        })
        .await
    }

    async fn client_session_by_refresh(
        &self,
        token_hash: &str,
    ) -> Result<Option<ClientSession>, StoreError> {
        let hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {CS_COLUMNS} FROM refresh_tokens t \
                 JOIN oauth_sessions o ON o.session_id = t.session_id WHERE t.token_hash = ?1"
            ))
            .map_err(map_err)?
            .query_row(params![hash], client_session)
            .optional()
            .map_err(map_err)?
            .map(finish_cs)
            .transpose()
        })
        .await
    }

    async fn revoke_client_sessions(
        &self,
        which: ClientSessions<'_>,
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let now = to_unix_millis(now);
        let reason = reason.to_owned();
        match which {
            ClientSessions::FromCode(hash) => {
                let hash = hash.to_owned();
                self.write(move |c| {
                    Ok(c.prepare_cached(
                        "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 \
                         WHERE revoked_at IS NULL AND id IN \
                         (SELECT session_id FROM oauth_sessions WHERE code_hash = ?1)",
                    )
                    .map_err(map_err)?
                    .execute(params![hash, now, reason])
                    .map_err(map_err)? as u64)
                })
                .await
            }
            ClientSessions::OfGrant { user_id, client_id } => {
                let (user, client) = (user_id.to_owned(), client_id.to_owned());
                self.write(move |c| revoke_of_grant(c, &user, &client, now, &reason))
                    .await
            }
        }
    }

    async fn grant(&self, user_id: &str, client_id: &str) -> Result<Option<Grant>, StoreError> {
        let (user, client) = (user_id.to_owned(), client_id.to_owned());
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE user_id = ?1 AND client_id = ?2"
            ))
            .map_err(map_err)?
            .query_row(params![user, client], grant)
            .optional()
            .map_err(map_err)?
            .map(finish_grant)
            .transpose()
        })
        .await
    }

    async fn upsert_grant(&self, grant: &Grant, event: &AuditEvent) -> Result<(), StoreError> {
        let (g, event) = (grant.clone(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            tx.prepare_cached(
                "INSERT INTO oauth_grants (user_id, client_id, scope, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, client_id) DO UPDATE \
                 SET scope = excluded.scope, updated_at = excluded.updated_at",
            )
            .map_err(map_err)?
            .execute(params![
                g.user_id,
                g.client_id,
                g.scope.join(" "),
                to_unix_millis(g.created_at),
                to_unix_millis(g.updated_at)
            ])
            .map_err(map_err)?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn grants_of_user(&self, user_id: &str) -> Result<Vec<Grant>, StoreError> {
        let user = user_id.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE user_id = ?1 ORDER BY client_id"
                ))
                .map_err(map_err)?;
            let rows = stmt.query_map(params![user], grant).map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(finish_grant))
                .collect()
        })
        .await
    }

    async fn delete_grant(
        &self,
        user_id: &str,
        client_id: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let (user, client, event) = (user_id.to_owned(), client_id.to_owned(), event.clone());
        let now = to_unix_millis(now);
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let deleted = tx
                .prepare_cached("DELETE FROM oauth_grants WHERE user_id = ?1 AND client_id = ?2")
                .map_err(map_err)?
                .execute(params![user, client])
                .map_err(map_err)?
                == 1;
            revoke_of_grant(&tx, &user, &client, now, "grant_revoked")?;
            if deleted {
                insert_event(&tx, &event)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(deleted)
        })
        .await
    }
}
