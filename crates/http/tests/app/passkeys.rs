//! Passkeys over HTTP (issue 15): registration from a signed-in account,
//! sign-in (discoverable and for an address), the factors a passkey counts
//! as, and every refusal the relying party owes: a replayed challenge, a
//! wrong origin or RP ID, a counter that went back, another account's
//! credential. The authenticator is a software one written here: ES256 on
//! aws-lc-rs, attestation `none`, its CBOR built by hand.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use latchkey_testkit::{ISSUER, TestApp, TestResponse};
use serde_json::{Value, json};
use time::Duration;

use super::passwordless::{login_status, without_mail_sign_in};

latchkey_testkit::both_backends!(
    a_passkey_registers_and_signs_in_as_two_factors,
    concurrent_removals_of_the_last_two_ways_in_leave_one(without_mail_sign_in()),
    a_passkey_is_the_second_factor_after_a_password,
    a_wrong_passkey_answer_uses_an_attempt_of_the_mfa_token,
    a_passkey_only_account_signs_up_with_a_mailed_code_and_back_in(crate::passwordless::signup()),
);

latchkey_testkit::sqlite_only!(
    a_challenge_works_once,
    a_wrong_origin_or_rp_id_is_refused,
    a_counter_that_does_not_grow_is_refused,
    without_user_verification_the_second_factor_is_still_asked,
    another_accounts_passkey_is_refused_and_not_found,
    registration_needs_a_recent_sign_in_and_excludes_known_credentials,
    in_cookie_mode_the_ceremony_finishes_only_in_its_browser,
    the_pages_offer_passkeys_with_a_script_of_their_own,
    the_last_passkey_of_an_account_without_a_password_stays(without_mail_sign_in()),
    the_mfa_page_takes_a_passkey_in_its_browser,
    a_passkey_sign_up_without_a_valid_ticket_is_refused(crate::passwordless::signup()),
);

const PASSWORD: &str = "correct horse battery staple";
const RP_ID: &str = "latchkey.test";

fn unique(tag: &str) -> String {
    format!("{tag}.{}@example.com", latchkey_core::id::new_id())
}

fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// A software authenticator holding one ES256 credential.
struct Authenticator {
    key: EcdsaKeyPair,
    credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    counter: u32,
    /// Whether it verifies the user (PIN, biometric).
    uv: bool,
    /// The origin its browser reports.
    origin: String,
    /// The RP ID whose hash it puts in the authenticator data.
    rp_id: String,
}

/// CBOR head of major type `major` with argument `n` (< 65536).
fn head(major: u8, n: usize) -> Vec<u8> {
    match n {
        0..=23 => vec![major << 5 | n as u8],
        24..=255 => vec![major << 5 | 24, n as u8],
        _ => vec![major << 5 | 25, (n >> 8) as u8, n as u8],
    }
}

fn text(s: &str) -> Vec<u8> {
    let mut out = head(3, s.len());
    out.extend_from_slice(s.as_bytes());
    out
}

impl Authenticator {
    fn new() -> Authenticator {
        Authenticator {
            key: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap(),
            credential_id: latchkey_core::id::new_id().into_bytes(),
            user_handle: Vec::new(),
            counter: 0,
            uv: true,
            origin: ISSUER.into(),
            rp_id: RP_ID.into(),
        }
    }

    /// The COSE_Key of the credential (EC2, ES256, P-256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        out.extend_from_slice(&point[1..33]);
        out.extend_from_slice(&[0x22, 0x58, 0x20]);
        out.extend_from_slice(&point[33..65]);
        out
    }

    fn auth_data(&self, attested: bool) -> Vec<u8> {
        let mut flags = 0x01;
        if self.uv {
            flags |= 0x04;
        }
        if attested {
            flags |= 0x40;
        }
        let mut out = sha256(self.rp_id.as_bytes());
        out.push(flags);
        out.extend_from_slice(&self.counter.to_be_bytes());
        if attested {
            out.extend_from_slice(&[0u8; 16]);
            out.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
            out.extend_from_slice(&self.credential_id);
            out.extend_from_slice(&self.cose_key());
        }
        out
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// `navigator.credentials.create` with `options` (the server's answer
    /// to `register/start`): `credential.toJSON()`.
    fn create(&mut self, options: &Value) -> Value {
        let o = &options["publicKey"];
        assert_eq!(o["rp"]["id"], RP_ID, "{o}");
        self.user_handle = B64.decode(o["user"]["id"].as_str().unwrap()).unwrap();
        let client_data = self.client_data("webauthn.create", o["challenge"].as_str().unwrap());
        let auth_data = self.auth_data(true);
        let mut object = vec![0xa3];
        object.extend(text("fmt"));
        object.extend(text("none"));
        object.extend(text("attStmt"));
        object.push(0xa0);
        object.extend(text("authData"));
        object.extend(head(2, auth_data.len()));
        object.extend(auth_data);
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "attestationObject": B64.encode(&object),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
    }

    /// `navigator.credentials.get` with `options` (the answer to
    /// `login/start`): `credential.toJSON()`. The counter grows by one.
    fn get(&mut self, options: &Value) -> Value {
        self.counter += 1;
        self.assert(options)
    }

    /// As [`Authenticator::get`], with the counter as it is.
    fn assert(&self, options: &Value) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        let client_data = self.client_data("webauthn.get", challenge);
        let auth_data = self.auth_data(false);
        let mut message = auth_data.clone();
        message.extend(sha256(&client_data));
        let signature = self.key.sign(&SystemRandom::new(), &message).unwrap();
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": B64.encode(&client_data),
                "authenticatorData": B64.encode(&auth_data),
                "signature": B64.encode(signature.as_ref()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
    }
}

/// A new account signed in with its password (bearer); its id and token.
async fn account(app: &TestApp, tag: &str) -> (String, String, String) {
    let email = unique(tag);
    let id = app.register(&email, PASSWORD).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (email, id, token)
}

async fn register(app: &TestApp, token: &str, auth: &mut Authenticator) -> TestResponse {
    let r = app
        .send("POST", "/v1/account/passkeys/register/start", Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let credential = auth.create(&r.json());
    app.json(
        "POST",
        "/v1/account/passkeys/register/finish",
        json!({"credential": credential, "name": "Laptop"}),
        Some(token),
    )
    .await
}

async fn registered(app: &TestApp, token: &str) -> Authenticator {
    let mut auth = Authenticator::new();
    let r = register(app, token, &mut auth).await;
    assert_eq!(r.status, 201, "{}", r.text());
    auth
}

async fn login_start(app: &TestApp, body: Value) -> Value {
    let r = app
        .json("POST", "/v1/auth/passkeys/login/start", body, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn login_finish(app: &TestApp, credential: Value) -> TestResponse {
    app.json(
        "POST",
        "/v1/auth/passkeys/login/finish",
        json!({ "credential": credential }),
        None,
    )
    .await
}

fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

fn assert_refused(r: &TestResponse) {
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.code(), "invalid_passkey", "{}", r.text());
}

async fn a_passkey_registers_and_signs_in_as_two_factors(app: TestApp) {
    let (email, id, token) = account(&app, "pk").await;
    let mut auth = registered(&app, &token).await;
    let list = app.send("GET", "/v1/account/passkeys", Some(&token)).await;
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], "Laptop");
    assert_eq!(list[0]["last_used_at"], Value::Null);
    assert_eq!(auth.user_handle, id.as_bytes(), "the user handle is the id");
    // the owner is told (a passkey is a way in and a second factor)
    app.run_jobs().await;
    let mails = latchkey_testkit::mailbox::messages_to(&email);
    assert!(
        mails
            .iter()
            .any(|m| m.text.contains("A passkey named") && m.text.contains("Laptop")),
        "the passkey notice: {:?}",
        mails
            .iter()
            .map(|m| m.header("subject"))
            .collect::<Vec<_>>()
    );

    // discoverable: no address typed
    let options = login_start(&app, json!({})).await;
    assert_eq!(options["publicKey"]["rpId"], RP_ID);
    assert_eq!(options["publicKey"]["allowCredentials"], json!([]));
    let r = login_finish(&app, auth.get(&options)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], id.as_str());
    assert_eq!(c["amr"], json!(["hwk", "user", "mfa"]), "{c}");
    assert_eq!(c["acr"], "aal2", "{c}");

    // for an address: its passkeys are listed
    let options = login_start(&app, json!({ "email": email })).await;
    let allowed = &options["publicKey"]["allowCredentials"];
    assert_eq!(
        allowed[0]["id"],
        B64.encode(&auth.credential_id),
        "{allowed}"
    );
    let r = login_finish(&app, auth.get(&options)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = app.send("GET", "/v1/account/passkeys", Some(&token)).await;
    assert!(list.json()[0]["last_used_at"].is_string());

    // an unknown address gets an answer of the same shape
    let options = login_start(&app, json!({"email": unique("nobody")})).await;
    assert_eq!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_refused(&login_finish(&app, auth.get(&options)).await);
}

async fn a_challenge_works_once(app: TestApp) {
    let (_, _, token) = account(&app, "replay").await;
    let mut auth = registered(&app, &token).await;
    let options = login_start(&app, json!({})).await;
    let answer = auth.get(&options);
    assert_eq!(login_finish(&app, answer.clone()).await.status, 200);
    assert_refused(&login_finish(&app, answer).await);
    // a challenge five minutes old is dead
    let options = login_start(&app, json!({})).await;
    app.clock.advance(Duration::minutes(5));
    assert_refused(&login_finish(&app, auth.get(&options)).await);
    // a registration challenge does not sign in
    let r = app
        .send("POST", "/v1/account/passkeys/register/start", Some(&token))
        .await;
    assert_refused(&login_finish(&app, auth.get(&r.json())).await);
}

async fn a_wrong_origin_or_rp_id_is_refused(app: TestApp) {
    let (_, _, token) = account(&app, "origin").await;
    let mut auth = registered(&app, &token).await;
    auth.origin = "https://evil.example".into();
    let options = login_start(&app, json!({})).await;
    assert_refused(&login_finish(&app, auth.get(&options)).await);
    auth.origin = ISSUER.into();
    auth.rp_id = "evil.example".into();
    let options = login_start(&app, json!({})).await;
    assert_refused(&login_finish(&app, auth.get(&options)).await);
    // nor does a registration from another origin succeed
    let mut other = Authenticator::new();
    other.origin = "http://latchkey.test.evil.example".into();
    assert_refused(&register(&app, &token, &mut other).await);
    auth.rp_id = RP_ID.into();
    let options = login_start(&app, json!({})).await;
    assert_eq!(login_finish(&app, auth.get(&options)).await.status, 200);
}

async fn a_counter_that_does_not_grow_is_refused(app: TestApp) {
    let (_, id, token) = account(&app, "clone").await;
    let mut auth = registered(&app, &token).await;
    let options = login_start(&app, json!({})).await;
    assert_eq!(login_finish(&app, auth.get(&options)).await.status, 200);
    // a clone that signs with the counter the server saw last
    let options = login_start(&app, json!({})).await;
    assert_refused(&login_finish(&app, auth.assert(&options)).await);
    auth.counter -= 1;
    let options = login_start(&app, json!({})).await;
    assert_refused(&login_finish(&app, auth.assert(&options)).await);
    let rows = app.all_rows_as_text().await;
    assert!(rows.contains("sign_count_regressed"), "audited");
    assert!(rows.contains(&id));
    // the real authenticator, counting on, still works
    auth.counter += 1;
    let options = login_start(&app, json!({})).await;
    assert_eq!(login_finish(&app, auth.get(&options)).await.status, 200);
}

async fn without_user_verification_the_second_factor_is_still_asked(app: TestApp) {
    let (_, _, token) = account(&app, "nouv").await;
    let mut auth = registered(&app, &token).await;
    auth.uv = false;
    // no second factor: one factor, aal1
    let options = login_start(&app, json!({})).await;
    let r = login_finish(&app, auth.get(&options)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(c["amr"], json!(["hwk"]), "{c}");
    assert_ne!(c["acr"], "aal2", "{c}");
    // with TOTP on, a passkey without UV is the first factor only
    let r = app.send("POST", "/v1/account/mfa/totp", Some(&token)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let secret = r.json()["secret"].as_str().unwrap().to_owned();
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            json!({"code": app.totp_code(&secret, 0)}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let options = login_start(&app, json!({})).await;
    let r = login_finish(&app, auth.get(&options)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let first = r.json();
    assert_eq!(first["mfa_required"], true, "{first}");
    assert!(first.get("access_token").is_none());
    app.clock.advance(Duration::seconds(30));
    let r = app
        .json(
            "POST",
            "/v1/auth/login/mfa",
            json!({"mfa_token": first["mfa_token"], "method": "totp", "code": app.totp_code(&secret, 0)}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(c["acr"], "aal2", "{c}");
    // with UV the passkey is both factors
    auth.uv = true;
    let options = login_start(&app, json!({})).await;
    let r = login_finish(&app, auth.get(&options)).await;
    assert!(r.json()["access_token"].is_string(), "{}", r.text());
}

async fn another_accounts_passkey_is_refused_and_not_found(app: TestApp) {
    let (alice, _, alice_token) = account(&app, "alice").await;
    let _alice_key = registered(&app, &alice_token).await;
    let (_, _, bob_token) = account(&app, "bob").await;
    let mut bob_key = registered(&app, &bob_token).await;
    // a sign-in started for Alice answered by Bob's passkey
    let options = login_start(&app, json!({ "email": alice })).await;
    assert_refused(&login_finish(&app, bob_key.get(&options)).await);
    // a user handle that is not the credential's
    let mut forged = bob_key.get(&login_start(&app, json!({})).await);
    forged["response"]["userHandle"] = json!(B64.encode(b"someone-else"));
    assert_refused(&login_finish(&app, forged).await);
    // Alice's passkey is not Bob's to see, rename or delete
    let alice_list = app
        .send("GET", "/v1/account/passkeys", Some(&alice_token))
        .await
        .json();
    let alice_id = alice_list[0]["id"].as_str().unwrap();
    let path = format!("/v1/account/passkeys/{alice_id}");
    let r = app
        .json("PATCH", &path, json!({"name": "mine"}), Some(&bob_token))
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = app.send("DELETE", &path, Some(&bob_token)).await;
    assert_eq!(r.status, 404, "{}", r.text());
    // Alice renames and removes her own
    let r = app
        .json("PATCH", &path, json!({"name": "Phone"}), Some(&alice_token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "Phone");
    let r = app
        .json("PATCH", &path, json!({"name": ""}), Some(&alice_token))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        app.send("DELETE", &path, Some(&alice_token)).await.status,
        204
    );
    assert_eq!(
        app.send("DELETE", &path, Some(&alice_token)).await.status,
        404
    );
}

async fn registration_needs_a_recent_sign_in_and_excludes_known_credentials(app: TestApp) {
    let (_, _, token) = account(&app, "recent").await;
    let mut auth = registered(&app, &token).await;
    let r = app
        .send("POST", "/v1/account/passkeys/register/start", Some(&token))
        .await;
    let excluded = &r.json()["publicKey"]["excludeCredentials"];
    assert_eq!(
        excluded[0]["id"],
        B64.encode(&auth.credential_id),
        "{excluded}"
    );
    let again = register(&app, &token, &mut auth).await;
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(again.code(), "passkey_registered");
    // another account's registration challenge is not this one's
    let (_, _, other_token) = account(&app, "other").await;
    let r = app
        .send(
            "POST",
            "/v1/account/passkeys/register/start",
            Some(&other_token),
        )
        .await;
    let stolen = Authenticator::new().create(&r.json());
    let r = app
        .json(
            "POST",
            "/v1/account/passkeys/register/finish",
            json!({ "credential": stolen }),
            Some(&token),
        )
        .await;
    assert_refused(&r);
    app.clock.advance(Duration::minutes(11));
    let r = app
        .send("POST", "/v1/account/passkeys/register/start", Some(&token))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.code(), "reauth_required");
}

async fn in_cookie_mode_the_ceremony_finishes_only_in_its_browser(app: TestApp) {
    let (_, _, token) = account(&app, "cookie").await;
    let mut auth = registered(&app, &token).await;
    let post = |body: Value, cookie: Option<String>| {
        let mut req = Request::post("/v1/auth/passkeys/login/finish")
            .header("content-type", "application/json")
            .header("origin", ISSUER);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.body(Body::from(body.to_string())).unwrap()
    };
    let start = app
        .call(
            Request::post("/v1/auth/passkeys/login/start")
                .header("content-type", "application/json")
                .body(Body::from(json!({"mode": "cookie"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(start.status, 200, "{}", start.text());
    let set = start.header("set-cookie").unwrap().to_owned();
    assert!(set.starts_with("latchkey_passkey="), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let answer = auth.get(&start.json());
    let elsewhere = app
        .call(post(
            json!({"credential": answer.clone(), "mode": "cookie"}),
            None,
        ))
        .await;
    assert_refused(&elsewhere);
    // the refusal burnt the challenge: start again, finish in this browser
    let start = app
        .call(
            Request::post("/v1/auth/passkeys/login/start")
                .header("content-type", "application/json")
                .body(Body::from(json!({"mode": "cookie"}).to_string()))
                .unwrap(),
        )
        .await;
    let cookie2 = start
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(cookie, cookie2);
    let answer = auth.get(&start.json());
    let r = app
        .call(post(
            json!({"credential": answer, "mode": "cookie"}),
            Some(cookie2),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["csrf_token"].is_string(), "{}", r.text());
}

async fn the_pages_offer_passkeys_with_a_script_of_their_own(app: TestApp) {
    let login = app.get("/login").await;
    assert_eq!(login.status, 200);
    let html = login.text();
    assert!(
        html.contains(r#"autocomplete="username webauthn""#),
        "autofill"
    );
    assert!(html.contains(r#"id="passkey-signin""#));
    assert!(html.contains(r#"src="/assets/latchkey-passkeys.js""#));
    assert!(!html.contains("<script>"), "no inline script");
    // without sign-up on the way, /register offers no passkey sign-up
    let register = app.get("/register").await.text();
    assert!(!register.contains(r#"id="passkey-signup""#), "{register}");
    let script = app.get("/assets/latchkey-passkeys.js").await;
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text().contains("/v1/auth/passkeys/login/start"));
    let (email, _, token) = account(&app, "page").await;
    // signed in before the passkey: after it, a password asks for it too
    let cookie = app.login_cookie(&email, PASSWORD).await;
    let _auth = registered(&app, &token).await;
    let page = app
        .call(
            Request::get("/account")
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains(r#"id="passkeys""#), "the passkeys section");
    assert!(
        html.contains("<strong>Laptop</strong>"),
        "lists the passkey"
    );
    assert!(html.contains(r#"id="passkey-add""#));
}

/// The id of the account's first passkey.
async fn first_passkey(app: &TestApp, token: &str) -> String {
    let list = app.send("GET", "/v1/account/passkeys", Some(token)).await;
    assert_eq!(list.status, 200, "{}", list.text());
    list.json()[0]["id"].as_str().unwrap().to_owned()
}

/// The last-way-in rule at the passkey door (sign-in by mail off): once
/// the password is gone, the only passkey cannot be deleted; a second one
/// can, and the last again cannot.
async fn the_last_passkey_of_an_account_without_a_password_stays(app: TestApp) {
    let (_, _, token) = account(&app, "only-passkey").await;
    let mut first = registered(&app, &token).await;
    let first_id = first_passkey(&app, &token).await;
    let r = app
        .send("DELETE", "/v1/account/password", Some(&token))
        .await;
    assert_eq!(r.status, 204, "the passkey remains: {}", r.text());
    let path = format!("/v1/account/passkeys/{first_id}");
    let r = app.send("DELETE", &path, Some(&token)).await;
    assert_eq!((r.status.as_u16(), r.code().as_str()), (409, "last_way_in"));
    // it still signs in
    let r = login_finish(&app, first.get(&login_start(&app, json!({})).await)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // with a second passkey the first may go, and then the second may not
    let mut second = Authenticator::new();
    let r = register(&app, &token, &mut second).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(app.send("DELETE", &path, Some(&token)).await.status, 204);
    let second_id = first_passkey(&app, &token).await;
    let r = app
        .send(
            "DELETE",
            &format!("/v1/account/passkeys/{second_id}"),
            Some(&token),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.code().as_str()), (409, "last_way_in"));
}

/// Two doors at once (sign-in by mail off): the password and the only
/// passkey removed concurrently, in several rounds. At most one removal
/// succeeds each time, the other answers 409 `last_way_in`, and the
/// account can still sign in with what is left.
async fn concurrent_removals_of_the_last_two_ways_in_leave_one(app: TestApp) {
    for round in 0..5 {
        let (email, _, token) = account(&app, &format!("race{round}")).await;
        let mut key = registered(&app, &token).await;
        let path = format!("/v1/account/passkeys/{}", first_passkey(&app, &token).await);
        let (password, passkey) = tokio::join!(
            app.send("DELETE", "/v1/account/password", Some(&token)),
            app.send("DELETE", &path, Some(&token)),
        );
        let statuses = [password.status.as_u16(), passkey.status.as_u16()];
        assert!(
            statuses == [204, 409] || statuses == [409, 204],
            "{statuses:?}: {} / {}",
            password.text(),
            passkey.text()
        );
        let refused = if statuses[0] == 409 {
            &password
        } else {
            &passkey
        };
        assert_eq!(refused.code(), "last_way_in");
        if statuses[0] == 204 {
            let r = login_finish(&app, key.get(&login_start(&app, json!({})).await)).await;
            assert_eq!(r.status, 200, "the passkey still signs in: {}", r.text());
        } else {
            let status = login_status(&app, &email, PASSWORD).await;
            assert_eq!(status, 200, "the password still signs in");
        }
    }
}

/// Signs in with the password: the answer must be `mfa_required`.
async fn password_first(app: &TestApp, email: &str) -> Value {
    let first = super::mfa::password_step(app, email).await;
    assert_eq!(first["mfa_required"], true, "{first}");
    first
}

async fn mfa_options(app: &TestApp, mfa_token: &Value) -> TestResponse {
    app.json(
        "POST",
        "/v1/auth/login/mfa/webauthn/options",
        json!({ "mfa_token": mfa_token }),
        None,
    )
    .await
}

async fn mfa_answer(app: &TestApp, mfa_token: &Value, credential: Value) -> TestResponse {
    app.json(
        "POST",
        "/v1/auth/login/mfa",
        json!({"mfa_token": mfa_token, "method": "webauthn", "credential": credential}),
        None,
    )
    .await
}

async fn a_passkey_is_the_second_factor_after_a_password(app: TestApp) {
    let (email, id, token) = account(&app, "second").await;
    let mut auth = registered(&app, &token).await;
    // any registered passkey is a second factor: the password alone is not enough
    let first = password_first(&app, &email).await;
    assert_eq!(first["methods"], json!(["webauthn"]), "{first}");
    assert!(first.get("access_token").is_none());
    let r = mfa_options(&app, &first["mfa_token"]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let options = r.json();
    assert_eq!(options["publicKey"]["rpId"], RP_ID);
    assert_eq!(
        options["publicKey"]["allowCredentials"][0]["id"],
        B64.encode(&auth.credential_id),
        "{options}"
    );
    // without user verification too: here it is the second factor
    auth.uv = false;
    let answer = auth.get(&options);
    let r = mfa_answer(&app, &first["mfa_token"], answer.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], id.as_str());
    assert_eq!(c["amr"], json!(["pwd", "hwk", "mfa"]), "{c}");
    assert_eq!(c["acr"], "aal2", "{c}");
    // the token and the challenge work once
    let again = mfa_answer(&app, &first["mfa_token"], answer).await;
    assert_eq!(again.status, 401, "{}", again.text());
    assert_eq!(again.code(), "invalid_mfa_token");
    let r = mfa_options(&app, &first["mfa_token"]).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (401, "invalid_mfa_token".into())
    );
    // a code is no way around it, and a passkey needs its credential
    let first = password_first(&app, &email).await;
    for body in [
        json!({"mfa_token": first["mfa_token"], "method": "totp", "code": "123456"}),
        json!({"mfa_token": first["mfa_token"], "method": "webauthn", "code": "123456"}),
    ] {
        let r = app.json("POST", "/v1/auth/login/mfa", body, None).await;
        assert!(matches!(r.status.as_u16(), 400 | 422), "{}", r.text());
    }
    // with TOTP too, both are offered; a passkey without UV as the first
    // step is not offered again as the second
    let r = app.send("POST", "/v1/account/mfa/totp", Some(&token)).await;
    let secret = r.json()["secret"].as_str().unwrap().to_owned();
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            json!({"code": app.totp_code(&secret, 0)}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let first = password_first(&app, &email).await;
    assert_eq!(
        first["methods"],
        json!(["totp", "backup_code", "webauthn"]),
        "{first}"
    );
    let r = login_finish(&app, auth.get(&login_start(&app, json!({})).await)).await;
    let first = r.json();
    assert_eq!(first["methods"], json!(["totp", "backup_code"]), "{first}");
    let r = mfa_options(&app, &first["mfa_token"]).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (400, "method_unavailable".into())
    );
}

async fn a_wrong_passkey_answer_uses_an_attempt_of_the_mfa_token(app: TestApp) {
    let (email, id, token) = account(&app, "attempts").await;
    let mut auth = registered(&app, &token).await;
    let (_, _, other_token) = account(&app, "attempts-other").await;
    let mut other = registered(&app, &other_token).await;
    let first = password_first(&app, &email).await;
    let token_a = &first["mfa_token"];
    // a challenge of another sign-in's token, one of a passkey sign-in,
    // another account's passkey, a wrong origin, a bad signature: each
    // refused, each an attempt of the token
    let second = password_first(&app, &email).await;
    let of_b = mfa_options(&app, &second["mfa_token"]).await.json();
    let discoverable = login_start(&app, json!({})).await;
    let fresh = password_first(&app, &email).await;
    let o1 = mfa_options(&app, token_a).await.json();
    let o2 = mfa_options(&app, token_a).await.json();
    let o3 = mfa_options(&app, token_a).await.json();
    let mut bad_signature = auth.get(&o3);
    bad_signature["response"]["signature"] = json!(B64.encode([0x30, 0x06, 2, 1, 1, 2, 1, 1]));
    let wrong_origin = {
        auth.origin = "https://evil.example".into();
        let a = auth.get(&o2);
        auth.origin = ISSUER.into();
        a
    };
    for answer in [
        auth.get(&of_b),
        auth.get(&discoverable),
        other.get(&o1),
        wrong_origin,
        bad_signature,
    ] {
        let r = mfa_answer(&app, token_a, answer).await;
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(r.code(), "invalid_passkey", "{}", r.text());
    }
    // five wrong answers: the token is dead, even for a right one
    let r = mfa_options(&app, token_a).await;
    assert_eq!(r.code(), "invalid_mfa_token", "{}", r.text());
    let options = mfa_options(&app, &fresh["mfa_token"]).await.json();
    let right = auth.get(&options);
    let r = mfa_answer(&app, token_a, right.clone()).await;
    assert_eq!(r.code(), "invalid_mfa_token", "{}", r.text());
    // a second-factor challenge does not sign in at the passkey sign-in
    assert_refused(&login_finish(&app, right).await);
    let rows = app.all_rows_as_text().await;
    assert!(rows.contains("mfa.failed"), "audited");
    assert!(rows.contains(&id));
    // the failures were charged to the account's counters too
    let failures = app
        .store
        .login_failures(&format!("user:{id}"))
        .await
        .unwrap()
        .map(|f| f.failures)
        .unwrap_or(0);
    assert!(failures >= 5, "{failures}");
}

async fn the_mfa_page_takes_a_passkey_in_its_browser(app: TestApp) {
    use super::mfa::{cookie_of, hidden, page_password_step};
    let (email, _, token) = account(&app, "mfa-page").await;
    let mut auth = registered(&app, &token).await;
    let (page, browser) = page_password_step(&app, &email, "/account/activity").await;
    let html = page.text();
    for part in [
        r#"id="passkey-form""#,
        r#"id="passkey-mfa""#,
        r#"name="method" value="webauthn""#,
        r#"src="/assets/latchkey-passkeys.js""#,
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert!(
        !html.contains(r#"id="totp-form""#),
        "no TOTP on this account"
    );
    assert!(!html.contains("<script>"), "no inline script");
    let script = app.get("/assets/latchkey-passkeys.js").await.text();
    assert!(script.contains("/v1/auth/login/mfa/webauthn/options"));
    let mfa_token = hidden(&page, "mfa_token");
    // the options, as the script asks for them: in this browser only
    let options = |cookie: &str| {
        Request::post("/v1/auth/login/mfa/webauthn/options")
            .header("content-type", "application/json")
            .header("origin", ISSUER)
            .header("cookie", cookie)
            .body(Body::from(
                json!({"mfa_token": mfa_token, "mode": "cookie"}).to_string(),
            ))
            .unwrap()
    };
    let elsewhere = app.call(options("latchkey_mfa=another")).await;
    assert_eq!(
        elsewhere.code(),
        "invalid_mfa_token",
        "{}",
        elsewhere.text()
    );
    let r = app.call(options(&browser.cookie)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let credential = auth.get(&r.json());
    let form = |credential: &Value| {
        format!(
            "mfa_token={mfa_token}&method=webauthn&return_to=/account/activity&credential={}",
            percent_encoding::utf8_percent_encode(
                &credential.to_string(),
                percent_encoding::NON_ALPHANUMERIC
            )
        )
    };
    // a forged answer: the form again, the sign-in goes on
    let mut forged = credential.clone();
    forged["response"]["signature"] = json!(B64.encode([0x30, 0x06, 2, 1, 1, 2, 1, 1]));
    let r = app.post_page("/mfa", &browser, &form(&forged)).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains(r#"id="passkey-mfa""#), "{}", r.text());
    assert_eq!(cookie_of(&r, "latchkey_session"), None);
    // the right one (a new challenge: the refused answer burnt its own)
    let r = app.call(options(&browser.cookie)).await;
    let credential = auth.get(&r.json());
    let r = app.post_page("/mfa", &browser, &form(&credential)).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account/activity"));
    let session = cookie_of(&r, "latchkey_session").expect("a session cookie");
    let s = app
        .call(
            Request::get("/v1/auth/session")
                .header("cookie", &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s.json()["amr"], json!(["pwd", "hwk", "mfa"]));
}

/// A sign-up ticket for `email`, from a mailed code used with `intent: signup`.
async fn signup_ticket(app: &TestApp, email: &str) -> String {
    use super::passwordless::{ask_code, mailed_code};
    ask_code(app, email).await;
    let code = mailed_code(app, email).await;
    let r = app
        .json(
            "POST",
            "/v1/auth/email-otp/verify",
            json!({"email": email, "code": code, "intent": "signup"}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert!(body.get("access_token").is_none(), "no session: {body}");
    body["signup_ticket"].as_str().unwrap().to_owned()
}

async fn signup_start(app: &TestApp, ticket: &str) -> TestResponse {
    app.json(
        "POST",
        "/v1/auth/passkeys/signup/start",
        json!({ "signup_ticket": ticket }),
        None,
    )
    .await
}

async fn signup_finish(app: &TestApp, ticket: &str, credential: Value) -> TestResponse {
    app.json(
        "POST",
        "/v1/auth/passkeys/signup/finish",
        json!({"signup_ticket": ticket, "credential": credential, "name": "Phone"}),
        None,
    )
    .await
}

async fn a_passkey_only_account_signs_up_with_a_mailed_code_and_back_in(app: TestApp) {
    let email = unique("passkey-only");
    let lookup = latchkey_core::user::normalize_email(&email);
    let ticket = signup_ticket(&app, &email).await;
    assert!(
        app.store.user_by_email(&lookup).await.unwrap().is_none(),
        "no account before the passkey"
    );
    let r = signup_start(&app, &ticket).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let options = r.json();
    assert_eq!(options["publicKey"]["user"]["name"], lookup.as_str());
    let mut auth = Authenticator::new();
    let r = signup_finish(&app, &ticket, auth.create(&options)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(c["amr"], json!(["hwk", "user", "mfa"]), "{c}");
    let user = app
        .store
        .user_by_email(&lookup)
        .await
        .unwrap()
        .expect("the account");
    assert_eq!(c["sub"], user.id.as_str());
    assert_eq!(auth.user_handle, user.id.as_bytes(), "the handle is the id");
    assert!(user.email_verified, "the mail proved it");
    assert!(user.password_hash.is_none(), "no password");
    // and back in, with nothing typed
    let r = login_finish(&app, auth.get(&login_start(&app, json!({})).await)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], user.id.as_str());
    // the ticket made one account: used, it starts and finishes nothing
    let r = signup_start(&app, &ticket).await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (400, "invalid_signup_ticket".into())
    );
    let rows = app.all_rows_as_text().await;
    assert!(rows.contains("user.registered") && rows.contains("passkey.added"));
}

async fn a_passkey_sign_up_without_a_valid_ticket_is_refused(app: TestApp) {
    // the page offers it, run by the passkeys script (no inline script)
    let register = app.get("/register").await.text();
    for part in [
        r#"id="passkey-signup""#,
        r#"id="passkey-signup-create""#,
        r#"src="/assets/latchkey-passkeys.js""#,
    ] {
        assert!(register.contains(part), "{part}: {register}");
    }
    assert!(!register.contains("<script>"), "no inline script");
    let script = app.get("/assets/latchkey-passkeys.js").await.text();
    assert!(script.contains("/v1/auth/passkeys/signup/finish"));
    let refused = |r: &TestResponse| {
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.code(), "invalid_signup_ticket", "{}", r.text());
    };
    // forged
    refused(&signup_start(&app, "forged-ticket").await);
    let alice = unique("alice");
    let ticket = signup_ticket(&app, &alice).await;
    let options = signup_start(&app, &ticket).await.json();
    refused(&signup_finish(&app, "forged-ticket", Authenticator::new().create(&options)).await);
    // another address's ticket: the challenge is bound to the ticket it was
    // started with, and the address comes from the ticket, never the request
    let bob = unique("bob");
    let bobs = signup_ticket(&app, &bob).await;
    let r = signup_finish(&app, &bobs, Authenticator::new().create(&options)).await;
    assert_refused(&r);
    for who in [&alice, &bob] {
        let lookup = latchkey_core::user::normalize_email(who);
        assert!(app.store.user_by_email(&lookup).await.unwrap().is_none());
    }
    // reused: one account per ticket
    let options = signup_start(&app, &bobs).await.json();
    let r = signup_finish(&app, &bobs, Authenticator::new().create(&options)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let options = signup_start(&app, &ticket).await.json();
    refused(&signup_finish(&app, &bobs, Authenticator::new().create(&options)).await);
    refused(&signup_start(&app, &bobs).await);
    // expired (10 minutes)
    let carol = unique("carol");
    let late = signup_ticket(&app, &carol).await;
    let options = signup_start(&app, &late).await.json();
    app.clock.advance(Duration::minutes(10));
    refused(&signup_start(&app, &late).await);
    let r = signup_finish(&app, &late, Authenticator::new().create(&options)).await;
    assert!(matches!(r.status.as_u16(), 400 | 401), "{}", r.text());
    // an address with an account: no ticket, and the code still signs in
    let (known, _, _) = account(&app, "known").await;
    super::passwordless::ask_code(&app, &known).await;
    let code = super::passwordless::mailed_code(&app, &known).await;
    let verify = |intent: &'static str| {
        let (app, known, code) = (&app, known.clone(), code.clone());
        async move {
            app.json(
                "POST",
                "/v1/auth/email-otp/verify",
                json!({"email": known, "code": code, "intent": intent}),
                None,
            )
            .await
        }
    };
    let r = verify("signup").await;
    assert_eq!(
        (r.status.as_u16(), r.code()),
        (409, "account_exists".into())
    );
    let r = verify("signin").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["access_token"].is_string(), "{}", r.text());
    // a magic link used with intent signup gives a ticket too
    let dave = unique("dave");
    let nonce = super::passwordless::ask_link(&app, &dave).await;
    let (token, _) = super::passwordless::mailed_link(&app, &dave).await;
    let r = app
        .call(
            Request::post("/v1/auth/magic-link/verify")
                .header("content-type", "application/json")
                .header("cookie", nonce)
                .body(Body::from(
                    json!({"token": token, "intent": "signup"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let ticket = r.json()["signup_ticket"].as_str().unwrap().to_owned();
    assert_eq!(signup_start(&app, &ticket).await.status, 200);
}
