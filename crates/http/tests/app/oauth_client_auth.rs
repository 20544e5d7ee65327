//! How clients authenticate at the provider's endpoints: public clients
//! revoking their own tokens by `client_id` (RFC 7009 §2.1), and
//! `private_key_jwt` (RFC 7523 §2.2) with a registered JWK set.

use axum::body::Body;
use axum::http::Request;
use latchkey_core::Clock;
use latchkey_testkit::{ISSUER, TestApp, TestResponse, basic_auth};
use latchkey_tokens::{Alg, SigningKey, b64url_encode};
use serde_json::{Value, json};

use super::oauth_flows::{client, code_for, person, redeem, token};

latchkey_testkit::sqlite_only!(
    a_public_client_revokes_its_own_tokens_by_client_id,
    private_key_jwt_assertions_are_checked_and_used_once,
);

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn form_post(app: &TestApp, path: &str, body: String) -> TestResponse {
    app.call(
        Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// openid-client and Authlib revoke a public client's token with its
/// `client_id` alone; before, the endpoint answered `invalid_client`.
async fn a_public_client_revokes_its_own_tokens_by_client_id(app: TestApp) {
    let public = client(&app, |b| b["client_type"] = json!("public")).await;
    let other = client(&app, |b| b["client_type"] = json!("public")).await;
    let confidential = client(&app, |_| {}).await;
    let (_, cookie) = person(&app).await;
    let code = code_for(&app, &public, &cookie, "").await;
    let t = redeem(&app, &public, &code).await.json();
    let rt = t["refresh_token"].as_str().unwrap().to_owned();

    // another public client's id does not reach this token
    let r = form_post(
        &app,
        "/oauth2/revoke",
        format!("token={rt}&client_id={}", other.id),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "unauthorized_client");
    // a confidential client's id without its secret is no authentication
    let r = form_post(
        &app,
        "/oauth2/revoke",
        format!("token={rt}&client_id={}", confidential.id),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_client");
    // introspection stays for clients that hold a secret
    let r = form_post(
        &app,
        "/oauth2/introspect",
        format!("token={rt}&client_id={}", public.id),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_client");

    let r = form_post(
        &app,
        "/oauth2/revoke",
        format!(
            "token={rt}&token_type_hint=refresh_token&client_id={}",
            public.id
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = token(
        &app,
        None,
        &format!(
            "grant_type=refresh_token&refresh_token={rt}&client_id={}",
            public.id
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");
}

/// A client assertion of `client_id` signed by `key`; `patch` changes the
/// claims (aud the token endpoint, exp a minute ahead, a fresh jti).
fn assertion(
    app: &TestApp,
    key: &SigningKey,
    client_id: &str,
    patch: impl FnOnce(&mut Value),
) -> String {
    let now = app.clock.now().unix_timestamp();
    let mut claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": format!("{ISSUER}/oauth2/token"),
        "iat": now,
        "exp": now + 60,
        "jti": latchkey_core::id::new_id(),
    });
    patch(&mut claims);
    key.sign_jwt("JWT", &claims).unwrap()
}

async fn with_assertion(app: &TestApp, path: &str, params: &str, assertion: &str) -> TestResponse {
    form_post(
        app,
        path,
        format!("{params}&client_assertion_type={ASSERTION_TYPE}&client_assertion={assertion}"),
    )
    .await
}

/// The rules of docs/security.md for client assertions: the registered
/// key and its algorithm only, aud the token endpoint or the issuer, exp
/// required and bounded, jti used once; each refusal is `invalid_client`.
async fn private_key_jwt_assertions_are_checked_and_used_once(app: TestApp) {
    let key = SigningKey::generate(Alg::ES256, "rp-key-1".into())
        .unwrap()
        .0;
    let jwks = json!({ "keys": [key.public_jwk()] });
    let c = client(&app, |b| {
        b["token_endpoint_auth_method"] = json!("private_key_jwt");
        b["jwks"] = jwks.clone();
        b["grant_types"] = json!(["client_credentials"]);
        b["redirect_uris"] = json!([]);
        b["first_party"] = json!(false);
    })
    .await;
    assert_eq!(c.secret, None, "a private_key_jwt client gets no secret");
    let cc = "grant_type=client_credentials&scope=openid";
    let refused = |r: TestResponse, case: &str| {
        assert_eq!(r.status, 401, "{case}: {}", r.text());
        assert_eq!(r.json()["error"], "invalid_client", "{case}");
    };

    let good = assertion(&app, &key, &c.id, |_| {});
    let r = with_assertion(&app, "/oauth2/token", cc, &good).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["access_token"].is_string());
    refused(
        with_assertion(&app, "/oauth2/token", cc, &good).await,
        "the same jti again",
    );

    let to_issuer = assertion(&app, &key, &c.id, |v| v["aud"] = json!(ISSUER));
    let r = with_assertion(&app, "/oauth2/token", cc, &to_issuer).await;
    assert_eq!(r.status, 200, "aud the issuer: {}", r.text());
    let intro = assertion(&app, &key, &c.id, |_| {});
    let at = r.json()["access_token"].as_str().unwrap().to_owned();
    let r = with_assertion(&app, "/oauth2/introspect", &format!("token={at}"), &intro).await;
    assert_eq!(r.status, 200, "introspection: {}", r.text());
    assert_eq!(r.json()["active"], true);

    let now = app.clock.now().unix_timestamp();
    let other_key = SigningKey::generate(Alg::ES256, "rp-key-1".into())
        .unwrap()
        .0;
    let rsa_other_kid = SigningKey::generate(Alg::EdDSA, "rp-key-2".into())
        .unwrap()
        .0;
    let unsigned = {
        let header = b64url_encode(br#"{"alg":"none","typ":"JWT","kid":"rp-key-1"}"#);
        let claims = json!({"iss": c.id, "sub": c.id, "aud": format!("{ISSUER}/oauth2/token"),
            "exp": now + 60, "jti": "unsigned"});
        format!("{header}.{}.", b64url_encode(claims.to_string().as_bytes()))
    };
    for (case, bad) in [
        (
            "expired",
            assertion(&app, &key, &c.id, |v| v["exp"] = json!(now - 120)),
        ),
        (
            "exp two hours ahead",
            assertion(&app, &key, &c.id, |v| v["exp"] = json!(now + 7200)),
        ),
        (
            "no exp",
            assertion(&app, &key, &c.id, |v| {
                v.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "no jti",
            assertion(&app, &key, &c.id, |v| {
                v.as_object_mut().unwrap().remove("jti");
            }),
        ),
        (
            "wrong aud",
            assertion(&app, &key, &c.id, |v| {
                v["aud"] = json!("https://other.example/oauth2/token");
            }),
        ),
        (
            "sub another client",
            assertion(&app, &key, &c.id, |v| v["sub"] = json!("lk_other")),
        ),
        (
            "wrong key, same kid",
            assertion(&app, &other_key, &c.id, |_| {}),
        ),
        (
            "an unregistered kid",
            assertion(&app, &rsa_other_kid, &c.id, |_| {}),
        ),
        ("alg none", unsigned),
    ] {
        refused(with_assertion(&app, "/oauth2/token", cc, &bad).await, case);
    }
    let r = form_post(
        &app,
        "/oauth2/token",
        format!(
            "{cc}&client_assertion_type=urn:other&client_assertion={}",
            assertion(&app, &key, &c.id, |_| {})
        ),
    )
    .await;
    refused(r, "another assertion type");

    // an assertion beside a secret is ambiguous
    let secret_client = client(&app, |b| b["grant_types"] = json!(["client_credentials"])).await;
    let r = app
        .call(
            Request::post("/oauth2/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .header(
                    "authorization",
                    basic_auth(&secret_client.id, secret_client.secret.as_deref().unwrap()),
                )
                .body(Body::from(format!(
                    "{cc}&client_assertion_type={ASSERTION_TYPE}&client_assertion={}",
                    assertion(&app, &key, &c.id, |_| {})
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_request");
    // a client that registered a secret cannot switch to an assertion
    let r = with_assertion(
        &app,
        "/oauth2/token",
        cc,
        &assertion(&app, &key, &secret_client.id, |_| {}),
    )
    .await;
    refused(r, "a client_secret_basic client");
}
