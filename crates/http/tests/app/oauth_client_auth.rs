//! How clients authenticate at the provider's endpoints: public clients
//! revoking their own tokens by `client_id` (RFC 7009 §2.1).

use axum::body::Body;
use axum::http::Request;
use latchkey_testkit::{TestApp, TestResponse};
use serde_json::json;

use super::oauth_flows::{client, code_for, person, redeem, token};

latchkey_testkit::sqlite_only!(a_public_client_revokes_its_own_tokens_by_client_id,);

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
