//! The account lifecycle over HTTP (what depends on the store on both
//! backends, the rest on SQLite), with mail delivered
//! by the real SMTP transport to the test SMTP server started by
//! `scripts/services.sh`, read back from it, and its links followed.
//!
//! Background jobs run when a test calls `app.run_jobs()`; time moves with
//! `app.clock.advance(..)`. Every test uses addresses of its own, since
//! the SMTP server is shared.

use axum::body::Body;
use axum::http::Request;
use latchkey_core::abuse::brute_force::BruteForcePolicy;
use latchkey_core::abuse::{ChallengePolicy, GuardConfig};
use latchkey_core::admin::Actor;
use latchkey_core::audit::AuditQuery;
use latchkey_core::auth::LifecycleConfig;
use latchkey_core::jobs::{Jobs, Ran};
use latchkey_testkit::mailbox::{self, Received};
use latchkey_testkit::{ISSUER, Options, TestApp, TestResponse, USER_AGENT};
use serde_json::{Value, json};
use std::sync::Arc;
use time::Duration;

latchkey_testkit::both_backends!(
    verification_link_verifies_the_address_once,
    a_new_verification_link_supersedes_the_old_one,
    reset_requests_answer_alike_for_unknown_addresses,
    a_newer_reset_supersedes_the_older_and_links_expire,
    password_change_needs_the_current_password_and_ends_other_sessions,
    email_change_needs_recent_auth_and_a_link_to_the_new_address,
    deletion_after_the_grace_period_leaves_no_personal_data,
    deletion_can_be_cancelled_with_the_mailed_link,
    suspension_by_an_administrator_refuses_sign_in_until_it_ends,
    failed_delivery_is_retried_later_and_sent_once,
    new_passwords_follow_the_rules_and_a_reset_lifts_a_lockout(Options {
        brute_force: BruteForcePolicy {
            lockout_threshold: 3,
            ..BruteForcePolicy::default()
        },
        ..Options::default()
    }),
    every_lifecycle_change_is_audited_without_addresses,
    a_reset_link_mailed_to_the_old_address_dies_with_an_email_change,
    a_reset_link_dies_with_a_password_change,
    wrong_reauth_and_password_change_guesses_lock_like_wrong_logins(Options {
        brute_force: BruteForcePolicy {
            lockout_threshold: 3,
            ..BruteForcePolicy::default()
        },
        ..Options::default()
    }),
    jobs_retried_after_a_crash_mail_no_second_link,
);

latchkey_testkit::sqlite_only!(
    reset_links_use_the_configured_url_whatever_the_host_headers,
    unverified_sign_in_is_refused_when_configured(Options {
        lifecycle: LifecycleConfig {
            require_verified_email: true,
            ..LifecycleConfig::default()
        },
        ..Options::default()
    }),
    deactivation_ends_sessions_and_signing_in_reactivates,
    a_sign_in_from_a_new_device_is_notified,
    mailed_links_open_pages_that_act_only_when_submitted,
    mail_speaks_the_language_of_its_recipient,
    mail_locale_is_the_language_of_accounts_without_one(Options {
        lifecycle: LifecycleConfig {
            locale: "fr".into(),
            ..LifecycleConfig::default()
        },
        ..Options::default()
    }),
    mail_routes_are_limited_per_account_and_per_ip(Options {
        guard: GuardConfig {
            mail: "ip=8/hour, account=2/hour".parse().unwrap(),
            challenge: ChallengePolicy {
                enabled: false,
                ..ChallengePolicy::default()
            },
            ..GuardConfig::default()
        },
        ..Options::default()
    }),
);

const PASSWORD: &str = "correct horse battery staple";

/// A fresh address for this test.
fn address(tag: &str) -> String {
    format!("{tag}-{}@example.com", latchkey_core::id::new_id())
}

fn code(r: &TestResponse) -> String {
    r.code()
}

async fn register(app: &TestApp, email: &str) -> Value {
    app.register(email, PASSWORD).await
}

async fn try_login(app: &TestApp, identifier: &str, password: &str) -> TestResponse {
    app.json(
        "POST",
        "/v1/auth/login",
        json!({"identifier": identifier, "password": password}),
        None,
    )
    .await
}

async fn login(app: &TestApp, identifier: &str) -> String {
    let r = try_login(app, identifier, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

async fn status_of(app: &TestApp, token: &str) -> u16 {
    app.send("GET", "/v1/account", Some(token))
        .await
        .status
        .as_u16()
}

/// Runs the due jobs, then returns the messages to `to` (exactly `count`).
async fn delivered(app: &TestApp, to: &str, count: usize) -> Vec<Received> {
    app.run_jobs().await;
    let got = mailbox::messages_to(to);
    assert_eq!(
        got.len(),
        count,
        "messages to {to}: {:?}",
        got.iter()
            .map(|m| m.subject().to_owned())
            .collect::<Vec<_>>()
    );
    got
}

fn token_in(m: &Received, path: &str) -> String {
    m.token(&format!("{ISSUER}{path}?token="))
        .unwrap_or_else(|| panic!("no {path} link in: {}", m.text))
}

async fn post_token(app: &TestApp, path: &str, token: &str) -> TestResponse {
    app.json("POST", path, json!({"token": token}), None).await
}

async fn verification_link_verifies_the_address_once(app: TestApp) {
    let email = address("verify");
    register(&app, &email).await;
    let mail = delivered(&app, &email, 1).await.remove(0);
    assert!(
        mail.subject().contains("Confirm your email"),
        "{}",
        mail.subject()
    );
    assert!(
        mail.header("message-id")
            .is_some_and(|id| id.ends_with("@latchkey.test>"))
    );
    let link = mail
        .link(&format!("{ISSUER}/verify-email?token="))
        .expect("a link");
    let token = token_in(&mail, "/verify-email");
    assert!(token.len() >= 43, "at least 256 bits: {token}");
    assert!(
        mail.html.contains(&link.replace('&', "&amp;")),
        "the HTML part has the link too"
    );
    let access = login(&app, &email).await;
    assert_eq!(
        app.send("GET", "/v1/account", Some(&access)).await.json()["email_verified"],
        false
    );
    let r = post_token(&app, "/v1/auth/verify-email", &token).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        app.send("GET", "/v1/account", Some(&access)).await.json()["email_verified"],
        true
    );
    let r = post_token(&app, "/v1/auth/verify-email", &token).await;
    assert_eq!((r.status.as_u16(), code(&r)), (400, "invalid_token".into()));
    for bad in ["", "x", &"A".repeat(300)] {
        let r = post_token(&app, "/v1/auth/verify-email", bad).await;
        assert_eq!(r.status, 400, "{bad:?}");
    }
    // verified: asking again sends nothing
    let r = app
        .send("POST", "/v1/account/verify-email", Some(&access))
        .await;
    assert_eq!(r.status, 202);
    delivered(&app, &email, 1).await;
}

async fn a_new_verification_link_supersedes_the_old_one(app: TestApp) {
    let email = address("resend");
    register(&app, &email).await;
    let access = login(&app, &email).await;
    let r = app
        .send("POST", "/v1/account/verify-email", Some(&access))
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let r = app.send("POST", "/v1/account/verify-email", None).await;
    assert_eq!(r.status, 401, "resending needs a session");
    let mails = delivered(&app, &email, 2).await;
    let (old, new) = (
        token_in(&mails[0], "/verify-email"),
        token_in(&mails[1], "/verify-email"),
    );
    assert_ne!(old, new);
    assert_eq!(
        post_token(&app, "/v1/auth/verify-email", &old).await.status,
        400
    );
    assert_eq!(
        post_token(&app, "/v1/auth/verify-email", &new).await.status,
        204
    );
}

async fn request_reset(app: &TestApp, email: &str, host: &str) -> TestResponse {
    app.call(
        Request::post("/v1/auth/password-reset")
            .header("content-type", "application/json")
            .header("host", host)
            .header("x-forwarded-host", host)
            .header("x-forwarded-proto", "https")
            .header("forwarded", format!("host={host};proto=https"))
            .body(Body::from(json!({"email": email}).to_string()))
            .unwrap(),
    )
    .await
}

async fn reset_links_use_the_configured_url_whatever_the_host_headers(app: TestApp) {
    let email = address("poison");
    register(&app, &email).await;
    let other_session = login(&app, &email).await;
    let r = request_reset(&app, &email, "evil.example").await;
    assert_eq!(r.status, 202, "{}", r.text());
    let mails = delivered(&app, &email, 2).await;
    let reset = &mails[1];
    assert!(reset.subject().contains("Reset"), "{}", reset.subject());
    assert!(
        !reset.text.contains("evil.example") && !reset.html.contains("evil.example"),
        "a poisoned Host must not reach the mail: {}",
        reset.text
    );
    let link = reset
        .link(&format!("{ISSUER}/reset-password?token="))
        .expect("the link is built from the configured public URL");
    assert!(link.starts_with("http://latchkey.test/reset-password?token="));
    let token = token_in(reset, "/reset-password");

    // a too-short password is refused without using the token
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": "short"}),
            None,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": "a brand new passphrase"}),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        status_of(&app, &other_session).await,
        401,
        "every session ended"
    );
    assert_eq!(try_login(&app, &email, PASSWORD).await.status, 401);
    assert_eq!(
        try_login(&app, &email, "a brand new passphrase")
            .await
            .status,
        200
    );
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": "yet another passphrase"}),
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (400, "invalid_token".into()),
        "single use"
    );
    let mails = delivered(&app, &email, 3).await;
    assert!(
        mails[2].subject().contains("password was changed"),
        "{}",
        mails[2].subject()
    );
    let me = app
        .send(
            "GET",
            "/v1/account",
            Some(&login_with(&app, &email, "a brand new passphrase").await),
        )
        .await
        .json();
    assert_eq!(me["email_verified"], true, "the reset proved the address");
}

async fn login_with(app: &TestApp, email: &str, password: &str) -> String {
    let r = try_login(app, email, password).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

async fn reset_requests_answer_alike_for_unknown_addresses(app: TestApp) {
    let known = address("known");
    let unknown = address("unknown");
    register(&app, &known).await;
    let a = request_reset(&app, &known, "latchkey.test").await;
    let b = request_reset(&app, &unknown, "latchkey.test").await;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (202, 202));
    assert_eq!(a.body, b.body);
    assert!(a.body.is_empty());
    // both were queued as jobs: nothing was looked up on the request path
    assert_eq!(
        app.run_jobs().await,
        1 + 2 + 1,
        "verification mail, two reset jobs, one reset mail"
    );
    assert_eq!(mailbox::messages_to(&known).len(), 2);
    assert!(mailbox::messages_to(&unknown).is_empty());
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset",
            json!({"mail": "x"}),
            None,
        )
        .await;
    assert_eq!(r.status, 422, "the body shape is still checked");
}

async fn a_newer_reset_supersedes_the_older_and_links_expire(app: TestApp) {
    let email = address("supersede");
    register(&app, &email).await;
    request_reset(&app, &email, "latchkey.test").await;
    request_reset(&app, &email, "latchkey.test").await;
    let mails = delivered(&app, &email, 3).await;
    let (first, second) = (
        token_in(&mails[1], "/reset-password"),
        token_in(&mails[2], "/reset-password"),
    );
    let confirm = |token: String| {
        let app = &app;
        async move {
            app.json(
                "POST",
                "/v1/auth/password-reset/confirm",
                json!({"token": token, "new_password": "another good passphrase"}),
                None,
            )
            .await
        }
    };
    assert_eq!(confirm(first).await.status, 400, "superseded");
    // the newest one expires after 15 minutes
    app.clock
        .advance(Duration::minutes(15) + Duration::seconds(1));
    assert_eq!(confirm(second).await.status, 400, "expired");
    request_reset(&app, &email, "latchkey.test").await;
    let mails = delivered(&app, &email, 4).await;
    assert_eq!(
        confirm(token_in(&mails[3], "/reset-password")).await.status,
        204
    );
}

async fn password_change_needs_the_current_password_and_ends_other_sessions(app: TestApp) {
    let email = address("change");
    register(&app, &email).await;
    let mine = login(&app, &email).await;
    let other = login(&app, &email).await;
    let change = |current: &str, new: &str| {
        let (app, mine) = (&app, mine.clone());
        let body = json!({"current_password": current, "new_password": new});
        async move {
            app.json("POST", "/v1/account/password", body, Some(&mine))
                .await
        }
    };
    let r = change("wrong password", "a new good passphrase").await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (403, "wrong_password".into())
    );
    let r = change(PASSWORD, "short").await;
    assert_eq!(r.status, 422);
    assert_eq!(status_of(&app, &other).await, 200, "nothing changed yet");
    let r = change(PASSWORD, "a new good passphrase").await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        status_of(&app, &other).await,
        401,
        "the other session ended"
    );
    assert_eq!(status_of(&app, &mine).await, 200, "this one stays");
    assert_eq!(try_login(&app, &email, PASSWORD).await.status, 401);
    let mails = delivered(&app, &email, 2).await;
    assert!(mails[1].subject().contains("password was changed"));
}

async fn email_change_needs_recent_auth_and_a_link_to_the_new_address(app: TestApp) {
    let old = address("old");
    let new = address("new");
    register(&app, &old).await;
    let access = login(&app, &old).await;
    app.clock.advance(Duration::minutes(11));
    let ask = || {
        let (app, access) = (&app, access.clone());
        let body = json!({"new_email": new});
        async move {
            app.json("POST", "/v1/account/email", body, Some(&access))
                .await
        }
    };
    let r = ask().await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (403, "reauth_required".into())
    );
    let r = app
        .json(
            "POST",
            "/v1/auth/reauth",
            json!({"password": "nope"}),
            Some(&access),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (403, "wrong_password".into())
    );
    let r = app
        .json(
            "POST",
            "/v1/auth/reauth",
            json!({"password": PASSWORD}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["reauth_valid_until"].is_string());
    let r = ask().await;
    assert_eq!(r.status, 202, "{}", r.text());
    let to_new = delivered(&app, &new, 1).await.remove(0);
    let to_old = delivered(&app, &old, 2).await.remove(1);
    assert!(
        to_old.text.contains(&new),
        "the old address is told: {}",
        to_old.text
    );
    assert!(to_old.link(ISSUER).is_none(), "and gets no link");
    assert_eq!(
        app.send("GET", "/v1/account", Some(&access)).await.json()["email"],
        old,
        "nothing changes before the link is used"
    );
    let token = token_in(&to_new, "/verify-email");
    let r = post_token(&app, "/v1/auth/verify-email", &token).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let me = app.send("GET", "/v1/account", Some(&access)).await.json();
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some(new.as_str()), Some(true))
    );
    login(&app, &new).await;
    assert_eq!(try_login(&app, &old, PASSWORD).await.status, 401);
    // a taken address is refused; the same one too
    register(&app, &old).await;
    let r = app
        .json(
            "POST",
            "/v1/account/email",
            json!({"new_email": old}),
            Some(&access),
        )
        .await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "email_taken".into()));
    let r = app
        .json(
            "POST",
            "/v1/account/email",
            json!({"new_email": new}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 422);
}

async fn deletion_after_the_grace_period_leaves_no_personal_data(app: TestApp) {
    let email = address("Erase.Me");
    let bystander = address("bystander");
    register(&app, &bystander).await;
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": email, "password": PASSWORD, "username": "erase_me_now", "name": "Eraseme Fullname"}),
            None,
        )
        .await;
    assert_eq!(r.status, 201);
    let user = r.json();
    let access = login(&app, &email).await;
    let second = login(&app, &email).await;
    app.clock.advance(Duration::minutes(11));
    let r = app.send("DELETE", "/v1/account", Some(&access)).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (403, "reauth_required".into())
    );
    app.json(
        "POST",
        "/v1/auth/reauth",
        json!({"password": PASSWORD}),
        Some(&access),
    )
    .await;
    let r = app.send("DELETE", "/v1/account", Some(&access)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(r.json()["deletion_due_at"].is_string());
    assert_eq!(status_of(&app, &access).await, 401);
    assert_eq!(status_of(&app, &second).await, 401);
    let r = try_login(&app, &email, PASSWORD).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (423, "account_pending_deletion".into())
    );
    let mails = delivered(&app, &email, 2).await;
    assert!(mails[1].subject().contains("will be deleted"));
    token_in(&mails[1], "/cancel-deletion");

    // not yet: the sweep leaves it alone within the grace period
    app.jobs.sweep().await.unwrap();
    assert!(app.all_rows_as_text().await.contains(&email));
    app.clock.advance(Duration::days(30));
    assert!(app.jobs.schedule_sweep().await.unwrap());
    app.run_jobs().await;

    let everything = app.all_rows_as_text().await;
    // The audit log keeps its events (IP and User-Agent included) until
    // their retention ends; they never hold the address, username or name.
    let (audit, rest): (Vec<&str>, Vec<&str>) = everything
        .lines()
        .partition(|l| l.starts_with("audit_events|"));
    let (audit, rest) = (audit.join("\n"), rest.join("\n"));
    for pii in [
        email.as_str(),
        &email.to_lowercase(),
        "erase_me_now",
        "Eraseme Fullname",
    ] {
        assert!(!audit.contains(pii), "{pii} is in the audit log: {audit}");
    }
    for pii in [
        email.as_str(),
        &email.to_lowercase(),
        "erase_me_now",
        "Eraseme Fullname",
        "203.0.113.7",
        USER_AGENT,
    ] {
        assert!(!rest.contains(pii), "{pii} is still stored: {rest}");
    }
    let id = user["id"].as_str().unwrap();
    let events = events_about(&app, id).await;
    assert!(
        events.ends_with(&[
            "account.deletion_scheduled".to_owned(),
            "login.failed".to_owned(),
            "account.deleted".to_owned()
        ]),
        "{events:?}"
    );
    assert!(
        everything.contains(&bystander),
        "the dump sees other users' data"
    );
    let r = try_login(&app, &email, PASSWORD).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (401, "invalid_credentials".into())
    );
    // the address is free again
    register(&app, &email).await;
}

async fn deletion_can_be_cancelled_with_the_mailed_link(app: TestApp) {
    let email = address("cancel");
    register(&app, &email).await;
    let access = login(&app, &email).await;
    let r = app.send("DELETE", "/v1/account", Some(&access)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let mails = delivered(&app, &email, 2).await;
    let token = token_in(&mails[1], "/cancel-deletion");
    let r = post_token(&app, "/v1/auth/cancel-deletion", &token).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        post_token(&app, "/v1/auth/cancel-deletion", &token)
            .await
            .status,
        400
    );
    login(&app, &email).await;
    app.clock.advance(Duration::days(31));
    app.jobs.sweep().await.unwrap();
    login(&app, &email).await;
}

/// Suspension is the administrators' (issue 6): this checks that it and
/// the lifecycle agree. Sign-in answers 423 after the right password; an
/// ended suspension is inactive at once and the lifecycle sweep leaves its
/// record (the administrators' view shows it with `active: false`).
async fn suspension_by_an_administrator_refuses_sign_in_until_it_ends(app: TestApp) {
    let email = address("suspend");
    let user = register(&app, &email).await;
    let id = user["id"].as_str().unwrap();
    let access = login(&app, &email).await;
    let until = app.clock_now() + Duration::hours(1);
    let cli = Actor::command_line();
    app.auth
        .admin()
        .admin_suspend(&cli, id, Some(until), "spam")
        .await
        .unwrap();
    assert_eq!(
        status_of(&app, &access).await,
        401,
        "sessions end when it starts"
    );
    let r = try_login(&app, &email, PASSWORD).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (423, "account_suspended".into())
    );
    let when = time::OffsetDateTime::parse(
        r.json()["suspended_until"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(when, latchkey_core::store::truncate_to_millis(until));
    assert!(
        !r.text().contains("spam"),
        "the reason is for administrators"
    );
    // a wrong password still gets the plain answer: suspension is not an oracle
    let r = try_login(&app, &email, "wrong password").await;
    assert_eq!(r.status, 401);
    app.clock.advance(Duration::minutes(61));
    app.jobs.sweep().await.unwrap();
    login(&app, &email).await;
    let record = app.store.user_by_id(id).await.unwrap().unwrap().suspension;
    assert!(
        record.is_some_and(|s| !s.is_active(app.clock_now())),
        "the sweep keeps the ended suspension on record"
    );

    app.auth
        .admin()
        .admin_suspend(&cli, id, None, "abuse")
        .await
        .unwrap();
    let r = try_login(&app, &email, PASSWORD).await;
    assert_eq!(r.status, 423);
    assert_eq!(r.json()["suspended_until"], Value::Null);
    app.auth.admin().admin_unsuspend(&cli, id).await.unwrap();
    login(&app, &email).await;
    assert_eq!(
        events_about(&app, id)
            .await
            .into_iter()
            .filter(|e| e.starts_with("user.") || e == "login.failed")
            .collect::<Vec<_>>(),
        vec![
            "user.registered",
            "user.suspended",
            "login.failed",
            "login.failed",
            "user.suspended",
            "login.failed",
            "user.unsuspended"
        ]
    );
}

/// The types of the events about `user_id`, oldest first.
async fn events_about(app: &TestApp, user_id: &str) -> Vec<String> {
    app.store
        .audit_events(&AuditQuery {
            subject_id: Some(user_id.to_owned()),
            oldest_first: true,
            limit: 200,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

async fn unverified_sign_in_is_refused_when_configured(app: TestApp) {
    let email = address("strict");
    register(&app, &email).await;
    let r = try_login(&app, &email, PASSWORD).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (403, "email_not_verified".into())
    );
    let r = try_login(&app, &email, "wrong password").await;
    assert_eq!(r.status, 401, "only after the password is right");
    let mail = delivered(&app, &email, 1).await.remove(0);
    post_token(
        &app,
        "/v1/auth/verify-email",
        &token_in(&mail, "/verify-email"),
    )
    .await;
    login(&app, &email).await;
}

async fn deactivation_ends_sessions_and_signing_in_reactivates(app: TestApp) {
    let email = address("deactivate");
    register(&app, &email).await;
    let a = login(&app, &email).await;
    let b = login(&app, &email).await;
    let r = app.send("POST", "/v1/account/deactivate", Some(&a)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        (status_of(&app, &a).await, status_of(&app, &b).await),
        (401, 401)
    );
    let c = login(&app, &email).await;
    assert_eq!(status_of(&app, &c).await, 200);
}

async fn a_sign_in_from_a_new_device_is_notified(app: TestApp) {
    let email = address("device");
    register(&app, &email).await;
    login(&app, &email).await; // the first sign-in is not news
    login(&app, &email).await; // the same device again
    delivered(&app, &email, 1).await; // only the verification mail
    let r = app
        .call(
            Request::post("/v1/auth/login")
                .header("content-type", "application/json")
                .header("user-agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/126.0.0.0 Safari/537.36")
                .body(Body::from(json!({"identifier": email, "password": PASSWORD}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    let mails = delivered(&app, &email, 2).await;
    assert!(
        mails[1].subject().contains("New sign-in"),
        "{}",
        mails[1].subject()
    );
    assert!(mails[1].text.contains("Chrome on macOS") && mails[1].text.contains("203.0.113.7"));
}

async fn failed_delivery_is_retried_later_and_sent_once(app: TestApp) {
    let email = address("retry");
    // a runner whose SMTP server is down (nothing listens on port 1)
    let down = Jobs::new(
        app.auth.clone(),
        Arc::new(
            latchkey_mail::SmtpTransport::new(
                &latchkey_mail::SmtpSettings {
                    host: "127.0.0.1".into(),
                    port: 1,
                    security: latchkey_mail::SmtpSecurity::None,
                    username: None,
                    password: None,
                    timeout: std::time::Duration::from_secs(5),
                    ca_file: None,
                    hello_name: "latchkey.test".into(),
                },
                latchkey_mail::parse_mailbox("lk <no-reply@latchkey.test>").unwrap(),
            )
            .unwrap(),
        ),
        app.jobs.config().clone(),
    );
    register(&app, &email).await;
    assert_eq!(
        down.run_next().await.unwrap(),
        Ran::Retry {
            kind: "mail.send".into()
        }
    );
    assert_eq!(
        down.run_next().await.unwrap(),
        Ran::Idle,
        "not due again yet"
    );
    assert_eq!(app.run_jobs().await, 0, "nor for the healthy runner");
    assert!(mailbox::messages_to(&email).is_empty());
    // after the backoff the healthy runner delivers it, once
    app.clock
        .advance(app.jobs.config().backoff(1) + Duration::seconds(1));
    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(mailbox::messages_to(&email).len(), 1);
    app.clock.advance(Duration::hours(2));
    assert_eq!(app.run_jobs().await, 0);
    assert_eq!(mailbox::messages_to(&email).len(), 1);
}

trait ClockNow {
    fn clock_now(&self) -> time::OffsetDateTime;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> time::OffsetDateTime {
        latchkey_core::Clock::now(self.clock.as_ref())
    }
}

/// Posts a link page's form as the browser that opened the page would:
/// with the page's CSRF cookie and token, from latchkey's origin.
async fn form_post(app: &TestApp, path: &str, body: &str) -> TestResponse {
    let form = app.page_form(&format!("{path}?token=x"), None).await;
    app.post_page(path, &form, body).await
}

async fn mailed_links_open_pages_that_act_only_when_submitted(app: TestApp) {
    let email = address("pages");
    register(&app, &email).await;
    let access = login(&app, &email).await;
    let mail = delivered(&app, &email, 1).await.remove(0);
    let link = mail.link(&format!("{ISSUER}/verify-email?token=")).unwrap();
    let token = token_in(&mail, "/verify-email");
    // opening the link (as a mail scanner would) changes nothing
    let r = app.get(link.strip_prefix(ISSUER).unwrap()).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(
        r.text()
            .contains(&format!("name=\"token\" value=\"{token}\"")),
        "{}",
        r.text()
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let verified = || async {
        app.send("GET", "/v1/account", Some(&access)).await.json()["email_verified"].clone()
    };
    assert_eq!(verified().await, false);
    // submitting the form does
    let r = form_post(&app, "/verify-email", &format!("token={token}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(verified().await, true);
    let r = form_post(&app, "/verify-email", &format!("token={token}")).await;
    assert_eq!(r.status, 400);
    // an injected token is escaped, not markup
    let r = app
        .get("/verify-email?token=%22%3E%3Cscript%3Ealert(1)%3C/script%3E")
        .await;
    assert!(!r.text().contains("<script>"), "{}", r.text());
    let r = form_post(&app, "/verify-email", "%%%").await;
    assert!(r.status.is_client_error());

    // the reset page: a short password re-renders the form, a good one works
    request_reset(&app, &email, "latchkey.test").await;
    let mail = delivered(&app, &email, 2).await.remove(1);
    let token = token_in(&mail, "/reset-password");
    let r = app.get(&format!("/reset-password?token={token}")).await;
    assert!(r.text().contains("type=\"password\""));
    let r = form_post(
        &app,
        "/reset-password",
        &format!("token={token}&new_password=short"),
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text().contains(&format!("value=\"{token}\"")),
        "the form again"
    );
    let r = form_post(
        &app,
        "/reset-password",
        &format!("token={token}&new_password=a+good+new+passphrase"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    login_with(&app, &email, "a good new passphrase").await;
}

async fn reset_link(app: &TestApp, email: &str, count: usize) -> String {
    let r = request_reset(app, email, "latchkey.test").await;
    assert_eq!(r.status, 202, "{}", r.text());
    let mails = delivered(app, email, count).await;
    token_in(&mails[count - 1], "/reset-password")
}

/// New passwords from a reset or a change pass the registration rules
/// (issue 5): commonly used ones and ones like the address are refused,
/// naming the field. A completed reset also lifts a lockout after failed
/// sign-ins: the mailbox proved the owner.
async fn new_passwords_follow_the_rules_and_a_reset_lifts_a_lockout(app: TestApp) {
    let email = address("rules");
    register(&app, &email).await;
    let access = login(&app, &email).await;
    for (new, refused) in [
        ("password123", "password_too_common"),
        ("qwertyuiop", "password_too_common"),
        (email.as_str(), "password_like_identity"),
        ("short", "password_too_short"),
    ] {
        let r = app
            .json(
                "POST",
                "/v1/account/password",
                json!({"current_password": PASSWORD, "new_password": new}),
                Some(&access),
            )
            .await;
        assert_eq!(r.status, 422, "{new}: {}", r.text());
        let e = &r.json()["errors"][0];
        assert_eq!(
            (e["field"].as_str(), e["code"].as_str()),
            (Some("new_password"), Some(refused)),
            "{new}"
        );
    }
    // three wrong passwords lock the account (the threshold of this app)
    for _ in 0..3 {
        assert_eq!(try_login(&app, &email, "not my password").await.status, 401);
    }
    let r = try_login(&app, &email, PASSWORD).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (423, "account_locked".into())
    );
    let token = reset_link(&app, &email, 2).await;
    for (new, refused) in [
        ("password123", "password_too_common"),
        (email.as_str(), "password_like_identity"),
    ] {
        let r = app
            .json(
                "POST",
                "/v1/auth/password-reset/confirm",
                json!({"token": token, "new_password": new}),
                None,
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(r.json()["errors"][0]["code"], refused);
    }
    // the refused attempts did not use the link; the page says why too
    let r = form_post(
        &app,
        "/reset-password",
        &format!("token={token}&new_password=password123"),
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("commonly used"), "{}", r.text());
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": "a brand new passphrase"}),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    login_with(&app, &email, "a brand new passphrase").await;
}

/// Every lifecycle change records its event (issue 6's audit log), with the
/// caller's IP and the user as actor, or no actor for what the system or an
/// anonymous caller did; no event carries an address.
async fn every_lifecycle_change_is_audited_without_addresses(app: TestApp) {
    let email = address("audited");
    let new_email = address("audited-new");
    let user = register(&app, &email).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let mail = delivered(&app, &email, 1).await.remove(0);
    post_token(
        &app,
        "/v1/auth/verify-email",
        &token_in(&mail, "/verify-email"),
    )
    .await;
    let token = reset_link(&app, &email, 2).await;
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": "a brand new passphrase"}),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let access = login_with(&app, &email, "a brand new passphrase").await;
    let r = app
        .json(
            "POST",
            "/v1/account/password",
            json!({"current_password": "a brand new passphrase", "new_password": PASSWORD}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = app
        .json(
            "POST",
            "/v1/account/email",
            json!({"new_email": new_email}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let link = delivered(&app, &new_email, 1).await.remove(0);
    post_token(
        &app,
        "/v1/auth/verify-email",
        &token_in(&link, "/verify-email"),
    )
    .await;
    let r = app
        .send("POST", "/v1/account/deactivate", Some(&access))
        .await;
    assert_eq!(r.status, 204);
    let access = login(&app, &new_email).await;
    let r = app.send("DELETE", "/v1/account", Some(&access)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let cancel = delivered(&app, &new_email, 2).await.remove(1);
    let r = post_token(
        &app,
        "/v1/auth/cancel-deletion",
        &token_in(&cancel, "/cancel-deletion"),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());

    let events = app
        .store
        .audit_events(&AuditQuery {
            subject_id: Some(id.clone()),
            oldest_first: true,
            limit: 200,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.event.as_str())
        .filter(|e| !e.starts_with("login."))
        .collect();
    assert_eq!(
        kinds,
        vec![
            "user.registered",
            "email.verified",
            "password_reset.requested",
            "password_reset.completed",
            "password.changed",
            "email_change.requested",
            "email_change.confirmed",
            "account.deactivated",
            "account.reactivated",
            "account.deletion_scheduled",
            "account.deletion_cancelled",
        ]
    );
    for e in &events {
        assert_eq!(e.ip.as_deref(), Some("203.0.113.7"), "{e:?}");
        let json = e.to_json().to_string();
        assert!(
            !json.contains(&email) && !json.contains(&new_email),
            "an address in {json}"
        );
        let by_the_user = e.event != "password_reset.requested";
        assert_eq!(e.actor_id.is_some(), by_the_user, "{e:?}");
    }
    let scheduled = events
        .iter()
        .find(|e| e.event == "account.deletion_scheduled")
        .unwrap();
    assert!(scheduled.session_id.is_some() && scheduled.details.contains_key("due"));
    // the user sees them in their own activity
    let access = login(&app, &new_email).await;
    let r = app.send("GET", "/v1/account/activity", Some(&access)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("password.changed"), "{}", r.text());
}

/// The mail-sending routes take issue 5's `mail` quotas per account (and per
/// IP, at the edge): a reset request for one address, whether it has an
/// account or not, a resend and an email change of one account.
async fn mail_routes_are_limited_per_account_and_per_ip(app: TestApp) {
    let email = address("limited");
    register(&app, &email).await;
    let access = login(&app, &email).await;
    for i in 0..2 {
        let r = request_reset(&app, &email, "latchkey.test").await;
        assert_eq!(r.status, 202, "request {i}: {}", r.text());
        assert!(r.header("ratelimit-policy").is_some(), "{:?}", r.headers);
    }
    let r = request_reset(&app, &email.to_uppercase(), "latchkey.test").await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (429, "rate_limited".into()),
        "{}",
        r.text()
    );
    assert_eq!(r.json()["policy"], "mail_account");
    assert!(r.header("retry-after").is_some());
    // the same account's other mail routes share its quota
    let r = app
        .send("POST", "/v1/account/verify-email", Some(&access))
        .await;
    assert_eq!((r.status.as_u16(), code(&r)), (429, "rate_limited".into()));
    // an unknown address has a quota of its own, and answers alike
    let unknown = address("limited-unknown");
    for _ in 0..2 {
        assert_eq!(
            request_reset(&app, &unknown, "latchkey.test").await.status,
            202
        );
    }
    let r = request_reset(&app, &unknown, "latchkey.test").await;
    assert_eq!(r.json()["policy"], "mail_account");
    // the IP quota of eight is spent: another address is refused by IP
    let other = address("limited-other");
    let r = request_reset(&app, &other, "latchkey.test").await;
    assert_eq!(r.status, 202, "{}", r.text());
    let r = request_reset(&app, &other, "latchkey.test").await;
    assert_eq!((r.status.as_u16(), code(&r)), (429, "rate_limited".into()));
    assert_eq!(r.json()["policy"], "mail_ip", "{}", r.text());
    // an hour later every quota has refilled
    app.clock.advance(Duration::hours(1));
    let access = login(&app, &email).await;
    let r = app
        .json(
            "POST",
            "/v1/account/email",
            json!({"new_email": address("limited-new")}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
}

/// What a client can observe of a registration: status, sorted header
/// names, content type, and the body's fields with the type of each value.
type Observable = (u16, Vec<String>, Option<String>, Vec<(String, String)>);

fn observable(r: &TestResponse) -> Observable {
    let mut headers: Vec<String> = r.headers.keys().map(|k| k.as_str().to_owned()).collect();
    headers.sort();
    let body = r.json();
    let fields = body
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let kind = match v {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            (k.clone(), kind.to_owned())
        })
        .collect();
    (
        r.status.as_u16(),
        headers,
        r.header("content-type").map(str::to_owned),
        fields,
    )
}

/// By default an address that has an account answers exactly like a new
/// one, does the same work (one queued mail), and its owner is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_does_not_tell_who_has_an_account() {
    let app = TestApp::sqlite().await;
    let owner = address("owner");
    let user = register(&app, &owner).await;
    delivered(&app, &owner, 1).await;
    let attempt = |email: &str| {
        app.json(
            "POST",
            "/v1/auth/register",
            json!({"email": email, "password": "an attacker's passphrase", "name": "Mallory"}),
            None,
        )
    };
    let fresh = address("fresh");
    let new = attempt(&fresh).await;
    assert_eq!(app.run_jobs().await, 1, "a new address: one mail");
    let existing = attempt(&owner.to_uppercase()).await;
    assert_eq!(app.run_jobs().await, 1, "an existing address: one mail too");
    assert_eq!(new.status, 201, "{}", new.text());
    assert_eq!(
        observable(&existing),
        observable(&new),
        "{}",
        existing.text()
    );
    let body = existing.json();
    assert_ne!(body["id"], user["id"], "the id names no real account");
    assert_eq!(
        app.send(
            "GET",
            &format!("/v1/admin/users/{}", body["id"].as_str().unwrap()),
            None
        )
        .await
        .status,
        401
    );
    let root = app
        .auth
        .admin()
        .admin_create_user(
            &Actor::command_line(),
            latchkey_core::admin::NewUser {
                email: address("root"),
                password: PASSWORD.into(),
                roles: vec!["admin".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let root_token = login(&app, &root.email).await;
    let r = app
        .send(
            "GET",
            &format!("/v1/admin/users/{}", body["id"].as_str().unwrap()),
            Some(&root_token),
        )
        .await;
    assert_eq!(r.status, 404, "no account has the id it was given");
    assert_eq!(
        try_login(&app, &owner, "an attacker's passphrase")
            .await
            .status,
        401,
        "the account is unchanged"
    );
    login(&app, &owner).await;
    // the owner learns of it; the new address got its verification link
    let mails = delivered(&app, &owner, 2).await;
    assert!(
        mails[1].subject().contains("tried to sign up"),
        "{}",
        mails[1].subject()
    );
    assert!(!mails[1].text.contains("Mallory"));
    assert!(
        delivered(&app, &fresh, 1).await[0]
            .subject()
            .contains("Confirm your email")
    );
    // a taken username answers the same whether or not the address is taken
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": address("named"), "password": PASSWORD, "username": "taken_name"}),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    for email in [owner.clone(), address("other")] {
        let r = app
            .json(
                "POST",
                "/v1/auth/register",
                json!({"email": email, "password": "an attacker's passphrase", "username": "taken_name"}),
                None,
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), code(&r)),
            (409, "username_taken".into()),
            "{email}"
        );
    }
}

/// `accounts.reveal_existing_on_register` restores the 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_reveals_existing_addresses_when_configured() {
    let app = TestApp::sqlite_with(
        Options {
            lifecycle: LifecycleConfig {
                reveal_existing_on_register: true,
                ..LifecycleConfig::default()
            },
            ..Options::default()
        },
        |r| r,
    )
    .await;
    let owner = address("revealed");
    register(&app, &owner).await;
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": owner, "password": "an attacker's passphrase"}),
            None,
        )
        .await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "email_taken".into()));
    assert!(
        delivered(&app, &owner, 1).await[0]
            .subject()
            .contains("Confirm your email"),
        "no notice then"
    );
}

async fn confirm_reset(app: &TestApp, token: &str, new_password: &str) -> TestResponse {
    app.json(
        "POST",
        "/v1/auth/password-reset/confirm",
        json!({"token": token, "new_password": new_password}),
        None,
    )
    .await
}

/// A reset link mailed to the old address dies when the account moves to
/// a new one (issue 11): whoever still reads the old mailbox cannot take
/// the account over with it.
async fn a_reset_link_mailed_to_the_old_address_dies_with_an_email_change(app: TestApp) {
    let old = address("left");
    let new = address("moved");
    register(&app, &old).await;
    let stale = reset_link(&app, &old, 2).await;
    let access = login(&app, &old).await;
    let r = app
        .json(
            "POST",
            "/v1/account/email",
            json!({"new_email": new}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let to_new = delivered(&app, &new, 1).await.remove(0);
    let r = post_token(
        &app,
        "/v1/auth/verify-email",
        &token_in(&to_new, "/verify-email"),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = confirm_reset(&app, &stale, "a takeover passphrase").await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (400, "invalid_token".into()),
        "{}",
        r.text()
    );
    login(&app, &new).await; // the owner's password stands
}

/// A reset link dies when the password is changed with the current one
/// (issue 11): the owner who changed it has closed every older way in.
async fn a_reset_link_dies_with_a_password_change(app: TestApp) {
    let email = address("changed");
    register(&app, &email).await;
    let stale = reset_link(&app, &email, 2).await;
    let access = login(&app, &email).await;
    let r = app
        .json(
            "POST",
            "/v1/account/password",
            json!({"current_password": PASSWORD, "new_password": "a new good passphrase"}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = confirm_reset(&app, &stale, "a takeover passphrase").await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (400, "invalid_token".into()),
        "{}",
        r.text()
    );
    login_with(&app, &email, "a new good passphrase").await;
}

/// Wrong passwords at re-authentication and password change count like
/// wrong sign-ins (issue 11): with a stolen session, three guesses (this
/// app's threshold) lock the account as three wrong logins would, and the
/// fourth is refused without a check, right password or not. A right
/// password clears the count, as at sign-in.
async fn wrong_reauth_and_password_change_guesses_lock_like_wrong_logins(app: TestApp) {
    let reauth = |access: String, password: &'static str| {
        let app = &app;
        async move {
            app.json(
                "POST",
                "/v1/auth/reauth",
                json!({"password": password}),
                Some(&access),
            )
            .await
        }
    };
    let change = |access: String, current: &'static str| {
        let app = &app;
        let body = json!({"current_password": current, "new_password": "a new good passphrase"});
        async move {
            app.json("POST", "/v1/account/password", body, Some(&access))
                .await
        }
    };
    let refused = |r: &TestResponse| (r.status.as_u16(), code(r));
    let wrong = (403, "wrong_password".to_owned());
    let locked = (423, "account_locked".to_owned());

    let email = address("reauth-guess");
    register(&app, &email).await;
    let access = login(&app, &email).await;
    for _ in 0..3 {
        assert_eq!(refused(&reauth(access.clone(), "a guess").await), wrong);
    }
    assert_eq!(refused(&reauth(access.clone(), PASSWORD).await), locked);
    assert_eq!(refused(&try_login(&app, &email, PASSWORD).await), locked);

    let email = address("change-guess");
    register(&app, &email).await;
    let access = login(&app, &email).await;
    for _ in 0..3 {
        assert_eq!(refused(&change(access.clone(), "a guess").await), wrong);
    }
    assert_eq!(refused(&change(access.clone(), PASSWORD).await), locked);
    assert_eq!(refused(&try_login(&app, &email, PASSWORD).await), locked);

    // the right password in between starts the count again
    let email = address("owner");
    register(&app, &email).await;
    let access = login(&app, &email).await;
    for _ in 0..2 {
        for _ in 0..2 {
            assert_eq!(refused(&reauth(access.clone(), "a typo").await), wrong);
        }
        let r = reauth(access.clone(), PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

/// A job whose worker died after its work and before recording it runs
/// again once its lease ends (issue 11): a retried reset request finds the
/// link and mail of its first run and mails nothing new, so one request
/// gives one link, and it works; a retried delivery sends nothing twice.
async fn jobs_retried_after_a_crash_mail_no_second_link(app: TestApp) {
    let email = address("crashed");
    let user_id = register(&app, &email).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let crash = async || {
        let kind = app.jobs.run_next_and_crash().await.expect("a job runs");
        app.clock
            .advance(app.jobs.config().lease + Duration::seconds(1));
        kind
    };
    assert_eq!(crash().await.as_deref(), Some("mail.send"));
    delivered(&app, &email, 1).await;
    let r = request_reset(&app, &email, "latchkey.test").await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(crash().await.as_deref(), Some("password_reset.request"));
    let mails = delivered(&app, &email, 2).await;
    let token = token_in(&mails[1], "/reset-password");
    let r = confirm_reset(&app, &token, "a brand new passphrase").await;
    assert_eq!(r.status, 204, "{}", r.text());
    let events = events_about(&app, &user_id).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "password_reset.requested")
            .count(),
        1,
        "{events:?}"
    );
}

/// Registers through the JSON API with the given `Accept-Language` and body.
async fn register_in(app: &TestApp, accept: &str, body: Value) -> TestResponse {
    app.call(
        Request::post("/v1/auth/register")
            .header("content-type", "application/json")
            .header("accept-language", accept)
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

async fn reset_mail(app: &TestApp, email: &str, count: usize) -> Received {
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset",
            json!({"email": email}),
            None,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    app.run_jobs().await;
    delivered(app, email, count).await.pop().unwrap()
}

async fn mail_speaks_the_language_of_its_recipient(app: TestApp) {
    // registered from a German browser: the account's language is German
    let email = address("sprache");
    let r = register_in(
        &app,
        "de-DE, en;q=0.5",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["locale"], "de");
    let verify = delivered(&app, &email, 1).await.remove(0);
    assert!(
        verify.text.contains("Der Link funktioniert einmal"),
        "{}",
        verify.text
    );
    // the body's `locale` wins over the request's language
    let other = address("langue");
    let r = register_in(
        &app,
        "de",
        json!({"email": other, "password": PASSWORD, "locale": "fr-BE"}),
    )
    .await;
    assert_eq!(r.json()["locale"], "fr");
    let verify = delivered(&app, &other, 1).await.remove(0);
    assert!(
        verify.text.contains("Le lien fonctionne une seule fois"),
        "{}",
        verify.text
    );

    // the account changes its language; later mail follows it
    let token = login(&app, &email).await;
    let patch = |body: Value| app.json("PATCH", "/v1/account", body, Some(&token));
    let r = patch(json!({"locale": "fr-CA"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["locale"], "fr");
    let reset = reset_mail(&app, &email, 2).await;
    assert!(reset.text.contains("pendant 15 minutes"), "{}", reset.text);
    let r = patch(json!({"locale": "es"})).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["errors"][0]["field"], "locale");
    assert_eq!(r.json()["errors"][0]["code"], "unsupported_locale");
    // null: back to the default (mail.locale, English here)
    let r = patch(json!({"locale": null})).await;
    assert_eq!(r.json()["locale"], Value::Null);
    let reset = reset_mail(&app, &email, 3).await;
    assert!(
        reset.text.contains("The link works once, for 15 minutes"),
        "{}",
        reset.text
    );
}

async fn mail_locale_is_the_language_of_accounts_without_one(app: TestApp) {
    // a request that names no configured language: the account has none
    let email = address("default");
    let r = register_in(
        &app,
        "es, it;q=0.5",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["locale"], Value::Null);
    let verify = delivered(&app, &email, 1).await.remove(0);
    assert!(
        verify.text.contains("Le lien fonctionne une seule fois"),
        "{}",
        verify.text
    );
}
