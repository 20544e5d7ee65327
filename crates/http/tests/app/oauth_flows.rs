//! The OAuth 2.0 / OpenID Connect provider's flows over HTTP: the
//! authorization endpoint (sign-in, consent, PKCE, prompt, max_age,
//! form_post, `iss`), the token endpoint's grants, ID tokens, UserInfo, the
//! person's grants, and the attacks of RFC 9700 and SECURITY.md.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::Request;
use latchkey_core::Clock;
use latchkey_core::admin::Actor;
use latchkey_testkit::{ISSUER, TestApp, TestResponse, basic_auth};
use latchkey_tokens::{Jwks, Validation, VerifyingKey, verify_jwt};
use serde_json::{Value, json};

latchkey_testkit::sqlite_only!(
    a_first_party_code_flow_with_pkce_gives_tokens_an_id_token_and_userinfo,
    third_party_clients_ask_for_consent_which_is_remembered_and_revocable,
    unknown_clients_and_unregistered_redirect_uris_get_a_page_never_a_redirect,
    refusals_go_back_with_state_and_iss,
    sign_in_is_asked_for_when_needed_and_prompt_none_never_shows_a_page,
    a_code_is_single_use_and_bound_to_client_redirect_uri_and_pkce,
    refresh_tokens_rotate_stay_with_their_client_and_never_cross_to_first_party,
    client_credentials_and_unsupported_grants,
    ending_the_browser_session_ends_the_client_tokens_under_it,
    form_post_answers_with_a_form_under_the_pages_policy,
    a_client_revokes_only_its_own_tokens,
    a_third_party_token_reaches_no_account_or_admin_route_its_scopes_do_not_grant,
    a_catalogue_route_is_reached_with_its_scope_only(an_extra_route()),
    a_resource_scope_of_the_catalogue_is_consented_by_its_description_and_issued,
    rp_initiated_logout_ends_the_browser_session_and_returns_exactly,
    keys_rotate_replaces_the_id_token_key_and_keeps_the_old_one_published,
    login_hint_prefills_the_address_and_ui_locales_picks_the_language,
);

pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const CB: &str = "https://app.example.com/cb";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn unique(tag: &str) -> String {
    format!("{tag}-{}@example.com", latchkey_core::id::new_id())
}

pub(crate) fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A registered client: id and (confidential) secret.
pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
}

impl Client {
    pub(crate) fn basic(&self) -> Option<String> {
        self.secret.as_deref().map(|s| basic_auth(&self.id, s))
    }
}

/// Registers a client with the command line's rights; `patch` changes the
/// registration's JSON.
pub(crate) async fn client(app: &TestApp, patch: impl FnOnce(&mut Value)) -> Client {
    let email = unique("admin");
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
        .expect("roles");
    let admin = app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body = json!({
        "name": "Partner app",
        "redirect_uris": [CB],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "profile", "email", "offline_access", "account:read", "roles"],
        "first_party": true
    });
    patch(&mut body);
    let r = app
        .json("POST", "/v1/admin/clients", body, Some(&admin))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let c = r.json();
    Client {
        id: c["client_id"].as_str().unwrap().to_owned(),
        secret: c["client_secret"].as_str().map(str::to_owned),
    }
}

/// A person signed in in a browser: their id and session cookie.
pub(crate) async fn person(app: &TestApp) -> (String, String) {
    let email = unique("person");
    let user = app.register(&email, PASSWORD).await;
    let cookie = app.login_cookie(&email, PASSWORD).await;
    (user["id"].as_str().unwrap().to_owned(), cookie)
}

/// The standard request of `client` with `extra` query parameters.
fn query(client: &Client, extra: &str) -> String {
    let mut q = format!(
        "response_type=code&client_id={}&redirect_uri={}&scope=openid%20email%20offline_access&state=st8&nonce=n0nce&code_challenge={CHALLENGE}&code_challenge_method=S256",
        client.id,
        enc(CB)
    );
    if !extra.is_empty() {
        q.push('&');
        q.push_str(extra);
    }
    q
}

async fn get_authorize(app: &TestApp, cookie: Option<&str>, query: &str) -> TestResponse {
    let mut req = Request::get(format!("/oauth2/authorize?{query}"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    app.call(req.body(Body::empty()).unwrap()).await
}

/// The parameters of a redirect's `Location`, and the URL before `?`.
fn location(r: &TestResponse) -> (String, HashMap<String, String>) {
    let loc = r
        .header("location")
        .unwrap_or_else(|| panic!("a redirect: {} {}", r.status, r.text()))
        .to_owned();
    let (base, q) = loc.split_once('?').unwrap_or((&loc, ""));
    let params = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                k.to_owned(),
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        })
        .collect();
    (base.to_owned(), params)
}

/// Authorizes and returns the code (the client must skip consent or have it).
pub(crate) async fn code_for(app: &TestApp, client: &Client, cookie: &str, extra: &str) -> String {
    let r = get_authorize(app, Some(cookie), &query(client, extra)).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let (base, p) = location(&r);
    assert_eq!(base, CB);
    assert_eq!(p["state"], "st8");
    assert_eq!(p["iss"], ISSUER, "RFC 9207");
    p.get("code").cloned().unwrap_or_else(|| panic!("{p:?}"))
}

pub(crate) async fn token(app: &TestApp, basic: Option<&str>, body: &str) -> TestResponse {
    let mut req =
        Request::post("/oauth2/token").header("content-type", "application/x-www-form-urlencoded");
    if let Some(b) = basic {
        req = req.header("authorization", b);
    }
    app.call(req.body(Body::from(body.to_owned())).unwrap())
        .await
}

pub(crate) async fn redeem(app: &TestApp, client: &Client, code: &str) -> TestResponse {
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}{}",
        enc(CB),
        if client.secret.is_none() {
            format!("&client_id={}", client.id)
        } else {
            String::new()
        }
    );
    token(app, client.basic().as_deref(), &body).await
}

pub(crate) async fn refresh(app: &TestApp, client: &Client, rt: &str) -> TestResponse {
    token(
        app,
        client.basic().as_deref(),
        &format!("grant_type=refresh_token&refresh_token={rt}"),
    )
    .await
}

pub(crate) async fn userinfo(app: &TestApp, at: &str) -> TestResponse {
    app.send("GET", "/oauth2/userinfo", Some(at)).await
}

/// The ID token's claims, its signature checked with the published JWKS.
async fn id_claims(app: &TestApp, id_token: &str, client_id: &str) -> Value {
    let jwks: Jwks = serde_json::from_slice(&app.get("/.well-known/jwks.json").await.body).unwrap();
    let v = Validation {
        issuer: ISSUER,
        audience: client_id,
        typ: "JWT",
        now: app.clock.now().unix_timestamp(),
        leeway_secs: 5,
    };
    verify_jwt::<Value>(
        id_token,
        |kid| jwks.find(kid).and_then(|k| VerifyingKey::from_jwk(k).ok()),
        &v,
    )
    .expect("a valid ID token")
}

async fn a_first_party_code_flow_with_pkce_gives_tokens_an_id_token_and_userinfo(app: TestApp) {
    let c = client(&app, |_| {}).await;
    let (user_id, cookie) = person(&app).await;
    let code = code_for(&app, &c, &cookie, "").await;
    let r = redeem(&app, &c, &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "openid email offline_access");
    assert!(t["refresh_token"].as_str().unwrap().starts_with("lkr_"));
    let at = t["access_token"].as_str().unwrap();
    let idt = id_claims(&app, t["id_token"].as_str().unwrap(), &c.id).await;
    assert_eq!(idt["sub"], user_id.as_str());
    assert_eq!(idt["nonce"], "n0nce");
    assert_eq!(idt["azp"], c.id.as_str());
    assert_eq!(idt["acr"], "aal1");
    assert_eq!(idt["amr"], json!(["pwd"]));
    assert!(idt["email"].as_str().unwrap().starts_with("person-"));
    assert!(idt.get("name").is_none(), "no profile scope: {idt}");
    let expected_at_hash =
        latchkey_tokens::b64url_encode(&latchkey_tokens::sha256(at.as_bytes())[..16]);
    assert_eq!(idt["at_hash"], expected_at_hash.as_str());
    let header =
        latchkey_tokens::decode_header_unverified(t["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, "RS256");

    let info = userinfo(&app, at).await;
    assert_eq!(info.status, 200, "{}", info.text());
    // a public browser client may call it from its own origin (no cookie)
    let cors = app
        .call(
            Request::get("/oauth2/userinfo")
                .header("authorization", format!("Bearer {at}"))
                .header("origin", "https://app.example.com")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(cors.header("access-control-allow-origin"), Some("*"));
    assert!(cors.header("access-control-allow-credentials").is_none());
    assert_eq!(info.json()["sub"], user_id.as_str());
    assert_eq!(info.json()["email"], idt["email"]);
    // introspection sees the client and its scope
    let resource = app.client_basic_auth("rs").await;
    let i = app
        .call(
            Request::post("/oauth2/introspect")
                .header("authorization", resource)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("token={at}")))
                .unwrap(),
        )
        .await
        .json();
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], c.id.as_str());
    assert_eq!(i["scope"], "openid email offline_access");
    // a first-party client's token reaches the account API
    assert_eq!(app.send("GET", "/v1/account", Some(at)).await.status, 200);
}

async fn third_party_clients_ask_for_consent_which_is_remembered_and_revocable(app: TestApp) {
    let c = client(&app, |b| b["first_party"] = json!(false)).await;
    let (user_id, cookie) = person(&app).await;
    let q = query(&c, "");
    let r = get_authorize(&app, Some(&cookie), &q).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    assert!(
        page.contains("Partner app") && page.contains("see your email address"),
        "{page}"
    );
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action 'self' https://app.example.com"),
        "{csp}"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let post = |body: String, origin: &'static str| {
        Request::post("/oauth2/authorize")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin)
            .header("cookie", cookie.as_str())
            .body(Body::from(body))
            .unwrap()
    };
    // the consent form from another site is refused
    let r = app
        .call(post(
            format!("{q}&csrf={csrf}&decision=allow"),
            "https://evil.example",
        ))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // denying goes back with access_denied
    let r = app
        .call(post(format!("{q}&csrf={csrf}&decision=deny"), ISSUER))
        .await;
    assert_eq!(location(&r).1["error"], "access_denied");
    let r = app
        .call(post(format!("{q}&csrf={csrf}&decision=allow"), ISSUER))
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let code = location(&r).1["code"].clone();
    let t = redeem(&app, &c, &code).await.json();
    let at = t["access_token"].as_str().unwrap().to_owned();
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    // remembered: no page the second time
    let _ = code_for(&app, &c, &cookie, "").await;
    // prompt=consent asks again
    let r = get_authorize(&app, Some(&cookie), &query(&c, "prompt=consent")).await;
    assert_eq!(r.status, 200);

    // a third-party token reaches only what its scopes grant
    assert_eq!(app.send("GET", "/v1/account", Some(&at)).await.status, 403);
    let r = app.send("DELETE", "/v1/account/sessions", Some(&at)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["code"], "insufficient_scope");

    let grants = app
        .call(
            Request::get("/v1/account/grants")
                .header("cookie", cookie.as_str())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(grants.status, 200, "{}", grants.text());
    let g = grants.json();
    assert_eq!(g["items"][0]["client_id"], c.id.as_str());
    assert_eq!(
        g["items"][0]["scopes"],
        json!(["openid", "email", "offline_access"])
    );

    // revoking the grant stops its refresh token at once
    let r = app
        .call(
            Request::delete(format!("/v1/account/grants/{}", c.id))
                .header("cookie", cookie.as_str())
                .header("origin", ISSUER)
                .header("x-csrf-token", csrf.as_str())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        refresh(&app, &c, &rt).await.json()["error"],
        "invalid_grant"
    );
    assert_eq!(userinfo(&app, &at).await.status, 401);
    // and consent is asked for again
    let r = get_authorize(&app, Some(&cookie), &query(&c, "")).await;
    assert_eq!(r.status, 200);

    // the consent and its revocation are in the audit log, by the person
    let events = app
        .auth
        .store()
        .audit_events(&latchkey_core::audit::AuditQuery {
            subject_id: Some(user_id.clone()),
            events: vec!["consent.granted".into(), "consent.revoked".into()],
            oldest_first: true,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let seen: Vec<(&str, &Value, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.event.as_str(),
                &e.details["client_id"],
                e.actor_id.as_deref(),
            )
        })
        .collect();
    let id = json!(c.id);
    assert_eq!(
        seen,
        [
            ("consent.granted", &id, Some(user_id.as_str())),
            ("consent.revoked", &id, Some(user_id.as_str())),
        ]
    );
    assert_eq!(events[0].details["scope"], "openid email offline_access");
}

async fn unknown_clients_and_unregistered_redirect_uris_get_a_page_never_a_redirect(app: TestApp) {
    let c = client(&app, |_| {}).await;
    let (_, cookie) = person(&app).await;
    let r = get_authorize(
        &app,
        Some(&cookie),
        &format!(
            "response_type=code&client_id=lk_nobody&redirect_uri={}",
            enc(CB)
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
    assert!(r.text().contains("Unknown application"), "{}", r.text());
    for uri in [
        "https://app.example.com/cb/",
        "https://APP.example.com/cb",
        "https://app.example.com/CB",
        "https://app.example.com/cb?x=1",
        "https://app.example.com/cb#frag",
        "https://app.example.com.evil.com/cb",
        "https://app.example.com@evil.com/cb",
        "https://evil.com@app.example.com/cb",
        "//evil.com/cb",
        "https://app.example.com/cb/..;/x",
        "https://app.example.com/x/../cb",
        "http://app.example.com/cb",
        "",
    ] {
        let q = format!(
            "response_type=token&client_id={}&redirect_uri={}&state=s&code_challenge_method=plain",
            c.id,
            enc(uri)
        );
        let r = get_authorize(&app, Some(&cookie), &q).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.text());
        assert!(r.header("location").is_none(), "{uri}: never a redirect");
    }
}

async fn refusals_go_back_with_state_and_iss(app: TestApp) {
    let c = client(&app, |b| {
        b["client_type"] = json!("public");
    })
    .await;
    let (_, cookie) = person(&app).await;
    let base = format!(
        "response_type=code&client_id={}&redirect_uri={}&state=st8",
        c.id,
        enc(CB)
    );
    let pkce = format!("code_challenge={CHALLENGE}&code_challenge_method=S256");
    for (rest, error) in [
        (
            format!("code_challenge={CHALLENGE}&code_challenge_method=plain"),
            "invalid_request",
        ),
        (format!("code_challenge={CHALLENGE}"), "invalid_request"),
        // no PKCE at all from a public client
        ("scope=openid".to_owned(), "invalid_request"),
        (format!("{pkce}&scope=openid%20admin"), "invalid_scope"),
        (format!("{pkce}&resource=not-absolute"), "invalid_target"),
        (format!("{pkce}&response_mode=fragment"), "invalid_request"),
        (format!("{pkce}&prompt=none%20login"), "invalid_request"),
    ] {
        let q = format!("{base}&{rest}");
        let r = get_authorize(&app, Some(&cookie), &q).await;
        assert_eq!(r.status, 303, "{q}: {}", r.text());
        let (to, p) = location(&r);
        assert_eq!(to, CB);
        assert_eq!(p["error"], error, "{q}");
        assert_eq!(p["state"], "st8");
        assert_eq!(p["iss"], ISSUER);
        assert!(!p.contains_key("code"));
    }
    // no implicit or hybrid flow
    for rt in ["token", "id_token", "code%20id_token"] {
        let q = query(&c, "").replace("response_type=code", &format!("response_type={rt}"));
        let r = get_authorize(&app, Some(&cookie), &q).await;
        assert_eq!(location(&r).1["error"], "unsupported_response_type", "{rt}");
    }
}

async fn sign_in_is_asked_for_when_needed_and_prompt_none_never_shows_a_page(app: TestApp) {
    let c = client(&app, |_| {}).await;
    let third = client(&app, |b| b["first_party"] = json!(false)).await;
    // no session: to the sign-in page, which comes back here
    let r = get_authorize(&app, None, &query(&c, "prompt=login&max_age=5")).await;
    assert_eq!(r.status, 303);
    let loc = r.header("location").unwrap().to_owned();
    assert!(
        loc.starts_with("/login?return_to=%2Foauth2%2Fauthorize%3F"),
        "{loc}"
    );
    let back = percent_encoding::percent_decode_str(loc.split_once('=').unwrap().1)
        .decode_utf8_lossy()
        .into_owned();
    assert!(back.contains("state=st8") && back.contains(&c.id), "{back}");
    assert!(
        !back.contains("prompt=login") && !back.contains("max_age"),
        "{back}"
    );
    // prompt=none without a session
    let r = get_authorize(&app, None, &query(&c, "prompt=none")).await;
    assert_eq!(location(&r).1["error"], "login_required");
    // max_age=1 forces a new sign-in once a second has passed
    let (_, cookie) = person(&app).await;
    app.clock.advance(time::Duration::seconds(2));
    let r = get_authorize(&app, Some(&cookie), &query(&c, "max_age=1")).await;
    assert!(r.header("location").unwrap().starts_with("/login?"));
    let r = get_authorize(&app, Some(&cookie), &query(&c, "max_age=60")).await;
    assert!(location(&r).1.contains_key("code"));
    // prompt=login always
    let r = get_authorize(&app, Some(&cookie), &query(&c, "prompt=login")).await;
    assert!(r.header("location").unwrap().starts_with("/login?"));
    // aal2 from a password-only session: sign in again
    let r = get_authorize(&app, Some(&cookie), &query(&c, "acr_values=aal2")).await;
    assert!(r.header("location").unwrap().starts_with("/login?"));
    // prompt=none where consent is needed
    let r = get_authorize(&app, Some(&cookie), &query(&third, "prompt=none")).await;
    assert_eq!(location(&r).1["error"], "consent_required");
}

async fn a_code_is_single_use_and_bound_to_client_redirect_uri_and_pkce(app: TestApp) {
    let c = client(&app, |_| {}).await;
    let other = client(&app, |_| {}).await;
    let (_, cookie) = person(&app).await;

    // reused: refused, and what it gave is revoked
    let code = code_for(&app, &c, &cookie, "").await;
    let first = redeem(&app, &c, &code).await.json();
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&app, at).await.status, 200);
    let again = redeem(&app, &c, &code).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
    let info = userinfo(&app, at).await;
    assert_eq!(info.status, 401);
    assert!(
        info.header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(
        refresh(&app, &c, first["refresh_token"].as_str().unwrap())
            .await
            .json()["error"],
        "invalid_grant"
    );

    // at another client
    let code = code_for(&app, &c, &cookie, "").await;
    assert_eq!(
        redeem(&app, &other, &code).await.json()["error"],
        "invalid_grant"
    );
    assert_eq!(
        redeem(&app, &c, &code).await.json()["error"],
        "invalid_grant",
        "used up by the first presentation"
    );
    // another redirect URI, a wrong verifier, no verifier
    for body in [
        format!(
            "redirect_uri={}&code_verifier={VERIFIER}",
            enc("https://app.example.com/cb2")
        ),
        format!("redirect_uri={}&code_verifier={}", enc(CB), &VERIFIER[1..]),
        format!("redirect_uri={}&code_verifier={CHALLENGE}", enc(CB)),
        format!("redirect_uri={}", enc(CB)),
    ] {
        let code = code_for(&app, &c, &cookie, "").await;
        let r = token(
            &app,
            c.basic().as_deref(),
            &format!("grant_type=authorization_code&code={code}&{body}"),
        )
        .await;
        assert_eq!(r.json()["error"], "invalid_grant", "{body}");
    }
    // a verifier without a challenge (downgrade)
    let q = query(&c, "").replace(
        &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
        "",
    );
    let r = get_authorize(&app, Some(&cookie), &q).await;
    let code = location(&r).1["code"].clone();
    assert_eq!(
        redeem(&app, &c, &code).await.json()["error"],
        "invalid_grant"
    );
    // expired after 60 s
    let code = code_for(&app, &c, &cookie, "").await;
    app.clock.advance(time::Duration::seconds(61));
    assert_eq!(
        redeem(&app, &c, &code).await.json()["error"],
        "invalid_grant"
    );
    // a wrong secret
    let code = code_for(&app, &c, &cookie, "").await;
    let wrong = basic_auth(&c.id, "wrong");
    let r = token(
        &app,
        Some(&wrong),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(CB)
        ),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
}

async fn refresh_tokens_rotate_stay_with_their_client_and_never_cross_to_first_party(app: TestApp) {
    let c = client(&app, |_| {}).await;
    let other = client(&app, |_| {}).await;
    let public = client(&app, |b| b["client_type"] = json!("public")).await;
    let (_, cookie) = person(&app).await;
    let code = code_for(&app, &public, &cookie, "").await;
    let t = redeem(&app, &public, &code).await;
    assert_eq!(t.status, 200, "{}", t.text());
    let rt = t.json()["refresh_token"].as_str().unwrap().to_owned();
    // a public client refreshes with its id alone
    let r = token(
        &app,
        None,
        &format!(
            "grant_type=refresh_token&refresh_token={rt}&client_id={}&scope=openid",
            public.id
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t2 = r.json();
    assert_eq!(t2["scope"], "openid", "narrowed");
    let rt2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt, rt2);
    // widening is refused
    let r = token(
        &app,
        None,
        &format!(
            "grant_type=refresh_token&refresh_token={rt2}&client_id={}&scope=openid%20profile",
            public.id
        ),
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_scope");

    let code = code_for(&app, &c, &cookie, "").await;
    let t = redeem(&app, &c, &code).await.json();
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    // at another client: refused, and not used up
    assert_eq!(
        refresh(&app, &other, &rt).await.json()["error"],
        "invalid_grant"
    );
    // at the first-party refresh endpoint: refused
    assert_ne!(app.refresh(&rt).await.status, 200);
    let r = refresh(&app, &c, &rt).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let new_at = r.json()["access_token"].as_str().unwrap().to_owned();
    let idt = id_claims(&app, r.json()["id_token"].as_str().unwrap(), &c.id).await;
    assert!(idt.get("nonce").is_none());
    // a replay ends the session: the rotated tokens die too
    assert_eq!(
        refresh(&app, &c, &rt).await.json()["error"],
        "invalid_grant"
    );
    assert_eq!(userinfo(&app, &new_at).await.status, 401);
    // and a first-party refresh token is refused at the token endpoint
    let email = unique("fp");
    app.register(&email, PASSWORD).await;
    let fp = app.login(&email, PASSWORD).await;
    assert_eq!(
        refresh(&app, &c, fp["refresh_token"].as_str().unwrap())
            .await
            .json()["error"],
        "invalid_grant"
    );
    // a third-party client without offline_access gets no refresh token
    let third = client(&app, |b| b["first_party"] = json!(false)).await;
    let q = query(&third, "").replace("scope=openid%20email%20offline_access", "scope=openid");
    let code = consented_code(&app, &cookie, &q).await;
    let t = redeem(&app, &third, &code).await.json();
    assert!(t.get("refresh_token").is_none(), "{t}");
    let code = consented_code(&app, &cookie, &query(&third, "")).await;
    let t = redeem(&app, &third, &code).await.json();
    assert!(t["refresh_token"].is_string(), "with offline_access: {t}");
}

/// Authorizes `q` through the consent page (allowing) unless the grant is
/// remembered; the code.
async fn consented_code(app: &TestApp, cookie: &str, q: &str) -> String {
    let r = get_authorize(app, Some(cookie), q).await;
    if r.status == 303 {
        return location(&r).1["code"].clone();
    }
    assert_eq!(r.status, 200, "the consent page: {}", r.text());
    let csrf = r
        .text()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let r = app
        .call(
            Request::post("/oauth2/authorize")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", ISSUER)
                .header("cookie", cookie)
                .body(Body::from(format!("{q}&csrf={csrf}&decision=allow")))
                .unwrap(),
        )
        .await;
    location(&r).1["code"].clone()
}

async fn client_credentials_and_unsupported_grants(app: TestApp) {
    let c = client(&app, |b| {
        b["grant_types"] = json!(["client_credentials"]);
        b["redirect_uris"] = json!([]);
        b["scopes"] = json!(["reports:read", "reports:write"]);
    })
    .await;
    let basic = c.basic().unwrap();
    let r = token(&app, Some(&basic), "grant_type=client_credentials&scope=reports:read&resource=https%3A%2F%2Fapi.example.com%2F").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    assert_eq!(t["scope"], "reports:read");
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let at = t["access_token"].as_str().unwrap();
    let payload: Value = serde_json::from_slice(
        &latchkey_tokens::b64url_decode(at.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(payload["sub"], c.id.as_str());
    assert_eq!(payload["aud"], "https://api.example.com/", "RFC 8707");
    let r = token(
        &app,
        Some(&basic),
        "grant_type=client_credentials&scope=admin",
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_scope");
    // a token without a user reaches nothing of the account API
    let own = token(&app, Some(&basic), "grant_type=client_credentials")
        .await
        .json();
    let own_at = own["access_token"].as_str().unwrap();
    assert_eq!(
        app.send("GET", "/v1/account", Some(own_at)).await.status,
        401
    );
    assert_eq!(userinfo(&app, own_at).await.status, 401);
    for grant in [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ] {
        let r = token(
            &app,
            Some(&basic),
            &format!("grant_type={grant}&username=a&password=b"),
        )
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["error"], "unsupported_grant_type", "{grant}");
    }
    let r = token(&app, Some(&basic), "grant_type=authorization_code&code=x").await;
    assert_eq!(r.json()["error"], "unauthorized_client");
    // both Basic and a form secret: one method only
    let r = token(
        &app,
        Some(&basic),
        &format!(
            "grant_type=client_credentials&client_secret={}",
            c.secret.as_deref().unwrap()
        ),
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_request");
    // discovery lists the grants
    let d = app.get("/.well-known/openid-configuration").await.json();
    assert_eq!(d["token_endpoint"], format!("{ISSUER}/oauth2/token"));
    assert_eq!(
        d["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
}

async fn ending_the_browser_session_ends_the_client_tokens_under_it(app: TestApp) {
    let c = client(&app, |_| {}).await;
    let (_, cookie) = person(&app).await;
    let code = code_for(&app, &c, &cookie, "").await;
    let t = redeem(&app, &c, &code).await.json();
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&app, at).await.status, 200);
    let form = app.page_form("/logout", Some(&cookie)).await;
    let r = app.post_page("/logout", &form, "").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(userinfo(&app, at).await.status, 401);
    assert_eq!(
        refresh(&app, &c, t["refresh_token"].as_str().unwrap())
            .await
            .json()["error"],
        "invalid_grant"
    );
}

async fn form_post_answers_with_a_form_under_the_pages_policy(app: TestApp) {
    let c = client(&app, |_| {}).await;
    let (_, cookie) = person(&app).await;
    let r = get_authorize(&app, Some(&cookie), &query(&c, "response_mode=form_post")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    // minijinja escapes `/` in attributes; the browser reads it back
    let action = CB.replace('/', "&#x2f;");
    assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
    assert!(
        html.contains("name=\"code\"")
            && html.contains("name=\"iss\"")
            && html.contains("value=\"st8\"")
    );
    let csp = r.header("content-security-policy").unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(
        html.contains(&format!("<script nonce=\"{nonce}\">")),
        "the auto-submit runs under the policy"
    );
    assert!(
        csp.contains("form-action 'self' https://app.example.com"),
        "{csp}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

async fn a_client_revokes_only_its_own_tokens(app: TestApp) {
    let a = client(&app, |_| {}).await;
    let b = client(&app, |_| {}).await;
    let (_, cookie) = person(&app).await;
    let code = code_for(&app, &a, &cookie, "").await;
    let t = redeem(&app, &a, &code).await.json();
    let revoke = |basic: String, token: String| {
        Request::post("/oauth2/revoke")
            .header("authorization", basic)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap()
    };
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let at = t["access_token"].as_str().unwrap().to_owned();
    let r = app.call(revoke(b.basic().unwrap(), rt.clone())).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "unauthorized_client");
    let r = app.call(revoke(b.basic().unwrap(), at.clone())).await;
    assert_eq!(r.json()["error"], "unauthorized_client");
    assert_eq!(userinfo(&app, &at).await.status, 200);
    let r = app.call(revoke(a.basic().unwrap(), rt.clone())).await;
    assert_eq!(r.status, 200);
    assert_eq!(userinfo(&app, &at).await.status, 401);
    // the browser session lives on
    let r = app
        .call(
            Request::get("/v1/account")
                .header("cookie", cookie.as_str())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
}

/// The router walk of issue 16: a token of a third-party client, holding
/// every scope it could hold but the ones granting a route, is refused on
/// every `/v1/account` and `/v1/admin` route that takes a credential; a
/// route the scope catalogue grants answers a token holding its scope. Run
/// with the test catalogue and with one granting an extra GET route.
async fn a_third_party_token_reaches_no_account_or_admin_route_its_scopes_do_not_grant(
    app: TestApp,
) {
    let catalogue = app.auth.config().scopes.clone();
    let every: Vec<String> = catalogue.supported();
    let c = client(&app, |b| {
        b["first_party"] = json!(false);
        b["scopes"] = json!(every);
    })
    .await;
    let (user_id, cookie) = person(&app).await;
    // the person is an administrator: only the scopes may stop the token
    app.auth
        .admin()
        .admin_set_roles(
            &Actor::command_line(),
            &user_id,
            &["admin".to_owned()],
            false,
        )
        .await
        .unwrap();
    // one token per set of scopes left out (none: every scope)
    let mut tokens: HashMap<Vec<String>, String> = HashMap::new();
    let mut token_without = async |left_out: Vec<String>| -> String {
        if let Some(t) = tokens.get(&left_out) {
            return t.clone();
        }
        let held: Vec<&str> = every
            .iter()
            .map(String::as_str)
            .filter(|s| !left_out.iter().any(|x| x == s))
            .collect();
        let q = query(&c, "").replace(
            "scope=openid%20email%20offline_access",
            &format!("scope={}", held.join("%20")),
        );
        let code = consented_code(&app, &cookie, &q).await;
        let t = redeem(&app, &c, &code).await.json();
        let t = t["access_token"].as_str().unwrap().to_owned();
        tokens.insert(left_out, t.clone());
        t
    };
    let doc = app.get("/openapi.json").await.json();
    let (mut refused, mut open, mut granted_routes) = (0, 0, 0);
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !(path.starts_with("/v1/account") || path.starts_with("/v1/admin")) {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let granting: Vec<String> = catalogue
                .granting(&method, path)
                .map(str::to_owned)
                .collect();
            let request = |bearer: Option<&str>| {
                let mut r = Request::builder()
                    .method(method.as_str())
                    .uri(crate::route_policy::concrete(path))
                    .header("content-type", "application/json");
                if let Some(t) = bearer {
                    r = r.header("authorization", format!("Bearer {t}"));
                }
                r.body(Body::from("{}")).unwrap()
            };
            if app.call(request(None)).await.status != 401 {
                open += 1; // takes no credential (a mailed link's redemption)
                continue;
            }
            if !granting.is_empty() {
                // the granting scope reaches it
                let r = app
                    .call(request(Some(&token_without(Vec::new()).await)))
                    .await;
                assert_eq!(
                    r.status,
                    200,
                    "{method} {path} with its scope: {}",
                    r.text()
                );
                granted_routes += 1;
            }
            // every scope but the ones granting the route
            let token = token_without(granting).await;
            let r = app.call(request(Some(&token))).await;
            assert_eq!(r.status, 403, "{method} {path}: {}", r.text());
            assert_eq!(r.json()["code"], "insufficient_scope", "{method} {path}");
            refused += 1;
        }
    }
    assert!(
        refused > 30,
        "{refused} routes walked ({open} take no credential)"
    );
    let listed: usize = catalogue.scopes().iter().map(|s| s.routes.len()).sum();
    assert_eq!(granted_routes, listed, "every catalogue route was walked");
}

/// A scope of the catalogue without routes (the operator's own API): the
/// consent page shows its description, and the code flow's access token
/// carries it in `scope` (an unknown scope could not be registered on old
/// main's terms either way, but the description and discovery are new).
async fn a_resource_scope_of_the_catalogue_is_consented_by_its_description_and_issued(
    app: TestApp,
) {
    let doc = app.get("/.well-known/openid-configuration").await.json();
    let supported = doc["scopes_supported"].as_array().unwrap();
    for s in ["openid", "account:read", "reports:read", "reports:write"] {
        assert!(supported.iter().any(|x| x == s), "{s} in {supported:?}");
    }
    let c = client(&app, |b| {
        b["first_party"] = json!(false);
        b["scopes"] = json!(["openid", "email", "offline_access", "reports:read"]);
    })
    .await;
    let (_, cookie) = person(&app).await;
    let q = query(&c, "").replace(
        "scope=openid%20email%20offline_access",
        "scope=openid%20reports:read",
    );
    let page = get_authorize(&app, Some(&cookie), &q).await.text();
    assert!(
        page.contains("Use the reports API (reports:read)"),
        "the catalogue's description on the consent page: {page}"
    );
    let code = consented_code(&app, &cookie, &q).await;
    let t = redeem(&app, &c, &code).await.json();
    assert_eq!(t["scope"], "openid reports:read", "{t}");
    let at = t["access_token"].as_str().unwrap();
    let payload: Value = serde_json::from_slice(
        &latchkey_tokens::b64url_decode(at.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(payload["scope"], "openid reports:read");
    // a resource scope grants nothing of latchkey's own API
    assert_eq!(app.send("GET", "/v1/account", Some(at)).await.status, 403);
}

/// The walk with a catalogue granting one more GET route
/// (`/v1/account/passkeys`, refused on old main) to its own scope.
async fn a_catalogue_route_is_reached_with_its_scope_only(app: TestApp) {
    assert!(app.auth.config().scopes.knows("account:passkeys"));
    a_third_party_token_reaches_no_account_or_admin_route_its_scopes_do_not_grant(app).await;
}

fn an_extra_route() -> latchkey_testkit::Options {
    use latchkey_core::oauth::scopes::{ApiScope, ScopeCatalogue};
    let mut scopes = latchkey_testkit::scopes::test_scopes().scopes().to_vec();
    scopes.push(ApiScope {
        name: "account:passkeys".into(),
        description: "See your passkeys".into(),
        routes: vec![("GET".into(), "/v1/account/passkeys".into())],
    });
    latchkey_testkit::Options {
        scopes: ScopeCatalogue::new(scopes).unwrap(),
        ..latchkey_testkit::Options::default()
    }
}

async fn rp_initiated_logout_ends_the_browser_session_and_returns_exactly(app: TestApp) {
    let c = client(&app, |b| {
        b["post_logout_redirect_uris"] = json!(["https://app.example.com/bye"])
    })
    .await;
    let (_, cookie) = person(&app).await;
    let code = code_for(&app, &c, &cookie, "").await;
    let t = redeem(&app, &c, &code).await.json();
    let at = t["access_token"].as_str().unwrap();
    let hint = t["id_token"].as_str().unwrap();
    let account = || {
        Request::get("/v1/account")
            .header("cookie", cookie.as_str())
            .body(Body::empty())
            .unwrap()
    };
    // without a hint nothing ends: on to the page that asks
    let r = app
        .get("/oauth2/logout?post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye")
        .await;
    assert_eq!(r.header("location"), Some("/logout"));
    assert_eq!(app.call(account()).await.status, 200);
    // not ours, or an unregistered place to go: a page, no redirect
    for q in [
        "id_token_hint=eyJhbGciOiJub25lIn0.e30.".to_owned(),
        format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}",
            enc("https://app.example.com/bye/")
        ),
        format!(
            "id_token_hint={hint}&post_logout_redirect_uri={}",
            enc("https://evil.example/bye")
        ),
        format!("id_token_hint={hint}&client_id=lk_other"),
    ] {
        let r = app.get(&format!("/oauth2/logout?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert!(r.header("location").is_none(), "{q}");
    }
    assert_eq!(app.call(account()).await.status, 200);
    // an expired hint still names its session
    app.clock.advance(time::Duration::minutes(20));
    let r = app
        .get(&format!(
            "/oauth2/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=b%20y",
            enc("https://app.example.com/bye")
        ))
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some("https://app.example.com/bye?state=b%20y")
    );
    assert_eq!(
        app.call(account()).await.status,
        401,
        "the browser session ended"
    );
    assert_eq!(
        userinfo(&app, at).await.status,
        401,
        "and the client's tokens under it"
    );
    let d = app.get("/.well-known/openid-configuration").await.json();
    assert_eq!(d["end_session_endpoint"], format!("{ISSUER}/oauth2/logout"));
}

/// `latchkey keys rotate` rotates the RSA ID-token key too (the CLI calls
/// `rotate_id_token_key`): new ID tokens carry the new key's `kid`, and the
/// retired key stays in the JWKS while its tokens live. Before, only the
/// access-token key rotated. Never the first one: no key, no rotation.
async fn keys_rotate_replaces_the_id_token_key_and_keeps_the_old_one_published(app: TestApp) {
    assert!(
        !app.auth.oauth().rotate_id_token_key().await.unwrap(),
        "no ID-token key was ever made: nothing to rotate, none made"
    );
    let c = client(&app, |_| {}).await;
    let (_, cookie) = person(&app).await;
    let id_token = |t: &Value| t["id_token"].as_str().unwrap().to_owned();
    let kid = |t: &str| {
        latchkey_tokens::decode_header_unverified(t)
            .unwrap()
            .kid
            .unwrap()
    };
    let code = code_for(&app, &c, &cookie, "").await;
    let old = id_token(&redeem(&app, &c, &code).await.json());

    assert!(app.auth.oauth().rotate_id_token_key().await.unwrap());
    let code = code_for(&app, &c, &cookie, "").await;
    let new = id_token(&redeem(&app, &c, &code).await.json());
    assert_ne!(
        kid(&old),
        kid(&new),
        "new ID tokens are signed with the new key"
    );
    assert_eq!(
        latchkey_tokens::decode_header_unverified(&new).unwrap().alg,
        "RS256"
    );
    // both verify against the published keys
    id_claims(&app, &old, &c.id).await;
    id_claims(&app, &new, &c.id).await;
}

/// `login_hint` prefills the sign-in page's address; `ui_locales` picks the
/// first shipped language it names, for the sign-in and the consent pages.
/// Before, both were accepted and unused (the page came empty, in English).
async fn login_hint_prefills_the_address_and_ui_locales_picks_the_language(app: TestApp) {
    let c = client(&app, |b| b["first_party"] = json!(false)).await;
    let extra = format!(
        "login_hint={}&ui_locales=xx-YY%20de-CH%20fr",
        enc("ann@example.com")
    );
    let r = get_authorize(&app, None, &query(&c, &extra)).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let (base, p) = location(&r);
    assert_eq!(base, "/login");
    assert_eq!(p["login_hint"], "ann@example.com");
    assert_eq!(p["lang"], "de");
    let page = app.get(r.header("location").unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains(r#"<html lang="de">"#), "{html}");
    assert!(
        html.contains(r#"name="identifier" value="ann@example.com""#),
        "the address is prefilled: {html}"
    );

    // the consent page of a signed-in person, in the language asked for
    let (_, cookie) = person(&app).await;
    let r = get_authorize(&app, Some(&cookie), &query(&c, "ui_locales=fr")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains(r#"<html lang="fr">"#), "{}", r.text());
    // nothing shipped among them: the negotiated language (English here)
    let r = get_authorize(&app, Some(&cookie), &query(&c, "ui_locales=xx")).await;
    assert!(r.text().contains(r#"<html lang="en">"#), "{}", r.text());
}
