//! The sign-in step is one: a second way of signing in (here a test route
//! standing in for a hosted page, answering with a redirect) goes through
//! the same login CSRF check, per-account quotas and device cookie as
//! `POST /v1/auth/login`, and shares their counters.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use latchkey_core::abuse::{ChallengePolicy, GuardConfig};
use latchkey_core::session::SessionKind;
use latchkey_core::sign_in::LoginAttempt;
use latchkey_http::AppState;
use latchkey_http::error::ApiError;
use latchkey_http::extract::Json;
use latchkey_http::principal::{ClientAddr, ClientMeta};
use latchkey_http::sign_in::SignIn;
use latchkey_testkit::{Options, TestApp, TestResponse};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// A sign-in page of another kind: `{identifier, secret, cookie}` in,
/// 303 out.
async fn page_sign_in(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let identifier = body["identifier"].as_str().unwrap_or_default().to_owned();
    let secret = body["secret"].as_str().unwrap_or_default().to_owned();
    let kind = if body["cookie"] == true {
        SessionKind::Cookie
    } else {
        SessionKind::Bearer
    };
    let (auth, id, pw, who) = (state.auth(), identifier.as_str(), secret.as_str(), &client);
    let signed_in = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        account: &identifier,
        kind,
        pow: None,
        remember: true,
    }
    .run(|device_cookie| async move {
        auth.sessions()
            .login_with(LoginAttempt {
                identifier: id,
                password: pw,
                client: who,
                kind,
                device_cookie: device_cookie.as_deref(),
            })
            .await
    })
    .await?;
    Ok(signed_in.respond((StatusCode::SEE_OTHER, [("location", "/account")]).into_response()))
}

async fn call(app: &TestApp, path: &str, body: Value, origin: Option<&str>) -> TestResponse {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    app.call(req.body(Body::from(body.to_string())).unwrap())
        .await
}

#[tokio::test]
async fn another_way_of_signing_in_shares_the_one_step() {
    let app = TestApp::sqlite_with(
        Options {
            guard: GuardConfig {
                login: "account=3/min".parse().unwrap(),
                challenge: ChallengePolicy {
                    enabled: false,
                    ..ChallengePolicy::default()
                },
                ..GuardConfig::default()
            },
            ..Options::default()
        },
        |r| r.route("/test/page-sign-in", post(page_sign_in)),
    )
    .await;
    app.register("page@example.com", PASSWORD).await;

    // success: the caller's answer, with the step's cookies and quota headers
    let r = call(
        &app,
        "/test/page-sign-in",
        json!({"identifier": "page@example.com", "secret": PASSWORD, "cookie": true}),
        Some(latchkey_testkit::ISSUER),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let cookies: Vec<_> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(cookies[0].starts_with("latchkey_session="), "{cookies:?}");
    assert!(cookies[1].starts_with("latchkey_device="), "{cookies:?}");
    assert!(
        r.header("ratelimit-policy")
            .is_some_and(|p| p.contains("\"login_account\"")),
        "{:?}",
        r.headers
    );

    // login CSRF: a cookie session only from latchkey's own origin
    let r = call(
        &app,
        "/test/page-sign-in",
        json!({"identifier": "page@example.com", "secret": PASSWORD, "cookie": true}),
        Some("https://evil.example"),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "csrf_failed".into()));

    // one quota per account, whichever way the attempts come
    let wrong = json!({"identifier": "page@example.com", "password": "wrong password here"});
    let r = call(&app, "/v1/auth/login", wrong, None).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = call(
        &app,
        "/test/page-sign-in",
        json!({"identifier": "page@example.com", "secret": "wrong password here"}),
        None,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (401, "invalid_credentials".into())
    );
    let r = call(
        &app,
        "/test/page-sign-in",
        json!({"identifier": "page@example.com", "secret": PASSWORD}),
        None,
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "rate_limited".into()));
    assert_eq!(r.json()["policy"], "login_account");
}
