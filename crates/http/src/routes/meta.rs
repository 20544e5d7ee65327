//! Self-description: `/metrics`, `/openapi.json` and the `/docs` page.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use latchkey_core::abuse::RouteClass;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;

/// The API reference page; renders `/openapi.json` with `docs.js`, both
/// compiled into the binary so it works offline.
const DOCS_HTML: &str = include_str!("../../assets/docs.html");
const DOCS_JS: &str = include_str!("../../assets/docs.js");

/// Prometheus metrics in the text exposition format. Needs nothing; expose it
/// only on a network you trust, or block it at the proxy.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4.", content_type = "text/plain; version=0.0.4",
        body = String, example = "latchkey_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} 3")))]
pub async fn get_metrics(State(state): State<AppState>) -> Response {
    metrics::gauge!("latchkey_password_hash_queue_depth")
        .set(state.auth().hasher().queue_depth() as f64);
    let body = crate::metrics::handle().render();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// This OpenAPI 3.1 document. Needs nothing.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of every endpoint.", content_type = "application/json")))]
pub async fn get_openapi() -> Response {
    let mut response = super::openapi_json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Human-readable API reference, served from the binary (no CDN). Needs nothing.
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses((status = 200, description = "An HTML page rendering /openapi.json.", content_type = "text/html")))]
pub async fn get_docs() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                 img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
            ),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DOCS_HTML,
    )
        .into_response()
}

/// The script of the `/docs` page. Needs nothing.
#[utoipa::path(get, path = "/docs/docs.js", tag = "operations",
    responses((status = 200, description = "JavaScript for the /docs page.", content_type = "text/javascript")))]
pub async fn get_docs_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DOCS_JS,
    )
        .into_response()
}

/// The group: metrics are never rate limited (scrapers ask constantly); the
/// documents are `api`.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .unlimited(routes!(get_metrics))
        .add(RouteClass::Api, routes!(get_openapi))
        .add(RouteClass::Api, routes!(get_docs))
        .add(RouteClass::Api, routes!(get_docs_script))
}
