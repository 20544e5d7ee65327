//! Sign-in with other providers (issue 17) through REAL, independent
//! OpenID Providers: two node oidc-provider 9 servers that
//! scripts/services.sh starts (tests/federation/start.sh). The test plays
//! the browser: latchkey's authorization request, the provider's login
//! form, back to latchkey's callback, with the cookies of each side.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::Request;
use latchkey_core::auth::LifecycleConfig;
use latchkey_core::federation::{
    ClaimMapping, Dialect, FederationConfig, LinkPolicy, Provider, ProviderKind, s256,
};
use latchkey_core::passwordless::PasswordlessConfig;
use latchkey_testkit::raw_http;
use latchkey_testkit::{Options, TestApp, TestResponse};

const PASSWORD: &str = "correct horse battery staple";
const APP_REDIRECT: &str = "https://app.example/cb";

fn issuer(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: run the tests through scripts/test.sh or source scripts/services.sh"
        )
    })
}

fn provider(name: &str, issuer: &str, link_policy: LinkPolicy) -> Provider {
    Provider {
        name: name.into(),
        display_name: name.into(),
        kind: ProviderKind::Oidc,
        issuer: Some(issuer.into()),
        authorization_endpoint: None,
        token_endpoint: None,
        userinfo_endpoint: None,
        client_id: "latchkey".into(),
        client_secret: "latchkey-secret".into(),
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        claims: ClaimMapping::default(),
        link_policy,
        sign_up: true,
        store_tokens: false,
        sync_profile: true,
        dialect: Dialect::default(),
    }
}

/// `idp` (trusted for verified addresses) and `strict` (the same provider,
/// never linking on its own) at the first provider, `idp2` at the second.
async fn app() -> TestApp {
    app_with(LifecycleConfig::default()).await
}

/// [`app`] with sign-in by mail off: a verified address is no way in.
async fn app_without_mail_sign_in() -> TestApp {
    let passwordless = PasswordlessConfig {
        magic_link: false,
        email_code: false,
        ..PasswordlessConfig::default()
    };
    app_with(LifecycleConfig {
        passwordless,
        ..LifecycleConfig::default()
    })
    .await
}

async fn app_with(lifecycle: LifecycleConfig) -> TestApp {
    let (a, b) = (
        issuer("LATCHKEY_TEST_OIDC_ISSUER"),
        issuer("LATCHKEY_TEST_OIDC_ISSUER_2"),
    );
    TestApp::sqlite_from(Options {
        federation: FederationConfig {
            providers: vec![
                provider("idp", &a, LinkPolicy::Verified),
                provider("strict", &a, LinkPolicy::Never),
                provider("idp2", &b, LinkPolicy::Never),
            ],
            api_redirect_uris: vec![APP_REDIRECT.into()],
            ..FederationConfig::default()
        },
        lifecycle,
        ..Options::default()
    })
    .await
}

pub(crate) async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> TestResponse {
    let mut req = Request::get(path).header("user-agent", latchkey_testkit::USER_AGENT);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    app.call(req.body(Body::empty()).unwrap()).await
}

/// The `name=value` of cookie `name` a response set.
pub(crate) fn set_cookie(r: &TestResponse, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Starts a flow at latchkey: the provider's URL and the flow cookie.
async fn start(app: &TestApp, path: &str) -> (String, String) {
    let r = get(app, path, None).await;
    assert_eq!(r.status, 303, "{path}: {}", r.text());
    let cookie = set_cookie(&r, "latchkey_fed").expect("the flow cookie");
    (r.header("location").unwrap().to_owned(), cookie)
}

/// The browser at the provider: the authorization request, its login form
/// with `login`, and the redirect back. Returns latchkey's callback URL
/// (path and query) as the provider sent it.
async fn at_provider(authorize_url: String, login: String) -> String {
    tokio::task::spawn_blocking(move || {
        let url = url::Url::parse(&authorize_url).unwrap();
        let addr: SocketAddr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
            .parse()
            .unwrap();
        let mut jar: Vec<(String, String)> = Vec::new();
        let mut send = |method: &str, target: &str, body: &str| {
            let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut head = format!(
                "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {}\r\n",
                cookies.join("; ")
            );
            if method == "POST" {
                head.push_str(&format!(
                    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                    body.len()
                ));
            }
            head.push_str("\r\n");
            head.push_str(body);
            let r = raw_http::send(addr, head.as_bytes()).expect("the provider answers");
            for (k, v) in &r.headers {
                if k == "set-cookie"
                    && let Some((name, value)) = v.split(';').next().and_then(|c| c.split_once('='))
                {
                    jar.retain(|(n, _)| n != name);
                    jar.push((name.to_owned(), value.to_owned()));
                }
            }
            assert!(
                (300..400).contains(&r.status),
                "{method} {target}: {} {}",
                r.status,
                r.text()
            );
            r.header("location").unwrap().to_owned()
        };
        let relative = |location: String| match url::Url::parse(&location) {
            Ok(u) => u[url::Position::BeforePath..].to_owned(),
            Err(_) => location,
        };
        let interaction = relative(send("GET", &url[url::Position::BeforePath..], ""));
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("prompt", "login")
            .append_pair("login", &login)
            .append_pair("password", "x")
            .finish();
        let resume = relative(send("POST", &interaction, &form));
        let back = send("GET", &resume, "");
        let back = url::Url::parse(&back).expect("an absolute callback URL");
        assert_eq!(back.host_str(), Some("latchkey.test"), "{back}");
        back[url::Position::BeforePath..].to_owned()
    })
    .await
    .unwrap()
}

/// A whole sign-in as `login` at `provider` in cookie mode: the callback's
/// answer.
async fn sign_in(app: &TestApp, provider: &str, login: &str) -> TestResponse {
    let (url, cookie) = start(app, &format!("/v1/auth/oauth/{provider}/authorize")).await;
    let callback = at_provider(url, login.into()).await;
    get(app, &callback, Some(&cookie)).await
}

fn with_query(path: &str, drop: &str, set: Option<(&str, &str)>) -> String {
    let mut u = url::Url::parse(&format!("http://latchkey.test{path}")).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != drop)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some((k, v)) = set {
            q.append_pair(k, v);
        }
    }
    u[url::Position::BeforePath..].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_in_through_an_independent_provider_in_cookie_and_api_mode() {
    let app = app().await;
    // cookie mode: an account is created, the session cookie works
    let (url, flow) = start(&app, "/v1/auth/oauth/idp/authorize?return_to=/account").await;
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("nonce="),
        "{url}"
    );
    let callback = at_provider(url, "alice".into()).await;
    assert!(callback.contains("iss="), "RFC 9207 iss sent: {callback}");
    let r = get(&app, &callback, Some(&flow)).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account"));
    let session = set_cookie(&r, "latchkey_session").expect("a session cookie");
    assert_eq!(
        set_cookie(&r, "latchkey_fed").as_deref(),
        Some("latchkey_fed="),
        "flow cookie cleared"
    );
    let me = get(&app, "/v1/account", Some(&session)).await;
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json()["email"], "alice@idp.test");
    let page = get(&app, "/account", Some(&session)).await.text();
    assert!(
        page.contains("id=\"identities\"") && page.contains("idp (alice@idp.test)"),
        "{page}"
    );
    let user = app
        .store
        .user_by_email("alice@idp.test")
        .await
        .unwrap()
        .unwrap();
    assert!(user.email_verified && user.password_hash.is_none());
    let sessions = app
        .store
        .active_sessions_of_user(&user.id, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert!(!sessions.is_empty());
    assert!(
        sessions.iter().all(|s| s.amr == vec!["fed".to_owned()]),
        "{sessions:?}"
    );
    // the second sign-in finds the same account by (provider, subject)
    let r = sign_in(&app, "idp", "alice").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(app.store.identities_of(&user.id).await.unwrap().len(), 1);

    // API mode: a one-time code to the app, exchanged with the verifier
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let path = format!(
        "/v1/auth/oauth/idp/authorize?mode=api&redirect_uri={APP_REDIRECT}&code_challenge={}&state=app-state-1",
        s256(verifier)
    );
    let (url, flow) = start(&app, &path).await;
    let callback = at_provider(url, "alice".into()).await;
    let r = get(&app, &callback, Some(&flow)).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let to_app = url::Url::parse(r.header("location").unwrap()).unwrap();
    assert!(to_app.as_str().starts_with(APP_REDIRECT), "{to_app}");
    assert!(
        set_cookie(&r, "latchkey_session").is_none(),
        "no cookie session in API mode"
    );
    let q: std::collections::HashMap<_, _> = to_app.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "app-state-1");
    let exchange = |code: &str, verifier: &str| {
        app.json(
            "POST",
            "/v1/auth/oauth/exchange",
            serde_json::json!({"code": code, "code_verifier": verifier}),
            None,
        )
    };
    let tokens = exchange(&q["code"], verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let access = tokens.json()["access_token"].as_str().unwrap().to_owned();
    let me = app.send("GET", "/v1/account", Some(&access)).await;
    assert_eq!(me.json()["email"], "alice@idp.test");
    let again = exchange(&q["code"], verifier).await;
    assert_eq!(
        (again.status.as_u16(), again.code().as_str()),
        (400, "invalid_code"),
        "single use"
    );
    // a wrong verifier burns the code
    let (url, flow) = start(&app, &path).await;
    let r = get(&app, &at_provider(url, "alice".into()).await, Some(&flow)).await;
    let to_app = url::Url::parse(r.header("location").unwrap()).unwrap();
    let code = to_app
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let wrong = exchange(&code, &"x".repeat(43)).await;
    assert_eq!(wrong.code(), "invalid_code");
    assert_eq!(exchange(&code, verifier).await.code(), "invalid_code");
    // API mode only to a configured redirect URI
    let r = get(
        &app,
        &path.replace(APP_REDIRECT, "https://evil.example/cb"),
        None,
    )
    .await;
    assert_eq!(r.code(), "redirect_uri_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_callbacks_without_state_from_another_browser_replayed_or_mixed_up() {
    let app = app().await;
    let refused = |r: &TestResponse, code: &str| {
        assert_eq!(r.code(), code, "{}", r.text());
        assert!(set_cookie(r, "latchkey_session").is_none());
    };
    let (url, flow) = start(&app, "/v1/auth/oauth/idp/authorize").await;
    let callback = at_provider(url, "mallory".into()).await;
    // missing state
    let no_state = with_query(&callback, "state", None);
    refused(&get(&app, &no_state, Some(&flow)).await, "state_mismatch");
    // a callback in another browser (or the attacker's, for login CSRF)
    refused(&get(&app, &callback, None).await, "state_mismatch");
    let other = "latchkey_fed=another-browsers-state";
    refused(&get(&app, &callback, Some(other)).await, "state_mismatch");
    // RFC 9207: the `iss` of another provider; the flow is spent then
    let mixed = with_query(&callback, "iss", Some(("iss", "http://127.0.0.1:1")));
    refused(&get(&app, &mixed, Some(&flow)).await, "issuer_mismatch");
    refused(&get(&app, &callback, Some(&flow)).await, "state_expired");

    // a replayed state
    let (url, flow) = start(&app, "/v1/auth/oauth/idp/authorize").await;
    let callback = at_provider(url, "mallory".into()).await;
    assert_eq!(get(&app, &callback, Some(&flow)).await.status, 303);
    refused(&get(&app, &callback, Some(&flow)).await, "state_expired");
    // no `iss` from a provider that says it sends one
    let (url, flow) = start(&app, "/v1/auth/oauth/idp/authorize").await;
    let callback = at_provider(url, "mallory".into()).await;
    let no_iss = with_query(&callback, "iss", None);
    refused(&get(&app, &no_iss, Some(&flow)).await, "issuer_mismatch");

    // mix-up: provider 2's real code and issuer at provider 1's callback
    let (url1, flow1) = start(&app, "/v1/auth/oauth/idp/authorize").await;
    let (url2, flow2) = start(&app, "/v1/auth/oauth/idp2/authorize").await;
    let callback2 = at_provider(url2, "mallory".into()).await;
    let state1 = url::Url::parse(&url1)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let at_idp = with_query(&callback2, "state", Some(("state", &state1)))
        .replace("/idp2/callback", "/idp/callback");
    refused(&get(&app, &at_idp, Some(&flow1)).await, "issuer_mismatch");
    // ... and provider 2's whole answer at provider 1's callback
    let whole = callback2.replace("/idp2/callback", "/idp/callback");
    refused(&get(&app, &whole, Some(&flow2)).await, "state_mismatch");
    // unknown providers are 404 at both ends
    assert_eq!(
        get(&app, "/v1/auth/oauth/nope/authorize", None)
            .await
            .code(),
        "unknown_provider"
    );
    assert_eq!(
        get(&app, "/v1/auth/oauth/nope/callback?state=x", Some(&flow2))
            .await
            .code(),
        "unknown_provider"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_address_never_links_or_signs_in_to_a_local_account() {
    let app = app().await;
    app.register("carol@example.com", PASSWORD).await;
    let carol = app
        .store
        .user_by_email("carol@example.com")
        .await
        .unwrap()
        .unwrap();
    // the provider asserts carol's address UNVERIFIED: no link, no session
    let r = sign_in(&app, "idp", "unverified:carol@example.com").await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (409, "link_required"),
        "{}",
        r.text()
    );
    assert!(set_cookie(&r, "latchkey_session").is_none());
    assert!(app.store.identities_of(&carol.id).await.unwrap().is_empty());
    // a provider that may not link on its own: no link even when verified
    let r = sign_in(&app, "strict", "carol@example.com").await;
    assert_eq!(r.code(), "link_required");
    assert!(app.store.identities_of(&carol.id).await.unwrap().is_empty());
    // a provider trusted for verified addresses links and signs in
    let r = sign_in(&app, "idp", "carol@example.com").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(set_cookie(&r, "latchkey_session").is_some());
    let linked = app.store.identities_of(&carol.id).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(
        (linked[0].provider.as_str(), linked[0].subject.as_str()),
        ("idp", "carol@example.com")
    );
    // an unverified address of no account makes an unverified account
    let r = sign_in(&app, "idp2", "unverified:dan@example.com").await;
    assert_eq!(r.status, 303, "{}", r.text());
    let dan = app
        .store
        .user_by_email("dan@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(!dan.email_verified);
}

/// Links `provider` (as `login` there) to the account of `access`: the
/// callback's answer.
async fn link(app: &TestApp, access: &str, provider: &str, login: &str) -> TestResponse {
    let r = app
        .json(
            "POST",
            "/v1/account/identities",
            serde_json::json!({"provider": provider}),
            Some(access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let flow = set_cookie(&r, "latchkey_fed").expect("the flow cookie");
    let url = r.json()["authorize_url"].as_str().unwrap().to_owned();
    get(app, &at_provider(url, login.into()).await, Some(&flow)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_a_second_provider_from_the_account_and_unlinks_it_but_not_the_last() {
    let app = app_without_mail_sign_in().await;
    // an account made by a provider, signed in in API mode (bearer)
    let tokens = api_sign_in(&app, "idp", "erin").await;
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let access = tokens.json()["access_token"].as_str().unwrap().to_owned();
    let list = app
        .send("GET", "/v1/account/identities", Some(&access))
        .await
        .json();
    let first = list[0]["id"].as_str().unwrap().to_owned();
    // its only identity is its only way in
    let r = app
        .send(
            "DELETE",
            &format!("/v1/account/identities/{first}"),
            Some(&access),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code().as_str()), (409, "last_way_in"));

    // link the second provider (another person's name there: linking goes by the session)
    let r = link(&app, &access, "idp2", "erin-elsewhere").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account"));
    let list = app
        .send("GET", "/v1/account/identities", Some(&access))
        .await
        .json();
    let providers: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["idp", "idp2"]);
    // the upstream account cannot be linked to a second account
    app.register("frank@example.com", PASSWORD).await;
    let frank = app.login("frank@example.com", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = link(&app, &frank, "idp2", "erin-elsewhere").await;
    assert_eq!(r.code(), "identity_already_linked");
    // unlink the first: the second is still a way in
    let r = app
        .send(
            "DELETE",
            &format!("/v1/account/identities/{first}"),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let list = app
        .send("GET", "/v1/account/identities", Some(&access))
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let events: Vec<String> = app
        .all_rows_as_text()
        .await
        .lines()
        .filter(|l| l.contains("identity."))
        .map(str::to_owned)
        .collect();
    assert!(
        events.iter().any(|l| l.contains("identity.linked"))
            && events.iter().any(|l| l.contains("identity.unlinked")),
        "{events:?}"
    );
}

/// With sign-in by mail on, the verified address of an account made by a
/// provider is a way in (the one rule, `latchkey_core::ways_in`): its only
/// identity may go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sign_in_by_mail_a_verified_address_lets_the_last_identity_go() {
    let app = app().await;
    let tokens = api_sign_in(&app, "idp", "heidi").await;
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let access = tokens.json()["access_token"].as_str().unwrap().to_owned();
    let only = identities(&app, &access).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = unlink(&app, &access, &only).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(identities(&app, &access).await, serde_json::json!([]));
}

/// The identities linked to the account of `access`.
async fn identities(app: &TestApp, access: &str) -> serde_json::Value {
    let r = app
        .send("GET", "/v1/account/identities", Some(access))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn unlink(app: &TestApp, access: &str, id: &str) -> TestResponse {
    let path = format!("/v1/account/identities/{id}");
    app.send("DELETE", &path, Some(access)).await
}

/// A sign-in as `login` at `provider` in API mode, exchanged: the answer of
/// the exchange.
async fn api_sign_in(app: &TestApp, provider: &str, login: &str) -> TestResponse {
    let verifier = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag";
    let path = format!(
        "/v1/auth/oauth/{provider}/authorize?mode=api&redirect_uri={APP_REDIRECT}&code_challenge={}",
        s256(verifier)
    );
    let (url, flow) = start(app, &path).await;
    let r = get(app, &at_provider(url, login.into()).await, Some(&flow)).await;
    let to_app = url::Url::parse(r.header("location").unwrap()).unwrap();
    let code = to_app
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    app.json(
        "POST",
        "/v1/auth/oauth/exchange",
        serde_json::json!({"code": code, "code_verifier": verifier}),
        None,
    )
    .await
}

/// The account of bearer token `access` turns on TOTP.
pub(crate) async fn turn_on_totp(app: &TestApp, access: &str) {
    let r = app.send("POST", "/v1/account/mfa/totp", Some(access)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let secret = r.json()["secret"].as_str().unwrap().to_owned();
    let code = app.totp_code(&secret, 0);
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            serde_json::json!({"code": code}),
            Some(access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_offers_the_providers_and_a_second_factor_still_applies() {
    let app = app().await;
    let page = get(&app, "/login?return_to=/account/activity", None).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains(
            "href=\"&#x2f;v1&#x2f;auth&#x2f;oauth&#x2f;idp2&#x2f;authorize?return_to=%2Faccount%2Factivity\""
        ),
        "{html}"
    );
    let german = get(&app, "/login?lang=de", None).await.text();
    assert!(german.contains("Anmelden mit idp2"), "{german}");

    // an account made by a provider turns on TOTP ...
    let tokens = api_sign_in(&app, "idp", "grace").await.json();
    turn_on_totp(&app, tokens["access_token"].as_str().unwrap()).await;
    // ... then the provider alone starts no session: the code form, or mfa_required
    let r = sign_in(&app, "idp", "grace").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("name=\"mfa_token\""), "{}", r.text());
    assert!(
        set_cookie(&r, "latchkey_session").is_none(),
        "no session before the second factor"
    );
    let r = api_sign_in(&app, "idp", "grace").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["mfa_required"], true, "{}", r.text());
    assert!(r.json().get("access_token").is_none());
}

/// `tok` keeps its tokens (with offline access), `idp2` does not; bearer
/// sessions outlive the provider's access tokens (an hour) so the test can
/// move latchkey's clock past them.
async fn tokens_app() -> TestApp {
    let mut tok = provider(
        "tok",
        &issuer("LATCHKEY_TEST_OIDC_ISSUER"),
        LinkPolicy::Never,
    );
    tok.store_tokens = true;
    tok.scopes.push("offline_access".into());
    TestApp::sqlite_from(Options {
        access_ttl: time::Duration::hours(6),
        federation: FederationConfig {
            providers: vec![
                tok,
                provider(
                    "idp2",
                    &issuer("LATCHKEY_TEST_OIDC_ISSUER_2"),
                    LinkPolicy::Never,
                ),
            ],
            api_redirect_uris: vec![APP_REDIRECT.into()],
            ..FederationConfig::default()
        },
        ..Options::default()
    })
    .await
}

/// The provider's userinfo for `access_token`: its status and `sub`.
async fn userinfo(issuer: String, access_token: String) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let url = url::Url::parse(&issuer).unwrap();
        let addr: SocketAddr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
            .parse()
            .unwrap();
        let bearer = format!("Bearer {access_token}");
        let r = raw_http::get(addr, "/me", &[("authorization", &bearer)]).unwrap();
        let sub = serde_json::from_slice::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v["sub"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (r.status, sub)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_tokens_are_kept_sealed_and_refreshed_once_when_expired() {
    let app = tokens_app().await;
    let idp = issuer("LATCHKEY_TEST_OIDC_ISSUER");
    let tokens = api_sign_in(&app, "tok", "tess").await;
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let access = tokens.json()["access_token"].as_str().unwrap().to_owned();
    let list = identities(&app, &access).await;
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/account/identities/{id}/token");
    // (linking needs a recent sign-in: before the clock moves)
    let r = link(&app, &access, "idp2", "tess-elsewhere").await;
    assert_eq!(r.status, 303, "{}", r.text());
    let list = identities(&app, &access).await;
    let other = list[1]["id"].as_str().unwrap().to_owned();
    let first = app.send("GET", &path, Some(&access)).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let body = first.json();
    let upstream = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let expires_in = body["expires_in"].as_i64().unwrap();
    assert!((3500..=3600).contains(&expires_in), "{body}");
    // a real token at the provider, for the person
    assert_eq!(
        userinfo(idp.clone(), upstream.clone()).await,
        (200, "tess".into())
    );
    // sealed at rest: no token in any row
    let rows = app.all_rows_as_text().await;
    assert!(
        !rows.contains(&upstream),
        "the access token is stored in clear"
    );
    // while good, the same token (no call to the provider)
    let again = app.send("GET", &path, Some(&access)).await.json();
    assert_eq!(again["access_token"], upstream.as_str());

    // past its expiry, concurrent calls refresh ONCE: the provider rotates
    // refresh tokens and revokes the grant when one is used twice
    app.clock.advance(time::Duration::seconds(3590));
    let (a, b) = tokio::join!(
        app.send("GET", &path, Some(&access)),
        app.send("GET", &path, Some(&access))
    );
    assert_eq!(
        (a.status.as_u16(), b.status.as_u16()),
        (200, 200),
        "{} {}",
        a.text(),
        b.text()
    );
    let refreshed = a.json()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(refreshed, upstream);
    assert_eq!(b.json()["access_token"], refreshed.as_str());
    assert_eq!(
        userinfo(idp.clone(), refreshed.clone()).await,
        (200, "tess".into())
    );
    // the rotated refresh token still works: the grant was not revoked
    app.clock.advance(time::Duration::seconds(3590));
    let third = app.send("GET", &path, Some(&access)).await;
    assert_eq!(third.status, 200, "{}", third.text());
    let third = third.json()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(third, refreshed);
    assert_eq!(userinfo(idp, third).await, (200, "tess".into()));

    // a provider that keeps no tokens: 409 with a code
    let r = app
        .send(
            "GET",
            &format!("/v1/account/identities/{other}/token"),
            Some(&access),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (409, "upstream_tokens_not_stored")
    );
    // another account's identity is not found
    app.register("uma@example.com", PASSWORD).await;
    let uma = app.login("uma@example.com", PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.send("GET", &path, Some(&uma)).await;
    assert_eq!((r.status.as_u16(), r.code().as_str()), (404, "not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sign_in_syncs_the_name_and_records_the_picture() {
    let app = app().await;
    let tokens = api_sign_in(&app, "idp", "vera").await;
    let access = tokens.json()["access_token"].as_str().unwrap().to_owned();
    let me = app.send("GET", "/v1/account", Some(&access)).await.json();
    assert_eq!(me["name"], "User vera");
    let list = identities(&app, &access).await;
    assert_eq!(list[0]["name"], "User vera");
    assert_eq!(list[0]["picture"], "https://idp.test/avatars/vera.png");
    // the person renames the account here; the next sign-in takes the
    // provider's name again (sync_profile, the default)
    let r = app
        .json(
            "PATCH",
            "/v1/account",
            serde_json::json!({"name": "Vee"}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(sign_in(&app, "idp", "vera").await.status, 303);
    let me = app.send("GET", "/v1/account", Some(&access)).await.json();
    assert_eq!(me["name"], "User vera");
    // the upstream tokens are not kept without store_tokens
    let id = list[0]["id"].as_str().unwrap();
    let record = app.store.upstream_of(id).await.unwrap().unwrap();
    assert_eq!(record.tokens_sealed, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_center_links_and_unlinks_providers_with_its_forms() {
    // sign-in by mail off: the verified address is no way in, so the only
    // identity is the last one (with mail on it could go: see ways_in)
    let app = app_without_mail_sign_in().await;
    // an account made by a provider, in cookie mode
    let r = sign_in(&app, "idp", "wanda").await;
    assert_eq!(r.status, 303, "{}", r.text());
    let session = set_cookie(&r, "latchkey_session").expect("a session cookie");
    let form = app.page_form("/account", Some(&session)).await;
    let page = get(&app, "/account", Some(&session)).await.text();
    assert!(
        page.contains("id=\"link-identity-form\"")
            && page.contains("name=\"provider\" value=\"idp2\"")
            && !page.contains("name=\"provider\" value=\"idp\""),
        "the providers not linked yet: {page}"
    );
    // the only identity is the only way in: the page says why
    let list = app
        .store
        .identities_of(
            &app.store
                .user_by_email("wanda@idp.test")
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    let first = list[0].id.clone();
    let unlink_first = format!("identity={first}");
    let unlink_first = || app.post_page("/account/identities/unlink", &form, &unlink_first);
    let r = unlink_first().await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("last way to sign in"), "{}", r.text());

    // link the second provider: a page that goes on to it by itself
    let r = app
        .post_page("/account/identities/link", &form, "provider=idp2&password=")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let flow = set_cookie(&r, "latchkey_fed").expect("the flow cookie");
    let html = r.text();
    let refresh = html
        .split("http-equiv=\"refresh\" content=\"0; url=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a refresh to the provider: {html}"))
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    assert!(
        refresh.starts_with(&issuer("LATCHKEY_TEST_OIDC_ISSUER_2")),
        "{refresh}"
    );
    let callback = at_provider(refresh, "wanda-two".into()).await;
    let r = get(&app, &callback, Some(&format!("{flow}; {session}"))).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let page = get(&app, "/account", Some(&session)).await.text();
    assert!(
        page.contains("idp2 (wanda-two@idp.test)")
            && !page.contains("name=\"provider\" value=\"idp2\""),
        "{page}"
    );
    // now the first one may go
    let r = unlink_first().await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account#identities"));
    let page = get(&app, "/account", Some(&session)).await.text();
    assert!(
        !page.contains(&format!("identity-{first}"))
            && page.contains("name=\"provider\" value=\"idp\""),
        "{page}"
    );
    // an unknown provider is refused on the page
    let r = app
        .post_page("/account/identities/link", &form, "provider=nope")
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
}
