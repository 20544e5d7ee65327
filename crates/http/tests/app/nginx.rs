//! The nginx recipe (examples/nginx/nginx.conf), run by scripts/services.sh
//! with Debian's nginx: nginx asks latchkey's forward-auth about each
//! request before passing it to a tiny application.

use std::net::SocketAddr;

use axum::Router;
use axum::http::HeaderMap;
use latchkey_http::Network;
use latchkey_testkit::raw_http::{self, RawResponse};
use latchkey_testkit::{ISSUER, Options, TestApp};

const PASSWORD: &str = "correct horse battery staple";

fn port(var: &str) -> u16 {
    std::env::var(var)
        .unwrap_or_else(|_| panic!("{var} is not set: run the tests through scripts/test.sh or source scripts/services.sh"))
        .parse()
        .unwrap()
}

async fn serve(port: u16, router: Router) {
    latchkey_testkit::serve(router, ([127, 0, 0, 1], port).into()).await;
}

/// The application behind nginx: it shows who nginx says the user is.
async fn tiny_app(headers: HeaderMap) -> String {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    format!("user={} roles={}", h("x-auth-user"), h("x-auth-roles"))
}

async fn get(path: &str, headers: &[(&str, &str)]) -> RawResponse {
    let addr: SocketAddr = ([127, 0, 0, 1], port("LATCHKEY_TEST_NGINX_PORT")).into();
    let path = path.to_owned();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        raw_http::get(addr, &path, &headers).expect("nginx answers")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_protects_an_application_through_forward_auth() {
    let app = TestApp::sqlite_with(
        Options {
            network: Network {
                trusted_proxies: "127.0.0.1/32".parse().unwrap(),
                authz: "*/admin role:admin, */public public".parse().unwrap(),
                ..Network::default()
            },
            ..Options::default()
        },
        |r| r,
    )
    .await;
    serve(
        port("LATCHKEY_TEST_NGINX_LATCHKEY_PORT"),
        app.router.clone(),
    )
    .await;
    serve(
        port("LATCHKEY_TEST_NGINX_APP_PORT"),
        Router::new().fallback(tiny_app),
    )
    .await;

    let user = app.register("nginx@example.com", PASSWORD).await;
    let id = user["id"].as_str().unwrap();
    let t = app.login("nginx@example.com", PASSWORD).await;
    let bearer = format!("Bearer {}", t["access_token"].as_str().unwrap());

    // signed in: through, with the identity nginx took from the check
    let r = get("/docs", &[("Authorization", &bearer)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), format!("user={id} roles=user"));
    let cookie = app.login_cookie("nginx@example.com", PASSWORD).await;
    let r = get("/docs", &[("Cookie", &cookie)]).await;
    assert_eq!((r.status, r.text()), (200, format!("user={id} roles=user")));

    // wrong role: 403
    let r = get("/admin/settings", &[("Authorization", &bearer)]).await;
    assert_eq!(r.status, 403, "{}", r.text());

    // signed out: 401 for API clients, the sign-in page for browsers, and
    // a client's own X-Auth-User is never believed
    let r = get("/docs", &[("X-Auth-User", "someone")]).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = get("/docs?x=1", &[("Accept", "text/html")]).await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(
            format!("{ISSUER}/login?return_to=http%3A%2F%2F127%2E0%2E0%2E1%2Fdocs%3Fx%3D1")
                .as_str()
        )
    );
    let r = get("/public/page", &[]).await;
    assert_eq!((r.status, r.text()), (200, "user= roles=".to_owned()));

    // logout takes effect at once
    let r = app
        .send("POST", "/v1/auth/logout", t["access_token"].as_str())
        .await;
    assert_eq!(r.status, 204);
    let r = get("/docs", &[("Authorization", &bearer)]).await;
    assert_eq!(r.status, 401, "{}", r.text());
}
