//! The event streams (issue 18), as Server-Sent Events: `GET
//! /v1/events/stream`, the revocation stream for registered clients
//! (resource servers), and `GET /v1/account/events`, the signed-in user's
//! own events. Each event's SSE `id` is its position in the
//! persisted stream; a client that reconnects with `Last-Event-ID` receives
//! every event after it, in order, once (while it is retained:
//! `events.retention_hours`). Errors are problem+json.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::events::{ACCOUNT_STREAM, Event, EventsError, REVOCATION_STREAM, Subscription};
use utoipa_axum::routes;

use super::Routes;
use super::oauth::basic_client;
use crate::error::ApiError;
use crate::principal::Authenticated;
use crate::render::Renderer;
use crate::state::AppState;

/// The revocation stream for resource servers: `session.revoked` `{sid,
/// sub, reason}` for every session that ends (logout, logout everywhere,
/// refresh-token reuse, password change or reset, an administrator's
/// revocation, suspension, deletion), `user.suspended` and `user.deleted`
/// `{sub}`, `keys.rotated` `{kid}`. **Requires** client authentication with
/// HTTP Basic, of a client registered with `events` (`latchkey client
/// create --events`, or `"events": true` in `/v1/admin/clients`): other
/// clients are refused with 403. Without `Last-Event-ID` the stream starts
/// with the next event; with it, it resumes after that event, unless the
/// retention sweep has deleted events after it (410: reconnect without it). Events reach every node within about a second
/// of their commit; a comment line is sent every 15 s to keep the connection
/// open.
#[utoipa::path(get, path = "/v1/events/stream", tag = "events",
    params(("Last-Event-ID" = Option<String>, Header,
        description = "The `id` of the last event received: the stream resumes after it.")),
    responses(
        (status = 200, description = "The event stream. Each event: `id` (its position), `event` (its type) and `data`, a JSON object with `type`, `at` (RFC 3339) and the event's fields.",
            content_type = "text/event-stream", body = String,
            example = "id: 42\nevent: session.revoked\ndata: {\"type\":\"session.revoked\",\"at\":\"2126-12-07T18:00:00.000Z\",\"sid\":\"019a8d6e-3a00-7c3b-9a57-3b1d2c4e5f61\",\"sub\":\"019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60\",\"reason\":\"logout\"}\n\n"),
        (status = 400, description = "`bad_last_event_id`: `Last-Event-ID` is not an event id.", body = latchkey_proto::Problem),
        (status = 401, description = "`invalid_client`: client authentication failed.", body = latchkey_proto::Problem),
        (status = 403, description = "`events_not_permitted`: the client is not registered with `events`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 410, description = "`last_event_id_expired`: events after `Last-Event-ID` are no longer retained; reconnect without it.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_events_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let client = basic_client(&state, &headers).await?;
    let events = state.auth().events();
    events.may_read_revocations(&client.id).await?;
    let cursor = cursor(&state, &headers).await?;
    Ok(sse(events.subscribe(cursor, REVOCATION_STREAM, None), None))
}

/// The signed-in user's own events, live: `session.created` and
/// `session.revoked` `{sid, sub, reason}` (logout everywhere shows as each
/// session ending), `password.changed`, `email.changed` and `mfa.changed`
/// `{sub}`. **Requires** an access token or the session cookie. Resumable
/// with `Last-Event-ID` like the revocation stream; the stream ends after
/// the event that ends the caller's own session.
#[utoipa::path(get, path = "/v1/account/events", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    params(("Last-Event-ID" = Option<String>, Header,
        description = "The `id` of the last event received: the stream resumes after it.")),
    responses(
        (status = 200, description = "The event stream, shaped as `GET /v1/events/stream`'s.",
            content_type = "text/event-stream", body = String,
            example = "id: 43\nevent: session.created\ndata: {\"type\":\"session.created\",\"at\":\"2126-12-07T18:00:00.000Z\",\"sid\":\"019a8d6e-3a00-7c3b-9a57-3b1d2c4e5f61\",\"sub\":\"019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60\"}\n\n"),
        (status = 400, description = "`bad_last_event_id`: `Last-Event-ID` is not an event id.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 410, description = "`last_event_id_expired`: events after `Last-Event-ID` are no longer retained; reconnect without it.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_account_events(
    State(state): State<AppState>,
    who: Authenticated,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cursor = cursor(&state, &headers).await?;
    let principal = who.principal;
    let events = state.auth().events();
    let subscription = events.subscribe(cursor, ACCOUNT_STREAM, Some(principal.user_id));
    Ok(sse(subscription, Some(principal.session.id)))
}

/// Where a stream starts: after `Last-Event-ID`, or after the newest event.
async fn cursor(state: &AppState, headers: &HeaderMap) -> Result<i64, ApiError> {
    let last = headers
        .get("last-event-id")
        .map(|raw| raw.to_str().unwrap_or(""));
    Ok(state.auth().events().resume_point(last).await?)
}

/// The SSE response reading `subscription` until the client goes away, or
/// until it sent the `session.revoked` of session `until_revoked`.
pub(crate) fn sse(subscription: Subscription, until_revoked: Option<String>) -> Response {
    struct Reader {
        sub: Subscription,
        pending: VecDeque<Event>,
        until_revoked: Option<String>,
        ended: bool,
    }
    let reader = Reader {
        sub: subscription,
        pending: VecDeque::new(),
        until_revoked,
        ended: false,
    };
    let stream = futures_util::stream::unfold(reader, |mut r| async move {
        loop {
            if r.ended {
                return None;
            }
            if let Some(event) = r.pending.pop_front() {
                r.ended = r.until_revoked.as_ref().is_some_and(|sid| {
                    event.kind == "session.revoked" && event.data["sid"] == sid.as_str()
                });
                return Some((Ok::<_, Infallible>(sse_event(&event)), r));
            }
            match r.sub.next_batch().await {
                Ok(batch) => r.pending.extend(batch),
                // The client reconnects with its Last-Event-ID.
                Err(EventsError::Closed) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "event stream read failed; closing it");
                    return None;
                }
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn sse_event(event: &Event) -> SseEvent {
    let mut data = serde_json::Map::new();
    data.insert("type".into(), event.kind.clone().into());
    data.insert("at".into(), crate::timefmt::rfc3339(event.at).into());
    if let serde_json::Value::Object(fields) = &event.data {
        data.extend(fields.clone());
    }
    SseEvent::default()
        .id(event.id.to_string())
        .event(&event.kind)
        .data(serde_json::Value::Object(data).to_string())
}

impl From<EventsError> for ApiError {
    fn from(e: EventsError) -> Self {
        match e {
            EventsError::BadCursor => ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_last_event_id",
                "Bad Last-Event-ID",
                "Last-Event-ID must be the id of an event this stream sent",
            ),
            EventsError::Expired => ApiError::new(
                StatusCode::GONE,
                "last_event_id_expired",
                "Events no longer retained",
                "events after Last-Event-ID were deleted by the retention sweep; reconnect without Last-Event-ID",
            ),
            EventsError::NotPermitted => ApiError::new(
                StatusCode::FORBIDDEN,
                "events_not_permitted",
                "Not permitted",
                "this client is not registered to read the revocation stream (events)",
            ),
            EventsError::Closed => ApiError::from(latchkey_core::StoreError::Unavailable(
                "the server is shutting down".into(),
            )),
            EventsError::Shared(e) => e.into(),
        }
    }
}

/// The group: problem+json errors; the streams are `api` routes.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Api, routes!(get_events_stream))
        .add(RouteClass::Api, routes!(get_account_events))
}
