//! `/health/live` and `/health/ready`.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;

/// How long the readiness check waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness: the process is up.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Live {
    /// Always `ok`.
    status: &'static str,
}

/// Readiness: every dependency answered.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ready", "checks": {"database": {"status": "up", "backend": "sqlite", "latency_ms": 0.2}, "rate_limits": {"status": "local"}}}))]
pub struct Ready {
    /// `ready`.
    status: &'static str,
    /// One entry per dependency.
    checks: Checks,
}

/// The dependencies checked.
#[derive(Serialize, ToSchema)]
pub struct Checks {
    /// The database.
    database: Check,
    /// Where rate limits are counted. Informational: a node whose Redis is
    /// unreachable stays ready and enforces its own limits.
    rate_limits: RateLimitCheck,
}

/// Where rate limits are counted right now.
#[derive(Serialize, ToSchema)]
pub struct RateLimitCheck {
    /// `local` (no Redis configured), `shared` (Redis answers) or `degraded`
    /// (Redis unreachable: this node's own counters apply).
    status: &'static str,
}

fn rate_limit_check(state: &AppState) -> RateLimitCheck {
    use latchkey_core::abuse::limiter::Sharing;
    RateLimitCheck {
        status: match state.protection().guard.limiter().sharing() {
            Sharing::LocalOnly => "local",
            Sharing::Shared => "shared",
            Sharing::Degraded => "degraded",
        },
    }
}

/// One dependency's state.
#[derive(Serialize, ToSchema)]
pub struct Check {
    /// `up` or `down`.
    status: &'static str,
    /// Which backend.
    backend: &'static str,
    /// Round-trip time of the check.
    latency_ms: f64,
}

/// Liveness probe: answers 200 while the process runs. Needs nothing.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "The process is up.", body = Live)))]
pub async fn get_live() -> Json<Live> {
    Json(Live { status: "ok" })
}

/// Readiness probe: 200 when the database answers within 2 s, otherwise 503
/// problem+json naming what is down (with `Retry-After`). Recovers by itself
/// once the database is back. Needs nothing.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses(
        (status = 200, description = "Every dependency is reachable.", body = Ready),
        (status = 503, description = "A dependency is down; the body names it.", body = latchkey_proto::Problem,
            content_type = "application/problem+json",
            example = json!({"type": "urn:latchkey:problem:not_ready", "title": "Not ready", "status": 503,
                "code": "not_ready", "detail": "Not ready: the database (postgres) is down.",
                "checks": {"database": {"status": "down", "backend": "postgres"}}})),
    ))]
pub async fn get_ready(State(state): State<AppState>) -> Response {
    let store = state.store();
    let started = Instant::now();
    let result = match tokio::time::timeout(READY_TIMEOUT, store.ping()).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {READY_TIMEOUT:?}")),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    metrics::gauge!("latchkey_database_up").set(if result.is_ok() { 1.0 } else { 0.0 });
    match result {
        Ok(()) => Json(Ready {
            status: "ready",
            checks: Checks {
                database: Check {
                    status: "up",
                    backend: store.backend(),
                    latency_ms,
                },
                rate_limits: rate_limit_check(&state),
            },
        })
        .into_response(),
        Err(reason) => {
            // logged once, with the reason, by the error path
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "Not ready",
                format!("Not ready: the database ({}) is down.", store.backend()),
            )
            .with_retry_after(5)
            .with_extension(
                "checks",
                serde_json::json!({"database": {"status": "down", "backend": store.backend()}}),
            )
            .with_reason(format!(
                "readiness check failed: {} {reason}",
                store.backend()
            ))
            .into_response()
        }
    }
}

/// The group: probes, never rate limited (a load balancer asks constantly).
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .unlimited(routes!(get_live))
        .unlimited(routes!(get_ready))
}
