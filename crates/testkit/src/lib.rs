//! Test support shared by latchkey's crates. Dev-only: nothing ships with it.
//!
//! - [`TestApp`]: the real router over a real store (a fresh SQLite file, or a
//!   fresh PostgreSQL database), called in-process with `oneshot`.
//! - [`postgres`]: fresh, isolated databases on the test server started by
//!   `scripts/test.sh`.
//! - [`raw_http`]: a deliberately small HTTP/1.1 client for tests that talk to
//!   a real listening server (the binary, or `serve`).

pub mod postgres;
pub mod raw_http;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use latchkey_core::Store;
use latchkey_http::{AppState, Limits};
use latchkey_store_sqlite::SqliteStore;
use tower::ServiceExt;

/// An application over a real store, for in-process tests.
pub struct TestApp {
    /// The router under test.
    pub router: Router,
    /// The store behind it, for arranging and checking data directly.
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON; panics with the body text if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// The real router on a fresh, migrated SQLite file with default limits.
    pub async fn sqlite() -> TestApp {
        Self::sqlite_with(Limits::default(), |routes| routes).await
    }

    /// Like [`TestApp::sqlite`], with the given limits and extra routes
    /// merged into the real ones (for exercising the pipeline).
    pub async fn sqlite_with(
        limits: Limits,
        extra: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("latchkey.db"), 2).expect("open SQLite");
        store.migrate().await.expect("migrate");
        let store: Arc<dyn Store> = Arc::new(store);
        let mut app = Self::over(store, limits, extra);
        app._dir = Some(dir);
        app
    }

    /// The real router over an already migrated store (e.g. a
    /// `PgStore` on [`postgres::fresh_database`]).
    pub fn with_store(store: Arc<dyn Store>) -> TestApp {
        Self::over(store, Limits::default(), |r| r)
    }

    fn over(
        store: Arc<dyn Store>,
        limits: Limits,
        extra: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> TestApp {
        let state = AppState::new(store.clone(), limits);
        let router = latchkey_http::with_middleware(extra(latchkey_http::routes()), state);
        TestApp {
            router,
            store,
            _dir: None,
        }
    }

    /// Sends a request through the router.
    pub async fn call(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("read the body")
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }
}
