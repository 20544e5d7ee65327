//! [`AuditStore`] on PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use latchkey_core::audit::{AuditEvent, AuditQuery};
use latchkey_core::store::{AuditStore, StoreError, truncate_to_millis};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::{PgStore, map_err, settle};

const COLUMNS: &str = "id, at, event, actor_id, subject_id, session_id, ip, user_agent, \
                       request_id, reason, details";

const INSERT: &str = "INSERT INTO audit_events (id, at, event, actor_id, subject_id, session_id, \
     ip, user_agent, request_id, reason, details) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

const PURGE: &str = "DELETE FROM audit_events WHERE id IN \
     (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)";

/// Appends an event through `c` (a client or the caller's transaction).
pub(crate) async fn insert_event(c: &impl GenericClient, e: &AuditEvent) -> Result<(), StoreError> {
    let details = serde_json::Value::Object(e.details.clone()).to_string();
    let at = truncate_to_millis(e.at);
    let stmt = c.prepare_cached(INSERT).await.map_err(map_err)?;
    c.execute(
        &stmt,
        &[
            &e.id,
            &at,
            &e.event,
            &e.actor_id,
            &e.subject_id,
            &e.session_id,
            &e.ip,
            &e.user_agent,
            &e.request_id,
            &e.reason,
            &details,
        ],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

fn event_from(r: &Row) -> Result<AuditEvent, StoreError> {
    let details: String = r.try_get(10).map_err(map_err)?;
    let mut e = (|| {
        Ok::<_, tokio_postgres::Error>(AuditEvent {
            id: r.try_get(0)?,
            at: r.try_get(1)?,
            event: r.try_get(2)?,
            actor_id: r.try_get(3)?,
            subject_id: r.try_get(4)?,
            session_id: r.try_get(5)?,
            ip: r.try_get(6)?,
            user_agent: r.try_get(7)?,
            request_id: r.try_get(8)?,
            reason: r.try_get(9)?,
            details: serde_json::Map::new(),
        })
    })()
    .map_err(map_err)?;
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

/// A bound query value.
enum Param {
    Text(String),
    Time(OffsetDateTime),
    Int(i64),
}

impl Param {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Text(s) => s,
            Param::Time(t) => t,
            Param::Int(n) => n,
        }
    }
}

/// The SQL and parameters of a query; only fixed column names are
/// interpolated, every value is bound.
fn select(q: &AuditQuery) -> (String, Vec<Param>) {
    let mut sql = format!("SELECT {COLUMNS} FROM audit_events WHERE TRUE");
    let mut values: Vec<Param> = Vec::new();
    let mut bind = |sql: &mut String, clause: &str, v: Param| {
        values.push(v);
        sql.push_str(&clause.replace('?', &format!("${}", values.len())));
    };
    if let Some(s) = &q.subject_id {
        bind(&mut sql, " AND subject_id = ?", Param::Text(s.clone()));
    }
    if let Some(a) = &q.actor_id {
        bind(&mut sql, " AND actor_id = ?", Param::Text(a.clone()));
    }
    if let Some(u) = &q.involving {
        bind(
            &mut sql,
            " AND (subject_id = ? OR actor_id = ?)",
            Param::Text(u.clone()),
        );
    }
    if !q.events.is_empty() {
        sql.push_str(" AND event IN (");
        for (i, e) in q.events.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            bind(&mut sql, "?", Param::Text(e.clone()));
        }
        sql.push(')');
    }
    if let Some(t) = q.since {
        bind(&mut sql, " AND at >= ?", Param::Time(truncate_to_millis(t)));
    }
    if let Some(t) = q.until {
        bind(&mut sql, " AND at < ?", Param::Time(truncate_to_millis(t)));
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
            Param::Text(after.clone()),
        );
    }
    sql.push_str(&format!(" ORDER BY id {order}"));
    bind(&mut sql, " LIMIT ?", Param::Int(i64::from(q.limit)));
    (sql, values)
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = self.bounded_store(insert_event(&client, event)).await;
        settle(client, result)
    }

    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let (sql, values) = select(query);
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(Param::as_sql).collect();
        let client = self.client().await?;
        let result = self
            .bounded_store(async {
                let stmt = client.prepare_cached(&sql).await.map_err(map_err)?;
                client
                    .query(&stmt, &params)
                    .await
                    .map_err(map_err)?
                    .iter()
                    .map(event_from)
                    .collect()
            })
            .await;
        settle(client, result)
    }

    async fn purge_audit_events(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.purge_before(PURGE, before, limit).await
    }
}

impl PgStore {
    /// Runs a retention purge `sql` (`$1` the cut-off, `$2` the batch size);
    /// returns how many rows it deleted.
    pub(crate) async fn purge_before(
        &self,
        sql: &'static str,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let before = truncate_to_millis(before);
        let limit = i64::from(limit);
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(sql).await?;
                client.execute(&stmt, &[&before, &limit]).await
            })
            .await;
        settle(client, result)
    }
}
