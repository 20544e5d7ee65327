//! [`WebhookStore`] on PostgreSQL: endpoints, the outbox and the delivery
//! log (migration `0024_webhooks`). Delivery jobs go in the `jobs` table in
//! the same transaction as their delivery rows.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::lifecycle::NewJob;
use latchkey_core::store::{StoreError, truncate_to_millis};
use latchkey_core::webhooks::{
    Attempt, AttemptRecord, Delivery, DeliveryStatus, Endpoint, Format, WebhookStore,
};
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::audit::insert_event;
use crate::lifecycle::{exec, in_tx, insert_job};
use crate::{PgStore, map_err, settle};

const ENDPOINT_BY_ID: &str = "SELECT id, url, description, event_types, format, secret_sealed, \
     enabled, cursor, failing_since, disabled_reason, created_at, updated_at, audience \
     FROM webhook_endpoints WHERE id = $1";
const ENDPOINTS: &str = "SELECT id, url, description, event_types, format, secret_sealed, \
     enabled, cursor, failing_since, disabled_reason, created_at, updated_at, audience \
     FROM webhook_endpoints ORDER BY id";
const INSERT_ENDPOINT: &str = "INSERT INTO webhook_endpoints (id, url, description, \
     event_types, format, secret_sealed, enabled, cursor, failing_since, disabled_reason, \
     created_at, updated_at, audience) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const UPDATE_ENDPOINT: &str = "UPDATE webhook_endpoints SET url = $2, description = $3, \
     event_types = $4, secret_sealed = $5, enabled = $6, failing_since = $7, \
     disabled_reason = $8, updated_at = $9 WHERE id = $1";
const DELETE_ENDPOINT: &str = "DELETE FROM webhook_endpoints WHERE id = $1";
const MOVE_CURSOR: &str = "UPDATE webhook_endpoints SET cursor = $3 WHERE id = $1 AND cursor = $2";
const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, \
     event_type, event_at, payload, status, attempts, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
     ON CONFLICT (endpoint_id, event_id) DO NOTHING";
const DELIVERY_BY_ID: &str = "SELECT id, endpoint_id, event_id, event_type, event_at, payload, \
     status, attempts, last_status, last_latency_ms, last_error, created_at, updated_at \
     FROM webhook_deliveries WHERE id = $1";
const DELIVERIES: &str = "SELECT id, endpoint_id, event_id, event_type, event_at, payload, \
     status, attempts, last_status, last_latency_ms, last_error, created_at, updated_at \
     FROM webhook_deliveries WHERE endpoint_id = $1 AND event_at >= $2 \
     ORDER BY event_id DESC LIMIT $3";
const ATTEMPTS: &str = "SELECT at, status, latency_ms, error FROM webhook_attempts \
     WHERE delivery_id = $1 ORDER BY id";
const RECORD: &str = "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
     last_status = $3, last_latency_ms = $4, last_error = $5, updated_at = $6 \
     WHERE id = $1 AND status = 'pending' RETURNING endpoint_id";
const INSERT_ATTEMPT: &str = "INSERT INTO webhook_attempts (delivery_id, at, status, \
     latency_ms, error) VALUES ($1, $2, $3, $4, $5)";
const ENDPOINT_STATE: &str = "UPDATE webhook_endpoints SET failing_since = $2, \
     enabled = CASE WHEN $3::text IS NULL THEN enabled ELSE false END, \
     disabled_reason = coalesce($3::text, disabled_reason) WHERE id = $1";
const REQUEUE: &str = "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
     updated_at = $2 WHERE id = $1";

fn bad(what: &str) -> StoreError {
    StoreError::Backend(format!("webhooks: bad stored {what}"))
}

fn endpoint(r: &Row) -> Result<Endpoint, StoreError> {
    let types: String = r.try_get(3).map_err(map_err)?;
    let format: String = r.try_get(4).map_err(map_err)?;
    Ok(Endpoint {
        id: r.try_get(0).map_err(map_err)?,
        url: r.try_get(1).map_err(map_err)?,
        description: r.try_get(2).map_err(map_err)?,
        event_types: serde_json::from_str(&types).map_err(|_| bad("event types"))?,
        format: Format::parse(&format).ok_or_else(|| bad("format"))?,
        audience: r.try_get(12).map_err(map_err)?,
        secret_sealed: r.try_get(5).map_err(map_err)?,
        enabled: r.try_get(6).map_err(map_err)?,
        cursor: r.try_get(7).map_err(map_err)?,
        failing_since: r.try_get(8).map_err(map_err)?,
        disabled_reason: r.try_get(9).map_err(map_err)?,
        created_at: r.try_get(10).map_err(map_err)?,
        updated_at: r.try_get(11).map_err(map_err)?,
    })
}

fn delivery(r: &Row) -> Result<Delivery, StoreError> {
    let status: String = r.try_get(6).map_err(map_err)?;
    let attempts: i32 = r.try_get(7).map_err(map_err)?;
    let last_status: Option<i32> = r.try_get(8).map_err(map_err)?;
    let latency: Option<i32> = r.try_get(9).map_err(map_err)?;
    Ok(Delivery {
        id: r.try_get(0).map_err(map_err)?,
        endpoint_id: r.try_get(1).map_err(map_err)?,
        event_id: r.try_get(2).map_err(map_err)?,
        event_type: r.try_get(3).map_err(map_err)?,
        event_at: r.try_get(4).map_err(map_err)?,
        payload: r.try_get(5).map_err(map_err)?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| bad("status"))?,
        attempts: u32::try_from(attempts).map_err(|_| bad("attempts"))?,
        last_status: last_status.and_then(|s| u16::try_from(s).ok()),
        last_latency_ms: latency.and_then(|l| u32::try_from(l).ok()),
        last_error: r.try_get(10).map_err(map_err)?,
        created_at: r.try_get(11).map_err(map_err)?,
        updated_at: r.try_get(12).map_err(map_err)?,
    })
}

fn types_json(e: &Endpoint) -> String {
    serde_json::to_string(&e.event_types).expect("strings serialize")
}

fn opt_millis(t: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    t.map(truncate_to_millis)
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn insert_webhook(&self, e: &Endpoint, event: &AuditEvent) -> Result<(), StoreError> {
        let types = types_json(e);
        let (failing, created, updated) = (
            opt_millis(e.failing_since),
            truncate_to_millis(e.created_at),
            truncate_to_millis(e.updated_at),
        );
        in_tx!(self, |tx| {
            exec(
                tx,
                INSERT_ENDPOINT,
                &[
                    &e.id,
                    &e.url,
                    &e.description,
                    &types,
                    &e.format.as_str(),
                    &e.secret_sealed,
                    &e.enabled,
                    &e.cursor,
                    &failing,
                    &e.disabled_reason,
                    &created,
                    &updated,
                    &e.audience,
                ],
            )
            .await?;
            insert_event(tx, event).await?;
            (true, ())
        })
    }

    async fn webhook(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        self.query1(ENDPOINT_BY_ID, &[&id])
            .await?
            .first()
            .map(endpoint)
            .transpose()
    }

    async fn webhooks(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.query1(ENDPOINTS, &[])
            .await?
            .iter()
            .map(endpoint)
            .collect()
    }

    async fn update_webhook(&self, e: &Endpoint, event: &AuditEvent) -> Result<(), StoreError> {
        let types = types_json(e);
        let (failing, updated) = (
            opt_millis(e.failing_since),
            truncate_to_millis(e.updated_at),
        );
        in_tx!(self, |tx| {
            let n = exec(
                tx,
                UPDATE_ENDPOINT,
                &[
                    &e.id,
                    &e.url,
                    &e.description,
                    &types,
                    &e.secret_sealed,
                    &e.enabled,
                    &failing,
                    &e.disabled_reason,
                    &updated,
                ],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_event(tx, event).await?;
            (true, ())
        })
    }

    async fn delete_webhook(&self, id: &str, event: &AuditEvent) -> Result<(), StoreError> {
        in_tx!(self, |tx| {
            if exec(tx, DELETE_ENDPOINT, &[&id]).await? == 0 {
                return Err(StoreError::NotFound);
            }
            insert_event(tx, event).await?;
            (true, ())
        })
    }

    async fn enqueue_webhook_deliveries(
        &self,
        endpoint_id: &str,
        from: i64,
        to: i64,
        deliveries: &[(Delivery, NewJob)],
    ) -> Result<bool, StoreError> {
        in_tx!(self, |tx| {
            if exec(tx, MOVE_CURSOR, &[&endpoint_id, &from, &to]).await? != 1 {
                return Ok(false);
            }
            for (d, job) in deliveries {
                let attempts = d.attempts as i32;
                exec(
                    tx,
                    INSERT_DELIVERY,
                    &[
                        &d.id,
                        &d.endpoint_id,
                        &d.event_id,
                        &d.event_type,
                        &truncate_to_millis(d.event_at),
                        &d.payload,
                        &d.status.as_str(),
                        &attempts,
                        &truncate_to_millis(d.created_at),
                    ],
                )
                .await?;
                insert_job(tx, job).await?;
            }
            (true, true)
        })
    }

    async fn webhook_delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        self.query1(DELIVERY_BY_ID, &[&id])
            .await?
            .first()
            .map(delivery)
            .transpose()
    }

    async fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        since: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let since = since.map_or(OffsetDateTime::UNIX_EPOCH, truncate_to_millis);
        let limit = i64::from(limit);
        self.query1(DELIVERIES, &[&endpoint_id, &since, &limit])
            .await?
            .iter()
            .map(delivery)
            .collect()
    }

    async fn webhook_attempts(&self, delivery_id: &str) -> Result<Vec<Attempt>, StoreError> {
        self.query1(ATTEMPTS, &[&delivery_id])
            .await?
            .iter()
            .map(|r| {
                let status: Option<i32> = r.try_get(1).map_err(map_err)?;
                let latency: i32 = r.try_get(2).map_err(map_err)?;
                Ok(Attempt {
                    at: r.try_get(0).map_err(map_err)?,
                    status: status.and_then(|s| u16::try_from(s).ok()),
                    latency_ms: u32::try_from(latency).unwrap_or(0),
                    error: r.try_get(3).map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn record_webhook_attempt(
        &self,
        delivery_id: &str,
        record: &AttemptRecord,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let at = truncate_to_millis(record.attempt.at);
        let status = record.attempt.status.map(i32::from);
        let latency = i32::try_from(record.attempt.latency_ms).unwrap_or(i32::MAX);
        let failing = opt_millis(record.failing_since);
        in_tx!(self, |tx| {
            let stmt = tx.prepare_cached(RECORD).await.map_err(map_err)?;
            let row = tx
                .query_opt(
                    &stmt,
                    &[
                        &delivery_id,
                        &record.status.as_str(),
                        &status,
                        &latency,
                        &record.attempt.error,
                        &at,
                    ],
                )
                .await
                .map_err(map_err)?;
            let Some(row) = row else {
                return Ok(false);
            };
            let endpoint_id: String = row.try_get(0).map_err(map_err)?;
            exec(
                tx,
                INSERT_ATTEMPT,
                &[&delivery_id, &at, &status, &latency, &record.attempt.error],
            )
            .await?;
            exec(
                tx,
                ENDPOINT_STATE,
                &[&endpoint_id, &failing, &record.disable],
            )
            .await?;
            if let Some(event) = event {
                insert_event(tx, event).await?;
            }
            (true, true)
        })
    }

    async fn requeue_webhook_deliveries(
        &self,
        deliveries: &[(String, NewJob)],
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let now = truncate_to_millis(now);
        in_tx!(self, |tx| {
            let mut n = 0;
            for (id, job) in deliveries {
                if exec(tx, REQUEUE, &[id, &now]).await? == 1 {
                    insert_job(tx, job).await?;
                    n += 1;
                }
            }
            (true, n)
        })
    }
}
