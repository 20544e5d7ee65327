//! The webhooks slice's store contract: endpoints, the outbox of
//! deliveries with their jobs, and the delivery log.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::model::{Attempt, AttemptRecord, Delivery, Endpoint};
use crate::audit::AuditEvent;
use crate::lifecycle::NewJob;
use crate::store::StoreError;

/// Webhook endpoints, their outbox and their delivery log.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Registers an endpoint, with its audit event.
    async fn insert_webhook(
        &self,
        endpoint: &Endpoint,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// One endpoint.
    async fn webhook(&self, id: &str) -> Result<Option<Endpoint>, StoreError>;

    /// Every endpoint, by id.
    async fn webhooks(&self) -> Result<Vec<Endpoint>, StoreError>;

    /// Writes an endpoint's URL, description, event types, secret,
    /// `enabled`, `failing_since`, `disabled_reason` and `updated_at` (not
    /// its cursor), with its audit event; `NotFound` when it is gone.
    async fn update_webhook(
        &self,
        endpoint: &Endpoint,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Deletes an endpoint, its deliveries and their log, with its audit
    /// event; `NotFound` when it is gone. Jobs of its deliveries find
    /// nothing and finish.
    async fn delete_webhook(&self, id: &str, event: &AuditEvent) -> Result<(), StoreError>;

    /// Moves the endpoint's cursor from `from` to `to` and stores
    /// `deliveries`, each with its job, in one transaction, only while the
    /// cursor is still `from` (two nodes fanning out the same events: one
    /// wins, the other stores nothing). Returns whether this call did it.
    async fn enqueue_webhook_deliveries(
        &self,
        endpoint_id: &str,
        from: i64,
        to: i64,
        deliveries: &[(Delivery, NewJob)],
    ) -> Result<bool, StoreError>;

    /// One delivery.
    async fn webhook_delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError>;

    /// An endpoint's deliveries, newest event first, at most `limit`; only
    /// those of events at or after `since` when given.
    async fn webhook_deliveries(
        &self,
        endpoint_id: &str,
        since: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// A delivery's attempts, oldest first.
    async fn webhook_attempts(&self, delivery_id: &str) -> Result<Vec<Attempt>, StoreError>;

    /// Records an attempt of a delivery: its log row, its new
    /// status and last answer, and its endpoint's `failing_since` (and
    /// `enabled = false` with the reason when `record.disable`, with
    /// `event`), in one transaction. `false` (nothing written) when the
    /// delivery is gone or no longer pending.
    async fn record_webhook_attempt(
        &self,
        delivery_id: &str,
        record: &AttemptRecord,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError>;

    /// Sets deliveries back to pending (attempts from zero) and stores a
    /// new job for each, in one transaction: redelivery and replay.
    /// Returns how many were requeued (unknown ids are skipped).
    async fn requeue_webhook_deliveries(
        &self,
        deliveries: &[(String, NewJob)],
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
}
