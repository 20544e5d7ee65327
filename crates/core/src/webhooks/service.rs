//! The webhooks service: the administrators' endpoints, the fan-out of
//! events into the outbox, and one delivery attempt.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::caep;
use super::model::{
    Attempt, AttemptRecord, Delivery, DeliveryStatus, EVENT_TYPES, Endpoint, Format,
};
use super::rules::{self, Answer, Decision};
use super::signature::WebhookSecret;
use super::{JOB_WEBHOOK, WebhookError};
use crate::admin::Actor;
use crate::audit::{AuditEvent, EventType};
use crate::auth::Context;
use crate::client_info::ClientInfo;
use crate::error::SharedError;
use crate::events::{Event, EventFilter};
use crate::id;
use crate::lifecycle::NewJob;
use crate::roles::perm;
use crate::store::StoreError;
use crate::validate::FieldProblem;

/// Events read per fan-out step.
const FAN_OUT_BATCH: u32 = 500;

/// The most deliveries one replay requeues.
pub const REPLAY_LIMIT: u32 = 10_000;

/// Webhook settings (`[webhooks]`).
#[derive(Debug, Clone, Default)]
pub struct WebhooksConfig {
    /// Allow endpoints on private, loopback and link-local addresses (tests,
    /// intranets). Off: such addresses are refused at registration (IP
    /// literals) and at every connection (resolved names).
    pub allow_private: bool,
}

/// One request of a delivery: where, the headers, the body.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The endpoint's URL.
    pub url: String,
    /// `content-type`, `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub headers: Vec<(&'static str, String)>,
    /// The payload.
    pub body: Vec<u8>,
}

/// The network, as the delivery job sees it: one POST, answered or not.
/// The implementation (in `http`) checks every address it connects to,
/// follows no redirect, and bounds time and the answer's size.
#[async_trait]
pub trait WebhookTransport: Send + Sync {
    /// Sends `request`.
    async fn post(&self, request: &Outgoing) -> Answer;
}

/// An endpoint to register.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    /// Where to deliver.
    pub url: String,
    /// For people.
    pub description: String,
    /// The event types to deliver (a CAEP receiver: `session.revoked`,
    /// also when empty).
    pub event_types: Vec<String>,
    /// Standard Webhooks, or SETs pushed to a CAEP receiver.
    pub format: Format,
    /// A CAEP receiver's audience (required for it, refused otherwise).
    pub audience: Option<String>,
    /// A CAEP receiver's bearer token for its push endpoint (optional).
    pub bearer: Option<String>,
}

/// Changes to an endpoint; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    /// New URL.
    pub url: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// Enable (clears the failures) or disable.
    pub enabled: Option<bool>,
}

/// What a delivery attempt came to, for the job runner.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryRun {
    /// Delivered, or nothing left to do.
    Done,
    /// Failed; try again after this long.
    Retry(time::Duration, String),
    /// Failed for good.
    GiveUp(String),
}

/// The webhooks service.
#[derive(Clone)]
pub struct Webhooks {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").finish_non_exhaustive()
    }
}

fn require(actor: &Actor) -> Result<(), WebhookError> {
    Ok(actor.require(perm::WEBHOOKS_MANAGE)?)
}

fn unknown(e: StoreError) -> WebhookError {
    match e {
        StoreError::NotFound => WebhookError::Unknown,
        e => e.into(),
    }
}

fn event_types(types: Vec<String>) -> Result<Vec<String>, FieldProblem> {
    let mut types: Vec<String> = types.into_iter().map(|t| t.trim().to_owned()).collect();
    types.sort();
    types.dedup();
    if types.is_empty() {
        return Err(FieldProblem::new(
            "event_types",
            "required",
            "name at least one event type",
        ));
    }
    if let Some(bad) = types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(FieldProblem::new(
            "event_types",
            "invalid_value",
            format!("{bad:?} is not one of {}", EVENT_TYPES.join(", ")),
        ));
    }
    Ok(types)
}

/// A CAEP receiver is sent `session.revoked` (as `session-revoked`) only.
fn caep_types(types: Vec<String>) -> Result<Vec<String>, FieldProblem> {
    match types.iter().map(|t| t.trim()).collect::<Vec<_>>()[..] {
        [] | ["session.revoked"] => Ok(vec!["session.revoked".to_owned()]),
        _ => Err(FieldProblem::new(
            "event_types",
            "invalid_value",
            "a CAEP receiver (format set) is sent session.revoked only",
        )),
    }
}

/// A CAEP receiver's audience (required, at most 500 characters) and
/// bearer (optional, at most 4,000 visible ASCII characters; empty: none).
fn caep_receiver(
    audience: Option<String>,
    bearer: Option<String>,
) -> Result<(String, String), FieldProblem> {
    let audience = audience.map(|a| a.trim().to_owned()).unwrap_or_default();
    if audience.is_empty() || audience.chars().count() > 500 {
        return Err(FieldProblem::new(
            "audience",
            "required",
            "a CAEP receiver needs its audience (the SET's aud), at most 500 characters",
        ));
    }
    let bearer = bearer.unwrap_or_default();
    if bearer.len() > 4_000 || bearer.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(FieldProblem::new(
            "bearer",
            "invalid_value",
            "a token of at most 4000 visible ASCII characters",
        ));
    }
    Ok((audience, bearer))
}

fn description(raw: String) -> Result<String, FieldProblem> {
    let d = raw.trim().to_owned();
    if d.chars().count() > 200 {
        return Err(FieldProblem::new(
            "description",
            "too_long",
            "at most 200 characters",
        ));
    }
    Ok(d)
}

impl Webhooks {
    /// The service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Webhooks {
        Webhooks { ctx }
    }

    fn config(&self) -> &WebhooksConfig {
        &self.ctx.lifecycle.webhooks
    }

    fn seal(&self, endpoint_id: &str, secret: &[u8]) -> Vec<u8> {
        self.ctx.webhook_sealer.seal(secret, endpoint_id.as_bytes())
    }

    fn unsealed(&self, endpoint: &Endpoint) -> Result<zeroize::Zeroizing<Vec<u8>>, SharedError> {
        self.ctx
            .webhook_sealer
            .open(&endpoint.secret_sealed, endpoint.id.as_bytes())
            .map_err(|e| SharedError::Internal(format!("webhook {} secret: {e}", endpoint.id)))
    }

    fn secret(&self, endpoint: &Endpoint) -> Result<WebhookSecret, SharedError> {
        let key = self.unsealed(endpoint)?;
        WebhookSecret::from_bytes(&key)
            .ok_or_else(|| SharedError::Internal(format!("webhook {} secret length", endpoint.id)))
    }

    fn invalid(problems: Vec<FieldProblem>) -> Result<(), WebhookError> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SharedError::Validation(problems).into())
        }
    }

    /// Registers an endpoint; a Standard Webhooks endpoint's secret is
    /// returned now and never again. **Requires** `webhooks:manage`.
    /// Delivery starts with the events after this moment.
    pub async fn create(
        &self,
        actor: &Actor,
        new: NewEndpoint,
    ) -> Result<(Endpoint, Option<WebhookSecret>), WebhookError> {
        require(actor)?;
        let url = rules::endpoint_url(&new.url, self.config().allow_private);
        let description = description(new.description);
        let (types, receiver) = match new.format {
            Format::StandardWebhook => (
                event_types(new.event_types),
                match (new.audience, new.bearer) {
                    (None, None) => Ok(None),
                    _ => Err(FieldProblem::new(
                        "audience",
                        "not_applicable",
                        "only a CAEP receiver (format set) has an audience and a bearer",
                    )),
                },
            ),
            Format::SecurityEventToken => (
                caep_types(new.event_types),
                caep_receiver(new.audience, new.bearer).map(Some),
            ),
        };
        let problems = [
            url.as_ref().err(),
            types.as_ref().err(),
            description.as_ref().err(),
            receiver.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        Self::invalid(problems)?;
        let now = self.ctx.now();
        let id = format!("wh_{}", id::new_id().replace('-', ""));
        let (secret, audience, sealed) = match receiver.unwrap_or_default() {
            None => {
                let secret = WebhookSecret::generate();
                let sealed = self.seal(&id, secret.as_bytes());
                (Some(secret), None, sealed)
            }
            Some((audience, bearer)) => (None, Some(audience), self.seal(&id, bearer.as_bytes())),
        };
        let endpoint = Endpoint {
            secret_sealed: sealed,
            id,
            url: url.unwrap_or_default(),
            description: description.unwrap_or_default(),
            event_types: types.unwrap_or_default(),
            format: new.format,
            audience,
            enabled: true,
            cursor: self.ctx.store().last_event_id().await?,
            failing_since: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        };
        let event = actor
            .event(EventType::WebhookCreated, now)
            .detail("webhook_id", endpoint.id.clone());
        self.ctx.store().insert_webhook(&endpoint, &event).await?;
        Ok((endpoint, secret))
    }

    /// Every endpoint. **Requires** `webhooks:manage`.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<Endpoint>, WebhookError> {
        require(actor)?;
        Ok(self.ctx.store().webhooks().await?)
    }

    /// One endpoint. **Requires** `webhooks:manage`.
    pub async fn get(&self, actor: &Actor, id: &str) -> Result<Endpoint, WebhookError> {
        require(actor)?;
        self.ctx
            .store()
            .webhook(id)
            .await?
            .ok_or(WebhookError::Unknown)
    }

    /// Changes an endpoint. Enabling it clears its failures.
    /// **Requires** `webhooks:manage`.
    pub async fn update(
        &self,
        actor: &Actor,
        id: &str,
        patch: EndpointPatch,
    ) -> Result<Endpoint, WebhookError> {
        let mut endpoint = self.get(actor, id).await?;
        let mut problems = Vec::new();
        if let Some(url) = patch.url {
            match rules::endpoint_url(&url, self.config().allow_private) {
                Ok(u) => endpoint.url = u,
                Err(p) => problems.push(p),
            }
        }
        if let Some(types) = patch.event_types {
            let checked = match endpoint.format {
                Format::StandardWebhook => event_types(types),
                Format::SecurityEventToken => caep_types(types),
            };
            match checked {
                Ok(t) => endpoint.event_types = t,
                Err(p) => problems.push(p),
            }
        }
        if let Some(d) = patch.description {
            match description(d) {
                Ok(d) => endpoint.description = d,
                Err(p) => problems.push(p),
            }
        }
        Self::invalid(problems)?;
        if let Some(enabled) = patch.enabled {
            if enabled && !endpoint.enabled {
                endpoint.failing_since = None;
                endpoint.disabled_reason = None;
            }
            endpoint.enabled = enabled;
        }
        let now = self.ctx.now();
        endpoint.updated_at = now;
        let event = actor
            .event(EventType::WebhookUpdated, now)
            .detail("webhook_id", endpoint.id.clone());
        self.ctx
            .store()
            .update_webhook(&endpoint, &event)
            .await
            .map_err(unknown)?;
        Ok(endpoint)
    }

    /// Deletes an endpoint with its deliveries and their log.
    /// **Requires** `webhooks:manage`.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), WebhookError> {
        require(actor)?;
        let event = actor
            .event(EventType::WebhookDeleted, self.ctx.now())
            .detail("webhook_id", id.to_owned());
        self.ctx
            .store()
            .delete_webhook(id, &event)
            .await
            .map_err(unknown)
    }

    /// Replaces an endpoint's secret; the old one stops signing at once.
    /// **Requires** `webhooks:manage`.
    pub async fn rotate_secret(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<WebhookSecret, WebhookError> {
        let mut endpoint = self.get(actor, id).await?;
        if endpoint.format != Format::StandardWebhook {
            return Err(SharedError::field(
                "format",
                "not_applicable",
                "a CAEP receiver has no signing secret: SETs are signed with latchkey's key",
            )
            .into());
        }
        let secret = WebhookSecret::generate();
        let now = self.ctx.now();
        endpoint.secret_sealed = self.seal(&endpoint.id, secret.as_bytes());
        endpoint.updated_at = now;
        let event = actor
            .event(EventType::WebhookSecretRotated, now)
            .detail("webhook_id", endpoint.id.clone());
        self.ctx
            .store()
            .update_webhook(&endpoint, &event)
            .await
            .map_err(unknown)?;
        Ok(secret)
    }

    /// An endpoint's deliveries, newest first (at most `limit`, events at
    /// or after `since` when given); none for an unknown endpoint.
    /// **Requires** `webhooks:manage`.
    pub async fn deliveries(
        &self,
        actor: &Actor,
        id: &str,
        since: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<Delivery>, WebhookError> {
        // a filter on the endpoint id: an unknown or deleted one has none
        require(actor)?;
        Ok(self
            .ctx
            .store()
            .webhook_deliveries(id, since, limit)
            .await?)
    }

    /// One delivery of an endpoint, with its attempts.
    /// **Requires** `webhooks:manage`.
    pub async fn delivery(
        &self,
        actor: &Actor,
        id: &str,
        delivery_id: &str,
    ) -> Result<(Delivery, Vec<Attempt>), WebhookError> {
        require(actor)?;
        let delivery = self
            .ctx
            .store()
            .webhook_delivery(delivery_id)
            .await?
            .filter(|d| d.endpoint_id == id)
            .ok_or(WebhookError::Unknown)?;
        let attempts = self.ctx.store().webhook_attempts(delivery_id).await?;
        Ok((delivery, attempts))
    }

    fn job(&self, delivery_id: &str, now: OffsetDateTime) -> NewJob {
        let job_id = id::new_id();
        NewJob {
            idempotency_key: format!("webhook:{delivery_id}:{job_id}"),
            id: job_id,
            kind: JOB_WEBHOOK.into(),
            payload: delivery_id.as_bytes().to_vec(),
            run_at: now,
            max_attempts: rules::MAX_ATTEMPTS,
            created_at: now,
        }
    }

    async fn requeue(&self, ids: Vec<String>) -> Result<u64, WebhookError> {
        let now = self.ctx.now();
        let jobs: Vec<(String, NewJob)> = ids
            .into_iter()
            .map(|d| {
                let job = self.job(&d, now);
                (d, job)
            })
            .collect();
        let n = self
            .ctx
            .store()
            .requeue_webhook_deliveries(&jobs, now)
            .await?;
        self.ctx.wake_jobs();
        Ok(n)
    }

    /// Sends one delivery again (same `webhook-id`), whatever its status.
    /// **Requires** `webhooks:manage`.
    pub async fn redeliver(
        &self,
        actor: &Actor,
        id: &str,
        delivery_id: &str,
    ) -> Result<(), WebhookError> {
        let (delivery, _) = self.delivery(actor, id, delivery_id).await?;
        self.requeue(vec![delivery.id]).await?;
        Ok(())
    }

    /// Sends again every delivery of the endpoint whose event happened at
    /// or after `since` (at most [`REPLAY_LIMIT`]); returns how many.
    /// **Requires** `webhooks:manage`.
    pub async fn replay(
        &self,
        actor: &Actor,
        id: &str,
        since: OffsetDateTime,
    ) -> Result<u64, WebhookError> {
        let endpoint = self.get(actor, id).await?;
        let deliveries = self
            .deliveries(actor, &endpoint.id, Some(since), REPLAY_LIMIT)
            .await?;
        self.requeue(deliveries.into_iter().map(|d| d.id).collect())
            .await
    }

    // ---------------------------------------------------------------------
    // background work
    // ---------------------------------------------------------------------

    fn delivery_for(
        &self,
        endpoint: &Endpoint,
        event: &Event,
        now: OffsetDateTime,
    ) -> Result<(Delivery, NewJob), SharedError> {
        let id = format!("msg_{}", id::new_id().replace('-', ""));
        let payload = match endpoint.format {
            Format::StandardWebhook => serde_json::json!({
                "type": event.kind,
                "timestamp": event
                    .at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                "data": event.data,
            })
            .to_string(),
            // Signed once, when queued: every attempt sends the same SET.
            Format::SecurityEventToken => {
                let claims = caep::session_revoked(
                    &self.ctx.config.issuer,
                    endpoint.audience.as_deref().unwrap_or_default(),
                    &id,
                    now,
                    event,
                );
                self.ctx
                    .keys
                    .active()?
                    .sign_jwt(caep::SET_TYP, &claims)
                    .map_err(|e| SharedError::Internal(format!("signing a SET failed: {e}")))?
            }
        };
        let delivery = Delivery {
            id: id.clone(),
            endpoint_id: endpoint.id.clone(),
            event_id: event.id,
            event_type: event.kind.clone(),
            event_at: event.at,
            payload,
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status: None,
            last_latency_ms: None,
            last_error: None,
            created_at: now,
            updated_at: now,
        };
        Ok((delivery, self.job(&id, now)))
    }

    /// Puts the events committed since each enabled endpoint's cursor into
    /// its outbox (with their delivery jobs) and moves the cursor, in one
    /// transaction per batch; safe to run on every node at once. Returns
    /// how many deliveries were queued.
    pub async fn fan_out(&self) -> Result<usize, SharedError> {
        let store = self.ctx.store();
        let mut queued = 0;
        for endpoint in store.webhooks().await? {
            if !endpoint.enabled {
                continue;
            }
            let types: Vec<&str> = endpoint.event_types.iter().map(String::as_str).collect();
            let mut cursor = endpoint.cursor;
            loop {
                // Ids are commit-ordered: every event up to `newest` is
                // visible to the read below, so the cursor may pass them.
                let newest = store.last_event_id().await?;
                if newest <= cursor {
                    break;
                }
                let filter = EventFilter {
                    types: &types,
                    sub: None,
                };
                let batch = store.events_after(cursor, &filter, FAN_OUT_BATCH).await?;
                let full = batch.len() == FAN_OUT_BATCH as usize;
                let last = batch.last().map_or(cursor, |e| e.id);
                let to = if full { last } else { last.max(newest) };
                let now = self.ctx.now();
                let rows = batch
                    .iter()
                    .map(|e| self.delivery_for(&endpoint, e, now))
                    .collect::<Result<Vec<_>, _>>()?;
                if !store
                    .enqueue_webhook_deliveries(&endpoint.id, cursor, to, &rows)
                    .await?
                {
                    break; // another node took these
                }
                queued += rows.len();
                cursor = to;
                if !full {
                    break;
                }
            }
        }
        if queued > 0 {
            metrics::counter!("latchkey_webhook_deliveries_queued_total").increment(queued as u64);
            self.ctx.wake_jobs();
        }
        Ok(queued)
    }

    /// Makes attempt `attempts` (of at most `max_attempts`) of delivery
    /// `delivery_id` through `transport`, and records it. A delivery that
    /// is gone or no longer pending is left alone: never delivered twice
    /// by this path (a node killed between the receiver's answer and the
    /// record sends it again, with the same `webhook-id`).
    pub async fn deliver(
        &self,
        delivery_id: &str,
        attempts: u32,
        max_attempts: u32,
        transport: &dyn WebhookTransport,
    ) -> Result<DeliveryRun, SharedError> {
        let store = self.ctx.store();
        let Some(delivery) = store.webhook_delivery(delivery_id).await? else {
            return Ok(DeliveryRun::Done);
        };
        if delivery.status != DeliveryStatus::Pending {
            return Ok(DeliveryRun::Done);
        }
        let Some(endpoint) = store.webhook(&delivery.endpoint_id).await? else {
            return Ok(DeliveryRun::Done);
        };
        let now = self.ctx.now();
        if !endpoint.enabled {
            let record = AttemptRecord {
                attempt: Attempt {
                    at: now,
                    status: None,
                    latency_ms: 0,
                    error: Some("not attempted: the endpoint is disabled".into()),
                },
                status: DeliveryStatus::Failed,
                failing_since: endpoint.failing_since,
                disable: None,
            };
            store
                .record_webhook_attempt(delivery_id, &record, None)
                .await?;
            return Ok(DeliveryRun::GiveUp("endpoint disabled".into()));
        }
        let body = delivery.payload.as_bytes().to_vec();
        let headers = match endpoint.format {
            Format::StandardWebhook => {
                let secret = self.secret(&endpoint)?;
                let mut headers = vec![("content-type", "application/json".to_owned())];
                headers.extend(super::signature::headers(
                    &secret,
                    &delivery.id,
                    now.unix_timestamp(),
                    &body,
                ));
                headers
            }
            Format::SecurityEventToken => {
                let bearer = self.unsealed(&endpoint)?;
                let mut headers = vec![
                    ("content-type", caep::CONTENT_TYPE.to_owned()),
                    ("accept", "application/json".to_owned()),
                ];
                if !bearer.is_empty() {
                    headers.push((
                        "authorization",
                        format!("Bearer {}", String::from_utf8_lossy(&bearer)),
                    ));
                }
                headers
            }
        };
        let request = Outgoing {
            url: endpoint.url.clone(),
            headers,
            body,
        };
        let started = Instant::now();
        let answer = transport.post(&request).await;
        let latency = started.elapsed();
        let latency_ms = u32::try_from(latency.as_millis()).unwrap_or(u32::MAX);
        let now = self.ctx.now();
        let decision = Decision::decide(
            &answer,
            latency_ms,
            now,
            endpoint.failing_since,
            attempts,
            max_attempts,
        );
        let outcome = match decision.record.status {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Pending => "retry",
            DeliveryStatus::Failed => "failed",
        };
        metrics::counter!("latchkey_webhook_attempts_total", "outcome" => outcome).increment(1);
        metrics::histogram!("latchkey_webhook_attempt_duration_seconds")
            .record(latency.as_secs_f64());
        let event = decision.record.disable.as_ref().map(|reason| {
            AuditEvent::new(EventType::WebhookDisabled, now, &ClientInfo::default())
                .detail("webhook_id", endpoint.id.clone())
                .detail("reason", reason.clone())
        });
        if let Some(reason) = &decision.record.disable {
            tracing::warn!(webhook = %endpoint.id, %reason, "webhook endpoint disabled after a day of failures");
        }
        store
            .record_webhook_attempt(delivery_id, &decision.record, event.as_ref())
            .await?;
        let error = decision.record.attempt.error.clone().unwrap_or_default();
        Ok(match (decision.record.status, decision.retry) {
            (DeliveryStatus::Delivered, _) => DeliveryRun::Done,
            (_, true) => DeliveryRun::Retry(rules::backoff(attempts, rules::jitter()), error),
            (_, false) => DeliveryRun::GiveUp(error),
        })
    }
}
