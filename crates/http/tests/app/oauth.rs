//! The OAuth 2.0 / OpenID Connect provider over HTTP: client registration
//! through the admin API (and what the registration allows).

use latchkey_core::admin::Actor;
use latchkey_testkit::TestApp;
use serde_json::{Value, json};

latchkey_testkit::sqlite_only!(
    clients_are_registered_listed_changed_and_deleted,
    registration_refuses_unsafe_redirect_uris,
    client_management_needs_its_permission,
    a_rotated_secret_replaces_the_old_one_at_once,
    discovery_lists_what_is_supported_and_jwks_holds_an_rsa_key,
);

const PASSWORD: &str = "correct horse battery staple";

/// A fresh address.
fn unique(tag: &str) -> String {
    format!("{tag}-{}@example.com", latchkey_core::id::new_id())
}

/// A signed-in user's access token; with `roles`, granted as the command line would.
async fn signed_in(app: &TestApp, roles: &[&str]) -> String {
    let email = unique("person");
    let user = app.register(&email, PASSWORD).await;
    if !roles.is_empty() {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        app.auth
            .admin()
            .admin_set_roles(
                &Actor::command_line(),
                user["id"].as_str().unwrap(),
                &roles,
                false,
            )
            .await
            .expect("set roles");
    }
    app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Registers a client through the admin API; returns the answer.
async fn register_client(app: &TestApp, admin: &str, body: Value) -> Value {
    let r = app
        .json("POST", "/v1/admin/clients", body, Some(admin))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// Introspection as `client_id`:`secret`; the status.
async fn introspect_as(app: &TestApp, client_id: &str, secret: &str) -> u16 {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let request = axum::http::Request::post("/oauth2/introspect")
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("token=not-a-token"))
        .unwrap();
    app.call(request).await.status.as_u16()
}

async fn clients_are_registered_listed_changed_and_deleted(app: TestApp) {
    let admin = signed_in(&app, &["admin"]).await;
    let confidential = register_client(
        &app,
        &admin,
        json!({
            "name": "Partner app",
            "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid", "profile", "openid"],
            "id_token_signed_response_alg": "EdDSA"
        }),
    )
    .await;
    let id = confidential["client_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("lk_"));
    let secret = confidential["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43, "{confidential}");
    assert_eq!(confidential["client_type"], "confidential");
    assert_eq!(
        confidential["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(confidential["scopes"], json!(["openid", "profile"]));
    assert_eq!(confidential["id_token_signed_response_alg"], "EdDSA");
    assert_eq!(confidential["require_pkce"], false);
    assert_eq!(introspect_as(&app, &id, secret).await, 200);

    let public = register_client(
        &app,
        &admin,
        json!({
            "name": "Single-page app",
            "client_type": "public",
            "redirect_uris": ["https://spa.example.com/"],
            "grant_types": ["authorization_code"]
        }),
    )
    .await;
    assert!(public.get("client_secret").is_none(), "{public}");
    assert_eq!(public["token_endpoint_auth_method"], "none");
    assert_eq!(public["require_pkce"], true);
    assert_eq!(public["id_token_signed_response_alg"], "RS256");
    let public_id = public["client_id"].as_str().unwrap();

    let listed = app.send("GET", "/v1/admin/clients", Some(&admin)).await;
    assert_eq!(listed.status, 200);
    let listed = listed.json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&id.as_str()) && ids.contains(&public_id),
        "{listed}"
    );
    assert!(
        !listed.to_string().contains(secret),
        "a listing never shows a secret"
    );

    let path = format!("/v1/admin/clients/{id}");
    let r = app
        .json(
            "PATCH",
            &path,
            json!({"name": "Renamed", "first_party": true, "access_token_ttl_secs": 120}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = app.send("GET", &path, Some(&admin)).await.json();
    assert_eq!(got["name"], "Renamed");
    assert_eq!(got["first_party"], true);
    assert_eq!(got["access_token_ttl_secs"], 120);
    assert_eq!(
        got["redirect_uris"], confidential["redirect_uris"],
        "untouched fields stay"
    );
    let r = app
        .json(
            "PATCH",
            &path,
            json!({"access_token_ttl_secs": null}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.json()["access_token_ttl_secs"], Value::Null);

    let r = app.send("DELETE", &path, Some(&admin)).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.send("GET", &path, Some(&admin)).await.code(),
        "not_found"
    );
    assert_eq!(
        app.send("DELETE", &path, Some(&admin)).await.code(),
        "not_found"
    );
    assert_eq!(
        introspect_as(&app, &id, secret).await,
        401,
        "a deleted client cannot authenticate"
    );

    let events = app
        .send(
            "GET",
            "/v1/admin/audit?event=client.created,client.updated,client.deleted",
            Some(&admin),
        )
        .await
        .json();
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "client.created").count(),
        2,
        "{events}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "client.updated").count(),
        2,
        "{events}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "client.deleted").count(),
        1,
        "{events}"
    );
}

async fn registration_refuses_unsafe_redirect_uris(app: TestApp) {
    let admin = signed_in(&app, &["admin"]).await;
    for (body, field, code) in [
        (
            json!({"name": "x", "redirect_uris": ["https://app.example.com/cb#frag"], "grant_types": ["authorization_code"]}),
            "redirect_uris",
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "x", "redirect_uris": ["http://app.example.com/cb"], "grant_types": ["authorization_code"]}),
            "redirect_uris",
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://*.example.com/cb"], "grant_types": ["authorization_code"]}),
            "redirect_uris",
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://app.example.com@evil.com/cb"], "grant_types": ["authorization_code"]}),
            "redirect_uris",
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "x", "redirect_uris": ["javascript:alert(1)"], "grant_types": ["authorization_code"]}),
            "redirect_uris",
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "x", "post_logout_redirect_uris": ["//evil.com/"]}),
            "post_logout_redirect_uris",
            "invalid_redirect_uri",
        ),
        (
            json!({"name": "x", "grant_types": ["authorization_code"]}),
            "redirect_uris",
            "redirect_uri_required",
        ),
        (
            json!({"name": "x", "grant_types": ["password"]}),
            "grant_types",
            "invalid_value",
        ),
        (
            json!({"name": "x", "grant_types": ["implicit"]}),
            "grant_types",
            "invalid_value",
        ),
        (
            json!({"name": "x", "client_type": "public", "grant_types": ["client_credentials"]}),
            "grant_types",
            "invalid_grant_types",
        ),
        (
            json!({"name": "x", "client_type": "public", "token_endpoint_auth_method": "client_secret_basic"}),
            "token_endpoint_auth_method",
            "invalid_auth_method",
        ),
        (
            json!({"name": "x", "id_token_signed_response_alg": "none"}),
            "id_token_signed_response_alg",
            "invalid_value",
        ),
        (
            json!({"name": "x", "id_token_signed_response_alg": "HS256"}),
            "id_token_signed_response_alg",
            "invalid_value",
        ),
        // the access-token key is EdDSA here: no key would sign ES256
        (
            json!({"name": "x", "id_token_signed_response_alg": "ES256"}),
            "id_token_signed_response_alg",
            "unsupported_alg",
        ),
        (
            json!({"name": "x", "scopes": ["a b"]}),
            "scopes",
            "invalid_scope",
        ),
        // neither standard nor in the scope catalogue (`[oauth.scopes]`)
        (
            json!({"name": "x", "scopes": ["openid", "payroll:write"]}),
            "scopes",
            "unknown_scope",
        ),
        (json!({"name": ""}), "name", "invalid_name"),
    ] {
        let r = app
            .json("POST", "/v1/admin/clients", body.clone(), Some(&admin))
            .await;
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        let problem = r.json();
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{body}: {problem}");
    }
    let r = app
        .json(
            "POST",
            "/v1/admin/clients",
            json!({"name": "x", "secret": "mine"}),
            Some(&admin),
        )
        .await;
    assert!(
        r.status == 400 || r.status == 422,
        "unknown fields are refused: {}",
        r.text()
    );
    assert_eq!(
        app.send("GET", "/v1/admin/clients", Some(&admin))
            .await
            .json(),
        json!([])
    );
}

async fn client_management_needs_its_permission(app: TestApp) {
    let user = signed_in(&app, &[]).await;
    for (method, path) in [
        ("GET", "/v1/admin/clients"),
        ("POST", "/v1/admin/clients"),
        ("GET", "/v1/admin/clients/lk_x"),
        ("PATCH", "/v1/admin/clients/lk_x"),
        ("DELETE", "/v1/admin/clients/lk_x"),
        ("POST", "/v1/admin/clients/lk_x/secret"),
    ] {
        let r = app
            .json(method, path, json!({"name": "x"}), Some(&user))
            .await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text());
        assert_eq!(r.json()["missing_permission"], "clients:manage");
    }
    let r = app.json("GET", "/v1/admin/clients", json!({}), None).await;
    assert_eq!(r.status, 401);
}

async fn a_rotated_secret_replaces_the_old_one_at_once(app: TestApp) {
    let admin = signed_in(&app, &["admin"]).await;
    let client = register_client(&app, &admin, json!({"name": "Resource server"})).await;
    let id = client["client_id"].as_str().unwrap();
    assert_eq!(client["grant_types"], json!([]));
    let old = client["client_secret"].as_str().unwrap();
    let r = app
        .send(
            "POST",
            &format!("/v1/admin/clients/{id}/secret"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let new = r.json()["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(introspect_as(&app, id, old).await, 401);
    assert_eq!(introspect_as(&app, id, &new).await, 200);

    let public = register_client(
        &app,
        &admin,
        json!({"name": "SPA", "client_type": "public", "redirect_uris": ["https://spa.example.com/"], "grant_types": ["authorization_code"]}),
    )
    .await;
    let r = app
        .send(
            "POST",
            &format!(
                "/v1/admin/clients/{}/secret",
                public["client_id"].as_str().unwrap()
            ),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["errors"][0]["code"], "public_client");
    // a public client's empty stored hash matches no secret, not even an empty one
    assert_eq!(
        introspect_as(&app, public["client_id"].as_str().unwrap(), "").await,
        401
    );
}

async fn discovery_lists_what_is_supported_and_jwks_holds_an_rsa_key(app: TestApp) {
    let oidc = app.get("/.well-known/openid-configuration").await;
    assert_eq!(oidc.status, 200, "{}", oidc.text());
    assert_eq!(oidc.header("access-control-allow-origin"), Some("*"));
    let rfc8414 = app.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(rfc8414.status, 200);
    let doc = oidc.json();
    assert_eq!(doc, rfc8414.json(), "one document for both");
    let issuer = doc["issuer"].as_str().unwrap();
    assert_eq!(issuer, app.auth.config().issuer);
    for (field, path) in [
        ("jwks_uri", "/.well-known/jwks.json"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("revocation_endpoint", "/oauth2/revoke"),
    ] {
        let url = doc[field].as_str().unwrap();
        assert_eq!(url, format!("{}{path}", issuer.trim_end_matches('/')));
        // every endpoint listed answers
        let r = app.get(path).await;
        assert_ne!(r.status, 404, "{field}");
    }
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    for grant in ["implicit", "password"] {
        assert!(!doc.to_string().contains(grant), "{grant} is never offered");
    }

    let before = app.get("/.well-known/jwks.json").await.json();
    assert!(
        before["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kty"] != "RSA"),
        "no RSA key is made before an ID token needs one: {before}"
    );
    // the first ID token makes the key (the token endpoint asks the same way)
    app.auth
        .oauth()
        .id_token_keys()
        .await
        .expect("ID-token keys");
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200);
    let keys = jwks.json()["keys"].as_array().unwrap().clone();
    let rsa: Vec<&Value> = keys.iter().filter(|k| k["kty"] == "RSA").collect();
    assert_eq!(rsa.len(), 1, "{keys:?}");
    assert_eq!(rsa[0]["alg"], "RS256");
    assert_eq!(rsa[0]["use"], "sig");
    assert_eq!(
        rsa[0]["n"].as_str().unwrap().len(),
        512,
        "a 3072-bit modulus"
    );
    assert!(
        rsa[0].get("d").is_none() && rsa[0].get("p").is_none(),
        "public half only"
    );
    assert!(
        keys.iter().any(|k| k["alg"] == "EdDSA"),
        "the access-token key stays published"
    );
    // the ID-token key is made once: a second look finds the same
    let again = app.get("/.well-known/jwks.json").await.json();
    assert_eq!(again["keys"].as_array().unwrap().len(), keys.len());
}
