//! The event streams (issue 18): `GET /v1/events/stream` as a resource
//! server reads it — client authentication, resumption with
//! `Last-Event-ID`, and delivery across nodes on PostgreSQL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use futures_util::StreamExt;
use latchkey_testkit::{Options, TestApp, basic_auth};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

/// The `sid` claim of an access token.
fn sid_of(access_token: &str) -> String {
    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

/// One SSE event: `(id, event, data)`.
type SseEvent = (i64, String, Value);

/// An open event stream, read as it comes.
struct EventStream {
    body: axum::body::BodyDataStream,
    buffer: String,
}

impl EventStream {
    async fn open(app: &TestApp, auth: &str, last_event_id: Option<i64>) -> EventStream {
        Self::open_at(app, "/v1/events/stream", auth, last_event_id).await
    }

    async fn open_at(
        app: &TestApp,
        path: &str,
        auth: &str,
        last_event_id: Option<i64>,
    ) -> EventStream {
        let mut req = Request::get(path).header("authorization", auth);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let response = app.open(req.body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        EventStream {
            body: response.into_body().into_data_stream(),
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped); panics after `within`.
    async fn next(&mut self, within: Duration) -> SseEvent {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, None, None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(v).unwrap());
                    }
                }
                if let (Some(id), Some(event), Some(data)) = (id, event, data) {
                    return (id, event, data);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .expect("an event in time")
                .expect("the stream stays open")
                .expect("the stream reads");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

impl EventStream {
    /// Panics unless the server ends the stream (after any events buffered).
    async fn ends(mut self) {
        let rest = tokio::time::timeout(Duration::from_secs(5), async {
            let mut rest = String::new();
            while let Some(chunk) = self.body.next().await {
                rest.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
            }
            rest
        })
        .await
        .expect("the stream ends");
        assert!(
            (self.buffer + &rest)
                .lines()
                .all(|l| l.is_empty() || l.starts_with(':')),
            "no further event"
        );
    }
}

/// The user's own stream: their new sessions and ended ones, nobody
/// else's, and it ends with the caller's own session.
#[tokio::test]
async fn the_account_stream_shows_the_users_own_sessions_and_ends_with_its_own() {
    let app = TestApp::sqlite().await;
    app.register("own@example.com", PASSWORD).await;
    app.register("else@example.com", PASSWORD).await;
    let token = |t: &Value| t["access_token"].as_str().unwrap().to_owned();
    let a = token(&app.login("own@example.com", PASSWORD).await);
    let b = token(&app.login("own@example.com", PASSWORD).await);
    let r = app.send("GET", "/v1/account/events", None).await;
    assert_eq!(r.status, 401);
    let mut stream =
        EventStream::open_at(&app, "/v1/account/events", &format!("Bearer {a}"), None).await;
    let other = token(&app.login("else@example.com", PASSWORD).await);
    assert_eq!(
        app.send("POST", "/v1/auth/logout", Some(&other))
            .await
            .status,
        204
    );
    let c = token(&app.login("own@example.com", PASSWORD).await);
    assert_eq!(
        app.send("POST", "/v1/auth/logout", Some(&b)).await.status,
        204
    );
    assert_eq!(
        app.send("POST", "/v1/auth/logout", Some(&a)).await.status,
        204
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (_, event, data) = stream.next(Duration::from_secs(10)).await;
        seen.push((event, data["sid"].as_str().unwrap().to_owned()));
    }
    assert_eq!(
        seen,
        vec![
            ("session.created".to_owned(), sid_of(&c)),
            ("session.revoked".to_owned(), sid_of(&b)),
            ("session.revoked".to_owned(), sid_of(&a)),
        ]
    );
    stream.ends().await;
}

/// At shutdown the node ends its streams (they would hold the drain up);
/// the client resumes on another node with `Last-Event-ID`.
#[tokio::test]
async fn closing_the_service_ends_open_streams() {
    let app = TestApp::sqlite().await;
    let auth = app.events_basic_auth("resource server").await;
    let stream = EventStream::open(&app, &auth, None).await;
    app.auth.events().close();
    stream.ends().await;
}

#[tokio::test]
async fn the_stream_needs_a_client_and_a_valid_last_event_id() {
    let app = TestApp::sqlite().await;
    let auth = app.events_basic_auth("resource server").await;
    for (header, last_event_id, status, code) in [
        (None, None, 401, "invalid_client"),
        (
            Some(basic_auth("lk_nobody", "secret")),
            None,
            401,
            "invalid_client",
        ),
        (Some(auth.clone()), Some("-1"), 400, "bad_last_event_id"),
        (Some(auth.clone()), Some("abc"), 400, "bad_last_event_id"),
        (
            Some(auth.clone()),
            Some("99999999999999999999"),
            400,
            "bad_last_event_id",
        ),
    ] {
        let mut req = Request::get("/v1/events/stream");
        if let Some(h) = &header {
            req = req.header("authorization", h);
        }
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let r = app.call(req.body(Body::empty()).unwrap()).await;
        assert_eq!(
            r.status,
            status,
            "{header:?} {last_event_id:?}: {}",
            r.text()
        );
        assert_eq!(r.code(), code);
    }
    // a user's bearer token is not a client's credential
    app.register("user@example.com", PASSWORD).await;
    let t = app.login("user@example.com", PASSWORD).await;
    let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let r = app
        .call(
            Request::get("/v1/events/stream")
                .header("authorization", bearer)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 401);
}

/// The status and problem `code` of a refused `GET /v1/events/stream`.
async fn stream_answer(app: &TestApp, auth: String, last_event_id: Option<i64>) -> (u16, String) {
    let mut req = Request::get("/v1/events/stream").header("authorization", auth);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id.to_string());
    }
    let r = app.call(req.body(Body::empty()).unwrap()).await;
    (r.status.as_u16(), r.code())
}

/// The revocation stream carries every user's session ends: a client reads
/// it only when registered with `events` (off by default, since third-party
/// OAuth clients live in the same table), set and unset through the admin
/// API. Old main served any registered client.
#[tokio::test]
async fn only_clients_registered_with_events_read_the_revocation_stream() {
    let app = TestApp::sqlite().await;
    let status = |auth: String| stream_answer(&app, auth, None);
    let forbidden = (403, "events_not_permitted".to_owned());
    // a client as the older API made it, and one registered without `events`
    let plain = app.client_basic_auth("third-party app").await;
    assert_eq!(status(plain).await, forbidden);
    let email = "events-admin@example.com";
    let admin = app.register(email, PASSWORD).await;
    app.auth
        .admin()
        .admin_set_roles(
            &latchkey_core::admin::Actor::command_line(),
            admin["id"].as_str().unwrap(),
            &["admin".to_owned()],
            false,
        )
        .await
        .unwrap();
    let t = app.login(email, PASSWORD).await;
    let admin = t["access_token"].as_str().unwrap();
    let app = &app;
    let register = |body: Value| async move {
        let r = app
            .json("POST", "/v1/admin/clients", body, Some(admin))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    };
    let created = register(serde_json::json!({"name": "Partner app",
        "redirect_uris": ["https://app.example.com/cb"]}))
    .await;
    assert_eq!(created["events"], false);
    let id = created["client_id"].as_str().unwrap().to_owned();
    let auth = basic_auth(&id, created["client_secret"].as_str().unwrap());
    assert_eq!(status(auth.clone()).await, forbidden);
    // allowed by the admin API: the stream opens; taken back: refused again
    for (events, expected) in [(true, (200, String::new())), (false, forbidden.clone())] {
        let r = app
            .json(
                "PATCH",
                &format!("/v1/admin/clients/{id}"),
                serde_json::json!({ "events": events }),
                Some(admin),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["events"], events);
        if events {
            EventStream::open(app, &auth, None).await;
        } else {
            assert_eq!(status(auth.clone()).await, expected);
        }
    }
    // a registration that allows it from the start
    let rs = register(serde_json::json!({"name": "Resource server", "events": true})).await;
    let auth = basic_auth(
        rs["client_id"].as_str().unwrap(),
        rs["client_secret"].as_str().unwrap(),
    );
    EventStream::open(app, &auth, Some(0)).await;
}

/// A `Last-Event-ID` whose following events the retention sweep already
/// deleted answers 410 `last_event_id_expired` (the reader learns it missed
/// events) instead of a stream with a hole; one at or after the horizon
/// resumes as before. Old main served `Last-Event-ID: 0` from the oldest
/// kept event, silently.
#[tokio::test]
async fn a_last_event_id_older_than_the_retention_window_is_refused_with_410() {
    let app = TestApp::sqlite().await;
    let auth = app.events_basic_auth("resource server").await;
    app.register("old@example.com", PASSWORD).await;
    let token = |t: &Value| t["access_token"].as_str().unwrap().to_owned();
    let old = token(&app.login("old@example.com", PASSWORD).await);
    assert_eq!(
        app.send("POST", "/v1/auth/logout", Some(&old)).await.status,
        204
    );
    let horizon = app.auth.store().last_event_id().await.unwrap();
    // the sweep deletes everything so far
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(365);
    assert!(app.auth.store().purge_events(later, 1_000).await.unwrap() > 0);
    let kept = token(&app.login("old@example.com", PASSWORD).await);
    assert_eq!(
        app.send("POST", "/v1/auth/logout", Some(&kept))
            .await
            .status,
        204
    );
    for last in [0, horizon - 1] {
        assert_eq!(
            stream_answer(&app, auth.clone(), Some(last)).await,
            (410, "last_event_id_expired".to_owned()),
            "{last}"
        );
    }
    let mut stream = EventStream::open(&app, &auth, Some(horizon)).await;
    let (id, event, data) = stream.next(Duration::from_secs(10)).await;
    assert!(id > horizon);
    assert_eq!(event, "session.revoked");
    assert_eq!(data["sid"], sid_of(&kept));
}

/// A client that loses its connection while 100 sessions end reconnects with
/// `Last-Event-ID` and receives every revocation, in the order of the
/// logouts, exactly once.
#[tokio::test]
async fn a_client_disconnected_during_100_revocations_resumes_and_gets_each_once_in_order() {
    let app = Arc::new(TestApp::sqlite().await);
    let auth = app.events_basic_auth("resource server").await;
    app.register("many@example.com", PASSWORD).await;
    let mut tokens = Vec::new();
    for _ in 0..100 {
        let t = app.login("many@example.com", PASSWORD).await;
        tokens.push(t["access_token"].as_str().unwrap().to_owned());
    }
    let expected: Vec<String> = tokens.iter().map(|t| sid_of(t)).collect();

    let mut stream = EventStream::open(&app, &auth, None).await;
    let (disconnected, mut resume) = tokio::sync::mpsc::channel::<()>(1);
    let logouts = {
        let app = app.clone();
        tokio::spawn(async move {
            for (i, token) in tokens.iter().enumerate() {
                if i == 50 {
                    // the rest while the client is away and reconnecting
                    resume.recv().await.unwrap();
                }
                let r = app.send("POST", "/v1/auth/logout", Some(token)).await;
                assert_eq!(r.status, 204, "{}", r.text());
            }
        })
    };

    let mut seen: Vec<SseEvent> = Vec::new();
    while seen.len() < 37 {
        seen.push(stream.next(Duration::from_secs(10)).await);
    }
    drop(stream);
    disconnected.send(()).await.unwrap();
    let last = seen.last().unwrap().0;
    let mut stream = EventStream::open(&app, &auth, Some(last)).await;
    while seen.len() < 100 {
        seen.push(stream.next(Duration::from_secs(10)).await);
    }
    logouts.await.unwrap();

    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "ids increase");
    let sids: Vec<String> = seen
        .iter()
        .map(|(_, event, data)| {
            assert_eq!(event, "session.revoked");
            assert_eq!(data["type"], "session.revoked");
            assert_eq!(data["reason"], "logout");
            data["sid"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(sids, expected, "every revocation, in order, once");
    // nothing more is owed: a resumption after the last one starts empty,
    // and the next revocation is the next event
    let mut stream = EventStream::open(&app, &auth, Some(seen[99].0)).await;
    let t = app.login("many@example.com", PASSWORD).await;
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(
        app.send("POST", "/v1/auth/logout", Some(token))
            .await
            .status,
        204
    );
    let (_, _, data) = stream.next(Duration::from_secs(10)).await;
    assert_eq!(data["sid"], sid_of(token));
}

/// Two nodes on one PostgreSQL database: a logout on one reaches a stream
/// open on the other within a second.
#[tokio::test]
async fn a_logout_on_one_node_reaches_the_stream_on_the_other_within_a_second() {
    let one = TestApp::postgres(Options::default()).await;
    let other = one.another_node(Options::default()).await;
    let auth = one.events_basic_auth("resource server").await;
    one.register("two@example.com", PASSWORD).await;
    for _ in 0..3 {
        let t = one.login("two@example.com", PASSWORD).await;
        let token = t["access_token"].as_str().unwrap();
        let mut stream = EventStream::open(&other, &auth, None).await;
        let started = Instant::now();
        assert_eq!(
            one.send("POST", "/v1/auth/logout", Some(token))
                .await
                .status,
            204
        );
        let (_, event, data) = stream.next(Duration::from_secs(5)).await;
        let elapsed = started.elapsed();
        assert_eq!(event, "session.revoked");
        assert_eq!(data["sid"], sid_of(token));
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    }
}
