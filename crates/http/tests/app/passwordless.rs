//! Passwordless sign-in over HTTP (issue 15): magic links and email codes,
//! mailed through the real SMTP transport to the test SMTP server
//! (`scripts/services.sh`) and read back from it. What races in the store
//! runs on both backends; the rest on SQLite.

use axum::body::Body;
use axum::http::Request;
use latchkey_core::auth::LifecycleConfig;
use latchkey_core::passwordless::PasswordlessConfig;
use latchkey_testkit::mailbox::{self, Received};
use latchkey_testkit::{ISSUER, Options, TestApp, TestResponse};
use serde_json::{Value, json};
use time::Duration;

use super::mfa::{claims, cookie_of, status_code};

latchkey_testkit::both_backends!(
    a_link_signs_in_once_in_the_browser_that_asked,
    concurrent_uses_of_one_link_start_one_session,
    the_sixth_code_attempt_fails_even_with_the_right_code,
);

latchkey_testkit::sqlite_only!(
    a_link_or_code_sign_in_marks_the_address_verified,
    sign_ins_by_link_and_code_are_counted_and_audited_by_outcome,
    known_and_unknown_addresses_get_identical_answers,
    another_browser_needs_the_code_from_the_mail,
    a_newer_link_supersedes_the_older_and_links_expire,
    redirect_to_only_to_allowed_origins,
    api_mode_needs_the_pkce_verifier,
    a_code_for_one_address_does_not_work_for_another,
    wrong_codes_count_in_the_accounts_failure_counter,
    links_and_codes_die_with_a_password_change,
    a_totp_account_gets_mfa_required_by_link_and_by_code,
    unknown_addresses_get_nothing_without_passwordless_signup,
    the_link_page_spends_nothing_until_its_button_is_pressed,
    the_login_page_mails_a_link_that_signs_in_this_browser,
    another_browser_is_asked_for_the_code_on_the_link_page,
    the_login_page_mails_a_code_and_its_form_signs_in,
    sign_up_on_the_way_creates_the_account_when_used(signup()),
    a_password_is_optional_but_never_the_last_way_in_removed(signup()),
    a_reset_sets_the_first_password_of_an_account_without_one(signup()),
    without_sign_in_by_mail_the_password_stays(without_mail_sign_in()),
    disabled_methods_are_refused(without_mail_sign_in()),
);

const PASSWORD: &str = "correct horse battery staple";
const NONCE: &str = "latchkey_magic";

pub(super) fn signup() -> Options {
    Options {
        lifecycle: LifecycleConfig {
            passwordless: PasswordlessConfig {
                signup: true,
                ..PasswordlessConfig::default()
            },
            ..LifecycleConfig::default()
        },
        ..Options::default()
    }
}

/// Magic links and email codes off: a verified address is no way in.
pub(super) fn without_mail_sign_in() -> Options {
    Options {
        lifecycle: LifecycleConfig {
            passwordless: PasswordlessConfig {
                magic_link: false,
                email_code: false,
                ..PasswordlessConfig::default()
            },
            ..LifecycleConfig::default()
        },
        ..Options::default()
    }
}

fn address(tag: &str) -> String {
    format!("{tag}-{}@example.com", latchkey_core::id::new_id())
}

async fn post(app: &TestApp, path: &str, body: Value, cookie: Option<&str>) -> TestResponse {
    let mut req = Request::post(path)
        .header("content-type", "application/json")
        .header("origin", ISSUER);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    app.call(req.body(Body::from(body.to_string())).unwrap())
        .await
}

/// Asks for a link; the nonce cookie of the asking browser.
pub(super) async fn ask_link(app: &TestApp, email: &str) -> String {
    let r = post(app, "/v1/auth/magic-link", json!({"email": email}), None).await;
    assert_eq!(r.status, 202, "{}", r.text());
    cookie_of(&r, NONCE).expect("the nonce cookie")
}

pub(super) async fn ask_code(app: &TestApp, email: &str) {
    let r = post(app, "/v1/auth/email-otp", json!({"email": email}), None).await;
    assert_eq!(r.status, 202, "{}", r.text());
}

/// The newest mail to `to`, after running the jobs.
async fn newest_mail(app: &TestApp, to: &str) -> Received {
    app.run_jobs().await;
    mailbox::messages_to(to).pop().expect("a mail")
}

/// The token and the code of the newest link mailed to `to`.
pub(super) async fn mailed_link(app: &TestApp, to: &str) -> (String, String) {
    let m = newest_mail(app, to).await;
    let token = m
        .token(&format!("{ISSUER}/magic-link?token="))
        .unwrap_or_else(|| panic!("no link in: {}", m.text));
    let code = m
        .text
        .split_once("this code: ")
        .map(|(_, rest)| rest[..6].to_owned())
        .unwrap_or_else(|| panic!("no code in: {}", m.text));
    (token, code)
}

/// The six digits of the newest code mailed to `to`.
pub(super) async fn mailed_code(app: &TestApp, to: &str) -> String {
    let m = newest_mail(app, to).await;
    m.text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in: {}", m.text))
        .to_owned()
}

async fn verify_link(app: &TestApp, body: Value, cookie: Option<&str>) -> TestResponse {
    post(app, "/v1/auth/magic-link/verify", body, cookie).await
}

async fn verify_code(app: &TestApp, email: &str, code: &str) -> TestResponse {
    post(
        app,
        "/v1/auth/email-otp/verify",
        json!({"email": email, "code": code}),
        None,
    )
    .await
}

async fn a_link_signs_in_once_in_the_browser_that_asked(app: TestApp) {
    let email = address("link");
    app.register(&email, PASSWORD).await;
    let nonce = ask_link(&app, &email).await;
    let (token, _) = mailed_link(&app, &email).await;
    let r = verify_link(&app, json!({"token": token}), Some(&nonce)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!(c["amr"], json!(["email"]), "{c}");
    let again = verify_link(&app, json!({"token": token}), Some(&nonce)).await;
    assert_eq!(status_code(&again), (400, "invalid_token".into()));
}

/// The account of `email`, and its events of type `event`, oldest first.
async fn events_of(
    app: &TestApp,
    email: &str,
    event: &str,
) -> (
    latchkey_core::user::User,
    Vec<latchkey_core::audit::AuditEvent>,
) {
    let user = app
        .store
        .user_by_email(email)
        .await
        .unwrap()
        .expect("the account");
    let query = latchkey_core::audit::AuditQuery {
        subject_id: Some(user.id.clone()),
        events: vec![event.into()],
        oldest_first: true,
        limit: 100,
        ..Default::default()
    };
    let events = app.store.audit_events(&query).await.unwrap();
    (user, events)
}

/// Whether the account of `email` is verified, and its `email.verified` events.
async fn verified(app: &TestApp, email: &str) -> (bool, usize) {
    let (user, events) = events_of(app, email, "email.verified").await;
    (user.email_verified, events.len())
}

/// Another code than `code` (its first digit changed).
fn wrong_code(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

/// A used link or code proves the mailbox: the address of an account
/// registered with a password (unverified) becomes verified, recorded as
/// `email.verified`.
async fn a_link_or_code_sign_in_marks_the_address_verified(app: TestApp) {
    let by_link = address("verify-link");
    app.register(&by_link, PASSWORD).await;
    assert_eq!(verified(&app, &by_link).await, (false, 0));
    let nonce = ask_link(&app, &by_link).await;
    let (token, _) = mailed_link(&app, &by_link).await;
    let r = verify_link(&app, json!({"token": token}), Some(&nonce)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        verified(&app, &by_link).await,
        (true, 1),
        "a link proves the mailbox"
    );

    let by_code = address("verify-code");
    app.register(&by_code, PASSWORD).await;
    ask_code(&app, &by_code).await;
    let code = mailed_code(&app, &by_code).await;
    let wrong = wrong_code(&code);
    let r = verify_code(&app, &by_code, &wrong).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(
        verified(&app, &by_code).await,
        (false, 0),
        "a wrong code proves nothing"
    );
    let r = verify_code(&app, &by_code, &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        verified(&app, &by_code).await,
        (true, 1),
        "a code proves the mailbox"
    );
    // a second sign-in records nothing new
    ask_code(&app, &by_code).await;
    let code = mailed_code(&app, &by_code).await;
    assert_eq!(verify_code(&app, &by_code, &code).await.status, 200);
    assert_eq!(verified(&app, &by_code).await, (true, 1));
}

/// Whether `/metrics` has counted a sign-in by `method` with `outcome`.
async fn counted(app: &TestApp, method: &str, outcome: &str) -> bool {
    let text = app.get("/metrics").await.text();
    text.lines().any(|l| {
        l.starts_with("latchkey_passwordless_sign_ins_total{")
            && l.contains(&format!("method=\"{method}\""))
            && l.contains(&format!("outcome=\"{outcome}\""))
    })
}

/// The outcomes of the `login.failed` events about the account of `email`.
async fn failed_outcomes(app: &TestApp, email: &str) -> Vec<String> {
    let (_, events) = events_of(app, email, "login.failed").await;
    events
        .iter()
        .map(|e| e.details["outcome"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// `latchkey_passwordless_sign_ins_total` by method and outcome, each
/// refusal also a `login.failed` event naming it: a wrong code, a sixth
/// attempt, a used, superseded, expired and unknown link, and successes.
async fn sign_ins_by_link_and_code_are_counted_and_audited_by_outcome(app: TestApp) {
    let by_code = address("count-code");
    app.register(&by_code, PASSWORD).await;
    ask_code(&app, &by_code).await;
    let code = mailed_code(&app, &by_code).await;
    let wrong = wrong_code(&code);
    for _ in 0..5 {
        assert_eq!(verify_code(&app, &by_code, &wrong).await.status, 401);
    }
    assert_eq!(verify_code(&app, &by_code, &code).await.status, 401);
    let mut expected = vec!["wrong_code"; 5];
    expected.push("attempts_exhausted");
    assert_eq!(failed_outcomes(&app, &by_code).await, expected);

    // a right code, for another account (this one is throttled now)
    let ok = address("count-success");
    app.register(&ok, PASSWORD).await;
    ask_code(&app, &ok).await;
    let code = mailed_code(&app, &ok).await;
    assert_eq!(verify_code(&app, &ok, &code).await.status, 200);

    let by_link = address("count-link");
    app.register(&by_link, PASSWORD).await;
    ask_link(&app, &by_link).await;
    let (superseded, _) = mailed_link(&app, &by_link).await;
    let nonce = ask_link(&app, &by_link).await; // this browser's nonce now
    let (token, _) = mailed_link(&app, &by_link).await;
    let link = |token: &str| json!({ "token": token });
    assert_eq!(
        verify_link(&app, link(&superseded), Some(&nonce))
            .await
            .status,
        400
    );
    assert_eq!(
        verify_link(&app, link(&token), Some(&nonce)).await.status,
        200
    );
    assert_eq!(
        verify_link(&app, link(&token), Some(&nonce)).await.status,
        400
    );
    let nonce = ask_link(&app, &by_link).await;
    let (late, _) = mailed_link(&app, &by_link).await;
    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        verify_link(&app, link(&late), Some(&nonce)).await.status,
        400
    );
    assert_eq!(
        verify_link(&app, link("no-such-link"), None).await.status,
        400
    );
    assert_eq!(
        failed_outcomes(&app, &by_link).await,
        ["used", "used", "expired"],
        "superseded, reused, expired"
    );

    for (method, outcome) in [
        ("email_code", "wrong_code"),
        ("email_code", "attempts_exhausted"),
        ("email_code", "success"),
        ("magic_link", "success"),
        ("magic_link", "used"),
        ("magic_link", "expired"),
        ("magic_link", "unknown"),
    ] {
        assert!(counted(&app, method, outcome).await, "{method} {outcome}");
    }
}

async fn concurrent_uses_of_one_link_start_one_session(app: TestApp) {
    let email = address("race");
    let user = app.register(&email, PASSWORD).await;
    let nonce = ask_link(&app, &email).await;
    let (token, _) = mailed_link(&app, &email).await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (app, token, nonce) = (app.clone(), token.clone(), nonce.clone());
            tokio::spawn(async move {
                verify_link(&app, json!({"token": token}), Some(&nonce))
                    .await
                    .status
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![200], vec![400; 9]].concat());
    let sessions = app
        .auth
        .user_sessions(user["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
}

async fn the_sixth_code_attempt_fails_even_with_the_right_code(app: TestApp) {
    let email = address("code");
    app.register(&email, PASSWORD).await;
    ask_code(&app, &email).await;
    let code = mailed_code(&app, &email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let r = verify_code(&app, &email, wrong).await;
        assert_eq!(status_code(&r), (401, "invalid_code".into()));
    }
    let r = verify_code(&app, &email, &code).await;
    assert_eq!(
        status_code(&r),
        (401, "invalid_code".into()),
        "the code died"
    );
    // after the failures' delay, a new code works, once
    app.clock.advance(Duration::hours(1));
    ask_code(&app, &email).await;
    let code = mailed_code(&app, &email).await;
    let r = verify_code(&app, &email, &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        claims(r.json()["access_token"].as_str().unwrap())["amr"],
        json!(["email"])
    );
    let r = verify_code(&app, &email, &code).await;
    assert_eq!(status_code(&r), (401, "invalid_code".into()));
}

async fn known_and_unknown_addresses_get_identical_answers(app: TestApp) {
    let known = address("known");
    let unknown = address("unknown");
    app.register(&known, PASSWORD).await;
    app.run_jobs().await;
    for (path, extra) in [
        ("/v1/auth/magic-link", json!({"redirect_to": "/account"})),
        ("/v1/auth/email-otp", json!({})),
    ] {
        let body = |email: &str| {
            let mut b = extra.clone();
            b["email"] = json!(email);
            b
        };
        let a = post(&app, path, body(&known), None).await;
        let b = post(&app, path, body(&unknown), None).await;
        assert_eq!((a.status.as_u16(), b.status.as_u16()), (202, 202), "{path}");
        assert_eq!(a.body, b.body, "{path}");
        let names = |r: &TestResponse| {
            let mut n: Vec<String> = r.headers.keys().map(|k| k.to_string()).collect();
            n.sort();
            n
        };
        assert_eq!(names(&a), names(&b), "{path}: the same headers");
        assert_eq!(
            cookie_of(&a, NONCE).is_some(),
            cookie_of(&b, NONCE).is_some(),
            "{path}"
        );
    }
    // both were queued as jobs; only the known address gets mail
    assert_eq!(app.run_jobs().await, 4 + 2, "four requests, two mails");
    assert_eq!(mailbox::messages_to(&known).len(), 3);
    assert!(mailbox::messages_to(&unknown).is_empty());
}

async fn another_browser_needs_the_code_from_the_mail(app: TestApp) {
    let email = address("other");
    app.register(&email, PASSWORD).await;
    let nonce = ask_link(&app, &email).await;
    let (token, code) = mailed_link(&app, &email).await;
    // no cookie, or another browser's: never a silent sign-in
    let r = verify_link(&app, json!({"token": token}), None).await;
    assert_eq!(status_code(&r), (403, "code_required".into()));
    let r = verify_link(
        &app,
        json!({"token": token}),
        Some(&format!("{NONCE}=another-browsers-nonce")),
    )
    .await;
    assert_eq!(status_code(&r), (403, "code_required".into()));
    let wrong = if code == "AAAAAA" { "BBBBBB" } else { "AAAAAA" };
    let r = verify_link(&app, json!({"token": token, "code": wrong}), None).await;
    assert_eq!(status_code(&r), (401, "invalid_code".into()));
    // typed by hand: case and dashes do not matter
    let typed = format!("{}-{}", &code[..3], &code[3..]).to_lowercase();
    let r = verify_link(&app, json!({"token": token, "code": typed}), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // and it was single use for the asking browser too
    let r = verify_link(&app, json!({"token": token}), Some(&nonce)).await;
    assert_eq!(status_code(&r), (400, "invalid_token".into()));
}

async fn a_newer_link_supersedes_the_older_and_links_expire(app: TestApp) {
    let email = address("supersede");
    app.register(&email, PASSWORD).await;
    let first_nonce = ask_link(&app, &email).await;
    let (first, _) = mailed_link(&app, &email).await;
    let nonce = ask_link(&app, &email).await;
    let (second, _) = mailed_link(&app, &email).await;
    let r = verify_link(&app, json!({"token": first}), Some(&first_nonce)).await;
    assert_eq!(status_code(&r), (400, "invalid_token".into()), "superseded");
    app.clock.advance(Duration::minutes(15));
    let r = verify_link(&app, json!({"token": second}), Some(&nonce)).await;
    assert_eq!(status_code(&r), (400, "invalid_token".into()), "expired");
    // codes: 10 minutes
    ask_code(&app, &email).await;
    let code = mailed_code(&app, &email).await;
    app.clock.advance(Duration::minutes(10));
    let r = verify_code(&app, &email, &code).await;
    assert_eq!(status_code(&r), (401, "invalid_code".into()), "expired");
}

async fn redirect_to_only_to_allowed_origins(app: TestApp) {
    let email = address("redirect");
    app.register(&email, PASSWORD).await;
    for foreign in [
        "https://evil.example",
        "//evil.example/account",
        "https://app.example.com@evil.example/",
        "javascript:alert(1)",
    ] {
        let r = post(
            &app,
            "/v1/auth/magic-link",
            json!({"email": email, "redirect_to": foreign}),
            None,
        )
        .await;
        assert_eq!(
            status_code(&r),
            (400, "redirect_not_allowed".into()),
            "{foreign}"
        );
    }
    assert_eq!(app.run_jobs().await, 1, "only the verification mail");
    for own in ["/account", &format!("{ISSUER}/account/activity")] {
        let r = post(
            &app,
            "/v1/auth/magic-link",
            json!({"email": email, "redirect_to": own}),
            None,
        )
        .await;
        assert_eq!(r.status, 202, "{own}: {}", r.text());
    }
}

async fn api_mode_needs_the_pkce_verifier(app: TestApp) {
    let email = address("pkce");
    app.register(&email, PASSWORD).await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = latchkey_core::oauth::code::s256(verifier);
    let r = post(
        &app,
        "/v1/auth/magic-link",
        json!({"email": email, "code_challenge": "short"}),
        None,
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = post(
        &app,
        "/v1/auth/magic-link",
        json!({"email": email, "code_challenge": challenge}),
        None,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let nonce = cookie_of(&r, NONCE).unwrap();
    let (token, code) = mailed_link(&app, &email).await;
    // neither the asking browser's cookie nor the mail's code stand in for the verifier
    for (body, cookie) in [
        (json!({"token": token}), Some(nonce.as_str())),
        (json!({"token": token, "code": code}), None),
        (
            json!({"token": token, "code_verifier": "x".repeat(43)}),
            None,
        ),
    ] {
        let r = verify_link(&app, body.clone(), cookie).await;
        assert_eq!(status_code(&r), (400, "invalid_token".into()), "{body}");
    }
    let r = verify_link(
        &app,
        json!({"token": token, "code_verifier": verifier}),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["refresh_token"].as_str().is_some());
}

async fn a_code_for_one_address_does_not_work_for_another(app: TestApp) {
    let (a, b) = (address("one"), address("another"));
    app.register(&a, PASSWORD).await;
    app.register(&b, PASSWORD).await;
    ask_code(&app, &a).await;
    ask_code(&app, &b).await;
    let code_a = mailed_code(&app, &a).await;
    let code_b = mailed_code(&app, &b).await;
    if code_a != code_b {
        let r = verify_code(&app, &b, &code_a).await;
        assert_eq!(status_code(&r), (401, "invalid_code".into()));
    }
    let r = verify_code(&app, &a, &code_a).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = verify_code(&app, &b, &code_b).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn wrong_codes_count_in_the_accounts_failure_counter(app: TestApp) {
    let email = address("counted");
    let user = app.register(&email, PASSWORD).await;
    ask_code(&app, &email).await;
    let code = mailed_code(&app, &email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    verify_code(&app, &email, wrong).await;
    verify_code(&app, &email, wrong).await;
    let key = format!("user:{}", user["id"].as_str().unwrap());
    let row = app.auth.store().login_failures(&key).await.unwrap();
    assert_eq!(row.map(|r| r.failures), Some(2), "two wrong codes counted");
    let r = verify_code(&app, &email, &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let row = app.auth.store().login_failures(&key).await.unwrap();
    assert_eq!(row, None, "the right code clears the counter");
}

async fn links_and_codes_die_with_a_password_change(app: TestApp) {
    let email = address("changed");
    app.register(&email, PASSWORD).await;
    let nonce = ask_link(&app, &email).await;
    let (token, _) = mailed_link(&app, &email).await;
    ask_code(&app, &email).await;
    let code = mailed_code(&app, &email).await;
    let access = app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .json(
            "POST",
            "/v1/account/password",
            json!({"current_password": PASSWORD, "new_password": "another long passphrase"}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = verify_link(&app, json!({"token": token}), Some(&nonce)).await;
    assert_eq!(status_code(&r), (400, "invalid_token".into()));
    let r = verify_code(&app, &email, &code).await;
    assert_eq!(status_code(&r), (401, "invalid_code".into()));
}

async fn a_totp_account_gets_mfa_required_by_link_and_by_code(app: TestApp) {
    let u = super::mfa::enrolled(&app, "passwordless").await;
    let nonce = ask_link(&app, &u.email).await;
    let (token, _) = mailed_link(&app, &u.email).await;
    let r = verify_link(&app, json!({"token": token}), Some(&nonce)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["mfa_required"], true, "{}", r.text());
    assert!(r.json()["access_token"].is_null());
    ask_code(&app, &u.email).await;
    let code = mailed_code(&app, &u.email).await;
    let r = verify_code(&app, &u.email, &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["mfa_required"], true, "{}", r.text());
}

async fn unknown_addresses_get_nothing_without_passwordless_signup(app: TestApp) {
    let email = address("nobody");
    ask_link(&app, &email).await;
    ask_code(&app, &email).await;
    assert_eq!(app.run_jobs().await, 2);
    assert!(mailbox::messages_to(&email).is_empty());
    let r = verify_code(&app, &email, "123456").await;
    assert_eq!(status_code(&r), (401, "invalid_code".into()));
}

async fn sign_up_on_the_way_creates_the_account_when_used(app: TestApp) {
    let email = address("newcomer");
    let nonce = ask_link(&app, &email).await;
    let (token, _) = mailed_link(&app, &email).await;
    let lookup = latchkey_core::user::normalize_email(&email);
    assert!(
        app.auth
            .store()
            .user_by_email(&lookup)
            .await
            .unwrap()
            .is_none(),
        "not when asked for"
    );
    let r = verify_link(&app, json!({"token": token}), Some(&nonce)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let user = app
        .auth
        .store()
        .user_by_email(&lookup)
        .await
        .unwrap()
        .expect("created when used");
    assert!(user.email_verified);
    assert!(user.password_hash.is_none());
    // a password sign-in has nothing to match
    let r = post(
        &app,
        "/v1/auth/login",
        json!({"identifier": email, "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(status_code(&r), (401, "invalid_credentials".into()));
    // by code too, for another newcomer
    let other = address("newcomer-code");
    ask_code(&app, &other).await;
    let code = mailed_code(&app, &other).await;
    let r = verify_code(&app, &other, &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn disabled_methods_are_refused(app: TestApp) {
    let email = address("off");
    for path in ["/v1/auth/magic-link", "/v1/auth/email-otp"] {
        let r = post(&app, path, json!({"email": email}), None).await;
        assert_eq!(status_code(&r), (403, "method_disabled".into()), "{path}");
    }
    let r = verify_code(&app, &email, "123456").await;
    assert_eq!(status_code(&r), (403, "method_disabled".into()));
}

/// The `latchkey_session` cookie a page answer set, if any.
fn session_cookie(r: &TestResponse) -> Option<String> {
    cookie_of(r, "latchkey_session")
}

async fn get_with(app: &TestApp, path: &str, cookie: Option<&str>) -> TestResponse {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    app.call(req.body(Body::empty()).unwrap()).await
}

fn joined(a: &str, b: &str) -> String {
    [a, b]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

async fn the_link_page_spends_nothing_until_its_button_is_pressed(app: TestApp) {
    let email = address("scanner");
    app.register(&email, PASSWORD).await;
    let nonce = ask_link(&app, &email).await;
    let (token, _) = mailed_link(&app, &email).await;
    // a mail scanner (no cookie) and the person's browser open the page
    for cookie in [None, Some(nonce.as_str()), None] {
        let r = get_with(&app, &format!("/magic-link?token={token}"), cookie).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().contains("&#x2f;magic-link"), "{}", r.text());
        assert_eq!(session_cookie(&r), None);
    }
    // the link still works
    let r = verify_link(&app, json!({"token": token}), Some(&nonce)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // and its page now says it does not
    let r = get_with(&app, &format!("/magic-link?token={token}"), Some(&nonce)).await;
    assert_eq!(r.status, 400, "{}", r.text());
}

async fn the_login_page_mails_a_link_that_signs_in_this_browser(app: TestApp) {
    let email = address("page-link");
    app.register(&email, PASSWORD).await;
    let login = app.get("/login").await;
    assert!(
        login.text().contains("action=\"/login/email\""),
        "{}",
        login.text()
    );
    let form = app.page_form("/login", None).await;
    let r = app
        .post_page(
            "/login/email",
            &form,
            &format!(
                "email={}&method=link&return_to=/account/activity",
                email.replace('@', "%40")
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let nonce = cookie_of(&r, NONCE).expect("the nonce cookie");
    let (token, _) = mailed_link(&app, &email).await;
    let browser = joined(&form.cookie, &nonce);
    let page = app
        .page_form(&format!("/magic-link?token={token}"), Some(&browser))
        .await;
    let shown = get_with(&app, &format!("/magic-link?token={token}"), Some(&browser)).await;
    assert!(
        !shown.text().contains("name=\"code\""),
        "no code in its own browser"
    );
    let r = app
        .post_page("/magic-link", &page, &format!("token={token}"))
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account/activity"));
    assert!(session_cookie(&r).is_some());
}

async fn another_browser_is_asked_for_the_code_on_the_link_page(app: TestApp) {
    let email = address("page-other");
    app.register(&email, PASSWORD).await;
    ask_link(&app, &email).await;
    let (token, code) = mailed_link(&app, &email).await;
    let page = app
        .page_form(&format!("/magic-link?token={token}"), None)
        .await;
    let shown = get_with(
        &app,
        &format!("/magic-link?token={token}"),
        Some(&page.cookie),
    )
    .await;
    assert!(shown.text().contains("name=\"code\""), "{}", shown.text());
    let r = app
        .post_page("/magic-link", &page, &format!("token={token}"))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        r.text().contains("name=\"code\""),
        "the form again: {}",
        r.text()
    );
    assert_eq!(session_cookie(&r), None);
    let r = app
        .post_page("/magic-link", &page, &format!("token={token}&code={code}"))
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account"));
    assert!(session_cookie(&r).is_some());
}

async fn the_login_page_mails_a_code_and_its_form_signs_in(app: TestApp) {
    let email = address("page-code");
    app.register(&email, PASSWORD).await;
    let form = app.page_form("/login", None).await;
    let encoded = email.replace('@', "%40");
    let r = app
        .post_page(
            "/login/email",
            &form,
            &format!("email={encoded}&method=code"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("&#x2f;login&#x2f;email-code"),
        "{}",
        r.text()
    );
    let code = mailed_code(&app, &email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = app
        .post_page(
            "/login/email-code",
            &form,
            &format!("email={encoded}&code={wrong}"),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.text().contains("name=\"code\""),
        "the form again: {}",
        r.text()
    );
    let r = app
        .post_page(
            "/login/email-code",
            &form,
            &format!("email={encoded}&code={code}"),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account"));
    assert!(session_cookie(&r).is_some());
}

/// An account made by a code (no password) and its access token.
async fn passwordless_account(app: &TestApp, tag: &str) -> (String, String) {
    let email = address(tag);
    ask_code(app, &email).await;
    let code = mailed_code(app, &email).await;
    let r = verify_code(app, &email, &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
    (email, r.json()["access_token"].as_str().unwrap().to_owned())
}

async fn password_call(app: &TestApp, method: &str, token: &str, body: Value) -> TestResponse {
    app.json(method, "/v1/account/password", body, Some(token))
        .await
}

pub(super) async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    post(
        app,
        "/v1/auth/login",
        json!({"identifier": email, "password": password}),
        None,
    )
    .await
    .status
    .as_u16()
}

async fn a_password_is_optional_but_never_the_last_way_in_removed(app: TestApp) {
    let (email, token) = passwordless_account(&app, "optional").await;
    let r = password_call(&app, "DELETE", &token, json!(null)).await;
    assert_eq!(status_code(&r), (409, "no_password".into()));
    let r = password_call(&app, "PUT", &token, json!({"new_password": "short"})).await;
    assert_eq!(r.status, 422, "the rules of every new password");
    let r = password_call(&app, "PUT", &token, json!({"new_password": PASSWORD})).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
    let r = password_call(&app, "PUT", &token, json!({"new_password": PASSWORD})).await;
    assert_eq!(status_code(&r), (409, "password_exists".into()));
    // sign-in by mail to the verified address remains: it may go
    let r = password_call(&app, "DELETE", &token, json!(null)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(login_status(&app, &email, PASSWORD).await, 401);
    // and it needs a recent sign-in (10 minutes; the access token lasts 15)
    app.clock.advance(Duration::minutes(11));
    let r = password_call(&app, "PUT", &token, json!({"new_password": PASSWORD})).await;
    assert_eq!(status_code(&r), (403, "reauth_required".into()));
}

async fn a_reset_sets_the_first_password_of_an_account_without_one(app: TestApp) {
    let (email, _) = passwordless_account(&app, "reset-first").await;
    let r = post(
        &app,
        "/v1/auth/password-reset",
        json!({"email": email}),
        None,
    )
    .await;
    assert_eq!(r.status, 202);
    let m = newest_mail(&app, &email).await;
    let token = m
        .token(&format!("{ISSUER}/reset-password?token="))
        .unwrap_or_else(|| panic!("no reset link in: {}", m.text));
    let r = post(
        &app,
        "/v1/auth/password-reset/confirm",
        json!({"token": token, "new_password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
}

async fn without_sign_in_by_mail_the_password_stays(app: TestApp) {
    let email = address("last-way");
    app.register(&email, PASSWORD).await;
    let token = app.login(&email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = password_call(&app, "DELETE", &token, json!(null)).await;
    assert_eq!(status_code(&r), (409, "last_way_in".into()));
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
}
