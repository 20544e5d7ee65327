//! [`AdminStore`] on PostgreSQL: the user search, and audited writes (each
//! one transaction, event included).

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::store::{AdminStore, StoreError, truncate_to_millis};
use latchkey_core::user::{Suspension, User, UserSearch};
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use crate::audit::insert_event;
use crate::credentials::void_tokens;
use crate::roles::lock_user;
use crate::users::{COLUMNS, user_from};
use crate::{PgStore, map_err, settle};

/// Ends a deleted user's sessions (`$2` the deletion's time), so that each
/// records its `session.revoked` event before the rows go.
const END_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2, revoked_reason = 'user_deleted' \
     WHERE user_id = $1 AND revoked_at IS NULL";

/// `%text%` for LIKE, with the wildcards in `text` escaped (by `\`).
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

const SUSPEND: &str = "UPDATE users SET suspended_at = $2, suspended_until = $3, \
     suspension_reason = $4 WHERE id = $1";
const END_ALL: &str = "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
     WHERE user_id = $1 AND revoked_at IS NULL";
const UNSUSPEND: &str = "UPDATE users SET suspended_at = NULL, suspended_until = NULL, \
     suspension_reason = NULL WHERE id = $1";

#[async_trait]
impl AdminStore for PgStore {
    async fn search_users(&self, search: &UserSearch) -> Result<Vec<User>, StoreError> {
        let after = search.after_id.clone().unwrap_or_default();
        let mut sql = format!("SELECT {COLUMNS} FROM users WHERE id > $1");
        let mut texts: Vec<String> = vec![after];
        if let Some(q) = search.query.as_deref().filter(|q| !q.is_empty()) {
            texts.push(contains_pattern(&q.to_lowercase()));
            texts.push(q.to_owned());
            let (p, exact) = (texts.len() - 1, texts.len());
            sql.push_str(&format!(
                " AND (email_normalized LIKE ${p} ESCAPE '\\' \
                 OR username_normalized LIKE ${p} ESCAPE '\\' \
                 OR lower(name) LIKE ${p} ESCAPE '\\' OR id = ${exact})"
            ));
        }
        if let Some(role) = search
            .role
            .as_deref()
            .filter(|r| *r != latchkey_core::roles::USER)
        {
            texts.push(role.to_owned());
            sql.push_str(&format!(
                " AND id IN (SELECT user_id FROM user_roles WHERE role = ${})",
                texts.len()
            ));
        }
        let limit = i64::from(search.limit);
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", texts.len() + 1));
        let mut params: Vec<&(dyn ToSql + Sync)> =
            texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
        params.push(&limit);
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(&sql).await?;
                client
                    .query(&stmt, &params)
                    .await?
                    .iter()
                    .map(user_from)
                    .collect::<Result<Vec<_>, _>>()
            })
            .await;
        settle(client, result)
    }

    async fn delete_user(&self, user_id: &str, event: &AuditEvent) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                // The user's row first (as suspension and password changes
                // lock it), then its sessions end with their events, then it goes.
                if !lock_user(&tx, user_id).await? {
                    return Err(StoreError::NotFound);
                }
                let at = truncate_to_millis(event.at);
                tx.execute(END_SESSIONS, &[&user_id, &at])
                    .await
                    .map_err(map_err)?;
                tx.execute("DELETE FROM users WHERE id = $1", &[&user_id])
                    .await
                    .map_err(map_err)?;
                insert_event(&tx, event).await?;
                tx.commit().await.map_err(map_err)
            })
            .await;
        settle(client, result)
    }

    async fn suspend_user(
        &self,
        user_id: &str,
        s: &Suspension,
        event: &AuditEvent,
    ) -> Result<u64, StoreError> {
        let at = truncate_to_millis(s.suspended_at);
        let until = s.until.map(truncate_to_millis);
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                // The row lock waits for sign-ins holding FOR SHARE (see
                // create_session): their sessions are committed before the
                // revocation below runs, so it ends them too.
                let stmt = tx.prepare_cached(SUSPEND).await.map_err(map_err)?;
                let n = tx
                    .execute(&stmt, &[&user_id, &at, &until, &s.reason])
                    .await
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                let stmt = tx.prepare_cached(END_ALL).await.map_err(map_err)?;
                let ended = tx
                    .execute(&stmt, &[&user_id, &at, &"suspended"])
                    .await
                    .map_err(map_err)?;
                void_tokens(&tx, user_id, at).await?;
                insert_event(&tx, event).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(ended)
            })
            .await;
        settle(client, result)
    }

    async fn unsuspend_user(
        &self,
        user_id: &str,
        _now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                if !lock_user(&tx, user_id).await? {
                    return Err(StoreError::NotFound);
                }
                let stmt = tx.prepare_cached(UNSUSPEND).await.map_err(map_err)?;
                tx.execute(&stmt, &[&user_id]).await.map_err(map_err)?;
                insert_event(&tx, event).await?;
                tx.commit().await.map_err(map_err)
            })
            .await;
        settle(client, result)
    }
}
