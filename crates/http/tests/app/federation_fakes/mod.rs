//! The presets (issue 17) against protocol fakes: one small in-process
//! HTTP server per provider (axum, on a loopback port) that checks every
//! request latchkey sends against the provider's documentation
//! (endpoints, parameters, headers, PKCE, client authentication) and
//! answers with the documented sample responses and error shapes. The
//! presets are built by `presets::build`, as the configuration builds
//! them, with only the issuer or endpoints pointed at the fake (the
//! generic override fields). A violation is recorded and answered with the
//! provider's error shape; every test ends with `fake.clean()`.
//!
//! The documentation each fake follows:
//! - Google: <https://developers.google.com/identity/openid-connect/openid-connect>
//!   (discovery, `client_secret` in the body, `iss` with or without `https://`)
//! - Microsoft: <https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc>,
//!   <https://learn.microsoft.com/en-us/entra/identity-platform/claims-validation>
//!   (`common`: the `{tenantid}` issuer, `iss` by the token's `tid`)
//! - Apple: <https://developer.apple.com/documentation/sign_in_with_apple/incorporating-sign-in-with-apple-into-other-platforms>
//!   (form_post, `user` on the first sign-in),
//!   <https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret>
//!   (the ES256 client secret), <https://developer.apple.com/documentation/sign_in_with_apple/generate_and_validate_tokens>
//! - GitHub: <https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps>,
//!   <https://docs.github.com/en/rest/users/users#get-the-authenticated-user>,
//!   <https://docs.github.com/en/rest/users/emails#list-email-addresses-for-the-authenticated-user>
//! - GitLab: <https://docs.gitlab.com/api/oauth2/>, <https://docs.gitlab.com/integration/openid_connect_provider/>
//! - Facebook: <https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow>,
//!   <https://developers.facebook.com/docs/graph-api/guides/error-handling>
//! - Discord: <https://discord.com/developers/docs/topics/oauth2>,
//!   <https://discord.com/developers/docs/resources/user#get-current-user>

use base64::Engine;
use latchkey_core::federation::presets::Settings;
use latchkey_testkit::{TestApp, TestResponse};
use latchkey_tokens::{Alg, SigningKey};
use serde_json::{Value, json};

use super::federation::{get, set_cookie, turn_on_totp};

mod fake;
pub(crate) use fake::*;

async fn user(app: &TestApp, email: &str) -> Option<latchkey_core::user::User> {
    app.store.user_by_email(email).await.unwrap()
}

fn signed_in(r: &TestResponse) {
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        set_cookie(r, "latchkey_session").is_some(),
        "no session: {}",
        r.text()
    );
}

fn refused(r: &TestResponse, status: u16, code: &str) {
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (status, code),
        "{}",
        r.text()
    );
    assert!(set_cookie(r, "latchkey_session").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_signs_in_with_the_documented_protocol_and_its_short_issuer() {
    let fake = Fake::start(Style::Google).await;
    let app = app_with(vec![provider("google", &fake, |_| {})]).await;
    let r = sign_in(
        &app,
        &fake,
        "google",
        json!({"sub": "110169484474386276334", "email": "ada@gmail.com",
               "email_verified": true, "name": "Ada Lovelace", "azp": CLIENT_ID}),
        None,
    )
    .await;
    signed_in(&r);
    let ada = user(&app, "ada@gmail.com").await.expect("the account");
    assert!(ada.email_verified);
    assert_eq!(ada.name.as_deref(), Some("Ada Lovelace"));
    // Google's SDKs' tokens may say `accounts.google.com`
    let r = sign_in(
        &app,
        &fake,
        "google",
        json!({"sub": "2", "email": "bob@gmail.com", "email_verified": true,
               "iss": "accounts.google.com"}),
        None,
    )
    .await;
    signed_in(&r);
    // the documented error of the token endpoint: no session, 502
    let r = get(&app, "/v1/auth/oauth/google/authorize", None).await;
    let flow = set_cookie(&r, "latchkey_fed").unwrap();
    let (_, state) = fake.authorize(r.header("location").unwrap(), json!({"sub": "3"}));
    let r = callback(
        &app,
        &fake,
        "google",
        "a-code-google-never-issued",
        &state,
        None,
        Some(&flow),
    )
    .await;
    refused(&r, 502, "provider_unavailable");
    let calls = fake.calls();
    assert!(
        calls.contains(&"GET /.well-known/openid-configuration".to_owned()),
        "{calls:?}"
    );
    assert!(calls.contains(&"GET /jwks".to_owned()), "{calls:?}");
    fake.clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsoft_common_validates_each_tenants_issuer_against_its_tid() {
    let fake = Fake::start(Style::Microsoft).await;
    let orgs = provider("work", &fake, |s| s.tenant = Some("organizations".into()));
    let app = app_with(vec![provider("microsoft", &fake, |_| {}), orgs]).await;
    let person = |sub: &str, tid: &str| {
        json!({"sub": sub, "tid": tid, "oid": "00000000-0000-0000-66f3-3332eca7ea81",
               "email": format!("{sub}@contoso.example"), "name": "Megan Bowen",
               "preferred_username": format!("{sub}@contoso.example"), "ver": "2.0"})
    };
    // two tenants sign in through `common`, each with its own issuer
    signed_in(&sign_in(&app, &fake, "microsoft", person("megan", TENANT_A), None).await);
    signed_in(&sign_in(&app, &fake, "microsoft", person("alex", TENANT_B), None).await);
    // Entra asserts no email_verified: the account's address is unverified
    assert!(
        !user(&app, "megan@contoso.example")
            .await
            .unwrap()
            .email_verified
    );
    // a token whose iss names another tenant than its tid
    let mut forged = person("eve", TENANT_A);
    forged["iss"] = json!(format!("{}/{TENANT_B}/v2.0", fake.base));
    refused(
        &sign_in(&app, &fake, "microsoft", forged, None).await,
        502,
        "invalid_id_token",
    );
    // no tid, or one that is not a tenant id
    let mut no_tid = person("eve", TENANT_A);
    no_tid.as_object_mut().unwrap().remove("tid");
    refused(
        &sign_in(&app, &fake, "microsoft", no_tid, None).await,
        502,
        "invalid_id_token",
    );
    let mut odd = person("eve", "common");
    odd["iss"] = json!(format!("{}/common/v2.0", fake.base));
    refused(
        &sign_in(&app, &fake, "microsoft", odd, None).await,
        502,
        "invalid_id_token",
    );
    // `organizations` refuses personal accounts, takes work ones
    refused(
        &sign_in(&app, &fake, "work", person("pat", CONSUMERS), None).await,
        502,
        "invalid_id_token",
    );
    signed_in(&sign_in(&app, &fake, "work", person("sam", TENANT_A), None).await);
    assert!(user(&app, "eve@contoso.example").await.is_none());
    fake.clean();
}

/// An Apple key as the developer downloads it (`AuthKey_<id>.p8`).
fn apple_key() -> (SigningKey, String) {
    let (key, der) = SigningKey::generate(Alg::ES256, APPLE_KEY_ID.into()).expect("key");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der[..]);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (key, pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apple_posts_the_callback_takes_the_name_once_and_checks_the_es256_client_secret() {
    let (key, pem) = apple_key();
    let fake = Fake::start_with(Style::Apple, Some(key.verifying_key())).await;
    let apple = |s: &mut Settings| {
        s.client_secret = None;
        s.team_id = Some(APPLE_TEAM.into());
        s.key_id = Some(APPLE_KEY_ID.into());
        s.private_key = Some(pem.clone());
    };
    let app = app_with(vec![provider("apple", &fake, apple)]).await;
    let relay = "dq7x2m9k4p@privaterelay.appleid.com";
    let person = json!({"sub": "001234.8a7f2c1b4e6d4f0a9c3b2e1d0f9a8b7c.1234", "email": relay,
                        "email_verified": "true", "is_private_email": "true",
                        "auth_time": 1_700_000_000, "nonce_supported": true});
    let first = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"dq7x2m9k4p@privaterelay.appleid.com"}"#;
    // the first sign-in: a cross-site POST carrying the name
    signed_in(&sign_in(&app, &fake, "apple", person.clone(), Some(first)).await);
    let ada = user(&app, relay).await.expect("the account");
    assert!(ada.email_verified, "a private relay address is verified");
    assert_eq!(ada.name.as_deref(), Some("Ada Lovelace"));
    // later sign-ins carry no `user`: the same account, the name kept
    signed_in(&sign_in(&app, &fake, "apple", person, None).await);
    assert_eq!(user(&app, relay).await.unwrap().id, ada.id);
    assert_eq!(app.store.identities_of(&ada.id).await.unwrap().len(), 1);
    // the POST without the flow cookie (it did not survive): refused
    let r = get(&app, "/v1/auth/oauth/apple/authorize", None).await;
    let (code, state) = fake.authorize(
        r.header("location").unwrap(),
        json!({"sub": "x", "email": "x@privaterelay.appleid.com", "email_verified": true}),
    );
    refused(
        &callback(&app, &fake, "apple", &code, &state, None, None).await,
        400,
        "state_mismatch",
    );
    // another flow's state with this browser's cookie: refused; the
    // finished POST replayed: refused
    let flow = set_cookie(&r, "latchkey_fed").unwrap();
    let wrong = callback(
        &app,
        &fake,
        "apple",
        &code,
        "not-this-flow",
        None,
        Some(&flow),
    )
    .await;
    refused(&wrong, 400, "state_mismatch");
    let ok = callback(&app, &fake, "apple", &code, &state, None, Some(&flow)).await;
    signed_in(&ok);
    let replayed = callback(&app, &fake, "apple", &code, &state, None, Some(&flow)).await;
    refused(&replayed, 400, "state_expired");
    fake.clean();
}

fn github_person(emails: Value) -> Value {
    json!({
        "user": {"login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjE=",
                 "avatar_url": "https://github.com/images/error/octocat_happy.gif",
                 "type": "User", "site_admin": false, "name": "monalisa octocat",
                 "company": "GitHub", "email": "carol@example.com"},
        "emails": emails,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_takes_the_verified_primary_address_and_an_unverified_one_never_links() {
    let fake = Fake::start(Style::GitHub).await;
    // trusted for verified addresses, to show an unverified one still never links
    let trusting = provider("github", &fake, |s| s.link_policy = Some("verified".into()));
    let app = app_with(vec![trusting]).await;
    app.register("carol@example.com", PASSWORD).await;
    let carol = user(&app, "carol@example.com").await.unwrap();
    // carol's address is /user's public email and an unverified primary
    let unverified = github_person(json!([
        {"email": "carol@example.com", "verified": false, "primary": true, "visibility": "public"},
        {"email": "octocat@github.com", "verified": true, "primary": false, "visibility": null},
    ]));
    refused(
        &sign_in(&app, &fake, "github", unverified, None).await,
        409,
        "link_required",
    );
    assert!(app.store.identities_of(&carol.id).await.unwrap().is_empty());
    // a verified address that is not the primary is not taken either
    let secondary = github_person(json!([
        {"email": "octocat@github.com", "verified": false, "primary": true, "visibility": "private"},
        {"email": "carol@example.com", "verified": true, "primary": false, "visibility": null},
    ]));
    let r = sign_in(&app, &fake, "github", secondary, None).await;
    signed_in(&r);
    let made = user(&app, "octocat@github.com")
        .await
        .expect("an account of the primary");
    assert!(!made.email_verified);
    assert!(app.store.identities_of(&carol.id).await.unwrap().is_empty());
    // the same GitHub account is that account now; carol links only by herself
    let verified = github_person(json!([
        {"email": "carol@example.com", "verified": true, "primary": true, "visibility": "public"},
    ]));
    signed_in(&sign_in(&app, &fake, "github", verified.clone(), None).await);
    assert!(app.store.identities_of(&carol.id).await.unwrap().is_empty());
    // another GitHub account with carol's verified primary links to her
    let mut other = verified;
    other["user"]["id"] = json!(9_000_001);
    signed_in(&sign_in(&app, &fake, "github", other, None).await);
    let linked = app.store.identities_of(&carol.id).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].subject, "9000001");
    // the documented error shape (200 with `error`): no session
    let r = get(&app, "/v1/auth/oauth/github/authorize", None).await;
    let flow = set_cookie(&r, "latchkey_fed").unwrap();
    let (_, state) = fake.authorize(r.header("location").unwrap(), json!({}));
    let r = callback(
        &app,
        &fake,
        "github",
        "used-code",
        &state,
        None,
        Some(&flow),
    )
    .await;
    refused(&r, 502, "provider_unavailable");
    assert!(fake.calls().contains(&"GET /user/emails".to_owned()));
    fake.clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_facebook_and_discord_speak_their_documented_protocols() {
    let gitlab = Fake::start(Style::GitLab).await;
    let facebook = Fake::start(Style::Facebook).await;
    let discord = Fake::start(Style::Discord).await;
    let app = app_with(vec![
        provider("gitlab", &gitlab, |_| {}),
        provider("facebook", &facebook, |_| {}),
        provider("discord", &discord, |_| {}),
    ])
    .await;
    let r = sign_in(
        &app,
        &gitlab,
        "gitlab",
        json!({"sub": "1", "email": "gl@example.com", "email_verified": true,
               "name": "Grace Hopper", "nickname": "grace", "sub_legacy": "2f1d"}),
        None,
    )
    .await;
    signed_in(&r);
    let r = sign_in(
        &app,
        &facebook,
        "facebook",
        json!({"id": "10158291874129384", "name": "Mark Example", "email": "fb@example.com"}),
        None,
    )
    .await;
    signed_in(&r);
    // Facebook asserts no verified flag
    assert!(!user(&app, "fb@example.com").await.unwrap().email_verified);
    let r = sign_in(
        &app,
        &discord,
        "discord",
        json!({"id": "80351110224678912", "username": "nelly", "discriminator": "0",
               "global_name": "Nelly", "avatar": "8342729096ea3675442027381ff50dfe",
               "verified": true, "email": "nelly@example.com", "flags": 64,
               "premium_type": 1, "public_flags": 64, "mfa_enabled": false}),
        None,
    )
    .await;
    signed_in(&r);
    let nelly = user(&app, "nelly@example.com").await.unwrap();
    assert!(nelly.email_verified);
    assert_eq!(nelly.name.as_deref(), Some("Nelly"));
    // Facebook's documented error shape at the token endpoint
    let r = get(&app, "/v1/auth/oauth/facebook/authorize", None).await;
    let flow = set_cookie(&r, "latchkey_fed").unwrap();
    let (_, state) = facebook.authorize(r.header("location").unwrap(), json!({}));
    let r = callback(
        &app,
        &facebook,
        "facebook",
        "bad",
        &state,
        None,
        Some(&flow),
    )
    .await;
    refused(&r, 502, "provider_unavailable");
    for fake in [&gitlab, &facebook, &discord] {
        fake.clean();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_mixed_up_id_tokens_never_sign_in() {
    let fake = Fake::start(Style::Google).await;
    let other = Fake::start(Style::GitLab).await;
    let app = app_with(vec![
        provider("google", &fake, |_| {}),
        provider("gitlab", &other, |_| {}),
    ])
    .await;
    let person = |extra: Value| {
        let mut p = json!({"sub": "victim", "email": "victim@gmail.com", "email_verified": true});
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    fake.forge(Forge::AlgNone);
    refused(
        &sign_in(&app, &fake, "google", person(json!({})), None).await,
        502,
        "invalid_id_token",
    );
    fake.forge(Forge::Hs256WithPublicKey);
    refused(
        &sign_in(&app, &fake, "google", person(json!({})), None).await,
        502,
        "invalid_id_token",
    );
    let expired = json!({"iat": fake.now - 7200, "exp": fake.now - 3600});
    refused(
        &sign_in(&app, &fake, "google", person(expired), None).await,
        502,
        "invalid_id_token",
    );
    let nonce = json!({"nonce": "the-nonce-of-another-flow"});
    refused(
        &sign_in(&app, &fake, "google", person(nonce), None).await,
        502,
        "invalid_id_token",
    );
    // mix-up: a token of the other provider's issuer at this one
    let mixed = json!({"iss": other.base});
    refused(
        &sign_in(&app, &fake, "google", person(mixed), None).await,
        502,
        "invalid_id_token",
    );
    let audience = json!({"aud": "another-client"});
    refused(
        &sign_in(&app, &fake, "google", person(audience), None).await,
        502,
        "invalid_id_token",
    );
    assert!(user(&app, "victim@gmail.com").await.is_none());
    // the same person, honestly signed, gets in
    signed_in(&sign_in(&app, &fake, "google", person(json!({})), None).await);
    fake.clean();
    other.clean();
}

/// A nonce of `provider` for a native sign-in.
async fn nonce(app: &TestApp, provider: &str) -> String {
    let r = app
        .send("POST", &format!("/v1/auth/oauth/{provider}/nonce"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.json()["expires_in"], 300);
    r.json()["nonce"].as_str().unwrap().to_owned()
}

async fn native(app: &TestApp, provider: &str, id_token: &str, nonce: &str) -> TestResponse {
    app.json(
        "POST",
        &format!("/v1/auth/oauth/{provider}/token"),
        json!({"id_token": id_token, "nonce": nonce}),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_apps_sign_in_with_a_platform_sdks_id_token_and_a_single_use_nonce() {
    let google = Fake::start(Style::Google).await;
    let github = Fake::start(Style::GitHub).await;
    let android = "1234-android.apps.googleusercontent.com";
    let app = app_with(vec![
        provider("google", &google, |s| {
            s.native_client_ids = vec![android.into(), "com.example.ios".into()];
        }),
        provider("github", &github, |_| {}),
    ])
    .await;
    let ada = json!({"sub": "10769150350006150715113082367", "email": "ada@gmail.com",
                     "email_verified": true, "name": "Ada"});
    // valid: a bearer session for a new account
    let n = nonce(&app, "google").await;
    let r = native(&app, "google", &google.sdk_token(ada.clone(), &n), &n).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let access = r.json()["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let me = app.send("GET", "/v1/account", Some(&access)).await;
    assert_eq!(me.json()["email"], "ada@gmail.com", "{}", me.text());
    // replayed nonce: refused, though the token is still good
    let r = native(&app, "google", &google.sdk_token(ada.clone(), &n), &n).await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (400, "invalid_nonce")
    );
    // an Android token: aud the web client, azp the Android client
    let n = nonce(&app, "google").await;
    let mut from_android = ada.clone();
    from_android["azp"] = json!(android);
    let r = native(&app, "google", &google.sdk_token(from_android, &n), &n).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // an iOS token issued to the bundle id, with the hashed nonce
    let n = nonce(&app, "google").await;
    let mut from_ios = ada.clone();
    from_ios["aud"] = json!("com.example.ios");
    let hashed = latchkey_tokens::sha256_hex(n.as_bytes());
    let r = native(&app, "google", &google.sdk_token(from_ios, &hashed), &n).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // wrong aud: another app's token
    let n = nonce(&app, "google").await;
    let mut other_app = ada.clone();
    other_app["aud"] = json!("999-someone-else.apps.googleusercontent.com");
    let r = native(&app, "google", &google.sdk_token(other_app, &n), &n).await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (401, "id_token_refused")
    );
    // ... and its nonce is spent
    let r = native(&app, "google", &google.sdk_token(ada.clone(), &n), &n).await;
    assert_eq!(r.code(), "invalid_nonce");
    // expired
    let n = nonce(&app, "google").await;
    let mut expired = ada.clone();
    expired["iat"] = json!(google.now - 7200);
    expired["exp"] = json!(google.now - 3600);
    let r = native(&app, "google", &google.sdk_token(expired, &n), &n).await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (401, "id_token_refused")
    );
    // a token for another nonce than the one presented
    let (n1, n2) = (nonce(&app, "google").await, nonce(&app, "google").await);
    let r = native(&app, "google", &google.sdk_token(ada.clone(), &n1), &n2).await;
    assert_eq!(r.code(), "id_token_refused");
    // a nonce never issued, and an expired one
    let r = native(
        &app,
        "google",
        &google.sdk_token(ada.clone(), "made-up"),
        "made-up",
    )
    .await;
    assert_eq!(r.code(), "invalid_nonce");
    let n = nonce(&app, "google").await;
    app.clock.advance(time::Duration::minutes(6));
    let r = native(&app, "google", &google.sdk_token(ada.clone(), &n), &n).await;
    assert_eq!(r.code(), "invalid_nonce");
    // forged tokens
    let n = nonce(&app, "google").await;
    google.forge(Forge::AlgNone);
    let r = native(&app, "google", &google.sdk_token(ada.clone(), &n), &n).await;
    assert_eq!(r.code(), "id_token_refused");
    // no native sign-in with a plain OAuth 2.0 provider
    let r = app.send("POST", "/v1/auth/oauth/github/nonce", None).await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (400, "native_not_supported")
    );
    let r = app.send("POST", "/v1/auth/oauth/nope/nonce", None).await;
    assert_eq!(r.code(), "unknown_provider");
    google.clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_sign_in_follows_the_linking_rule_and_the_second_factor() {
    let google = Fake::start(Style::Google).await;
    let app = app_with(vec![provider("google", &google, |_| {})]).await;
    app.register("carol@example.com", PASSWORD).await;
    // an unverified address of an existing account: no link, no session
    let n = nonce(&app, "google").await;
    let carol = json!({"sub": "c1", "email": "carol@example.com", "email_verified": false});
    let r = native(&app, "google", &google.sdk_token(carol, &n), &n).await;
    assert_eq!(
        (r.status.as_u16(), r.code().as_str()),
        (409, "link_required")
    );
    let id = user(&app, "carol@example.com").await.unwrap().id;
    assert!(app.store.identities_of(&id).await.unwrap().is_empty());
    // carol turns on TOTP; Google (trusted for verified addresses) links,
    // and the session waits for the second factor
    let tokens = app.login("carol@example.com", PASSWORD).await;
    turn_on_totp(&app, tokens["access_token"].as_str().unwrap()).await;
    let n = nonce(&app, "google").await;
    let carol = json!({"sub": "c1", "email": "carol@example.com", "email_verified": true});
    let r = native(&app, "google", &google.sdk_token(carol, &n), &n).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["mfa_required"], true, "{}", r.text());
    assert!(r.json().get("access_token").is_none());
    assert_eq!(app.store.identities_of(&id).await.unwrap().len(), 1);
    google.clean();
}
