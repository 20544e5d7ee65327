//! latchkey-verify against a real latchkey: the application the server
//! builds, over a real SQLite store, served on a loopback port.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use http_body_util::BodyExt;
use latchkey_testkit::{ISSUER, TestApp};
use latchkey_tokens::VerifyError;
use latchkey_verify::{
    Aal2, Config, Introspection, Rejection, RequireAal, RequireRole, RequireScope, RoleName,
    ScopeName, Verified, Verifier, VerifyLayer,
};
use serde_json::Value;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

/// Serves the app on 127.0.0.1; returns its base URL.
async fn serve(app: &TestApp) -> String {
    let addr = latchkey_testkit::serve(app.router.clone(), ([127, 0, 0, 1], 0).into()).await;
    format!("http://{addr}")
}

fn config(base: &str) -> Config {
    let mut c = Config::new(ISSUER, ISSUER).unwrap();
    c.jwks_url = format!("{base}/.well-known/jwks.json").parse().unwrap();
    c
}

async fn signed_in(app: &TestApp, email: &str) -> Value {
    app.register(email, PASSWORD).await;
    app.login(email, PASSWORD).await
}

fn access(t: &Value) -> &str {
    t["access_token"].as_str().unwrap()
}

/// A new signing key, in use at once.
async fn rotate_keys(app: &TestApp) {
    let now = time::OffsetDateTime::now_utc();
    assert!(
        app.auth
            .keys()
            .rotate(app.store.as_ref(), now, None, time::Duration::minutes(15))
            .await
            .unwrap()
    );
}

/// Waits (up to 5 s) until `verifier` follows the revocation stream.
async fn connected(verifier: &Verifier) {
    for _ in 0..100 {
        if verifier.revocation_stream_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(verifier.revocation_stream_connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifies_latchkey_tokens_and_follows_rotation_at_a_bounded_rate() {
    let app = TestApp::sqlite().await;
    let base = serve(&app).await;
    let t = signed_in(&app, "rs@example.com").await;
    let mut quick = config(&base);
    quick.min_refresh_interval = Duration::ZERO;
    let quick = Verifier::new(quick);
    let mut slow = config(&base);
    slow.min_refresh_interval = Duration::from_secs(3600);
    let slow = Verifier::new(slow);

    for v in [&quick, &slow] {
        let claims = v.verify(access(&t)).await.unwrap();
        assert_eq!(claims.sid, t["session_id"].as_str().unwrap());
        assert_eq!(claims.roles, ["user"]);
    }

    // A new key, which the JWKS (max-age=300) fetched above does not list.
    rotate_keys(&app).await;
    let fresh = app.login("rs@example.com", PASSWORD).await;
    assert!(
        quick.verify(access(&fresh)).await.is_ok(),
        "an unknown kid refetches the keys"
    );
    assert_eq!(
        slow.verify(access(&fresh)).await.unwrap_err(),
        Rejection::Invalid(VerifyError::UnknownKey),
        "but not sooner than min_refresh_interval after the last fetch"
    );
    assert!(
        quick.verify(access(&t)).await.is_ok(),
        "the old key is still published"
    );

    // Forged tokens are refused whatever their header says.
    let mut parts: Vec<String> = access(&fresh).split('.').map(str::to_owned).collect();
    parts[1] = latchkey_tokens::b64url_encode(br#"{"sub":"someone else"}"#);
    assert_eq!(
        quick.verify(&parts.join(".")).await.unwrap_err(),
        Rejection::Invalid(VerifyError::Signature)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_cannot_be_fetched_are_unavailable_not_invalid() {
    let app = TestApp::sqlite().await;
    let t = signed_in(&app, "down@example.com").await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let v = Verifier::new(config(&closed));
    assert_eq!(
        v.verify(access(&t)).await.unwrap_err(),
        Rejection::Unavailable
    );
}

struct Email;
impl ScopeName for Email {
    const NAME: &'static str = "email";
}
struct WritePosts;
impl ScopeName for WritePosts {
    const NAME: &'static str = "posts:write";
}
struct User;
impl RoleName for User {
    const NAME: &'static str = "user";
}
struct Admin;
impl RoleName for Admin {
    const NAME: &'static str = "admin";
}

async fn call(router: &Router, path: &str, bearer: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::get(path);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let r = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        challenge,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extractors_layer_and_typed_requirements() {
    let app = TestApp::sqlite().await;
    let base = serve(&app).await;
    let t = signed_in(&app, "typed@example.com").await;
    let token = access(&t);
    let verifier = Verifier::new(config(&base));
    let layered = Router::new()
        .route(
            "/layered",
            get(|Verified(c): Verified| async move { c.sub.clone() }),
        )
        .route_layer(VerifyLayer::new(verifier.clone()));
    let router: Router = Router::new()
        .route(
            "/me",
            get(|Verified(c): Verified| async move { c.sub.clone() }),
        )
        .route("/email", get(|_: RequireScope<Email>| async { "ok" }))
        .route("/write", get(|_: RequireScope<WritePosts>| async { "ok" }))
        .route("/user", get(|_: RequireRole<User>| async { "ok" }))
        .route("/admin", get(|_: RequireRole<Admin>| async { "ok" }))
        .route("/billing", get(|_: RequireAal<Aal2>| async { "ok" }))
        .merge(layered)
        .with_state(verifier);

    let me = call(&router, "/me", Some(token)).await;
    assert_eq!((me.0, me.2.len()), (StatusCode::OK, 36), "{me:?}");
    assert_eq!(call(&router, "/layered", Some(token)).await.2, me.2);
    assert_eq!(call(&router, "/email", Some(token)).await.0, StatusCode::OK);
    assert_eq!(call(&router, "/user", Some(token)).await.0, StatusCode::OK);

    for path in ["/me", "/layered"] {
        let (status, challenge, body) = call(&router, path, None).await;
        assert_eq!(
            (status, challenge.as_str()),
            (StatusCode::UNAUTHORIZED, "Bearer")
        );
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], "unauthenticated");
        let (status, challenge, _) = call(&router, path, Some("not.a.token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
    }

    let (status, challenge, body) = call(&router, "/write", Some(token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        challenge,
        "Bearer error=\"insufficient_scope\", scope=\"posts:write\""
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        "insufficient_scope"
    );
    let (status, _, body) = call(&router, "/admin", Some(token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        "forbidden"
    );

    // A password sign-in is aal1: the RFC 9470 step-up challenge.
    let (status, challenge, body) = call(&router, "/billing", Some(token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge,
        "Bearer error=\"insufficient_user_authentication\", error_description=\"A stronger or more recent sign-in is required\", acr_values=\"aal2\""
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        "insufficient_user_authentication"
    );
}

/// An aal2 level that also wants the sign-in within five minutes.
struct RecentAal2;
impl latchkey_verify::AalLevel for RecentAal2 {
    const ACR: &'static str = "aal2";
    const MAX_AGE: Option<u64> = Some(300);
}

/// latchkey's sign-in with a second factor issues what `RequireAal` reads:
/// `acr` `aal2`, `amr` with `mfa`, and `auth_time`; a stale sign-in gets the
/// step-up challenge with `max_age`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_aal_accepts_a_second_factor_sign_in() {
    // the app runs ten minutes behind this verifier, so that a sign-in can
    // be old while its tokens are valid
    let behind = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
    let app = TestApp::sqlite_from(latchkey_testkit::Options {
        clock: Some(std::sync::Arc::new(latchkey_testkit::ManualClock::new(
            behind,
        ))),
        access_ttl: time::Duration::minutes(30),
        ..Default::default()
    })
    .await;
    let base = serve(&app).await;
    let t = signed_in(&app, "aal2@example.com").await;
    let r = app
        .send("POST", "/v1/account/mfa/totp", Some(access(&t)))
        .await;
    let secret = r.json()["secret"].as_str().unwrap().to_owned();
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            serde_json::json!({"code": app.totp_code(&secret, 0)}),
            Some(access(&t)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // the confirming session passed the factor: its next token is aal2
    let old = app
        .refresh(t["refresh_token"].as_str().unwrap())
        .await
        .json();
    let router: Router = Router::new()
        .route("/billing", get(|_: RequireAal<Aal2>| async { "ok" }))
        .route("/payout", get(|_: RequireAal<RecentAal2>| async { "ok" }))
        .with_state(Verifier::new(config(&base)));
    let claims = Verifier::new(config(&base))
        .verify(access(&old))
        .await
        .unwrap();
    assert_eq!(
        (claims.acr.as_str(), claims.amr.clone()),
        ("aal2", vec!["pwd".to_owned(), "otp".into(), "mfa".into()])
    );
    assert_eq!(
        call(&router, "/billing", Some(access(&old))).await.0,
        StatusCode::OK
    );
    let (status, challenge, _) = call(&router, "/payout", Some(access(&old))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "ten minutes old");
    assert!(challenge.contains("max_age=300"), "{challenge}");
    // caught up, a step-up with a code makes auth_time recent again
    app.clock.advance(time::Duration::minutes(10));
    let r = app
        .json(
            "POST",
            "/v1/auth/reauth",
            serde_json::json!({"method": "totp", "code": app.totp_code(&secret, 0)}),
            Some(access(&old)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let fresh = app
        .refresh(old["refresh_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(
        call(&router, "/payout", Some(access(&fresh))).await.0,
        StatusCode::OK
    );
}

/// A verifier introspecting every token (answers are not cached).
fn introspecting(base: &str, client_id: &str, client_secret: &str) -> Verifier {
    let mut c = config(base);
    c.introspection = Some(Introspection {
        url: format!("{base}/oauth2/introspect").parse().unwrap(),
        client_id: client_id.to_owned(),
        client_secret: client_secret.to_owned(),
        cache_secs: 0,
    });
    Verifier::new(c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_makes_a_logout_take_effect() {
    let app = TestApp::sqlite().await;
    let base = serve(&app).await;
    let (client, secret) = app
        .auth
        .sessions()
        .create_client("resource server")
        .await
        .unwrap();
    let t = signed_in(&app, "intro@example.com").await;
    let plain = Verifier::new(config(&base));
    let checked = introspecting(&base, &client.id, &secret);
    assert!(checked.verify(access(&t)).await.is_ok());
    assert!(plain.verify(access(&t)).await.is_ok());

    let r = app.send("POST", "/v1/auth/logout", Some(access(&t))).await;
    assert_eq!(r.status, 204, "{}", r.text());

    assert_eq!(
        checked.verify(access(&t)).await.unwrap_err(),
        Rejection::Inactive
    );
    assert!(
        plain.verify(access(&t)).await.is_ok(),
        "without introspection a JWT is good until it expires"
    );

    // A wrong client secret is not taken for "inactive".
    let other = signed_in(&app, "intro2@example.com").await;
    assert_eq!(
        introspecting(&base, &client.id, "wrong")
            .verify(access(&other))
            .await
            .unwrap_err(),
        Rejection::Unavailable
    );
}

/// Two latchkey nodes on one PostgreSQL database: the verifier follows the
/// revocation stream of one, the user logs out on the other, and the token
/// (verified and cached before) is refused within a second, without
/// introspection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revocation_stream_refuses_a_logged_out_session_within_a_second() {
    use latchkey_testkit::Options;
    use latchkey_verify::RevocationStream;

    let one = TestApp::postgres(Options::default()).await;
    let other = one.another_node(Options::default()).await;
    let (base_one, base_other) = (serve(&one).await, serve(&other).await);
    let (client, secret) = one.events_client("rs").await;
    let mut c = config(&base_one);
    let mut stream = RevocationStream::new(&base_other, &client, &secret).unwrap();
    stream.max_retry = Duration::from_millis(200);
    c.revocation_stream = Some(stream);
    let verifier = Verifier::new(c);
    let t = signed_in(&one, "stream@example.com").await;
    let kept = one.login("stream@example.com", PASSWORD).await;
    connected(&verifier).await;
    assert!(verifier.verify(access(&t)).await.is_ok());

    let r = one.send("POST", "/v1/auth/logout", Some(access(&t))).await;
    assert_eq!(r.status, 204);
    let started = std::time::Instant::now();
    while verifier.verify(access(&t)).await.is_ok() {
        assert!(started.elapsed() < Duration::from_secs(5), "never refused");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(1),
        "refused after {elapsed:?}"
    );
    assert_eq!(
        verifier.verify(access(&t)).await.unwrap_err(),
        Rejection::Inactive
    );
    assert!(
        verifier.verify(access(&kept)).await.is_ok(),
        "the user's other session is untouched"
    );
}

/// `keys.rotated` on the revocation stream makes the verifier fetch the
/// JWKS at once: a token signed with the new key is accepted although
/// `min_refresh_interval` (an hour here) holds back the fetch an unknown
/// `kid` would make. Old main ignored the event and refused such tokens for
/// the rest of the hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_on_the_stream_refetches_the_keys() {
    use latchkey_verify::RevocationStream;

    let app = TestApp::sqlite().await;
    let base = serve(&app).await;
    let (client, secret) = app.events_client("rs").await;
    let mut c = config(&base);
    c.min_refresh_interval = Duration::from_secs(3600);
    let mut stream = RevocationStream::new(&base, &client, &secret).unwrap();
    stream.max_retry = Duration::from_millis(200);
    c.revocation_stream = Some(stream);
    let verifier = Verifier::new(c);
    let t = signed_in(&app, "rotate@example.com").await;
    assert!(verifier.verify(access(&t)).await.is_ok());
    connected(&verifier).await;

    rotate_keys(&app).await;
    let fresh = app.login("rotate@example.com", PASSWORD).await;
    let started = std::time::Instant::now();
    while let Err(e) = verifier.verify(access(&fresh)).await {
        assert_eq!(e, Rejection::Invalid(VerifyError::UnknownKey));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the new key was never fetched"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        verifier.verify(access(&t)).await.is_ok(),
        "the old key stays"
    );
}
