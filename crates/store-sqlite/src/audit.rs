//! [`AuditStore`] on SQLite.

use async_trait::async_trait;
use latchkey_core::audit::{AuditEvent, AuditQuery};
use latchkey_core::store::{AuditStore, StoreError, from_unix_millis, to_unix_millis};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params, params_from_iter};
use time::OffsetDateTime;

use crate::{SqliteStore, map_err};

const COLUMNS: &str = "id, at, event, actor_id, subject_id, session_id, ip, user_agent, \
                       request_id, reason, details";

const INSERT: &str = "INSERT INTO audit_events (id, at, event, actor_id, subject_id, session_id, \
     ip, user_agent, request_id, reason, details) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

const PURGE: &str = "DELETE FROM audit_events WHERE id IN \
     (SELECT id FROM audit_events WHERE at < ?1 ORDER BY at LIMIT ?2)";

/// Appends an event on `c` (inside the caller's transaction, if any).
pub(crate) fn insert_event(c: &Connection, e: &AuditEvent) -> Result<(), StoreError> {
    let details = serde_json::Value::Object(e.details.clone()).to_string();
    c.prepare_cached(INSERT)
        .map_err(map_err)?
        .execute(params![
            e.id,
            to_unix_millis(e.at),
            e.event,
            e.actor_id,
            e.subject_id,
            e.session_id,
            e.ip,
            e.user_agent,
            e.request_id,
            e.reason,
            details,
        ])
        .map_err(map_err)?;
    Ok(())
}

type RawEvent = (AuditEvent, i64, String);

fn raw_event(r: &Row<'_>) -> rusqlite::Result<RawEvent> {
    Ok((
        AuditEvent {
            id: r.get(0)?,
            at: OffsetDateTime::UNIX_EPOCH,
            event: r.get(2)?,
            actor_id: r.get(3)?,
            subject_id: r.get(4)?,
            session_id: r.get(5)?,
            ip: r.get(6)?,
            user_agent: r.get(7)?,
            request_id: r.get(8)?,
            reason: r.get(9)?,
            details: serde_json::Map::new(),
        },
        r.get(1)?,
        r.get(10)?,
    ))
}

fn finish((mut e, at, details): RawEvent) -> Result<AuditEvent, StoreError> {
    e.at = from_unix_millis(at)?;
    e.details = match serde_json::from_str(&details) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => {
            return Err(StoreError::Backend(format!(
                "audit event {} has malformed details",
                e.id
            )));
        }
    };
    Ok(e)
}

/// The SQL and parameters of a query; only fixed column names are
/// interpolated, every value is bound.
fn select(q: &AuditQuery) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {COLUMNS} FROM audit_events WHERE 1 = 1");
    let mut values: Vec<Value> = Vec::new();
    let mut bind = |sql: &mut String, clause: &str, v: Value| {
        values.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
    };
    if let Some(s) = &q.subject_id {
        bind(&mut sql, " AND subject_id = ?", Value::Text(s.clone()));
    }
    if let Some(a) = &q.actor_id {
        bind(&mut sql, " AND actor_id = ?", Value::Text(a.clone()));
    }
    if let Some(u) = &q.involving {
        bind(
            &mut sql,
            " AND (subject_id = ? OR actor_id = ?)",
            Value::Text(u.clone()),
        );
    }
    if !q.events.is_empty() {
        sql.push_str(" AND event IN (");
        for (i, e) in q.events.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            bind(&mut sql, "?", Value::Text(e.clone()));
        }
        sql.push(')');
    }
    if let Some(t) = q.since {
        bind(&mut sql, " AND at >= ?", Value::Integer(to_unix_millis(t)));
    }
    if let Some(t) = q.until {
        bind(&mut sql, " AND at < ?", Value::Integer(to_unix_millis(t)));
    }
    let (cmp, order) = if q.oldest_first {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    if let Some(after) = &q.after_id {
        bind(
            &mut sql,
            &format!(" AND id {cmp} ?"),
            Value::Text(after.clone()),
        );
    }
    sql.push_str(&format!(" ORDER BY id {order}"));
    bind(&mut sql, " LIMIT ?", Value::Integer(i64::from(q.limit)));
    (sql, values)
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.write(move |c| insert_event(c, &event)).await
    }

    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let (sql, values) = select(query);
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = stmt
                .query_map(params_from_iter(values), raw_event)
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(finish)).collect()
        })
        .await
    }

    async fn purge_audit_events(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.purge_before(PURGE, before, limit).await
    }
}

impl SqliteStore {
    /// Runs a retention purge `sql` (`?1` the cut-off, `?2` the batch size)
    /// on the writer; returns how many rows it deleted.
    pub(crate) async fn purge_before(
        &self,
        sql: &'static str,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let before = to_unix_millis(before);
        self.write(move |c| {
            let n = c
                .prepare_cached(sql)
                .map_err(map_err)?
                .execute(params![before, limit])
                .map_err(map_err)?;
            Ok(n as u64)
        })
        .await
    }
}
