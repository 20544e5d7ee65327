//! The one error path: every failing request of every renderer
//! (problem+json, RFC 6749 JSON, HTML page) is logged exactly once, inside
//! the request's span, and answered in its group's shape.
//!
//! One test in its own binary: it installs the process-wide subscriber that
//! captures the log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use latchkey_testkit::{ISSUER, PageForm, TestApp, TestResponse};

/// The captured log, shared with the subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines_of(&self, request_id: &str) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines()
            .filter(|l| l.contains(&format!("request_id={request_id} ")))
            .map(str::to_owned)
            .collect()
    }
}

/// A request with a known id.
fn request(method: &str, path: &str, id: &str, content_type: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("x-request-id", id)
        .header("content-type", content_type)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// A POST of the `/verify-email` page's form, as the browser that opened it.
fn page_request(form: &PageForm, id: &str, content_type: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/verify-email")
        .header("x-request-id", id)
        .header("content-type", content_type)
        .header("origin", ISSUER)
        .header("cookie", &form.cookie)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// Checks that the failed request `id` left exactly one error line (and no
/// other warning or error), and returns the response for shape checks.
fn logged_once(log: &Captured, r: TestResponse, id: &str, status: u16) -> TestResponse {
    assert_eq!(r.status.as_u16(), status, "{id}: {}", r.text());
    let lines = log.lines_of(id);
    let errors: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("request failed") || l.contains("request refused"))
        .collect();
    assert_eq!(errors.len(), 1, "{id}: one error line, got {lines:#?}");
    let loud = lines
        .iter()
        .filter(|l| l.contains("ERROR") || l.contains(" WARN"))
        .count();
    assert_eq!(
        loud,
        usize::from(r.status.is_server_error()),
        "{id}: server errors are logged as errors, refusals are not: {lines:#?}"
    );
    r
}

fn drop_table(app: &TestApp, table: &str) {
    let Some(latchkey_testkit::Backend::Sqlite(path)) = &app.backend else {
        panic!("an SQLite app")
    };
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(&format!("PRAGMA foreign_keys = OFF; DROP TABLE {table};"))
        .unwrap();
}

#[tokio::test]
async fn every_error_answer_is_logged_exactly_once() {
    let log = Captured::default();
    let writer = log.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    // problem+json
    let app = TestApp::sqlite().await;
    for (method, path, ct, body, id, status, code) in [
        (
            "GET",
            "/v1/account",
            JSON,
            "",
            "problem-401",
            401,
            "unauthenticated",
        ),
        (
            "GET",
            "/no/such/route",
            JSON,
            "",
            "problem-404",
            404,
            "not_found",
        ),
        (
            "POST",
            "/v1/auth/login",
            JSON,
            "{",
            "problem-400",
            400,
            "malformed_json",
        ),
        (
            "PUT",
            "/v1/auth/login",
            JSON,
            "",
            "problem-405",
            405,
            "method_not_allowed",
        ),
    ] {
        let r = app.call(request(method, path, id, ct, body)).await;
        let r = logged_once(&log, r, id, status);
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        let challenge = (status == 401).then_some("Bearer");
        assert_eq!(r.header("www-authenticate"), challenge, "{id}");
        assert_eq!(
            (r.code(), r.json()["request_id"].clone()),
            (code.to_owned(), id.into())
        );
    }

    // RFC 6749 JSON
    let (client, secret) = app
        .auth
        .sessions()
        .create_client("resource server")
        .await
        .unwrap();
    let creds = format!("client_id={}&client_secret={secret}", client.id);
    for (body, id, status, error) in [
        ("token=x".to_owned(), "oauth-401", 401, "invalid_client"),
        (creds.clone(), "oauth-400", 400, "invalid_request"),
    ] {
        let r = app
            .call(request("POST", "/oauth2/introspect", id, FORM, &body))
            .await;
        let r = logged_once(&log, r, id, status);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.json()["error"], error, "{id}");
        let challenge = (status == 401).then_some("Basic realm=\"latchkey\"");
        assert_eq!(r.header("www-authenticate"), challenge, "{id}");
    }

    // HTML pages
    for (body, ct, id, status, text) in [
        (
            "token=bogus",
            FORM,
            "page-400",
            400,
            "This link does not work",
        ),
        (
            "{}",
            JSON,
            "page-unreadable",
            400,
            "The form could not be read",
        ),
    ] {
        let form = app.page_form("/verify-email?token=x", None).await;
        let r = app
            .call(page_request(
                &form,
                id,
                ct,
                &format!("{body}&csrf={}", form.csrf),
            ))
            .await;
        let r = logged_once(&log, r, id, status);
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(r.text().contains(text), "{id}: {}", r.text());
    }

    // server errors, one per renderer: the store lost a table
    let broken = TestApp::sqlite().await;
    let (client, secret) = broken.auth.sessions().create_client("rs").await.unwrap();
    drop_table(&broken, "account_tokens");
    drop_table(&broken, "clients");
    // a refresh reads the token first (one call on the writer): lose it too
    drop_table(&broken, "refresh_tokens");
    drop_table(&broken, "sessions");
    let creds = format!("token=x&client_id={}&client_secret={secret}", client.id);
    let cases = [
        (
            "POST",
            "/v1/auth/refresh",
            JSON,
            r#"{"refresh_token": "x"}"#,
            "problem-500",
            "\"internal_error\"",
        ),
        (
            "POST",
            "/oauth2/introspect",
            FORM,
            creds.as_str(),
            "oauth-500",
            "\"server_error\"",
        ),
        (
            "POST",
            "/verify-email",
            FORM,
            "token=abc",
            "page-500",
            "Something went wrong",
        ),
    ];
    let form = broken.page_form("/verify-email?token=x", None).await;
    for (method, path, ct, body, id, shape) in cases {
        let r = if path == "/verify-email" {
            let body = format!("{body}&csrf={}", form.csrf);
            broken.call(page_request(&form, id, ct, &body)).await
        } else {
            broken.call(request(method, path, id, ct, body)).await
        };
        let r = logged_once(&log, r, id, 500);
        let line = log
            .lines_of(id)
            .into_iter()
            .find(|l| l.contains("request failed"))
            .unwrap();
        assert!(
            line.contains("no such table"),
            "{id}: the cause is logged: {line}"
        );
        assert!(!r.text().contains("no such table"), "{id}: and never sent");
        assert!(r.text().contains(shape), "{id}: {}", r.text());
    }
}
