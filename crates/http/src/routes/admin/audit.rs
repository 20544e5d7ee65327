//! `/v1/admin/audit`: the audit log, filtered and paged.

use axum::extract::State;
use latchkey_core::audit::{AuditEvent, AuditQuery};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{cursor, invalid, page_limit, paged, time_param};
use crate::error::ApiError;
use crate::extract::Query;
use crate::principal::{Admin, perm};
use crate::routes::views::{AuditEventView, Page};
use crate::state::AppState;

/// Which audit events to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Events about this user (the subject).
    user: Option<String>,
    /// Events by this user (the actor).
    actor: Option<String>,
    /// Event types, comma-separated (e.g. `login.failed,user.suspended`).
    event: Option<String>,
    /// At or after this time (RFC 3339).
    since: Option<String>,
    /// Before this time (RFC 3339).
    until: Option<String>,
    /// `desc` (newest first, the default) or `asc`.
    order: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Query the audit log: by user (subject), actor, event type and time
/// range, newest first (or oldest first with `order=asc`). **Requires**
/// `audit:read`. `latchkey audit export` writes the same events as JSON
/// lines.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(AuditParams),
    responses(
        (status = 200, description = "A page of events.", body = Page<AuditEventView>),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a bad time, order, event, limit or cursor.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_audit(
    State(state): State<AppState>,
    admin: Admin<perm::AuditRead>,
    Query(p): Query<AuditParams>,
) -> Result<axum::Json<Page<AuditEventView>>, ApiError> {
    let limit = page_limit(p.limit)?;
    let events: Vec<String> = p
        .event
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    if events.len() > 50
        || events.iter().any(|e| {
            e.len() > 64
                || !e
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || matches!(b, b'.' | b'_'))
        })
    {
        return Err(invalid(
            "event",
            "invalid_event",
            "comma-separated event types such as login.failed,user.suspended",
        ));
    }
    let oldest_first = match p.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(invalid("order", "invalid_order", "must be asc or desc")),
    };
    let query = AuditQuery {
        subject_id: p.user,
        actor_id: p.actor,
        involving: None,
        events,
        since: time_param("since", p.since.as_deref())?,
        until: time_param("until", p.until.as_deref())?,
        after_id: cursor(p.cursor)?,
        oldest_first,
        limit: limit + 1,
    };
    let found = state.admin().admin_audit(&admin.actor, &query).await?;
    let (items, next_cursor) = paged(found, limit, |e: &AuditEvent| e.id.clone());
    Ok(axum::Json(Page {
        items: items.into_iter().map(AuditEventView::from).collect(),
        next_cursor,
    }))
}
