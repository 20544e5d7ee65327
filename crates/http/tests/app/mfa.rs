//! Second factors over HTTP (issue 14): enrolment, the second step of
//! sign-in, step-up, backup codes, the administrator's reset, and every
//! bypass tried. Codes are computed from the secret the enrolment showed,
//! at the app's clock. What races in the store runs on both backends.

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use latchkey_core::Clock;
use latchkey_core::admin::Actor;
use latchkey_testkit::mailbox;
use latchkey_testkit::{ISSUER, TestApp, TestResponse};
use serde_json::{Value, json};
use time::Duration;

latchkey_testkit::both_backends!(
    of_fifty_concurrent_uses_of_one_code_exactly_one_succeeds,
    wrong_codes_count_in_the_accounts_failure_counter,
    twenty_concurrent_wrong_codes_spend_five_attempts_and_kill_the_token(without_failure_counters()),
    a_code_is_good_once_and_only_near_its_time,
);

latchkey_testkit::sqlite_only!(
    sign_in_asks_for_the_second_factor_and_issues_aal2,
    the_mfa_token_is_single_use_short_lived_and_dies_after_five_wrong_codes,
    in_cookie_mode_the_mfa_token_works_only_in_its_browser,
    a_reset_does_not_skip_the_second_factor,
    other_ways_in_do_not_skip_the_second_factor,
    an_aal1_session_reaches_no_aal2_route_until_it_steps_up,
    backup_codes_work_once_are_counted_mailed_and_regenerated,
    an_administrator_resets_factors_and_writes_only_with_aal2,
    enrolment_needs_a_recent_sign_in_and_a_right_first_code,
    the_mfa_page_finishes_a_sign_in_in_its_browser_only,
    the_account_security_section_enrols_shows_codes_once_regenerates_and_disables,
    a_required_role_without_a_factor_gets_an_enrolment_only_session(admins_must_enrol()),
);

const PASSWORD: &str = "correct horse battery staple";

/// `mfa.required_for_roles = ["admin"]`.
fn admins_must_enrol() -> latchkey_testkit::Options {
    latchkey_testkit::Options {
        lifecycle: latchkey_core::auth::LifecycleConfig {
            mfa: latchkey_core::mfa::MfaPolicy {
                required_for_roles: vec!["admin".into()],
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The account's failure counters off, so that only the `mfa_token`'s own
/// limit bounds its wrong codes.
fn without_failure_counters() -> latchkey_testkit::Options {
    latchkey_testkit::Options {
        brute_force: latchkey_core::abuse::brute_force::BruteForcePolicy {
            enabled: false,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn unique(tag: &str) -> String {
    format!("{tag}.{}@example.com", latchkey_core::id::new_id())
}

/// An account with TOTP on, signed in with it (aal2).
pub(super) struct Enrolled {
    pub(super) email: String,
    id: String,
    secret: String,
    backup_codes: Vec<String>,
    token: String,
    refresh: String,
}

/// A code that is not `right`.
fn wrong_code(right: &str) -> &'static str {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
}

fn code_at(app: &TestApp, secret: &str, offset_secs: i64) -> String {
    app.totp_code(secret, offset_secs)
}

/// The next 30-second step, so the next code is a new one.
fn next_step(app: &TestApp) {
    app.clock.advance(Duration::seconds(30));
}

pub(super) async fn enrolled(app: &TestApp, tag: &str) -> Enrolled {
    let email = unique(tag);
    let id = app.register(&email, PASSWORD).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = app.login(&email, PASSWORD).await;
    let token = t["access_token"].as_str().unwrap().to_owned();
    let r = app.send("POST", "/v1/account/mfa/totp", Some(&token)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let e = r.json();
    let secret = e["secret"].as_str().unwrap().to_owned();
    assert!(
        e["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(e["qr_svg"].as_str().unwrap().contains("<svg"));
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            json!({"code": code_at(app, &secret, 0)}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let backup_codes: Vec<String> = r.json()["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(backup_codes.len(), 10);
    next_step(app);
    Enrolled {
        email,
        id,
        secret,
        backup_codes,
        refresh: t["refresh_token"].as_str().unwrap().to_owned(),
        token,
    }
}

pub(super) async fn password_step(app: &TestApp, email: &str) -> Value {
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn mfa_token(app: &TestApp, email: &str) -> String {
    let first = password_step(app, email).await;
    assert_eq!(first["mfa_required"], true, "{first}");
    first["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, token: &str, method: &str, code: &str) -> TestResponse {
    app.json(
        "POST",
        "/v1/auth/login/mfa",
        json!({"mfa_token": token, "method": method, "code": code}),
        None,
    )
    .await
}

pub(super) fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn events_about(app: &TestApp, user_id: &str) -> Vec<latchkey_core::audit::AuditEvent> {
    app.store
        .audit_events(&latchkey_core::audit::AuditQuery {
            subject_id: Some(user_id.to_owned()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
}

pub(super) fn status_code(r: &TestResponse) -> (u16, String) {
    (r.status.as_u16(), r.code())
}

async fn sign_in_asks_for_the_second_factor_and_issues_aal2(app: TestApp) {
    let u = enrolled(&app, "signin").await;
    let before = claims(&u.token);
    assert_eq!(
        before["acr"], "aal1",
        "the password sign-in before enrolment"
    );
    let first = password_step(&app, &u.email).await;
    assert_eq!(first["mfa_required"], true);
    assert_eq!(first["methods"], json!(["totp", "backup_code"]));
    assert!(first.get("access_token").is_none() && first.get("refresh_token").is_none());
    let token = first["mfa_token"].as_str().unwrap();
    assert!(token.len() >= 43, "at least 256 bits");
    let wrong = if code_at(&app, &u.secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let r = second_step(&app, token, "totp", wrong).await;
    assert_eq!(
        status_code(&r),
        (403, "invalid_code".into()),
        "{}",
        r.text()
    );
    let r = second_step(&app, token, "sms", "123456").await;
    assert_eq!(status_code(&r), (400, "method_unavailable".into()));
    let r = second_step(&app, token, "totp", &code_at(&app, &u.secret, 0)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    let c = claims(t["access_token"].as_str().unwrap());
    assert_eq!(c["acr"], "aal2");
    assert_eq!(c["amr"], json!(["pwd", "otp", "mfa"]));
    assert!(c["auth_time"].as_i64().unwrap() >= app.clock.now().unix_timestamp() - 1);
    let me = app
        .send("GET", "/v1/account", t["access_token"].as_str())
        .await;
    assert_eq!(me.status, 200);
    // a refresh keeps what the session proved
    let r = app.refresh(t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        claims(r.json()["access_token"].as_str().unwrap())["acr"],
        "aal2"
    );
    let events: Vec<String> = events_about(&app, &u.id)
        .await
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(events.contains(&"mfa.enabled".to_owned()), "{events:?}");
    assert!(events.contains(&"mfa.failed".to_owned()), "{events:?}");
}

async fn a_code_is_good_once_and_only_near_its_time(app: TestApp) {
    let u = enrolled(&app, "replay").await;
    let code = code_at(&app, &u.secret, 0);
    let r = second_step(&app, &mfa_token(&app, &u.email).await, "totp", &code).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // (why, seconds to move the clock first, the code, the status)
    let cases = [
        ("the same code in its own step", 0, code.clone(), 403),
        (
            "the code of the step before",
            0,
            code_at(&app, &u.secret, -30),
            403,
        ),
        (
            "the code of two steps before",
            0,
            code_at(&app, &u.secret, -60),
            403,
        ),
        ("the code replayed at t+1", 30, code.clone(), 403),
        ("two steps ahead", 0, code_at(&app, &u.secret, 90), 403),
        (
            "one step ahead, within the skew",
            0,
            code_at(&app, &u.secret, 60),
            200,
        ),
    ];
    for (why, wait, code, status) in cases {
        app.clock.advance(Duration::seconds(wait));
        let r = second_step(&app, &mfa_token(&app, &u.email).await, "totp", &code).await;
        assert_eq!(r.status, status, "{why}: {}", r.text());
    }
}

async fn the_mfa_token_is_single_use_short_lived_and_dies_after_five_wrong_codes(app: TestApp) {
    let u = enrolled(&app, "token").await;
    let token = mfa_token(&app, &u.email).await;
    let r = second_step(&app, &token, "totp", &code_at(&app, &u.secret, 0)).await;
    assert_eq!(r.status, 200);
    next_step(&app);
    let r = second_step(&app, &token, "totp", &code_at(&app, &u.secret, 0)).await;
    assert_eq!(
        status_code(&r),
        (401, "invalid_mfa_token".into()),
        "second use"
    );

    let token = mfa_token(&app, &u.email).await;
    app.clock.advance(Duration::minutes(5));
    let r = second_step(&app, &token, "totp", &code_at(&app, &u.secret, 0)).await;
    assert_eq!(
        status_code(&r),
        (401, "invalid_mfa_token".into()),
        "after 5 minutes"
    );

    let token = mfa_token(&app, &u.email).await;
    let right = code_at(&app, &u.secret, 0);
    let wrong = wrong_code(&right);
    for _ in 0..5 {
        let r = second_step(&app, &token, "totp", wrong).await;
        assert_eq!(status_code(&r), (403, "invalid_code".into()));
    }
    let r = second_step(&app, &token, "totp", &right).await;
    assert_eq!(
        status_code(&r),
        (401, "invalid_mfa_token".into()),
        "dead after 5 wrong codes"
    );
    for bad in ["", "nope", &"x".repeat(300)] {
        let r = second_step(&app, bad, "totp", &right).await;
        assert_eq!(
            status_code(&r),
            (401, "invalid_mfa_token".into()),
            "{bad:?}"
        );
    }
    // a fresh sign-in with the right code still works: nothing was used
    let r = second_step(&app, &mfa_token(&app, &u.email).await, "totp", &right).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn twenty_concurrent_wrong_codes_spend_five_attempts_and_kill_the_token(app: TestApp) {
    let u = enrolled(&app, "attempts").await;
    let token = mfa_token(&app, &u.email).await;
    let right = code_at(&app, &u.secret, 0);
    let wrong = wrong_code(&right);
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(
                async move { status_code(&second_step(&app, &token, "totp", wrong).await) },
            )
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let checked = answers
        .iter()
        .filter(|a| **a == (403, "invalid_code".into()))
        .count();
    assert!(checked <= 5, "{checked} wrong codes checked: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| *a == (403, "invalid_code".into()) || *a == (401, "invalid_mfa_token".into())),
        "{answers:?}"
    );
    let hash = latchkey_tokens::sha256_hex(token.as_bytes());
    let stored = app.store.mfa_challenge(&hash).await.unwrap().unwrap();
    assert_eq!(stored.failures, 5, "five attempts counted, no more");
    let r = second_step(&app, &token, "totp", &right).await;
    assert_eq!(
        status_code(&r),
        (401, "invalid_mfa_token".into()),
        "dead after five wrong codes"
    );
}

pub(super) fn cookie_of(r: &TestResponse, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

async fn cookie_request(
    app: &TestApp,
    path: &str,
    body: Value,
    cookie: Option<&str>,
) -> TestResponse {
    let mut req = Request::post(path)
        .header("content-type", "application/json")
        .header("origin", ISSUER);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    app.call(req.body(Body::from(body.to_string())).unwrap())
        .await
}

async fn in_cookie_mode_the_mfa_token_works_only_in_its_browser(app: TestApp) {
    let u = enrolled(&app, "cookie").await;
    let login = json!({"identifier": u.email, "password": PASSWORD, "mode": "cookie"});
    let first = cookie_request(&app, "/v1/auth/login", login.clone(), None).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json()["mfa_required"], true);
    assert_eq!(
        cookie_of(&first, "latchkey_session"),
        None,
        "no session yet"
    );
    let binding = cookie_of(&first, "latchkey_mfa").expect("a binding cookie");
    let token = first.json()["mfa_token"].as_str().unwrap().to_owned();
    // another browser's sign-in, with its own cookie
    let other = cookie_request(&app, "/v1/auth/login", login, None).await;
    let other_binding = cookie_of(&other, "latchkey_mfa").unwrap();
    let step = |code: String| json!({"mfa_token": token, "method": "totp", "code": code, "mode": "cookie"});
    let code = code_at(&app, &u.secret, 0);
    for (why, cookie) in [
        ("without the cookie", None),
        (
            "with another browser's cookie",
            Some(other_binding.as_str()),
        ),
    ] {
        let r = cookie_request(&app, "/v1/auth/login/mfa", step(code.clone()), cookie).await;
        assert_eq!(status_code(&r), (401, "invalid_mfa_token".into()), "{why}");
    }
    let r = app
        .json("POST", "/v1/auth/login/mfa", step(code.clone()), None)
        .await;
    assert_eq!(
        status_code(&r),
        (403, "csrf_failed".into()),
        "cookie mode only from latchkey's origin"
    );
    let bearer = json!({"mfa_token": token, "method": "totp", "code": code});
    let r = cookie_request(&app, "/v1/auth/login/mfa", bearer, Some(&binding)).await;
    assert_eq!(
        status_code(&r),
        (401, "invalid_mfa_token".into()),
        "a cookie challenge makes no bearer session"
    );
    let r = cookie_request(&app, "/v1/auth/login/mfa", step(code), Some(&binding)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let session = cookie_of(&r, "latchkey_session").expect("a session cookie");
    let s = app
        .call(
            Request::get("/v1/auth/session")
                .header("cookie", &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s.json()["amr"], json!(["pwd", "otp", "mfa"]));
}

async fn a_reset_does_not_skip_the_second_factor(app: TestApp) {
    let u = enrolled(&app, "reset").await;
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset",
            json!({"email": u.email}),
            None,
        )
        .await;
    assert_eq!(r.status, 202);
    app.run_jobs().await;
    app.run_jobs().await;
    let mail = mailbox::wait_for(&u.email, 3)
        .into_iter()
        .find(|m| m.subject().contains("Reset"))
        .expect("a reset mail");
    let token = mail
        .token(&format!("{ISSUER}/reset-password?token="))
        .expect("a reset link");
    let new_password = "a brand new passphrase";
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": new_password}),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty(), "a reset signs nobody in");
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": u.email, "password": new_password}),
            None,
        )
        .await;
    assert_eq!(r.json()["mfa_required"], true, "still asks for the factor");
    assert!(r.json().get("access_token").is_none());
}

async fn other_ways_in_do_not_skip_the_second_factor(app: TestApp) {
    let u = enrolled(&app, "pages").await;
    // the hosted sign-in page: the code form (/mfa), no session cookie
    let form = app.page_form("/login", None).await;
    let r = app.post_page("/login", &form, &login_body(&u.email)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("action=\"/mfa\""), "{}", r.text());
    assert_eq!(cookie_of(&r, "latchkey_session"), None);
    // core's sign-in, whoever calls it: a challenge, never a session
    let outcome = app
        .auth
        .sessions()
        .login(
            &u.email,
            PASSWORD,
            &Default::default(),
            latchkey_core::session::SessionKind::Bearer,
        )
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            latchkey_core::sign_in::LoginOutcome::MfaRequired(_)
        ),
        "{outcome:?}"
    );
    // the sessions that existed before enrolment ended with it
    let sessions = app.auth.user_sessions(&u.id).await.unwrap();
    assert!(
        sessions.iter().all(|s| s.amr.iter().any(|m| m == "mfa")),
        "only sessions that passed the factor: {sessions:?}"
    );
}

async fn an_aal1_session_reaches_no_aal2_route_until_it_steps_up(app: TestApp) {
    let email = unique("aal");
    app.register(&email, PASSWORD).await;
    let before = app.login(&email, PASSWORD).await;
    // enrol from a second session: the first (aal1) ends with the enrolment
    let u2 = app.login(&email, PASSWORD).await;
    let t2 = u2["access_token"].as_str().unwrap();
    let secret = app
        .send("POST", "/v1/account/mfa/totp", Some(t2))
        .await
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            json!({"code": code_at(&app, &secret, 0)}),
            Some(t2),
        )
        .await;
    assert_eq!(r.status, 200);
    next_step(&app);
    let r = app.refresh(before["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 401, "the aal1 session ended: {}", r.text());
    let r = app
        .send("GET", "/v1/account", before["access_token"].as_str())
        .await;
    assert_eq!(r.status, 401);
    // a session that somehow stayed aal1 (made before this release) is
    // refreshed at aal1 and refused where aal2 is needed
    let sid = u2["session_id"].as_str().unwrap();
    app.store
        .raise_session(sid, app.clock.now(), &["pwd".to_owned()])
        .await
        .unwrap();
    let r = app.refresh(u2["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let aal1 = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&aal1)["acr"], "aal1");
    let password_change =
        json!({"current_password": PASSWORD, "new_password": "another fine passphrase"});
    for (method, path, body) in [
        ("DELETE", "/v1/account/mfa/totp", Value::Null),
        ("POST", "/v1/account/mfa/backup-codes", Value::Null),
        ("DELETE", "/v1/account", Value::Null),
        (
            "POST",
            "/v1/account/email",
            json!({"new_email": unique("new")}),
        ),
        ("POST", "/v1/account/password", password_change),
    ] {
        let r = app.json(method, path, body, Some(&aal1)).await;
        assert_eq!(
            status_code(&r),
            (403, "mfa_required".into()),
            "{method} {path}"
        );
    }
    let r = app
        .json(
            "POST",
            "/v1/auth/reauth",
            json!({"password": PASSWORD}),
            Some(&aal1),
        )
        .await;
    assert_eq!(r.status, 200, "a password refreshes auth_time only");
    let r = app
        .send("DELETE", "/v1/account/mfa/totp", Some(&aal1))
        .await;
    assert_eq!(status_code(&r), (403, "mfa_required".into()));
    let r = app
        .json(
            "POST",
            "/v1/auth/reauth",
            json!({"method": "totp"}),
            Some(&aal1),
        )
        .await;
    assert_eq!(status_code(&r), (422, "validation_failed".into()));
    let r = app
        .json(
            "POST",
            "/v1/auth/reauth",
            json!({"method": "totp", "code": code_at(&app, &secret, 0)}),
            Some(&aal1),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .send("DELETE", "/v1/account/mfa/totp", Some(&aal1))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = app
        .send("DELETE", "/v1/account/mfa/totp", Some(&aal1))
        .await;
    assert_eq!(status_code(&r), (409, "mfa_not_enabled".into()));
    let t = app.login(&email, PASSWORD).await;
    assert!(
        t["access_token"].is_string(),
        "off again: the password is enough"
    );
}

async fn backup_codes_work_once_are_counted_mailed_and_regenerated(app: TestApp) {
    let u = enrolled(&app, "backup").await;
    let code = u.backup_codes[0].clone();
    let r = second_step(
        &app,
        &mfa_token(&app, &u.email).await,
        "backup_code",
        &code.to_uppercase(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&t)["acr"], "aal2");
    let r = second_step(&app, &mfa_token(&app, &u.email).await, "backup_code", &code).await;
    assert_eq!(status_code(&r), (403, "invalid_code".into()), "single use");
    let status = app.send("GET", "/v1/account/mfa", Some(&t)).await.json();
    assert_eq!(status["backup_codes_left"], 9);
    assert_eq!(status["totp"], "enabled");
    // step-up with backup codes until two are left
    for c in &u.backup_codes[1..8] {
        let r = app
            .json(
                "POST",
                "/v1/auth/reauth",
                json!({"method": "backup_code", "code": c}),
                Some(&t),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    app.run_jobs().await;
    // the verification, "turned on", and one per code used
    let subjects: Vec<String> = mailbox::wait_for(&u.email, 10)
        .iter()
        .map(|m| m.subject().to_owned())
        .collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("Two-step sign-in changed")),
        "{subjects:?}"
    );
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.contains("backup code was used"))
            .count(),
        7,
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("Only 2")),
        "{subjects:?}"
    );
    let r = app
        .send("POST", "/v1/account/mfa/backup-codes", Some(&t))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let fresh: Vec<String> = serde_json::from_value(r.json()["backup_codes"].clone()).unwrap();
    assert_eq!(fresh.len(), 10);
    let r = second_step(
        &app,
        &mfa_token(&app, &u.email).await,
        "backup_code",
        &u.backup_codes[9],
    )
    .await;
    assert_eq!(
        status_code(&r),
        (403, "invalid_code".into()),
        "the old set is void"
    );
    let r = second_step(
        &app,
        &mfa_token(&app, &u.email).await,
        "backup_code",
        &fresh[0],
    )
    .await;
    assert_eq!(r.status, 200);
    let rows = app.all_rows_as_text().await;
    for c in fresh.iter().chain(&u.backup_codes) {
        assert!(
            !rows.contains(c.as_str()),
            "codes are stored as hashes only"
        );
    }
    assert!(!rows.contains(&u.secret), "the secret is stored sealed");
}

async fn an_administrator_resets_factors_and_writes_only_with_aal2(app: TestApp) {
    let u = enrolled(&app, "target").await;
    let admin = enrolled(&app, "admin").await;
    app.auth
        .admin()
        .admin_set_roles(
            &Actor::command_line(),
            &admin.id,
            &["admin".to_owned()],
            false,
        )
        .await
        .unwrap();
    let path = format!("/v1/admin/users/{}/mfa", u.id);
    let r = app.send("DELETE", &path, Some(&u.token)).await;
    assert_eq!(status_code(&r), (403, "permission_denied".into()));
    // the administrator's session passed the factor, but long ago
    app.clock.advance(Duration::minutes(11));
    let refreshed = app.refresh(&admin.refresh).await.json();
    let admin_token = refreshed["access_token"].as_str().unwrap();
    let r = app.send("DELETE", &path, Some(admin_token)).await;
    assert_eq!(
        status_code(&r),
        (403, "reauth_required".into()),
        "admin writes need recent aal2"
    );
    let r = app
        .send(
            "GET",
            &format!("/v1/admin/users/{}", u.id),
            Some(admin_token),
        )
        .await;
    assert_eq!(r.status, 200, "reads do not");
    let r = app
        .json(
            "POST",
            "/v1/auth/reauth",
            json!({"method": "totp", "code": code_at(&app, &admin.secret, 0)}),
            Some(admin_token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app.send("DELETE", &path, Some(admin_token)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = app.send("DELETE", &path, Some(admin_token)).await;
    assert_eq!(status_code(&r), (409, "mfa_not_enabled".into()));
    let t = app.login(&u.email, PASSWORD).await;
    assert!(
        t["access_token"].is_string(),
        "signs in with the password alone"
    );
    app.run_jobs().await;
    let mails = mailbox::wait_for(&u.email, 3);
    assert!(
        mails
            .iter()
            .any(|m| m.text.contains("administrator removed")),
        "the user is mailed"
    );
    let events = events_about(&app, &u.id).await;
    let reset = events
        .iter()
        .find(|e| e.event == "mfa.reset")
        .expect("audited");
    assert_eq!(reset.subject_id.as_deref(), Some(u.id.as_str()));
    assert_eq!(reset.actor_id.as_deref(), Some(admin.id.as_str()));
}

async fn enrolment_needs_a_recent_sign_in_and_a_right_first_code(app: TestApp) {
    let email = unique("enrol");
    app.register(&email, PASSWORD).await;
    let t = app.login(&email, PASSWORD).await;
    let token = t["access_token"].as_str().unwrap();
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            json!({"code": "123456"}),
            Some(token),
        )
        .await;
    assert_eq!(status_code(&r), (409, "no_pending_enrolment".into()));
    let first = app
        .send("POST", "/v1/account/mfa/totp", Some(token))
        .await
        .json();
    let second = app
        .send("POST", "/v1/account/mfa/totp", Some(token))
        .await
        .json();
    assert_ne!(
        first["secret"], second["secret"],
        "a restart replaces the secret"
    );
    let stale = code_at(&app, first["secret"].as_str().unwrap(), 0);
    let right = code_at(&app, second["secret"].as_str().unwrap(), 0);
    if stale != right {
        let r = app
            .json(
                "POST",
                "/v1/account/mfa/totp/confirm",
                json!({"code": stale}),
                Some(token),
            )
            .await;
        assert_eq!(status_code(&r), (403, "invalid_code".into()));
    }
    let r = app.send("GET", "/v1/account/mfa", Some(token)).await.json();
    assert_eq!(
        (r["enabled"].clone(), r["totp"].clone()),
        (json!(false), json!("pending"))
    );
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            json!({"code": right}),
            Some(token),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = app.send("POST", "/v1/account/mfa/totp", Some(token)).await;
    assert_eq!(status_code(&r), (409, "mfa_already_enabled".into()));
    // another account, signed in too long ago, cannot start
    let other = unique("stale");
    app.register(&other, PASSWORD).await;
    let t = app.login(&other, PASSWORD).await;
    app.clock.advance(Duration::minutes(11));
    let fresh = app
        .refresh(t["refresh_token"].as_str().unwrap())
        .await
        .json();
    let r = app
        .send(
            "POST",
            "/v1/account/mfa/totp",
            fresh["access_token"].as_str(),
        )
        .await;
    assert_eq!(status_code(&r), (403, "reauth_required".into()));
}

async fn wrong_codes_count_in_the_accounts_failure_counter(app: TestApp) {
    let u = enrolled(&app, "counter").await;
    let key = format!("user:{}", u.id);
    let failures = || async {
        app.store
            .login_failures(&key)
            .await
            .unwrap()
            .map_or(0, |f| f.failures)
    };
    let right = code_at(&app, &u.secret, 0);
    let wrong = wrong_code(&right);
    for n in 1..=3 {
        let token = mfa_token(&app, &u.email).await;
        assert_eq!(
            failures().await,
            n - 1,
            "the right password adds nothing, clears nothing"
        );
        let r = second_step(&app, &token, "totp", wrong).await;
        assert_eq!(r.status, 403);
        assert_eq!(failures().await, n);
    }
    let r = second_step(&app, &mfa_token(&app, &u.email).await, "totp", &right).await;
    assert_eq!(r.status, 200);
    assert_eq!(failures().await, 0, "a complete sign-in clears the counter");
}

async fn of_fifty_concurrent_uses_of_one_code_exactly_one_succeeds(app: TestApp) {
    let u = enrolled(&app, "race").await;
    let mut tokens = Vec::new();
    for _ in 0..50 {
        tokens.push(mfa_token(&app, &u.email).await);
    }
    let code = code_at(&app, &u.secret, 0);
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let (app, code) = (app.clone(), code.clone());
            tokio::spawn(async move { second_step(&app, &t, "totp", &code).await.status.as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 403, 429].contains(s)),
        "{statuses:?}"
    );
    // and at step-up: one session, 50 concurrent reauths with one code
    next_step(&app);
    app.store
        .clear_login_failures(&format!("user:{}", u.id))
        .await
        .unwrap();
    let code = code_at(&app, &u.secret, 0);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, code, token) = (app.clone(), code.clone(), u.token.clone());
            tokio::spawn(async move {
                app.json(
                    "POST",
                    "/v1/auth/reauth",
                    json!({"method": "totp", "code": code}),
                    Some(&token),
                )
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
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
}

/// The sign-in form's body for `email` with the right password.
fn login_body(email: &str) -> String {
    format!(
        "identifier={}&password={}",
        email.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    )
}

/// The value of hidden field `name` in a page.
pub(super) fn hidden(page: &TestResponse, name: &str) -> String {
    let text = page.text();
    text.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a hidden {name}: {text}"))
        .to_owned()
}

/// The password step on `/login` (returning to `return_to`) as a browser
/// does it: the code form, and the browser's cookies after it (the CSRF
/// cookie and the binding of the `mfa_token`).
pub(super) async fn page_password_step(
    app: &TestApp,
    email: &str,
    return_to: &str,
) -> (TestResponse, latchkey_testkit::PageForm) {
    let form = app
        .page_form(&format!("/login?return_to={return_to}"), None)
        .await;
    let body = format!("{}&return_to={return_to}", login_body(email));
    let r = app.post_page("/login", &form, &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let binding = cookie_of(&r, "latchkey_mfa").expect("the token's binding cookie");
    let browser = latchkey_testkit::PageForm {
        cookie: format!("{}; {binding}", form.cookie),
        csrf: hidden(&r, "csrf"),
    };
    (r, browser)
}

async fn the_mfa_page_finishes_a_sign_in_in_its_browser_only(app: TestApp) {
    let u = enrolled(&app, "mfa-page").await;
    let (page, browser) = page_password_step(&app, &u.email, "/account/activity").await;
    let text = page.text();
    assert_eq!(cookie_of(&page, "latchkey_session"), None, "no session yet");
    for part in [
        "id=\"totp-form\"",
        "id=\"backup-form\"",
        "autocomplete=\"one-time-code\"",
        "<label for=\"code\">",
        "<label for=\"backup_code\">",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    let token = hidden(&page, "mfa_token");
    assert!(
        !page.header("location").unwrap_or("").contains(&token),
        "never in a URL"
    );
    let step = |method: &str, code: &str| {
        format!("mfa_token={token}&method={method}&code={code}&return_to=/account/activity")
    };

    // a wrong code: the form again, the reason at the code, no session
    let r = app
        .post_page("/mfa", &browser, &step("totp", "000000"))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("id=\"code-error\""), "{}", r.text());
    assert_eq!(hidden(&r, "mfa_token"), token, "the same sign-in goes on");
    assert_eq!(cookie_of(&r, "latchkey_session"), None);

    // the right code from another browser (no binding cookie): the
    // sign-in form again, no session
    let other = app.page_form("/login", None).await;
    let code = code_at(&app, &u.secret, 0);
    let r = app.post_page("/mfa", &other, &step("totp", &code)).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains("name=\"identifier\""), "{}", r.text());
    assert_eq!(cookie_of(&r, "latchkey_session"), None);

    // in its browser: signed in, on to return_to, the binding cleared
    let r = app.post_page("/mfa", &browser, &step("totp", &code)).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account/activity"));
    let session = cookie_of(&r, "latchkey_session").expect("a session cookie");
    let cleared = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("latchkey_mfa="))
        .unwrap_or("");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let s = app
        .call(
            Request::get("/v1/auth/session")
                .header("cookie", &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s.json()["amr"], json!(["pwd", "otp", "mfa"]));

    // the token is used: again is the sign-in form
    next_step(&app);
    let again = code_at(&app, &u.secret, 0);
    let r = app.post_page("/mfa", &browser, &step("totp", &again)).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(cookie_of(&r, "latchkey_session"), None);

    // a backup code, once; a token only with its own sign-in's binding
    let (_, browser) = page_password_step(&app, &u.email, "/account").await;
    let (page, _) = page_password_step(&app, &u.email, "/account").await;
    let token2 = hidden(&page, "mfa_token");
    let body = |token: &str| {
        format!(
            "mfa_token={token}&method=backup_code&code={}",
            u.backup_codes[0]
        )
    };
    let r = app.post_page("/mfa", &browser, &body(&token2)).await;
    assert_eq!(
        r.status,
        401,
        "another sign-in's token with this one's binding: {}",
        r.text()
    );
    let (page, browser) = page_password_step(&app, &u.email, "/account").await;
    let token3 = hidden(&page, "mfa_token");
    let r = app.post_page("/mfa", &browser, &body(&token3)).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account"));
    let (page, browser) = page_password_step(&app, &u.email, "/account").await;
    let r = app
        .post_page("/mfa", &browser, &body(&hidden(&page, "mfa_token")))
        .await;
    assert_eq!(r.status, 403, "a backup code works once: {}", r.text());
    assert!(
        r.text().contains("id=\"backup_code-error\""),
        "{}",
        r.text()
    );
    assert!(
        r.text().contains("<details id=\"backup\" open>"),
        "{}",
        r.text()
    );

    // /mfa opened directly: nothing to finish
    let r = app.get("/mfa").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login"));
}

/// A page answered with the refusal `code` (its English text shown above
/// the form again).
fn refused_page(r: &TestResponse, code: &str) {
    let text = match code {
        "reauth_required" => "Confirm with your password first.",
        "wrong_password" => "The password is wrong.",
        "invalid_code" => "The code is wrong or was used already",
        other => panic!("no text for {other}"),
    };
    assert_eq!(r.status, 403, "{code}: {}", r.text());
    assert!(r.text().contains(text), "{code}: {}", r.text());
    assert!(r.text().contains("id=\"security\""), "the page again");
}

/// The text between `start` and the next `end` of `text`, with the HTML
/// escapes of an attribute value undone.
fn between(text: &str, start: &str, end: &str) -> String {
    text.split(start)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .unwrap_or_else(|| panic!("{start}…{end} in {text}"))
        .replace("&#x2f;", "/")
        .replace("&#x3d;", "=")
        .replace("&#x2b;", "+")
}

/// The backup codes an account page shows, and the text its download link
/// saves (a `data:` URI).
fn shown_codes(page: &TestResponse) -> (Vec<String>, String) {
    let text = page.text();
    let list = between(
        &text,
        "<ul class=\"backup-codes\" id=\"backup-codes\">",
        "</ul>",
    );
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_owned())
        .collect();
    let href = between(&text, "id=\"backup-codes-download\" href=\"", "\"");
    let b64 = href
        .strip_prefix("data:text/plain;charset=utf-8;base64,")
        .unwrap_or_else(|| panic!("a text data: link: {href}"));
    let saved = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    (codes, String::from_utf8(saved).unwrap())
}

async fn the_account_security_section_enrols_shows_codes_once_regenerates_and_disables(
    app: TestApp,
) {
    let email = unique("center");
    let id = app.register(&email, PASSWORD).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = app.login_cookie(&email, PASSWORD).await;
    let get = |path: &'static str| crate::pages::page_with(&app, path, &cookie);
    let post = |path: &'static str, body: String| {
        let (app, cookie) = (&app, cookie.clone());
        async move {
            let form = app.page_form("/account", Some(&cookie)).await;
            app.post_page(path, &form, &body).await
        }
    };
    let page = get("/account").await;
    assert!(
        page.text().contains("id=\"enable-mfa-form\""),
        "{}",
        page.text()
    );

    // a sign-in that is no longer recent needs the password again
    app.clock.advance(Duration::minutes(11));
    let r = post("/account/security/totp", String::new()).await;
    refused_page(&r, "reauth_required");
    assert!(
        r.text().contains("id=\"enable-mfa-form\""),
        "the page again"
    );
    let r = post("/account/security/totp", "password=wrong+one".into()).await;
    refused_page(&r, "wrong_password");
    assert!(
        r.text().contains("id=\"security_password-error\""),
        "{}",
        r.text()
    );
    let r = post(
        "/account/security/totp",
        format!("password={}", PASSWORD.replace(' ', "+")),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account#security"));

    // the page shows the QR code (an image, no script) and the key
    let page = get("/account").await;
    let text = page.text();
    let qr = between(&text, "id=\"totp-qr\" src=\"", "\"");
    let svg = base64::engine::general_purpose::STANDARD
        .decode(qr.strip_prefix("data:image/svg+xml;base64,").unwrap())
        .unwrap();
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("img-src 'self' data:"),
        "the CSP allows the QR image"
    );
    let secret = between(&text, "<code id=\"totp-secret\">", "</code>");
    assert!(text.contains("id=\"confirm-mfa-form\""), "{text}");
    assert!(!text.contains("id=\"backup-codes\""));

    // a wrong first code: the page again, still enrolling
    let right = code_at(&app, &secret, 0);
    let r = post(
        "/account/security/totp/confirm",
        format!("code={}", wrong_code(&right)),
    )
    .await;
    refused_page(&r, "invalid_code");
    assert!(r.text().contains(&secret), "the key again: {}", r.text());
    assert!(!app.auth.mfa().status(&id).await.unwrap().enabled());

    // the right one: on, and the ten codes shown once, with a download
    let r = post("/account/security/totp/confirm", format!("code={right}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let (codes, saved) = shown_codes(&r);
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert_eq!(saved, format!("{}\n", codes.join("\n")));
    assert!(app.auth.mfa().status(&id).await.unwrap().enabled());
    let page = get("/account").await;
    let text = page.text();
    assert!(!text.contains("id=\"backup-codes\""), "shown once");
    assert!(!text.contains(&codes[0]), "shown once");
    assert!(!text.contains(&secret), "the key is not shown again");
    assert!(text.contains("Backup codes left: 10."), "{text}");
    assert!(text.contains("id=\"disable-mfa-form\""), "{text}");

    // a code saved there signs in
    let r = second_step(
        &app,
        &mfa_token(&app, &email).await,
        "backup_code",
        &codes[0],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        get("/account")
            .await
            .text()
            .contains("Backup codes left: 9.")
    );

    // new codes right after confirming (a recent sign-in with the factor)
    let r = post("/account/security/backup-codes", String::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (new_codes, _) = shown_codes(&r);
    assert_eq!(new_codes.len(), 10);
    let r = second_step(
        &app,
        &mfa_token(&app, &email).await,
        "backup_code",
        &codes[1],
    )
    .await;
    assert_eq!(
        status_code(&r),
        (403, "invalid_code".into()),
        "the old codes are gone"
    );

    // later: a change needs the factor again, a code in the form gives it
    app.clock.advance(Duration::minutes(11));
    for path in [
        "/account/security/backup-codes",
        "/account/security/totp/disable",
    ] {
        let r = post(path, String::new()).await;
        refused_page(&r, "reauth_required");
        let r = post(
            path,
            format!("code={}", wrong_code(&code_at(&app, &secret, 0))),
        )
        .await;
        refused_page(&r, "invalid_code");
    }
    assert!(app.auth.mfa().status(&id).await.unwrap().enabled());
    let r = post(
        "/account/security/totp/disable",
        format!("code={}", new_codes[0]),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(!app.auth.mfa().status(&id).await.unwrap().enabled());
    let page = get("/account").await;
    assert!(
        page.text().contains("id=\"enable-mfa-form\""),
        "{}",
        page.text()
    );
    let events: Vec<String> = events_about(&app, &id)
        .await
        .into_iter()
        .map(|e| e.event)
        .collect();
    for e in [
        "mfa.enabled",
        "mfa.backup_codes_regenerated",
        "mfa.disabled",
    ] {
        assert!(events.contains(&e.to_owned()), "{e}: {events:?}");
    }

    // signed out, a form goes to the sign-in page
    let form = app.page_form("/login", None).await;
    let r = app
        .post_page("/account/security/totp/disable", &form, "code=")
        .await;
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().starts_with("/login"));
}

async fn a_required_role_without_a_factor_gets_an_enrolment_only_session(app: TestApp) {
    let email = unique("must-enrol");
    let id = app.register(&email, PASSWORD).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.auth
        .admin()
        .admin_set_roles(&Actor::command_line(), &id, &["admin".to_owned()], false)
        .await
        .unwrap();
    // an account without the role is not concerned
    let plain = unique("plain");
    app.register(&plain, PASSWORD).await;
    let t = app.login(&plain, PASSWORD).await;
    let r = app
        .send("GET", "/v1/account", t["access_token"].as_str())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let t = app.login(&email, PASSWORD).await;
    let token = t["access_token"].as_str().unwrap().to_owned();
    for (method, path) in [
        ("GET", "/v1/account"),
        ("GET", "/v1/account/sessions"),
        ("GET", "/v1/auth/session"),
        ("POST", "/v1/account/mfa/backup-codes"),
    ] {
        let r = app.send(method, path, Some(&token)).await;
        assert_eq!(
            status_code(&r),
            (403, "mfa_enrollment_required".into()),
            "{method} {path}: {}",
            r.text()
        );
    }
    let r = app.send("GET", "/v1/admin/users", Some(&token)).await;
    assert_eq!(
        status_code(&r),
        (403, "mfa_required".into()),
        "{}",
        r.text()
    );
    let r = app.send("GET", "/v1/account/mfa", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // the hosted pages: signing in leads to the security section, the
    // account page says why, other forms are refused
    let form = app
        .page_form("/login?return_to=/account/activity", None)
        .await;
    let r = app
        .post_page(
            "/login",
            &form,
            &format!("{}&return_to=/account/activity", login_body(&email)),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account#security"));
    let cookie = app.login_cookie(&email, PASSWORD).await;
    let page = crate::pages::page_with(&app, "/account", &cookie).await;
    assert!(
        page.text().contains("id=\"enrolment-required\""),
        "{}",
        page.text()
    );
    let form = app.page_form("/account", Some(&cookie)).await;
    let r = app
        .post_page("/account/profile", &form, "name=Mallory")
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        r.text().contains("requires two-step sign-in"),
        "{}",
        r.text()
    );
    let r = crate::pages::page_with(&app, "/account/activity", &cookie).await;
    assert_eq!(r.status, 403, "{}", r.text());
    // signing out works
    let r = app
        .call(
            Request::post("/v1/auth/logout")
                .header("cookie", &cookie)
                .header("origin", ISSUER)
                .header("x-csrf-token", &form.csrf)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());

    // enrolling is what the session can do; then it is a full one
    let r = app.send("POST", "/v1/account/mfa/totp", Some(&token)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let secret = r.json()["secret"].as_str().unwrap().to_owned();
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            json!({"code": code_at(&app, &secret, 0)}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for path in ["/v1/account", "/v1/admin/users"] {
        let r = app.send("GET", path, Some(&token)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    // from now on, signing in asks for the factor
    assert_eq!(password_step(&app, &email).await["mfa_required"], true);
}
