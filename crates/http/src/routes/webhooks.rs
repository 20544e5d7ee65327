//! `/v1/admin/webhooks`: webhook endpoints (Standard Webhooks), their
//! deliveries and attempts, redelivery and replay. Every route **requires**
//! `webhooks:manage`; changes to endpoints are recorded in the audit log
//! (`webhook.created`, `webhook.updated`, `webhook.deleted`,
//! `webhook.secret_rotated`). A signing secret is shown once, when it is
//! made. Errors of the webhooks slice are mapped to problem+json here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::webhooks::{
    Attempt, Delivery, Endpoint, EndpointPatch, Format, NewEndpoint, REPLAY_LIMIT, WebhookError,
};
use latchkey_proto::problem::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::Routes;
use super::admin::{page_limit, time_param};
use super::views::rfc3339;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::principal::{Admin, perm};
use crate::render::Renderer;
use crate::state::AppState;

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Unknown => {
                ApiError::not_found("No webhook endpoint or delivery with this id.")
            }
            WebhookError::Denied(e) => e.into(),
            WebhookError::Shared(e) => e.into(),
        }
    }
}

/// A webhook endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "wh_019a8d6e2f417c3b9a573b1d2c4e5f60", "url": "https://hooks.example.com/latchkey", "description": "CRM sync", "event_types": ["session.revoked", "user.created"], "enabled": true, "failing_since": null, "disabled_reason": null, "created_at": "2126-11-22T10:00:00Z", "updated_at": "2126-11-22T10:00:00Z"}))]
pub struct WebhookView {
    /// Its id.
    id: String,
    /// Where deliveries are POSTed.
    url: String,
    /// For people.
    description: String,
    /// The event types delivered.
    event_types: Vec<String>,
    /// `standard-webhook` (Standard Webhooks JSON) or `set` (CAEP SETs pushed per RFC 8935).
    format: &'static str,
    /// A CAEP receiver's audience (the SET's `aud`).
    audience: Option<String>,
    /// Deliveries are made while true.
    enabled: bool,
    /// Since when every attempt failed (RFC 3339); null after a success.
    failing_since: Option<String>,
    /// Why it was disabled automatically.
    disabled_reason: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<Endpoint> for WebhookView {
    fn from(e: Endpoint) -> Self {
        WebhookView {
            id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            format: format_name(e.format),
            audience: e.audience,
            enabled: e.enabled,
            failing_since: e.failing_since.map(rfc3339),
            disabled_reason: e.disabled_reason,
            created_at: rfc3339(e.created_at),
            updated_at: rfc3339(e.updated_at),
        }
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::StandardWebhook => "standard-webhook",
        Format::SecurityEventToken => "set",
    }
}

/// A new endpoint and its signing secret: shown only now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    endpoint: WebhookView,
    /// `whsec_` and the key in base64, for the receiver's Standard Webhooks
    /// check (none for a CAEP receiver: SETs are signed with latchkey's key).
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// An endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.com/latchkey", "event_types": ["session.revoked", "user.created"], "description": "CRM sync"}))]
pub struct CreateWebhookRequest {
    /// `https://` (or `http://`); private, loopback and link-local addresses are refused.
    url: String,
    /// The event types to deliver (`GET /v1/admin/webhooks/event-types`).
    #[serde(default)]
    event_types: Vec<String>,
    /// For people (at most 200 characters).
    #[serde(default)]
    description: String,
    /// `standard-webhook` (default) or `set`: a CAEP receiver, sent
    /// `session.revoked` as a signed `session-revoked` SET (RFC 8417) pushed
    /// per RFC 8935.
    format: Option<String>,
    /// A CAEP receiver's audience (required for `set`).
    audience: Option<String>,
    /// A bearer token latchkey presents to a CAEP receiver (optional).
    bearer: Option<String>,
}

/// Changes to an endpoint; absent fields stay. Enabling clears its failures.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true}))]
pub struct PatchWebhookRequest {
    url: Option<String>,
    event_types: Option<Vec<String>>,
    description: Option<String>,
    enabled: Option<bool>,
}

/// The new secret, shown only now.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSecretView {
    /// The endpoint.
    id: String,
    /// The new `whsec_` secret; the old one no longer signs.
    secret: String,
}

/// One delivery: an event for an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id` header (the same on every attempt).
    id: String,
    /// The event's id in the event stream.
    event_id: i64,
    /// Its type.
    event_type: String,
    /// When the event happened (RFC 3339).
    event_at: String,
    /// `pending`, `delivered` or `failed`.
    status: &'static str,
    /// Attempts made.
    attempts: u32,
    /// The last answer's HTTP status (null: no answer).
    last_status: Option<u16>,
    /// The last attempt's duration in milliseconds.
    last_latency_ms: Option<u32>,
    /// Why the last attempt failed.
    last_error: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// RFC 3339.
    updated_at: String,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            event_at: rfc3339(d.event_at),
            status: d.status.as_str(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_latency_ms: d.last_latency_ms,
            last_error: d.last_error,
            created_at: rfc3339(d.created_at),
            updated_at: rfc3339(d.updated_at),
        }
    }
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// When it ended (RFC 3339).
    at: String,
    /// The answer's HTTP status (null: no answer).
    status: Option<u16>,
    /// Milliseconds.
    latency_ms: u32,
    /// Why it failed.
    error: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        AttemptView {
            at: rfc3339(a.at),
            status: a.status,
            latency_ms: a.latency_ms,
            error: a.error,
        }
    }
}

/// A delivery with its attempts, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetailView {
    #[serde(flatten)]
    delivery: DeliveryView,
    /// The payload sent (JSON text).
    payload: String,
    /// Every attempt.
    attempts_log: Vec<AttemptView>,
}

/// Which deliveries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// Events at or after this time (RFC 3339).
    since: Option<String>,
    /// At most this many, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// Replay: send again every delivery of events since a time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"since": "2126-11-22T10:00:00Z"}))]
pub struct ReplayRequest {
    /// RFC 3339.
    since: String,
}

/// How many deliveries were queued again.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayView {
    /// Deliveries queued (at most 10,000).
    queued: u64,
}

/// The event types an endpoint may subscribe to. **Requires** `webhooks:manage`.
#[utoipa::path(get, path = "/v1/admin/webhooks/event-types", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Every event type.", body = Vec<String>),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_webhook_event_types(
    _admin: Admin<perm::WebhooksManage>,
) -> axum::Json<&'static [&'static str]> {
    axum::Json(latchkey_core::webhooks::EVENT_TYPES)
}

/// The registered endpoints, by id. **Requires** `webhooks:manage`.
#[utoipa::path(get, path = "/v1/admin/webhooks", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Every endpoint.", body = Vec<WebhookView>),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_webhooks(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
) -> Result<axum::Json<Vec<WebhookView>>, ApiError> {
    let list = state.webhooks().list(&admin.actor).await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}

/// Register an endpoint. **Requires** `webhooks:manage`. The answer
/// carries its signing secret: the only time it is shown. Events after
/// this moment are delivered.
#[utoipa::path(post, path = "/v1/admin/webhooks", tag = "admin", request_body = CreateWebhookRequest, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "The endpoint, with its secret.", body = CreatedWebhookView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: e.g. `invalid_url`, `private_address`, `invalid_value` (an unknown event type).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_webhook(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
    Json(body): Json<CreateWebhookRequest>,
) -> Result<Response, ApiError> {
    let (endpoint, secret) = state
        .webhooks()
        .create(
            &admin.actor,
            NewEndpoint {
                url: body.url,
                description: body.description,
                event_types: body.event_types,
                format: match body.format.as_deref() {
                    None | Some("standard-webhook") => Format::StandardWebhook,
                    Some("set") => Format::SecurityEventToken,
                    Some(_) => {
                        return Err(ApiError::validation(vec![FieldError {
                            field: "format".into(),
                            code: "invalid_value".into(),
                            message: "must be standard-webhook or set".into(),
                        }]));
                    }
                },
                audience: body.audience,
                bearer: body.bearer,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedWebhookView {
            endpoint: endpoint.into(),
            secret: secret.map(|s| s.to_whsec()),
        }),
    )
        .into_response())
}

/// One endpoint. **Requires** `webhooks:manage`.
#[utoipa::path(get, path = "/v1/admin/webhooks/{webhook_id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("webhook_id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_webhook(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
    Path(id): Path<String>,
) -> Result<axum::Json<WebhookView>, ApiError> {
    Ok(axum::Json(
        state.webhooks().get(&admin.actor, &id).await?.into(),
    ))
}

/// Change an endpoint; absent fields stay; `enabled: true` clears its
/// failures. **Requires** `webhooks:manage`.
#[utoipa::path(patch, path = "/v1/admin/webhooks/{webhook_id}", tag = "admin", request_body = PatchWebhookRequest, security(("bearer" = []), ("session_cookie" = [])),
    params(("webhook_id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_webhook(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
    Path(id): Path<String>,
    Json(body): Json<PatchWebhookRequest>,
) -> Result<axum::Json<WebhookView>, ApiError> {
    let patch = EndpointPatch {
        url: body.url,
        description: body.description,
        event_types: body.event_types,
        enabled: body.enabled,
    };
    let endpoint = state.webhooks().update(&admin.actor, &id, patch).await?;
    Ok(axum::Json(endpoint.into()))
}

/// Delete an endpoint with its deliveries. **Requires** `webhooks:manage`.
#[utoipa::path(delete, path = "/v1/admin/webhooks/{webhook_id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("webhook_id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.webhooks().delete(&admin.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace an endpoint's signing secret; the old one stops signing at
/// once. **Requires** `webhooks:manage`.
#[utoipa::path(post, path = "/v1/admin/webhooks/{webhook_id}/secret", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("webhook_id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The new secret.", body = WebhookSecretView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_webhook_secret(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
    Path(id): Path<String>,
) -> Result<axum::Json<WebhookSecretView>, ApiError> {
    let secret = state.webhooks().rotate_secret(&admin.actor, &id).await?;
    Ok(axum::Json(WebhookSecretView {
        id,
        secret: secret.to_whsec(),
    }))
}

/// An endpoint's deliveries, newest event first, with each one's last
/// attempt (status and latency); an unknown endpoint has none.
/// **Requires** `webhooks:manage`.
#[utoipa::path(get, path = "/v1/admin/webhooks/{webhook_id}/deliveries", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("webhook_id" = String, Path, description = "Endpoint id"), DeliveryParams),
    responses(
        (status = 200, description = "Deliveries.", body = Vec<DeliveryView>),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad time or limit.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_webhook_deliveries(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
    Path(id): Path<String>,
    Query(p): Query<DeliveryParams>,
) -> Result<axum::Json<Vec<DeliveryView>>, ApiError> {
    let limit = page_limit(p.limit)?;
    let since = time_param("since", p.since.as_deref())?;
    let list = state
        .webhooks()
        .deliveries(&admin.actor, &id, since, limit)
        .await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}

/// One delivery with its payload and every attempt (status, latency,
/// error). **Requires** `webhooks:manage`.
#[utoipa::path(get, path = "/v1/admin/webhooks/{webhook_id}/deliveries/{delivery_id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("webhook_id" = String, Path, description = "Endpoint id"), ("delivery_id" = String, Path, description = "Delivery id (`webhook-id`)")),
    responses(
        (status = 200, description = "The delivery.", body = DeliveryDetailView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_webhook_delivery(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<axum::Json<DeliveryDetailView>, ApiError> {
    let (delivery, attempts) = state
        .webhooks()
        .delivery(&admin.actor, &id, &delivery_id)
        .await?;
    Ok(axum::Json(DeliveryDetailView {
        payload: delivery.payload.clone(),
        delivery: delivery.into(),
        attempts_log: attempts.into_iter().map(Into::into).collect(),
    }))
}

/// Send a delivery again (same `webhook-id`), whatever its status.
/// **Requires** `webhooks:manage`.
#[utoipa::path(post, path = "/v1/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("webhook_id" = String, Path, description = "Endpoint id"), ("delivery_id" = String, Path, description = "Delivery id (`webhook-id`)")),
    responses(
        (status = 202, description = "Queued."),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_webhook_redelivery(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .webhooks()
        .redeliver(&admin.actor, &id, &delivery_id)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Send again every delivery of events at or after `since` (at most
/// 10,000). **Requires** `webhooks:manage`.
#[utoipa::path(post, path = "/v1/admin/webhooks/{webhook_id}/replay", tag = "admin", request_body = ReplayRequest, security(("bearer" = []), ("session_cookie" = [])),
    params(("webhook_id" = String, Path, description = "Endpoint id")),
    responses(
        (status = 202, description = "How many were queued.", body = ReplayView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `invalid_time`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_webhook_replay(
    State(state): State<AppState>,
    admin: Admin<perm::WebhooksManage>,
    Path(id): Path<String>,
    Json(body): Json<ReplayRequest>,
) -> Result<Response, ApiError> {
    let since = time_param("since", Some(&body.since))?.unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let queued = state.webhooks().replay(&admin.actor, &id, since).await?;
    debug_assert!(queued <= u64::from(REPLAY_LIMIT));
    Ok((StatusCode::ACCEPTED, axum::Json(ReplayView { queued })).into_response())
}

/// The group: problem+json, like the rest of `/v1/admin`.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Api, routes!(get_webhook_event_types))
        .add(RouteClass::Api, routes!(get_webhooks, post_webhook))
        .add(
            RouteClass::Api,
            routes!(get_webhook, patch_webhook, delete_webhook),
        )
        .add(RouteClass::Api, routes!(post_webhook_secret))
        .add(RouteClass::Api, routes!(get_webhook_deliveries))
        .add(RouteClass::Api, routes!(get_webhook_delivery))
        .add(RouteClass::Api, routes!(post_webhook_redelivery))
        .add(RouteClass::Api, routes!(post_webhook_replay))
}
