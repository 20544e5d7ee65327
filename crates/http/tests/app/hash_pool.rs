//! The password hashing pool seen from HTTP: a full queue answers 503 with
//! `Retry-After` instead of growing, and a login rehashes a password stored
//! with other parameters.

use std::sync::Arc;

use latchkey_core::password::{HashParams, Password, PasswordHasher, PoolConfig};
use latchkey_core::store::truncate_to_millis;
use latchkey_core::user::User;
use latchkey_core::{Clock, SystemClock};
use latchkey_testkit::{Options, TestApp};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hash_queue_answers_503_busy() {
    let app = TestApp::sqlite_with(
        Options {
            // heavier hashes and a queue of one: most of 40 concurrent logins must wait
            hash: HashParams {
                m_cost_kib: 8192,
                t_cost: 2,
                p_cost: 1,
            },
            hash_queue: 1,
            ..Options::default()
        },
        |r| r,
    )
    .await;
    let app = Arc::new(app);
    let results = futures_util::future::join_all((0..40).map(|i| {
        let app = app.clone();
        async move {
            app.json(
                "POST",
                "/v1/auth/login",
                json!({"identifier": format!("nobody{i}@example.com"), "password": "whatever-password"}),
                None,
            )
            .await
        }
    }))
    .await;
    let busy: Vec<_> = results.iter().filter(|r| r.status == 503).collect();
    assert!(
        !busy.is_empty(),
        "some logins must be turned away: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in &busy {
        assert_eq!(r.json()["code"], "busy");
        let retry: u32 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry));
    }
    for r in results.iter().filter(|r| r.status != 503) {
        assert_eq!(
            r.status,
            401,
            "the others are answered normally: {}",
            r.text()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_rehashes_a_password_stored_with_other_parameters() {
    let app = TestApp::sqlite().await;
    // a hash made with different (older) parameters than the app's
    let old = PasswordHasher::new(PoolConfig {
        workers: 1,
        queue_capacity: 4,
        params: HashParams {
            m_cost_kib: 2048,
            t_cost: 1,
            p_cost: 1,
        },
    })
    .unwrap();
    let old_hash = old
        .hash(Password::for_verification("an old password"))
        .await
        .unwrap();
    assert!(old_hash.contains("m=2048"));
    let now = truncate_to_millis(SystemClock.now());
    let user = User {
        id: latchkey_core::id::new_id(),
        email: "old@example.com".into(),
        email_normalized: "old@example.com".into(),
        email_verified: true,
        username: None,
        username_normalized: None,
        name: None,
        password_hash: Some(old_hash.clone()),
        suspension: None,
        locale: None,
        created_at: now,
        updated_at: now,
    };
    app.store.insert_user(&user, &[], None).await.unwrap();
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "old@example.com", "password": "an old password"}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = app
        .store
        .user_by_id(&user.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert_ne!(stored, old_hash, "rehashed on login");
    let p = app.auth.hasher().params();
    assert!(
        stored.contains(&format!("m={},t={},p={}", p.m_cost_kib, p.t_cost, p.p_cost)),
        "{stored}"
    );
    // and the new hash still verifies
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "old@example.com", "password": "an old password"}),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn metrics_count_logins_refreshes_and_the_hash_queue() {
    let app = TestApp::sqlite().await;
    app.json(
        "POST",
        "/v1/auth/register",
        json!({"email": "m@example.com", "password": "correct horse battery"}),
        None,
    )
    .await;
    app.json(
        "POST",
        "/v1/auth/login",
        json!({"identifier": "m@example.com", "password": "wrong password!"}),
        None,
    )
    .await;
    let t = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "m@example.com", "password": "correct horse battery"}),
            None,
        )
        .await
        .json();
    app.json(
        "POST",
        "/v1/auth/refresh",
        json!({"refresh_token": t["refresh_token"]}),
        None,
    )
    .await;
    let text = app.get("/metrics").await.text();
    for needle in [
        r#"latchkey_logins_total{outcome="success"}"#,
        r#"latchkey_logins_total{outcome="invalid_credentials"}"#,
        r#"latchkey_refreshes_total{outcome="success"}"#,
        "latchkey_password_hash_queue_depth",
    ] {
        assert!(text.contains(needle), "{needle} missing from /metrics");
    }
}
