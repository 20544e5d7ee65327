//! Forward-auth (`GET /v1/authz/check`) as a gateway asks it: from a
//! trusted proxy, with the user's credential and the forwarded target.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::Request;
use latchkey_core::admin::Actor;
use latchkey_http::Network;
use latchkey_testkit::{ISSUER, Options, PEER, TestApp, TestResponse};

const PASSWORD: &str = "correct horse battery staple";
const HOST: &str = "app.example.com";

async fn app() -> TestApp {
    TestApp::sqlite_with(
        Options {
            network: Network {
                trusted_proxies: "203.0.113.0/24".parse().unwrap(),
                authz: format!(
                    "{HOST}/admin role:admin, {HOST}/billing aal2, {HOST}/public public, \
                     {HOST}/api scope:email, {HOST}/write scope:posts:write"
                )
                .parse()
                .unwrap(),
                ..Network::default()
            },
            ..Options::default()
        },
        |r| r,
    )
    .await
}

/// The check for `uri` on [`HOST`], with extra headers, from `peer`.
async fn check_from(
    app: &TestApp,
    peer: SocketAddr,
    uri: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut req = Request::get("/v1/authz/check")
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", HOST)
        .header("x-forwarded-uri", uri);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    app.call_from(peer, req.body(Body::empty()).unwrap()).await
}

async fn check(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
    check_from(app, PEER, uri, headers).await
}

fn status_code(r: &TestResponse) -> (u16, String) {
    (r.status.as_u16(), r.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_users_pass_with_their_identity() {
    let app = app().await;
    let user = app.register("fa@example.com", PASSWORD).await;
    let t = app.login("fa@example.com", PASSWORD).await;
    let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());

    let r = check(&app, "/docs?page=2", &[("authorization", &bearer)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-auth-user"), user["id"].as_str());
    assert_eq!(r.header("x-auth-email"), Some("fa@example.com"));
    assert_eq!(r.header("x-auth-roles"), Some("user"));
    assert_eq!(r.header("x-auth-session"), t["session_id"].as_str());
    assert_eq!(r.header("cache-control"), Some("no-store"));

    let cookie = app.login_cookie("fa@example.com", PASSWORD).await;
    let r = check(&app, "/docs", &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-auth-user"), user["id"].as_str());
    assert_ne!(r.header("x-auth-session"), t["session_id"].as_str());

    // scopes are those of the bearer token; a cookie session has none
    assert_eq!(
        check(&app, "/api/x", &[("authorization", &bearer)])
            .await
            .status,
        200
    );
    let r = check(&app, "/write", &[("authorization", &bearer)]).await;
    assert_eq!(status_code(&r), (403, "insufficient_scope".into()));
    let r = check(&app, "/api/x", &[("cookie", &cookie)]).await;
    assert_eq!(status_code(&r), (403, "insufficient_scope".into()));

    // logout takes effect at the next check
    let r = app
        .send("POST", "/v1/auth/logout", t["access_token"].as_str())
        .await;
    assert_eq!(r.status, 204);
    let r = check(&app, "/docs", &[("authorization", &bearer)]).await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_assurance_are_required_where_the_rules_say() {
    let app = app().await;
    let user = app.register("role@example.com", PASSWORD).await;
    let t = app.login("role@example.com", PASSWORD).await;
    let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let as_user = [("authorization", bearer.as_str())];

    let r = check(&app, "/admin/users", &as_user).await;
    assert_eq!(status_code(&r), (403, "missing_role".into()));
    // a path that only resolves into /admin is judged as /admin
    let r = check(&app, "/public/../admin/users", &as_user).await;
    assert_eq!(status_code(&r), (403, "missing_role".into()));
    let r = check(&app, "/public/%2e%2e/admin", &[]).await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));

    app.auth
        .admin()
        .admin_set_roles(
            &Actor::command_line(),
            user["id"].as_str().unwrap(),
            &["admin".to_owned()],
            false,
        )
        .await
        .unwrap();
    let r = check(&app, "/admin/users", &as_user).await;
    assert_eq!(r.status, 200, "a role takes effect at once: {}", r.text());
    assert!(
        r.header("x-auth-roles")
            .unwrap()
            .split(',')
            .any(|x| x == "admin")
    );

    // a password sign-in is aal1: the RFC 9470 challenge
    let r = check(&app, "/billing", &as_user).await;
    assert_eq!(
        status_code(&r),
        (401, "insufficient_user_authentication".into())
    );
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"insufficient_user_authentication\""),
        "{:?}",
        r.header("www-authenticate")
    );
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("acr_values=\"aal2\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_are_refused_or_sent_to_sign_in() {
    let app = app().await;
    let r = check(&app, "/public/page", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-auth-user"), None);

    let r = check(&app, "/docs", &[("accept", "application/json")]).await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));
    let r = check(
        &app,
        "/docs",
        &[("authorization", "Bearer forged.token.here")],
    )
    .await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));

    let browser = ("accept", "text/html,application/xhtml+xml");
    let r = check(&app, "/docs?a=1&b=2", &[browser]).await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(
            format!(
                "{ISSUER}/login?return_to=https%3A%2F%2Fapp%2Eexample%2Ecom%2Fdocs%3Fa%3D1%26b%3D2"
            )
            .as_str()
        )
    );
    // nginx's auth_request passes on only 401 and 403
    let r = check(&app, "/docs", &[browser, ("x-latchkey-no-redirect", "1")]).await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));
    assert_eq!(
        r.header("x-auth-redirect"),
        Some(format!("{ISSUER}/login?return_to=https%3A%2F%2Fapp%2Eexample%2Ecom%2Fdocs").as_str())
    );
    let r = check(&app, "/docs", &[("x-latchkey-no-redirect", "1")]).await;
    assert_eq!(
        r.header("x-auth-redirect"),
        None,
        "API clients are not redirected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_trusted_proxies_are_answered() {
    let app = app().await;
    app.register("px@example.com", PASSWORD).await;
    let t = app.login("px@example.com", PASSWORD).await;
    let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let stranger: SocketAddr = "198.51.100.9:5000".parse().unwrap();
    let r = check_from(&app, stranger, "/docs", &[("authorization", &bearer)]).await;
    assert_eq!(status_code(&r), (403, "untrusted_proxy".into()));
    assert_eq!(r.header("x-auth-user"), None);
    let r = check_from(&app, stranger, "/public/page", &[]).await;
    assert_eq!(status_code(&r), (403, "untrusted_proxy".into()));

    // a trusted proxy must say which host
    let r = app
        .call(
            Request::get("/v1/authz/check")
                .header("authorization", &bearer)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status_code(&r), (400, "missing_forwarded_host".into()));
    let r = check(&app, "/x%5c..%5cadmin", &[("authorization", &bearer)]).await;
    assert_eq!(status_code(&r), (400, "unreadable_target".into()));
}

/// The check as Envoy `ext_authz` (HTTP service) asks it: the user's path
/// and query appended to the `path_prefix` `/v1/authz/check`, the user's
/// own `Host`, no `X-Forwarded-*`.
async fn envoy_check_from(
    app: &TestApp,
    peer: SocketAddr,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut req = Request::get(format!("/v1/authz/check{path}")).header("host", host);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    app.call_from(peer, req.body(Body::empty()).unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_appends_the_path_and_passes_the_host_on() {
    let app = app().await;
    let user = app.register("envoy@example.com", PASSWORD).await;
    let t = app.login("envoy@example.com", PASSWORD).await;
    let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let as_user = [("authorization", bearer.as_str())];
    let envoy = |host: &'static str,
                 path: &'static str,
                 headers: &'static [(&'static str, &'static str)]| {
        envoy_check_from(&app, PEER, host, path, headers)
    };

    // signed in: passes, with the identity headers
    let r = envoy_check_from(&app, PEER, HOST, "/docs?page=2", &as_user).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-auth-user"), user["id"].as_str());
    assert_eq!(r.header("x-auth-email"), Some("envoy@example.com"));
    assert_eq!(r.header("x-auth-session"), t["session_id"].as_str());
    // the rules see the appended path: /admin needs a role, /public nothing
    let r = envoy_check_from(&app, PEER, HOST, "/admin/users", &as_user).await;
    assert_eq!(status_code(&r), (403, "missing_role".into()));
    let r = envoy(HOST, "/public/page", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // ... on the Host the user asked for (port ignored as with X-Forwarded-Host)
    let r = envoy("other.example.com", "/public/page", &[]).await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));
    let r = envoy("app.example.com:8443", "/public/page", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // no credentials: 401; the user's root path too
    let r = envoy(HOST, "/docs", &[]).await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));
    let r = envoy(HOST, "/", &[]).await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));

    // an encoded traversal in the suffix is judged where it resolves, and
    // an encoded backslash refused, as in X-Forwarded-Uri
    let r = envoy(HOST, "/public/%2e%2e/admin", &[]).await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));
    let r = envoy_check_from(&app, PEER, HOST, "/public/%2e%2e/admin/users", &as_user).await;
    assert_eq!(status_code(&r), (403, "missing_role".into()));
    let r = envoy(HOST, "/x%5c..%5cadmin", &[]).await;
    assert_eq!(status_code(&r), (400, "unreadable_target".into()));

    // X-Forwarded-Uri, when a gateway sends it, is the target
    let r = envoy(HOST, "/admin", &[("x-forwarded-uri", "/public/page")]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // and only trusted proxies are answered here too
    let stranger: SocketAddr = "198.51.100.9:5000".parse().unwrap();
    let r = envoy_check_from(&app, stranger, HOST, "/public/page", &[]).await;
    assert_eq!(status_code(&r), (403, "untrusted_proxy".into()));
}
