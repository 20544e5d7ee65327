//! [`WebhookStore`] on SQLite: endpoints, the outbox and the delivery log
//! (migration `0024_webhooks`). Delivery jobs go in the `jobs` table in the
//! same transaction as their delivery rows.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::lifecycle::NewJob;
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use latchkey_core::webhooks::{
    Attempt, AttemptRecord, Delivery, DeliveryStatus, Endpoint, Format, WebhookStore,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::lifecycle::insert_job;
use crate::{SqliteStore, map_err};

const ENDPOINT: &str = "SELECT id, url, description, event_types, format, secret_sealed, \
     enabled, cursor, failing_since, disabled_reason, created_at, updated_at, audience \
     FROM webhook_endpoints";
const DELIVERY: &str = "SELECT id, endpoint_id, event_id, event_type, event_at, payload, \
     status, attempts, last_status, last_latency_ms, last_error, created_at, updated_at \
     FROM webhook_deliveries";

fn bad(what: &str) -> StoreError {
    StoreError::Backend(format!("webhooks: bad stored {what}"))
}

fn millis(t: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    t.map(from_unix_millis).transpose()
}

type RawEndpoint = (Endpoint, String, String, Option<i64>, [i64; 2]);

fn raw_endpoint(r: &Row<'_>) -> rusqlite::Result<RawEndpoint> {
    Ok((
        Endpoint {
            id: r.get(0)?,
            url: r.get(1)?,
            description: r.get(2)?,
            event_types: Vec::new(),
            format: Format::StandardWebhook,
            audience: r.get(12)?,
            secret_sealed: r.get(5)?,
            enabled: r.get(6)?,
            cursor: r.get(7)?,
            failing_since: None,
            disabled_reason: r.get(9)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        },
        r.get(3)?,
        r.get(4)?,
        r.get(8)?,
        [r.get(10)?, r.get(11)?],
    ))
}

fn endpoint(
    (mut e, types, format, failing, [created, updated]): RawEndpoint,
) -> Result<Endpoint, StoreError> {
    e.event_types = serde_json::from_str(&types).map_err(|_| bad("event types"))?;
    e.format = Format::parse(&format).ok_or_else(|| bad("format"))?;
    e.failing_since = millis(failing)?;
    e.created_at = from_unix_millis(created)?;
    e.updated_at = from_unix_millis(updated)?;
    Ok(e)
}

type RawDelivery = (Delivery, String, [i64; 3]);

fn raw_delivery(r: &Row<'_>) -> rusqlite::Result<RawDelivery> {
    Ok((
        Delivery {
            id: r.get(0)?,
            endpoint_id: r.get(1)?,
            event_id: r.get(2)?,
            event_type: r.get(3)?,
            event_at: OffsetDateTime::UNIX_EPOCH,
            payload: r.get(5)?,
            status: DeliveryStatus::Pending,
            attempts: r.get(7)?,
            last_status: r.get(8)?,
            last_latency_ms: r.get(9)?,
            last_error: r.get(10)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        },
        r.get(6)?,
        [r.get(4)?, r.get(11)?, r.get(12)?],
    ))
}

fn delivery((mut d, status, [at, created, updated]): RawDelivery) -> Result<Delivery, StoreError> {
    d.status = DeliveryStatus::parse(&status).ok_or_else(|| bad("status"))?;
    d.event_at = from_unix_millis(at)?;
    d.created_at = from_unix_millis(created)?;
    d.updated_at = from_unix_millis(updated)?;
    Ok(d)
}

fn types_json(e: &Endpoint) -> String {
    serde_json::to_string(&e.event_types).expect("strings serialize")
}

fn insert_delivery(c: &Connection, d: &Delivery) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, event_at, \
         payload, status, attempts, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
         ON CONFLICT (endpoint_id, event_id) DO NOTHING",
    )
    .map_err(map_err)?
    .execute(params![
        d.id,
        d.endpoint_id,
        d.event_id,
        d.event_type,
        to_unix_millis(d.event_at),
        d.payload,
        d.status.as_str(),
        d.attempts,
        to_unix_millis(d.created_at),
    ])
    .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_webhook(&self, e: &Endpoint, event: &AuditEvent) -> Result<(), StoreError> {
        let (e, event) = (e.clone(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            tx.prepare_cached(
                "INSERT INTO webhook_endpoints (id, url, description, event_types, format, \
                 secret_sealed, enabled, cursor, failing_since, disabled_reason, created_at, \
                 updated_at, audience) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .map_err(map_err)?
            .execute(params![
                e.id,
                e.url,
                e.description,
                types_json(&e),
                e.format.as_str(),
                e.secret_sealed,
                e.enabled,
                e.cursor,
                e.failing_since.map(to_unix_millis),
                e.disabled_reason,
                to_unix_millis(e.created_at),
                to_unix_millis(e.updated_at),
                e.audience,
            ])
            .map_err(map_err)?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn webhook(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("{ENDPOINT} WHERE id = ?1"))
                .map_err(map_err)?
                .query_row(params![id], raw_endpoint)
                .optional()
                .map_err(map_err)?
                .map(endpoint)
                .transpose()
        })
        .await
    }

    async fn webhooks(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(&format!("{ENDPOINT} ORDER BY id"))
                .map_err(map_err)?;
            let rows = stmt.query_map([], raw_endpoint).map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(endpoint))
                .collect()
        })
        .await
    }

    async fn update_webhook(&self, e: &Endpoint, event: &AuditEvent) -> Result<(), StoreError> {
        let (e, event) = (e.clone(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let n = tx
                .prepare_cached(
                    "UPDATE webhook_endpoints SET url = ?2, description = ?3, event_types = ?4, \
                     secret_sealed = ?5, enabled = ?6, failing_since = ?7, disabled_reason = ?8, \
                     updated_at = ?9 WHERE id = ?1",
                )
                .map_err(map_err)?
                .execute(params![
                    e.id,
                    e.url,
                    e.description,
                    types_json(&e),
                    e.secret_sealed,
                    e.enabled,
                    e.failing_since.map(to_unix_millis),
                    e.disabled_reason,
                    to_unix_millis(e.updated_at),
                ])
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn delete_webhook(&self, id: &str, event: &AuditEvent) -> Result<(), StoreError> {
        let (id, event) = (id.to_owned(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let n = tx
                .prepare_cached("DELETE FROM webhook_endpoints WHERE id = ?1")
                .map_err(map_err)?
                .execute(params![id])
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn enqueue_webhook_deliveries(
        &self,
        endpoint_id: &str,
        from: i64,
        to: i64,
        deliveries: &[(Delivery, NewJob)],
    ) -> Result<bool, StoreError> {
        let (id, rows) = (endpoint_id.to_owned(), deliveries.to_vec());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let moved = tx
                .prepare_cached(
                    "UPDATE webhook_endpoints SET cursor = ?3 WHERE id = ?1 AND cursor = ?2",
                )
                .map_err(map_err)?
                .execute(params![id, from, to])
                .map_err(map_err)?
                == 1;
            if !moved {
                return Ok(false);
            }
            for (d, job) in &rows {
                insert_delivery(&tx, d)?;
                insert_job(&tx, job)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }

    async fn webhook_delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("{DELIVERY} WHERE id = ?1"))
                .map_err(map_err)?
                .query_row(params![id], raw_delivery)
                .optional()
                .map_err(map_err)?
                .map(delivery)
                .transpose()
        })
        .await
    }

    async fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        since: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let id = endpoint_id.to_owned();
        let since = since.map_or(i64::MIN, to_unix_millis);
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "{DELIVERY} WHERE endpoint_id = ?1 AND event_at >= ?2 \
                     ORDER BY event_id DESC LIMIT ?3"
                ))
                .map_err(map_err)?;
            let rows = stmt
                .query_map(params![id, since, limit], raw_delivery)
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(delivery))
                .collect()
        })
        .await
    }

    async fn webhook_attempts(&self, delivery_id: &str) -> Result<Vec<Attempt>, StoreError> {
        let id = delivery_id.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT at, status, latency_ms, error FROM webhook_attempts \
                     WHERE delivery_id = ?1 ORDER BY id",
                )
                .map_err(map_err)?;
            let rows = stmt
                .query_map(params![id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .map_err(map_err)?;
            rows.map(|r| {
                let (at, status, latency_ms, error) = r.map_err(map_err)?;
                Ok(Attempt {
                    at: from_unix_millis(at)?,
                    status,
                    latency_ms,
                    error,
                })
            })
            .collect()
        })
        .await
    }

    async fn record_webhook_attempt(
        &self,
        delivery_id: &str,
        record: &AttemptRecord,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let (id, r, event) = (delivery_id.to_owned(), record.clone(), event.cloned());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let at = to_unix_millis(r.attempt.at);
            let endpoint: Option<String> = tx
                .prepare_cached(
                    "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1, \
                     last_status = ?3, last_latency_ms = ?4, last_error = ?5, updated_at = ?6 \
                     WHERE id = ?1 AND status = 'pending' RETURNING endpoint_id",
                )
                .map_err(map_err)?
                .query_row(
                    params![
                        id,
                        r.status.as_str(),
                        r.attempt.status,
                        r.attempt.latency_ms,
                        r.attempt.error,
                        at,
                    ],
                    |row| row.get(0),
                )
                .optional()
                .map_err(map_err)?;
            let Some(endpoint) = endpoint else {
                return Ok(false);
            };
            tx.prepare_cached(
                "INSERT INTO webhook_attempts (delivery_id, at, status, latency_ms, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(map_err)?
            .execute(params![
                id,
                at,
                r.attempt.status,
                r.attempt.latency_ms,
                r.attempt.error
            ])
            .map_err(map_err)?;
            tx.prepare_cached(
                "UPDATE webhook_endpoints SET failing_since = ?2, \
                 enabled = CASE WHEN ?3 IS NULL THEN enabled ELSE 0 END, \
                 disabled_reason = coalesce(?3, disabled_reason) WHERE id = ?1",
            )
            .map_err(map_err)?
            .execute(params![
                endpoint,
                r.failing_since.map(to_unix_millis),
                r.disable
            ])
            .map_err(map_err)?;
            if let Some(event) = &event {
                insert_event(&tx, event)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }

    async fn requeue_webhook_deliveries(
        &self,
        deliveries: &[(String, NewJob)],
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let rows = deliveries.to_vec();
        let now = to_unix_millis(now);
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let mut n = 0;
            for (id, job) in &rows {
                let changed = tx
                    .prepare_cached(
                        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
                         updated_at = ?2 WHERE id = ?1",
                    )
                    .map_err(map_err)?
                    .execute(params![id, now])
                    .map_err(map_err)?;
                if changed == 1 {
                    insert_job(&tx, job)?;
                    n += 1;
                }
            }
            tx.commit().map_err(map_err)?;
            Ok(n)
        })
        .await
    }
}
