//! [`AdminStore`] on SQLite: the user search, and audited writes (each one
//! transaction on the writer thread, event included).

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::store::{AdminStore, StoreError, to_unix_millis};
use latchkey_core::user::{Suspension, User, UserSearch};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::credentials::void_tokens;
use crate::roles::user_exists;
use crate::users::{COLUMNS, finish, raw_user};
use crate::{SqliteStore, map_err};

/// Ends a deleted user's sessions (`?2` the deletion's time), so that each
/// records its `session.revoked` event before the rows go.
const END_SESSIONS: &str = "UPDATE sessions SET revoked_at = ?2, revoked_reason = 'user_deleted' \
     WHERE user_id = ?1 AND revoked_at IS NULL";

/// `%text%` for LIKE, with the wildcards in `text` escaped (by `\`).
pub(crate) fn contains_pattern(text: &str) -> String {
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

#[async_trait]
impl AdminStore for SqliteStore {
    async fn search_users(&self, search: &UserSearch) -> Result<Vec<User>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM users WHERE id > ?1");
        let mut values = vec![Value::Text(search.after_id.clone().unwrap_or_default())];
        if let Some(q) = search.query.as_deref().filter(|q| !q.is_empty()) {
            values.push(Value::Text(contains_pattern(&q.to_lowercase())));
            values.push(Value::Text(q.to_owned()));
            let (p, exact) = (values.len() - 1, values.len());
            sql.push_str(&format!(
                " AND (email_normalized LIKE ?{p} ESCAPE '\\' \
                 OR username_normalized LIKE ?{p} ESCAPE '\\' \
                 OR lower(name) LIKE ?{p} ESCAPE '\\' OR id = ?{exact})"
            ));
        }
        if let Some(role) = search
            .role
            .as_deref()
            .filter(|r| *r != latchkey_core::roles::USER)
        {
            values.push(Value::Text(role.to_owned()));
            sql.push_str(&format!(
                " AND id IN (SELECT user_id FROM user_roles WHERE role = ?{})",
                values.len()
            ));
        }
        values.push(Value::Integer(i64::from(search.limit)));
        sql.push_str(&format!(" ORDER BY id LIMIT ?{}", values.len()));
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = stmt
                .query_map(params_from_iter(values), raw_user)
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(finish)).collect()
        })
        .await
    }

    async fn delete_user(&self, user_id: &str, event: &AuditEvent) -> Result<(), StoreError> {
        let (user_id, event) = (user_id.to_owned(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            // Its sessions end first, so that each records `session.revoked`.
            tx.prepare_cached(END_SESSIONS)
                .map_err(map_err)?
                .execute(params![user_id, to_unix_millis(event.at)])
                .map_err(map_err)?;
            let n = tx
                .prepare_cached("DELETE FROM users WHERE id = ?1")
                .map_err(map_err)?
                .execute(params![user_id])
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            crate::erase_traces(c);
            Ok(())
        })
        .await
    }

    async fn suspend_user(
        &self,
        user_id: &str,
        suspension: &Suspension,
        event: &AuditEvent,
    ) -> Result<u64, StoreError> {
        let (user_id, s, event) = (user_id.to_owned(), suspension.clone(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let at = to_unix_millis(s.suspended_at);
            let n = tx
                .prepare_cached(
                    "UPDATE users SET suspended_at = ?2, suspended_until = ?3, \
                     suspension_reason = ?4 WHERE id = ?1",
                )
                .map_err(map_err)?
                .execute(params![user_id, at, s.until.map(to_unix_millis), s.reason])
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let ended = tx
                .prepare_cached(
                    "UPDATE sessions SET revoked_at = ?2, revoked_reason = 'suspended' \
                     WHERE user_id = ?1 AND revoked_at IS NULL",
                )
                .map_err(map_err)?
                .execute(params![user_id, at])
                .map_err(map_err)?;
            void_tokens(&tx, &user_id, at)?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(ended as u64)
        })
        .await
    }

    async fn unsuspend_user(
        &self,
        user_id: &str,
        _now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (user_id, event) = (user_id.to_owned(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            if !user_exists(&tx, &user_id)? {
                return Err(StoreError::NotFound);
            }
            tx.prepare_cached(
                "UPDATE users SET suspended_at = NULL, suspended_until = NULL, \
                 suspension_reason = NULL WHERE id = ?1",
            )
            .map_err(map_err)?
            .execute(params![user_id])
            .map_err(map_err)?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }
}
