//! Routes carry their policy: a walk over the real router proves that every
//! unsafe route was registered with a rate-limit class, and that the edge
//! applies exactly that class to it.

use axum::body::Body;
use axum::http::{Method, Request};
use latchkey_core::abuse::{GuardConfig, RouteClass};
use latchkey_http::routes::route_classes;
use latchkey_testkit::{Options, TestApp};

/// A concrete path for a template (`{id}` → an id that does not exist).
pub(crate) fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "0190c1a2b3c4d5e6f708192a3b4c5d6e"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_unsafe_route_has_a_class_and_the_edge_applies_it() {
    let app = TestApp::sqlite_with(
        Options {
            guard: GuardConfig::default(),
            ..Options::default()
        },
        |r| r,
    )
    .await;
    let classes = route_classes();
    let doc = app.get("/openapi.json").await.json();
    let mut documented = 0;
    let mut unsafe_routes = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented += 1;
            let method: Method = method.to_uppercase().parse().unwrap();
            let registered = classes
                .registered(&method, path)
                .unwrap_or_else(|| panic!("{method} {path} is routed without a policy"));
            let is_safe = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
            if !is_safe {
                unsafe_routes += 1;
                assert!(
                    registered.is_some(),
                    "{method} {path} changes something but has no rate-limit class"
                );
            }
            // the real router applies the registered class, no other
            let r = app
                .call(
                    Request::builder()
                        .method(method.clone())
                        .uri(concrete(path))
                        .header("content-type", "application/json")
                        .body(Body::from("{}"))
                        .unwrap(),
                )
                .await;
            let policy = r.header("ratelimit-policy").map(str::to_owned);
            match registered {
                Some(class) => assert!(
                    policy
                        .as_deref()
                        .is_some_and(|p| p.starts_with(&format!("\"{}_ip\"", class.as_str()))),
                    "{method} {path}: expected the {} class, got {policy:?} ({})",
                    class.as_str(),
                    r.status
                ),
                None => assert_eq!(policy, None, "{method} {path} is not limited"),
            }
        }
    }
    assert!(unsafe_routes > 20, "{unsafe_routes} unsafe routes walked");
    // and the table holds nothing the router does not have
    assert_eq!(classes.iter().count(), documented);

    for (method, path, class) in [
        (Method::POST, "/v1/auth/login", Some(RouteClass::Login)),
        (
            Method::POST,
            "/v1/auth/register",
            Some(RouteClass::Register),
        ),
        (
            Method::POST,
            "/v1/auth/password-reset",
            Some(RouteClass::Mail),
        ),
        (
            Method::POST,
            "/v1/account/verify-email",
            Some(RouteClass::Mail),
        ),
        (Method::POST, "/v1/account/email", Some(RouteClass::Mail)),
        (
            Method::POST,
            "/v1/account/password",
            Some(RouteClass::Login),
        ),
        (Method::POST, "/v1/auth/reauth", Some(RouteClass::Login)),
        (Method::POST, "/v1/auth/refresh", Some(RouteClass::Token)),
        (
            Method::POST,
            "/v1/auth/verify-email",
            Some(RouteClass::Token),
        ),
        (
            Method::POST,
            "/v1/auth/password-reset/confirm",
            Some(RouteClass::Token),
        ),
        (
            Method::POST,
            "/v1/auth/cancel-deletion",
            Some(RouteClass::Token),
        ),
        (Method::POST, "/reset-password", Some(RouteClass::Token)),
        (Method::POST, "/verify-email", Some(RouteClass::Token)),
        (Method::POST, "/cancel-deletion", Some(RouteClass::Token)),
        (Method::GET, "/reset-password", Some(RouteClass::Api)),
        (Method::POST, "/oauth2/introspect", Some(RouteClass::Token)),
        (Method::POST, "/oauth2/revoke", Some(RouteClass::Token)),
        (Method::GET, "/v1/account", Some(RouteClass::Api)),
        (Method::GET, "/health/ready", None),
        (Method::GET, "/health/live", None),
        (Method::GET, "/metrics", None),
    ] {
        assert_eq!(
            classes.registered(&method, path),
            Some(class),
            "{method} {path}"
        );
    }
    // a request no route answers still counts against the general quota
    for (method, path) in [
        (Method::GET, "/v1/auth/login"),
        (Method::GET, "/no/such/route"),
    ] {
        let r = app
            .call(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(
            r.header("ratelimit-policy")
                .is_some_and(|p| p.starts_with("\"api_ip\"")),
            "{path}: {:?}",
            r.headers
        );
    }
}
