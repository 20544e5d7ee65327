//! The request pipeline, in-process on a real SQLite store: problem+json
//! everywhere, request ids, limits, panics, security headers, metrics and the
//! self-description endpoints.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use latchkey_http::extract::Json;
use latchkey_http::{AppState, Limits};
use latchkey_testkit::{Options, TestApp, TestResponse};

fn assert_problem(r: &TestResponse, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let body = r.json();
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code);
    assert_eq!(body["type"], format!("urn:latchkey:problem:{code}"));
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    // the body's request id is the header's
    assert_eq!(
        body["request_id"].as_str(),
        r.header("x-request-id"),
        "{body}"
    );
    body
}

/// Routes that exist only to exercise the pipeline.
fn test_routes(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route(
            "/test/echo",
            post(|Json(v): Json<serde_json::Value>| async move { axum::Json(v) }),
        )
        .route(
            "/test/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/test/panic",
            get(|| async {
                if std::env::var("NEVER_SET_LATCHKEY").is_err() {
                    panic!("secret-internal-detail");
                }
                "unreachable"
            }),
        )
}

async fn app() -> TestApp {
    TestApp::sqlite_with(
        Options {
            limits: Limits {
                max_body_bytes: 1024,
                max_header_bytes: 8 * 1024,
                request_timeout: Duration::from_millis(300),
            },
            ..Options::default()
        },
        test_routes,
    )
    .await
}

fn post_json(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn live_answers_with_request_id_and_security_headers() {
    let app = TestApp::sqlite().await;
    let r = app.get("/health/live").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), serde_json::json!({"status": "ok"}));
    let id = r.header("x-request-id").expect("x-request-id");
    assert!(id.len() >= 16, "{id}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert!(
        r.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // each request gets its own id
    assert_ne!(
        app.get("/health/live").await.header("x-request-id"),
        Some(id)
    );
}

#[tokio::test]
async fn sane_request_ids_are_echoed_and_others_replaced() {
    let app = TestApp::sqlite().await;
    let req = |id: &str| {
        Request::get("/nope")
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    };
    let r = app.call(req("trace-abc.123")).await;
    assert_eq!(r.header("x-request-id"), Some("trace-abc.123"));
    assert_eq!(
        assert_problem(&r, 404, "not_found")["request_id"],
        "trace-abc.123"
    );
    let evil = "x\" onload=\"alert(1)";
    let r = app.call(req(evil)).await;
    let got = r.header("x-request-id").unwrap();
    assert_ne!(got, evil);
    assert!(got.bytes().all(|b| b.is_ascii_alphanumeric()), "{got}");
}

#[tokio::test]
async fn only_a_trusted_proxy_names_the_recorded_request_id() {
    use latchkey_core::audit::AuditQuery;
    let app = TestApp::sqlite_with(
        Options {
            network: latchkey_http::Network {
                trusted_proxies: "10.0.0.0/8".parse().unwrap(),
                ..Default::default()
            },
            ..Options::default()
        },
        |r| r,
    )
    .await;
    let register = |email: &str, request_id: &str| {
        Request::post("/v1/auth/register")
            .header("content-type", "application/json")
            .header("x-request-id", request_id)
            .body(Body::from(
                serde_json::json!({"email": email, "password": "correct horse battery staple"})
                    .to_string(),
            ))
            .unwrap()
    };
    // a client (not a proxy) names its request: echoed back, never recorded
    let r = app
        .call(register("mallory@example.com", "forged-by-the-client"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.header("x-request-id"), Some("forged-by-the-client"));
    let mallory = r.json()["id"].as_str().unwrap().to_owned();
    // a trusted proxy's id is recorded
    let proxy = std::net::SocketAddr::new("10.1.2.3".parse().unwrap(), 443);
    let r = app
        .call_from(proxy, register("ada@example.com", "from-the-proxy"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ada = r.json()["id"].as_str().unwrap().to_owned();

    let events = app
        .store
        .audit_events(&AuditQuery {
            events: vec!["user.registered".into()],
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let recorded = |user: &str| {
        events
            .iter()
            .find(|e| e.subject_id.as_deref() == Some(user))
            .and_then(|e| e.request_id.clone())
            .expect("a request id on the event")
    };
    let own = recorded(&mallory);
    assert_ne!(own, "forged-by-the-client");
    let uuid = uuid::Uuid::parse_str(&own).expect("the server's own id is a UUID");
    assert_eq!(uuid.get_version_num(), 7, "{own}");
    assert_eq!(recorded(&ada), "from-the-proxy");
}

#[tokio::test]
async fn ready_reports_the_database() {
    let app = TestApp::sqlite().await;
    let r = app.get("/health/ready").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["checks"]["database"]["backend"], "sqlite");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let app = app().await;
    let body = assert_problem(&app.get("/v1/nothing/here").await, 404, "not_found");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("/v1/nothing/here")
    );
    let r = app
        .call(Request::delete("/health/live").body(Body::empty()).unwrap())
        .await;
    assert_problem(&r, 405, "method_not_allowed");
}

#[tokio::test]
async fn json_bodies_are_checked() {
    let app = app().await;
    let ok = app
        .call(post_json("/test/echo", "application/json", r#"{"a":1}"#))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json(), serde_json::json!({"a": 1}));

    let r = app
        .call(post_json("/test/echo", "text/plain", r#"{"a":1}"#))
        .await;
    assert_problem(&r, 415, "unsupported_media_type");
    let r = app
        .call(post_json("/test/echo", "application/json", "{\"a\":"))
        .await;
    assert_problem(&r, 400, "malformed_json");
    let r = app
        .call(post_json(
            "/test/echo",
            "application/json",
            format!("[{}]", "1,".repeat(600) + "1"),
        ))
        .await;
    assert_problem(&r, 413, "payload_too_large");
    // too large even when the client lies about the length
    let r = app
        .call(
            Request::post("/test/echo")
                .header("content-type", "application/json")
                .header("content-length", "10")
                .body(Body::from(format!("\"{}\"", "a".repeat(4000))))
                .unwrap(),
        )
        .await;
    assert!(
        r.status == StatusCode::PAYLOAD_TOO_LARGE || r.status == StatusCode::BAD_REQUEST,
        "{}",
        r.status
    );
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
}

#[tokio::test]
async fn oversized_headers_are_refused() {
    let app = app().await;
    let r = app
        .call(
            Request::get("/health/live")
                .header("x-filler", "a".repeat(9000))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_problem(&r, 431, "headers_too_large");
}

#[tokio::test]
async fn slow_requests_time_out_with_503() {
    let app = app().await;
    let r = app.get("/test/slow").await;
    assert_problem(&r, 503, "request_timeout");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn panics_become_500_without_details() {
    let app = app().await;
    let r = app.get("/test/panic").await;
    let body = assert_problem(&r, 500, "internal_error");
    assert!(!r.text().contains("secret-internal-detail"), "{body}");
    // the server goes on
    assert_eq!(app.get("/health/live").await.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::sqlite().await;
    app.get("/health/live").await;
    app.get("/no/such/route/42").await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let text = r.text();
    assert!(
        text.contains(
            r#"latchkey_http_requests_total{method="GET",route="/health/live",status="200"}"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(
        !text.contains("/no/such/route/42"),
        "raw paths must not become labels"
    );
    assert!(
        text.contains("latchkey_http_request_duration_seconds_bucket{"),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_documents_every_route_and_every_documented_route_exists() {
    let app = TestApp::sqlite().await;
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc = r.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "latchkey");
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/docs.js",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op["responses"].is_object(),
                "{method} {path} has no responses"
            );
            assert!(op["tags"].is_array(), "{method} {path} has no tag");
            if method == "get" && !path.contains('{') {
                let r = app.get(path).await;
                assert_ne!(
                    r.status,
                    StatusCode::NOT_FOUND,
                    "documented GET {path} is not routed"
                );
            }
        }
    }
}

#[tokio::test]
async fn docs_page_is_served_from_the_binary() {
    let app = TestApp::sqlite().await;
    let page = app.get("/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("http"),
        "{csp}"
    );
    let html = page.text();
    assert!(html.contains("/docs/docs.js"));
    for attr in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "@import",
    ] {
        assert!(
            !html.contains(attr),
            "the docs page must not load {attr}… from elsewhere"
        );
    }
    let js = app.get("/docs/docs.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().contains("/openapi.json"));
    assert!(
        !js.text().contains("import("),
        "no dynamic imports from elsewhere"
    );
}
