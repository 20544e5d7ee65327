//! Webhooks over HTTP (issue 18): the admin API, signed deliveries with
//! their log, retries, redelivery and replay, and the outbound safety
//! rules (private addresses refused at registration and at connect time,
//! a name that resolves to loopback at delivery refused, no redirect
//! followed). The store's part runs on both backends in the conformance
//! suite; the restart test with the reference receiver is in
//! `server/tests/binary/webhooks.rs`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use latchkey_core::admin::Actor;
use latchkey_core::auth::LifecycleConfig;
use latchkey_core::webhooks::WebhooksConfig;
use latchkey_core::webhooks::signature::WebhookSecret;
use latchkey_testkit::{Options, TestApp, TestResponse};
use serde_json::{Value, json};

latchkey_testkit::sqlite_only!(
    endpoints_are_managed_by_administrators_only,
    deliveries_are_signed_logged_retried_and_replayed(private_allowed()),
    private_addresses_are_refused_at_registration_and_at_connect_time,
    a_redirect_is_never_followed(private_allowed()),
    caep_receivers_get_a_signed_session_revoked_set(private_allowed()),
);

const PASSWORD: &str = "correct horse battery staple";

fn private_allowed() -> Options {
    Options {
        lifecycle: LifecycleConfig {
            webhooks: WebhooksConfig {
                allow_private: true,
            },
            ..LifecycleConfig::default()
        },
        ..Options::default()
    }
}

fn unique(tag: &str) -> String {
    format!("{tag}-{}@example.com", latchkey_core::id::new_id())
}

/// A signed-in administrator's access token.
async fn admin_token(app: &TestApp) -> String {
    let email = unique("root");
    let user = app.register(&email, PASSWORD).await;
    app.auth
        .admin()
        .admin_set_roles(
            &Actor::command_line(),
            user["id"].as_str().unwrap(),
            &["admin".to_owned()],
            false,
        )
        .await
        .expect("set roles");
    app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What a receiver got: the headers and body of each request.
type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver on 127.0.0.1 answering `status` (changeable) to every POST,
/// with `location` when it is a redirect.
async fn receiver(status: Arc<AtomicU16>, location: Option<String>) -> (String, Received) {
    let got: Received = Arc::default();
    let seen = got.clone();
    let router = Router::new().fallback(move |headers: HeaderMap, body: String| {
        let (seen, status, location) = (seen.clone(), status.clone(), location.clone());
        async move {
            seen.lock().unwrap().push((headers, body));
            let status = StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap();
            match location {
                Some(l) => (status, [("location", l)]).into_response(),
                None => status.into_response(),
            }
        }
    });
    let addr = latchkey_testkit::serve(router, "127.0.0.1:0".parse().unwrap()).await;
    (format!("http://127.0.0.1:{}/in", addr.port()), got)
}

async fn create(app: &TestApp, token: &str, url: &str, types: &[&str]) -> TestResponse {
    app.json(
        "POST",
        "/v1/admin/webhooks",
        json!({"url": url, "event_types": types, "description": "test"}),
        Some(token),
    )
    .await
}

async fn endpoints_are_managed_by_administrators_only(app: TestApp) {
    let root = admin_token(&app).await;
    let email = unique("plain");
    app.register(&email, PASSWORD).await;
    let plain = app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = "https://hooks.example.com/latchkey";
    let r = create(&app, &plain, url, &["user.created"]).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (403, "permission_denied".into())
    );
    let r = app.send("GET", "/v1/admin/webhooks", Some(&plain)).await;
    assert_eq!(r.status, 403);

    let r = create(&app, &root, url, &["user.created", "session.revoked"]).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wh_"));
    assert!(WebhookSecret::parse(&secret).is_some(), "{secret}");
    assert_eq!(
        created["event_types"],
        json!(["session.revoked", "user.created"])
    );
    assert_eq!(created["enabled"], true);

    let r = app
        .send("GET", &format!("/v1/admin/webhooks/{id}"), Some(&root))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json().get("secret").is_none(), "the secret is shown once");
    assert!(!r.text().contains(&secret[6..]));
    let r = app.send("GET", "/v1/admin/webhooks", Some(&root)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = app
        .send("GET", "/v1/admin/webhooks/event-types", Some(&root))
        .await;
    assert!(
        r.json()
            .as_array()
            .unwrap()
            .contains(&json!("login.failed"))
    );

    for (body, field, code) in [
        (
            json!({"url": "ftp://x.example.com/", "event_types": ["user.created"]}),
            "url",
            "invalid_url",
        ),
        (
            json!({"url": "https://10.1.2.3/in", "event_types": ["user.created"]}),
            "url",
            "private_address",
        ),
        (
            json!({"url": "http://[::1]:8080/", "event_types": ["user.created"]}),
            "url",
            "private_address",
        ),
        (
            json!({"url": url, "event_types": ["user.exploded"]}),
            "event_types",
            "invalid_value",
        ),
        (
            json!({"url": url, "event_types": []}),
            "event_types",
            "required",
        ),
    ] {
        let r = app
            .json("POST", "/v1/admin/webhooks", body.clone(), Some(&root))
            .await;
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        let errors = &r.json()["errors"];
        assert_eq!(errors[0]["field"], field, "{body}");
        assert_eq!(errors[0]["code"], code, "{body}");
    }

    let r = app
        .json(
            "PATCH",
            &format!("/v1/admin/webhooks/{id}"),
            json!({"enabled": false, "event_types": ["login.failed"]}),
            Some(&root),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (r.json()["enabled"].clone(), r.json()["event_types"].clone()),
        (json!(false), json!(["login.failed"]))
    );
    let r = app
        .json(
            "PATCH",
            &format!("/v1/admin/webhooks/{id}"),
            json!({"url": "https://169.254.169.254/"}),
            Some(&root),
        )
        .await;
    assert_eq!(r.status, 422);

    let r = app
        .send(
            "POST",
            &format!("/v1/admin/webhooks/{id}/secret"),
            Some(&root),
        )
        .await;
    assert_eq!(r.status, 200);
    let rotated = r.json()["secret"].as_str().unwrap().to_owned();
    assert!(WebhookSecret::parse(&rotated).is_some());
    assert_ne!(rotated, secret);

    let r = app
        .send("DELETE", &format!("/v1/admin/webhooks/{id}"), Some(&root))
        .await;
    assert_eq!(r.status, 204);
    let r = app
        .send("DELETE", &format!("/v1/admin/webhooks/{id}"), Some(&root))
        .await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found".into()));

    let r = app.send("GET", "/v1/admin/audit?event=webhook.created,webhook.updated,webhook.secret_rotated,webhook.deleted&order=asc", Some(&root)).await;
    let events: Vec<Value> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].clone())
        .collect();
    assert_eq!(
        events,
        [
            json!("webhook.created"),
            json!("webhook.updated"),
            json!("webhook.secret_rotated"),
            json!("webhook.deleted")
        ]
    );
}

/// The Standard Webhooks headers of a received request, checked under
/// `secret`; returns the `webhook-id` and the payload.
fn verified(secret: &WebhookSecret, headers: &HeaderMap, body: &str) -> (String, Value) {
    let h = |n: &str| {
        headers
            .get(n)
            .unwrap_or_else(|| panic!("{n} header"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let id = h("webhook-id");
    let ts: i64 = h("webhook-timestamp").parse().unwrap();
    assert!((ts - time::OffsetDateTime::now_utc().unix_timestamp()).abs() < 300);
    assert!(
        secret.verifies(&id, ts, body.as_bytes(), &h("webhook-signature")),
        "signature of {id}"
    );
    assert_eq!(h("content-type"), "application/json");
    (id, serde_json::from_str(body).unwrap())
}

async fn deliveries_are_signed_logged_retried_and_replayed(app: TestApp) {
    let root = admin_token(&app).await;
    let status = Arc::new(AtomicU16::new(500));
    let (url, got) = receiver(status.clone(), None).await;
    let r = create(
        &app,
        &root,
        &url,
        &["user.created", "session.revoked", "login.failed"],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let secret = WebhookSecret::parse(r.json()["secret"].as_str().unwrap()).unwrap();

    let email = unique("alice");
    let alice = app.register(&email, PASSWORD).await;
    let tokens = app.login(&email, PASSWORD).await;
    let r = app
        .send("POST", "/v1/auth/logout", tokens["access_token"].as_str())
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": email, "password": "wrong password here"}),
            None,
        )
        .await;
    assert_eq!(r.status, 401);

    app.run_jobs().await;
    let first: Vec<(String, Value)> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(h, b)| verified(&secret, h, b))
        .collect();
    let types: Vec<&str> = first
        .iter()
        .map(|(_, p)| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["user.created", "session.revoked", "login.failed"],
        "in event order, once each"
    );
    assert_eq!(first[0].1["data"]["sub"], alice["id"]);
    assert_eq!(first[1].1["data"]["reason"], "logout");
    assert_eq!(first[1].1["data"]["sid"], tokens["session_id"]);
    assert!(first.iter().all(|(i, _)| i.starts_with("msg_")));

    let deliveries = app
        .send(
            "GET",
            &format!("/v1/admin/webhooks/{id}/deliveries"),
            Some(&root),
        )
        .await
        .json();
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), 3);
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == "pending" && d["attempts"] == 1 && d["last_status"] == 500)
    );
    let endpoint = app
        .send("GET", &format!("/v1/admin/webhooks/{id}"), Some(&root))
        .await
        .json();
    assert!(endpoint["failing_since"].is_string());

    // nothing before the backoff; then the retry, with the same webhook-id
    status.store(204, Ordering::SeqCst);
    app.run_jobs().await;
    assert_eq!(got.lock().unwrap().len(), 3, "no retry before its time");
    app.clock.advance(time::Duration::seconds(7));
    app.run_jobs().await;
    let all: Vec<(String, Value)> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(h, b)| verified(&secret, h, b))
        .collect();
    assert_eq!(all.len(), 6);
    assert_eq!(
        all[3..]
            .iter()
            .map(|(i, _)| i.clone())
            .collect::<Vec<_>>()
            .len(),
        3
    );
    for (i, _) in &first {
        assert_eq!(
            all.iter().filter(|(j, _)| j == i).count(),
            2,
            "{i}: one retry, same id"
        );
    }
    let endpoint = app
        .send("GET", &format!("/v1/admin/webhooks/{id}"), Some(&root))
        .await
        .json();
    assert!(
        endpoint["failing_since"].is_null(),
        "a success clears the failures"
    );

    let login_failed = &first[2].0;
    let detail = app
        .send(
            "GET",
            &format!("/v1/admin/webhooks/{id}/deliveries/{login_failed}"),
            Some(&root),
        )
        .await
        .json();
    assert_eq!(detail["status"], "delivered");
    assert_eq!(detail["attempts"], 2);
    let log = detail["attempts_log"].as_array().unwrap();
    assert_eq!(
        log.iter().map(|a| a["status"].clone()).collect::<Vec<_>>(),
        [json!(500), json!(204)]
    );
    assert!(log.iter().all(|a| a["latency_ms"].is_u64()));
    assert_eq!(log[0]["error"], "status 500");

    // redeliver one; replay from a time
    let r = app
        .send(
            "POST",
            &format!("/v1/admin/webhooks/{id}/deliveries/{login_failed}/redeliver"),
            Some(&root),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    app.run_jobs().await;
    let again = got
        .lock()
        .unwrap()
        .last()
        .map(|(h, b)| verified(&secret, h, b))
        .unwrap();
    assert_eq!(&again.0, login_failed);
    let r = app
        .send(
            "POST",
            &format!("/v1/admin/webhooks/{id}/deliveries/msg_none/redeliver"),
            Some(&root),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .json(
            "POST",
            &format!("/v1/admin/webhooks/{id}/replay"),
            json!({"since": "2000-01-01T00:00:00Z"}),
            Some(&root),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["queued"].clone()),
        (202, json!(3))
    );
    app.run_jobs().await;
    assert_eq!(got.lock().unwrap().len(), 10);
    let r = app
        .json(
            "POST",
            &format!("/v1/admin/webhooks/{id}/replay"),
            json!({"since": "yesterday"}),
            Some(&root),
        )
        .await;
    assert_eq!(r.status, 422);
}

/// A delivery's log after the jobs ran: `(status, last_error)` of each.
async fn outcomes(app: &TestApp, token: &str, id: &str) -> Vec<(Value, String)> {
    let r = app
        .send(
            "GET",
            &format!("/v1/admin/webhooks/{id}/deliveries"),
            Some(token),
        )
        .await;
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["last_status"].clone(),
                d["last_error"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// With `webhooks.allow_private_addresses` off (the default): a loopback
/// literal is refused at registration; a name that resolved to a public
/// address when it was registered and resolves to 127.0.0.1 at delivery
/// time, and `localhost` through the system's resolver, are refused at
/// connect time: the receiver listening there gets nothing.
async fn private_addresses_are_refused_at_registration_and_at_connect_time(app: TestApp) {
    let root = admin_token(&app).await;
    let (url, got) = receiver(Arc::new(AtomicU16::new(204)), None).await;
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let r = create(&app, &root, &url, &["user.created"]).await;
    assert_eq!(
        (r.status.as_u16(), r.json()["errors"][0]["code"].clone()),
        (422, json!("private_address"))
    );

    let public: IpAddr = "93.184.215.14".parse().unwrap();
    app.webhook_hosts()
        .lock()
        .unwrap()
        .insert("hooks.test".into(), vec![public]);
    let r = create(
        &app,
        &root,
        &format!("http://hooks.test:{port}/in"),
        &["user.created"],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let rebound = r.json()["id"].as_str().unwrap().to_owned();
    let r = create(
        &app,
        &root,
        &format!("http://localhost:{port}/in"),
        &["user.created"],
    )
    .await;
    assert_eq!(r.status, 201, "a name is checked when connecting");
    let local = r.json()["id"].as_str().unwrap().to_owned();
    // now the name resolves to loopback (and a public address: one bad address refuses all)
    app.webhook_hosts().lock().unwrap().insert(
        "hooks.test".into(),
        vec![public, "127.0.0.1".parse().unwrap()],
    );

    app.register(&unique("bob"), PASSWORD).await;
    app.run_jobs().await;
    assert!(
        got.lock().unwrap().is_empty(),
        "nothing reached the loopback receiver"
    );
    for (endpoint, address) in [(&rebound, "127.0.0.1"), (&local, "")] {
        let seen = outcomes(&app, &root, endpoint).await;
        assert_eq!(seen.len(), 1, "{endpoint}");
        let (status, error) = &seen[0];
        assert!(status.is_null(), "no answer: {error}");
        assert!(error.starts_with("refused: "), "{error}");
        assert!(error.contains(address), "{error}");
    }
}

/// A receiver that answers with a redirect to a private address: the
/// redirect is an answer (recorded, retried), never followed; the address
/// it names gets nothing. (The first hop must be reachable from the test,
/// so private addresses are allowed here: what is tested is that no
/// redirect is followed, whatever the address.)
async fn a_redirect_is_never_followed(app: TestApp) {
    let root = admin_token(&app).await;
    let (target, stolen) = receiver(Arc::new(AtomicU16::new(204)), None).await;
    let (url, got) = receiver(
        Arc::new(AtomicU16::new(307)),
        Some(target.replace("/in", "/latest/meta-data")),
    )
    .await;
    let r = create(&app, &root, &url, &["user.created"]).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    app.register(&unique("carol"), PASSWORD).await;
    app.run_jobs().await;
    assert_eq!(got.lock().unwrap().len(), 1);
    assert!(
        stolen.lock().unwrap().is_empty(),
        "the redirect was not followed"
    );
    assert_eq!(
        outcomes(&app, &root, &id).await,
        [(json!(307), "redirect not followed".to_owned())]
    );
}

/// A CAEP receiver (format `set`): a logout pushes a `session-revoked` SET
/// (RFC 8417) per RFC 8935, with its bearer, signed with latchkey's key and
/// valid against `/.well-known/jwks.json`; a 400 with an `err` code refuses
/// the SET for good (no retry).
async fn caep_receivers_get_a_signed_session_revoked_set(app: TestApp) {
    use latchkey_core::webhooks::caep::SESSION_REVOKED;
    use latchkey_tokens::{Jwks, Validation, VerifyingKey, verify_jwt, verify_set};

    let root = admin_token(&app).await;
    let status = Arc::new(AtomicU16::new(202));
    let (url, got) = receiver(status.clone(), None).await;
    let audience = "https://rs.example.com";
    let body =
        json!({"url": url, "format": "set", "audience": audience, "bearer": "rs-push-token"});
    let r = app
        .json("POST", "/v1/admin/webhooks", body, Some(&root))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert!(
        created.get("secret").is_none(),
        "SETs are signed with latchkey's key"
    );
    assert_eq!(
        (created["format"].clone(), created["event_types"].clone()),
        (json!("set"), json!(["session.revoked"]))
    );
    let id = created["id"].as_str().unwrap().to_owned();
    for (body, field) in [
        (json!({"url": url, "format": "set"}), "audience"),
        (
            json!({"url": url, "format": "set", "audience": audience, "event_types": ["user.created"]}),
            "event_types",
        ),
        (
            json!({"url": url, "event_types": ["user.created"], "audience": audience}),
            "audience",
        ),
        (
            json!({"url": url, "format": "xml", "audience": audience}),
            "format",
        ),
    ] {
        let r = app
            .json("POST", "/v1/admin/webhooks", body.clone(), Some(&root))
            .await;
        assert_eq!(
            (r.status.as_u16(), r.json()["errors"][0]["field"].clone()),
            (422, json!(field)),
            "{body}"
        );
    }
    let r = app
        .send(
            "POST",
            &format!("/v1/admin/webhooks/{id}/secret"),
            Some(&root),
        )
        .await;
    assert_eq!(r.status, 422);

    let email = unique("dave");
    let dave = app.register(&email, PASSWORD).await;
    let tokens = app.login(&email, PASSWORD).await;
    let r = app
        .send("POST", "/v1/auth/logout", tokens["access_token"].as_str())
        .await;
    assert_eq!(r.status, 204);
    app.run_jobs().await;
    let received = got.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        1,
        "one SET: the logout (sign-in and sign-up are not sent)"
    );
    let (headers, set) = &received[0];
    assert_eq!(headers["content-type"], "application/secevent+jwt");
    assert_eq!(headers["authorization"], "Bearer rs-push-token");
    assert!(headers.get("webhook-signature").is_none());

    let jwks: Jwks = serde_json::from_slice(&app.get("/.well-known/jwks.json").await.body).unwrap();
    let key = |kid: &str| {
        jwks.keys
            .iter()
            .find(|k| k.kid == kid)
            .and_then(|k| VerifyingKey::from_jwk(k).ok())
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let v = Validation {
        issuer: latchkey_testkit::ISSUER,
        audience,
        typ: "secevent+jwt",
        now,
        leeway_secs: 60,
    };
    let claims: Value = verify_set(set, key, &v).expect("a valid SET under latchkey's JWKS");
    let event = &claims["events"][SESSION_REVOKED];
    assert_eq!(
        event["subject"],
        json!({"format": "opaque", "id": tokens["session_id"]})
    );
    assert_eq!(
        claims["sub_id"],
        json!({"format": "iss_sub", "iss": latchkey_testkit::ISSUER, "sub": dave["id"]})
    );
    assert!(event["event_timestamp"].is_i64());
    assert!(claims["jti"].as_str().unwrap().starts_with("msg_"));
    assert!(
        verify_set::<Value>(
            set,
            key,
            &Validation {
                audience: "https://other.example.com",
                ..v
            }
        )
        .is_err()
    );
    assert!(
        verify_jwt::<Value>(set, key, &Validation { typ: "at+jwt", ..v }).is_err(),
        "a SET is no access token"
    );

    // RFC 8935 §2.3: 400 with an err code: refused for good
    status.store(400, Ordering::SeqCst);
    let refuser = Router::new().fallback(|| async {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"err": "invalid_audience", "description": "not ours"})),
        )
    });
    let addr = latchkey_testkit::serve(refuser, "127.0.0.1:0".parse().unwrap()).await;
    let body = json!({"url": format!("http://127.0.0.1:{}/push", addr.port()), "format": "set", "audience": audience});
    let r = app
        .json("POST", "/v1/admin/webhooks", body, Some(&root))
        .await;
    let refusing = r.json()["id"].as_str().unwrap().to_owned();
    let tokens = app.login(&email, PASSWORD).await;
    app.send("POST", "/v1/auth/logout", tokens["access_token"].as_str())
        .await;
    app.run_jobs().await;
    app.clock.advance(time::Duration::minutes(5));
    app.run_jobs().await;
    let r = app
        .send(
            "GET",
            &format!("/v1/admin/webhooks/{refusing}/deliveries"),
            Some(&root),
        )
        .await
        .json();
    let d = &r[0];
    assert_eq!(
        (
            d["status"].clone(),
            d["attempts"].clone(),
            d["last_status"].clone()
        ),
        (json!("failed"), json!(1), json!(400))
    );
    assert_eq!(d["last_error"], "rejected: invalid_audience");
}
