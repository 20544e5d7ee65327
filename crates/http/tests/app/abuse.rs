//! Abuse protection over HTTP: password guessing against
//! one account, credential stuffing across accounts, the owner's known
//! device, trusted proxies, proof-of-work challenges, password policy, IP
//! lists, CORS and headers. The shared (Redis) mode runs against the real
//! Redis servers started by `scripts/test.sh`. What reaches the failure
//! counters in the store runs on both backends; the rest on SQLite.
//!
//! Time is a [`ManualClock`]: waits are clock advances, never sleeps.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use latchkey_core::abuse::brute_force::BruteForcePolicy;
use latchkey_core::abuse::challenge::solve;
use latchkey_core::abuse::limiter::{CounterBackend, SHARED_RETRY};
use latchkey_core::abuse::{ChallengePolicy, ClassLimits, GuardConfig};
use latchkey_core::password::Password;
use latchkey_core::user::{User, normalize_email};
use latchkey_core::{Clock, id};
use latchkey_http::{CorsPolicy, Network};
use latchkey_redis::{RedisConfig, RedisCounters};
use latchkey_testkit::{ISSUER, ManualClock, Options, TestApp, TestResponse};
use serde_json::{Value, json};

latchkey_testkit::both_backends!(
    factory:
    hundred_and_one_wrong_passwords_are_throttled_and_at_most_100_checked,
    the_owner_on_a_known_device_signs_in_during_an_attack,
    one_password_across_1000_accounts_from_one_ip_limits_the_ip_not_the_accounts,
);

latchkey_testkit::sqlite_only!(
    factory:
    forwarded_for_counts_only_from_trusted_proxies,
    a_failure_surge_demands_a_challenge,
    a_signup_surge_demands_a_challenge,
    common_and_breached_passwords_are_refused_with_a_reason,
    two_nodes_share_limits_through_redis,
    redis_down_falls_back_to_local_limits_and_recovers,
);

const PASSWORD: &str = "correct horse battery staple";
const WRONG: &str = "not the right password";

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at_unix(1_800_000_000))
}

fn peer(a: u8, b: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, a, b)), 40_000)
}

fn limits(login: &str) -> GuardConfig {
    GuardConfig {
        login: login.parse().unwrap(),
        challenge: ChallengePolicy {
            enabled: false,
            ..ChallengePolicy::default()
        },
        ..GuardConfig::default()
    }
}

fn code(r: &TestResponse) -> String {
    r.code()
}

/// POST a JSON body from `from`, with extra headers.
async fn post(
    app: &TestApp,
    from: SocketAddr,
    path: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut req = Request::post(path).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.call_from(from, req.body(Body::from(body.to_string())).unwrap())
        .await
}

async fn login(
    app: &TestApp,
    from: SocketAddr,
    identifier: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    post(
        app,
        from,
        "/v1/auth/login",
        json!({"identifier": identifier, "password": password}),
        headers,
    )
    .await
}

async fn register(app: &TestApp, email: &str) -> Value {
    let r = post(
        app,
        peer(250, 1),
        "/v1/auth/register",
        json!({"email": email, "password": PASSWORD}),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// The `name=value` of the device cookie a response sets.
fn device_cookie(r: &TestResponse) -> String {
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("latchkey_device="))
        .unwrap_or_else(|| panic!("no device cookie in {:?}", r.headers))
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=15552000"] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    set.split(';').next().unwrap().to_owned()
}

fn retry_after(r: &TestResponse) -> i64 {
    r.header("retry-after")
        .unwrap_or_else(|| panic!("429 without Retry-After: {}", r.text()))
        .parse()
        .unwrap()
}

async fn hundred_and_one_wrong_passwords_are_throttled_and_at_most_100_checked(
    make: impl AsyncFnOnce(Options) -> TestApp,
) {
    let clock = clock();
    let app = make(Options {
        clock: Some(clock.clone()),
        guard: limits("ip=30/min, ip_account=10/min"),
        ..Options::default()
    })
    .await;
    let victim = register(&app, "victim@example.com").await;
    let before = app.auth.password_checks();

    // a botnet: every guess from another address, so neither the per-IP nor
    // the per-pair limit stops it; only the account's counter does
    let (mut checked, mut throttled, mut locked, mut sent) = (0, 0, 0, 0);
    let mut waited = 0i64;
    while checked + locked < 101 && sent < 1000 {
        sent += 1;
        let from = peer((sent / 250) as u8, (sent % 250) as u8);
        let r = login(&app, from, "victim@example.com", WRONG, &[]).await;
        match (r.status.as_u16(), code(&r).as_str()) {
            (401, "invalid_credentials") => checked += 1,
            (429, "rate_limited") => {
                assert_eq!(r.json()["policy"], "login_account", "{}", r.text());
                throttled += 1;
                let wait = retry_after(&r);
                assert!((1..=900).contains(&wait), "{wait}");
                clock.advance(time::Duration::seconds(wait));
                waited += wait;
            }
            (423, "account_locked") => locked += 1,
            other => panic!("unexpected {other:?}: {}", r.text()),
        }
    }
    assert_eq!(checked, 100, "exactly the threshold of guesses is checked");
    assert_eq!(locked, 1, "the 101st guess meets a locked account");
    assert!(
        throttled >= 90,
        "delays between guesses after the first five: {throttled}"
    );
    assert!(
        waited > 20 * 3600,
        "reaching the lock took the attacker {waited} s"
    );
    assert_eq!(
        app.auth.password_checks() - before,
        100,
        "no more than 100 hashes for 101 guesses"
    );

    // more guesses, even the right password from an unknown device: refused
    // without a hash
    for password in [WRONG, PASSWORD] {
        clock.advance(time::Duration::hours(1));
        let r = login(&app, peer(9, 9), "victim@example.com", password, &[]).await;
        assert_eq!(
            (r.status.as_u16(), code(&r).as_str()),
            (423, "account_locked"),
            "{}",
            r.text()
        );
    }
    assert_eq!(app.auth.password_checks() - before, 100);
    let row = app
        .store
        .login_failures(&format!("user:{}", victim["id"].as_str().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.failures, 100);
    assert!(row.locked_at.is_some());
    let metrics = app.get("/metrics").await.text();
    for name in [
        "latchkey_lockouts_total",
        "latchkey_login_throttled_total",
        "latchkey_login_locked_refusals_total",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }

    // an unlock by an administrator lifts it
    assert!(
        app.auth
            .unlock_account(victim["id"].as_str().unwrap())
            .await
            .unwrap()
    );
    let r = login(&app, peer(9, 10), "victim@example.com", PASSWORD, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn the_owner_on_a_known_device_signs_in_during_an_attack(
    make: impl AsyncFnOnce(Options) -> TestApp,
) {
    let clock = clock();
    let app = make(Options {
        clock: Some(clock.clone()),
        guard: limits("ip=30/min, ip_account=10/min"),
        brute_force: BruteForcePolicy {
            lockout_threshold: 20,
            ..BruteForcePolicy::default()
        },
        ..Options::default()
    })
    .await;
    register(&app, "owner@example.com").await;
    register(&app, "mallory@example.com").await;
    let home = peer(7, 7);
    let r = login(&app, home, "owner@example.com", PASSWORD, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let owner_device = device_cookie(&r);
    // the attacker has a device cookie too, for an account of their own
    let r = login(&app, peer(6, 6), "mallory@example.com", PASSWORD, &[]).await;
    let mallory_device = device_cookie(&r);

    // the attack until the account is being delayed
    let mut n = 0;
    loop {
        n += 1;
        let r = login(
            &app,
            peer(1, n),
            "owner@example.com",
            WRONG,
            &[("cookie", &mallory_device)],
        )
        .await;
        if r.status == 429 {
            break;
        }
        assert_eq!(r.status, 401, "{}", r.text());
    }
    // while delayed: the owner's known device goes straight through
    let r = login(
        &app,
        home,
        "owner@example.com",
        PASSWORD,
        &[("cookie", &owner_device)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // which cleared the account's counter: the attacker starts over
    let r = login(&app, peer(2, 1), "owner@example.com", WRONG, &[]).await;
    assert_eq!(r.status, 401, "{}", r.text());

    // the attack until the account is locked
    let mut i = 0;
    loop {
        i += 1;
        let r = login(&app, peer(3, i), "owner@example.com", WRONG, &[]).await;
        match r.status.as_u16() {
            401 => {}
            429 => clock.advance(time::Duration::seconds(retry_after(&r))),
            423 => break,
            s => panic!("unexpected {s}: {}", r.text()),
        }
    }
    // the owner's password from a new device: locked out, like the attacker
    let r = login(&app, peer(4, 4), "owner@example.com", PASSWORD, &[]).await;
    assert_eq!(r.status, 423);
    // another account's device cookie does not help
    let r = login(
        &app,
        peer(4, 4),
        "owner@example.com",
        PASSWORD,
        &[("cookie", &mallory_device)],
    )
    .await;
    assert_eq!(r.status, 423);
    // a forged cookie does not either
    let forged = owner_device.replacen("latchkey_device=v1.", "latchkey_device=v1.x", 1);
    let r = login(
        &app,
        peer(4, 4),
        "owner@example.com",
        PASSWORD,
        &[("cookie", &forged)],
    )
    .await;
    assert_eq!(r.status, 423);
    // the owner's device: signed in, and the lock is lifted
    let r = login(
        &app,
        home,
        "owner@example.com",
        PASSWORD,
        &[("cookie", &owner_device)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let renewed = device_cookie(&r);
    let r = login(&app, peer(4, 5), "owner@example.com", PASSWORD, &[]).await;
    assert_eq!(r.status, 200, "unlocked for every device: {}", r.text());

    // a stolen device cookie gives only a small budget of its own: ten
    // failures, then the account's rules apply (five free failures; the
    // sixth makes the next attempt wait)
    let mut first_refusal = None;
    for k in 0..30u8 {
        let r = login(
            &app,
            peer(5, k),
            "owner@example.com",
            WRONG,
            &[("cookie", &renewed)],
        )
        .await;
        if r.status != 401 {
            assert_eq!(r.status, 429, "{}", r.text());
            first_refusal = Some(k);
            break;
        }
    }
    assert_eq!(first_refusal, Some(16));
}

async fn one_password_across_1000_accounts_from_one_ip_limits_the_ip_not_the_accounts(
    make: impl AsyncFnOnce(Options) -> TestApp,
) {
    let clock = clock();
    let app = make(Options {
        clock: Some(clock.clone()),
        guard: limits("ip=30/min, ip_account=10/min"),
        ..Options::default()
    })
    .await;
    let hash = app
        .auth
        .hasher()
        .hash(Password::new(PASSWORD, &Default::default()).unwrap())
        .await
        .unwrap();
    let now = latchkey_core::store::truncate_to_millis(clock.now());
    let mut ids = Vec::new();
    for i in 0..1000 {
        let email = format!("user{i}@example.com");
        let user = User {
            id: id::new_id(),
            email_normalized: normalize_email(&email),
            email,
            email_verified: true,
            username: None,
            username_normalized: None,
            name: None,
            password_hash: Some(hash.clone()),
            created_at: now,
            updated_at: now,
            suspension: None,
            locale: None,
        };
        app.store.insert_user(&user, &[], None).await.unwrap();
        ids.push(user.id);
    }
    let before = app.auth.password_checks();
    let stuffer = peer(66, 6);
    let (mut checked, mut limited) = (0, 0);
    for i in 0..1000 {
        let r = login(
            &app,
            stuffer,
            &format!("user{i}@example.com"),
            "Spring2026!",
            &[],
        )
        .await;
        match r.status.as_u16() {
            401 => checked += 1,
            429 => {
                limited += 1;
                assert_eq!(r.json()["policy"], "login_ip");
                assert!(
                    r.header("ratelimit")
                        .unwrap()
                        .starts_with("\"login_ip\";r=0;t="),
                    "{:?}",
                    r.header("ratelimit")
                );
                assert_eq!(r.header("ratelimit-policy"), Some("\"login_ip\";q=30;w=60"));
                assert!(retry_after(&r) >= 1);
            }
            s => panic!("unexpected {s}: {}", r.text()),
        }
    }
    assert_eq!(
        (checked, limited),
        (30, 970),
        "the address gets its burst, then nothing"
    );
    assert_eq!(app.auth.password_checks() - before, 30);
    let metrics = app.get("/metrics").await.text();
    assert!(
        metrics.contains("latchkey_rate_limited_total{class=\"login\",dimension=\"ip\"}"),
        "limit hits are counted"
    );
    // no account is locked or even delayed: each saw at most one failure
    for id in &ids {
        if let Some(row) = app
            .store
            .login_failures(&format!("user:{id}"))
            .await
            .unwrap()
        {
            assert!(row.failures <= 1 && row.locked_at.is_none(), "{row:?}");
        }
    }
    for i in [0, 1, 29, 500, 999] {
        let r = login(
            &app,
            peer(77, i as u8),
            &format!("user{i}@example.com"),
            PASSWORD,
            &[],
        )
        .await;
        assert_eq!(r.status, 200, "owner of user{i}: {}", r.text());
    }
    // the address gets one attempt back every two seconds
    clock.advance(time::Duration::seconds(2));
    assert_eq!(
        login(&app, stuffer, "user5@example.com", "x", &[])
            .await
            .status,
        401
    );
    assert_eq!(
        login(&app, stuffer, "user6@example.com", "x", &[])
            .await
            .status,
        429
    );
}

async fn forwarded_for_counts_only_from_trusted_proxies(
    make: impl AsyncFnOnce(Options) -> TestApp,
) {
    let app = make(Options {
        clock: Some(clock()),
        guard: limits("ip=3/min"),
        network: Network {
            trusted_proxies: "10.0.0.0/8".parse().unwrap(),
            ..Network::default()
        },
        ..Options::default()
    })
    .await;
    register(&app, "ada@example.com").await;
    let untrusted = SocketAddr::new("203.0.113.50".parse().unwrap(), 1234);
    let proxy = SocketAddr::new("10.1.2.3".parse().unwrap(), 1234);

    // an untrusted peer cannot pick its address: every XFF value lands in its bucket
    let r = login(
        &app,
        untrusted,
        "ada@example.com",
        PASSWORD,
        &[("x-forwarded-for", "198.51.100.77")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    for i in 0..2 {
        let r = login(
            &app,
            untrusted,
            "ada@example.com",
            WRONG,
            &[("x-forwarded-for", &format!("192.0.2.{i}"))],
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let r = login(
        &app,
        untrusted,
        "ada@example.com",
        WRONG,
        &[("x-forwarded-for", "192.0.2.99")],
    )
    .await;
    assert_eq!(r.status, 429, "XFF from an untrusted peer is ignored");
    let r = login(
        &app,
        untrusted,
        "ada@example.com",
        WRONG,
        &[("forwarded", "for=192.0.2.98")],
    )
    .await;
    assert_eq!(r.status, 429, "so is Forwarded");

    // through the trusted proxy, each client has its own bucket
    for i in 0..6 {
        let r = login(
            &app,
            proxy,
            &format!("ghost{i}@example.com"),
            WRONG,
            &[("x-forwarded-for", &format!("192.0.2.{i}"))],
        )
        .await;
        assert_eq!(r.status, 401, "client {i} behind the proxy");
    }
    for i in 0..3 {
        let r = login(
            &app,
            proxy,
            &format!("ghost{i}@example.com"),
            WRONG,
            &[("x-forwarded-for", "6.6.6.6, 192.0.2.200")],
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let r = login(
        &app,
        proxy,
        "ghost9@example.com",
        WRONG,
        &[("x-forwarded-for", "7.7.7.7, 192.0.2.200")],
    )
    .await;
    assert_eq!(
        r.status, 429,
        "the hop the proxy saw counts, not what the client prepended"
    );
    let r = login(
        &app,
        proxy,
        "ada@example.com",
        PASSWORD,
        &[("forwarded", "for=\"[2001:db8::5]:443\"")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // sessions record the address that counted
    let r = app.send("GET", "/v1/account/sessions", Some(&token)).await;
    let ips: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ip"].as_str().unwrap().to_owned())
        .collect();
    assert!(ips.contains(&"203.0.113.50".to_owned()), "{ips:?}");
    assert!(ips.contains(&"2001:db8::5".to_owned()), "{ips:?}");
    assert!(!ips.iter().any(|ip| ip == "198.51.100.77"), "{ips:?}");
}

fn surge_config(ip_threshold: u32, global_threshold: u32) -> GuardConfig {
    GuardConfig {
        challenge: ChallengePolicy {
            enabled: true,
            ip_threshold,
            global_threshold,
            base_difficulty: 8,
            max_difficulty: 12,
            ttl: Duration::from_secs(300),
        },
        ..GuardConfig::default()
    }
}

/// A counter that does not solve a token at `bits`.
fn wrong_solution(token: &str, bits: u32) -> String {
    (0u64..)
        .map(|n| format!("{token}:{n}"))
        .find(|s| {
            latchkey_core::abuse::challenge::leading_zero_bits(&latchkey_tokens::sha256(
                s.as_bytes(),
            )) < bits
        })
        .unwrap()
}

/// Solves a challenge with the script the server serves, in Node.js.
async fn solve_with_served_script(app: &TestApp, token: &str, difficulty: u64) -> String {
    let r = app.get("/assets/latchkey-pow.js").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pow.js");
    std::fs::write(&path, &r.body).unwrap();
    let out = std::process::Command::new("node")
        .arg("-e")
        .arg(format!(
            "require({:?}).solve({token:?}, {difficulty}).then(s => process.stdout.write(s))",
            path.display().to_string()
        ))
        .output()
        .expect("node (Node.js) runs the served solver; install nodejs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn a_failure_surge_demands_a_challenge(make: impl AsyncFnOnce(Options) -> TestApp) {
    let clock = clock();
    let app = make(Options {
        clock: Some(clock.clone()),
        guard: surge_config(3, 1000),
        ..Options::default()
    })
    .await;
    register(&app, "ada@example.com").await;
    let noisy = peer(10, 1);
    let r = app
        .call_from(
            noisy,
            Request::get("/v1/auth/challenge?action=login")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["required"], false);
    for _ in 0..3 {
        assert_eq!(
            login(&app, noisy, "ada@example.com", WRONG, &[])
                .await
                .status,
            401
        );
    }
    // the fourth attempt must solve a puzzle first
    let r = login(&app, noisy, "ada@example.com", PASSWORD, &[]).await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (403, "challenge_required"),
        "{}",
        r.text()
    );
    let challenge = r.json()["challenge"].clone();
    assert_eq!(challenge["algorithm"], "sha256-leading-zero-bits");
    assert_eq!(challenge["action"], "login");
    assert_eq!(challenge["difficulty"], 8);
    let token = challenge["token"].as_str().unwrap();

    // a wrong solution is refused, with a fresh puzzle
    let wrong = wrong_solution(token, 8);
    let r = login(
        &app,
        noisy,
        "ada@example.com",
        PASSWORD,
        &[("latchkey-pow", &wrong)],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (403, "challenge_failed"),
        "{}",
        r.text()
    );
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("does not solve")
    );
    // a solution for register does not open login
    let reg = app
        .call_from(
            noisy,
            Request::get("/v1/auth/challenge?action=register")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
    let reg_solution = solve(
        reg["token"].as_str().unwrap(),
        reg["difficulty"].as_u64().unwrap() as u8,
    );
    let r = login(
        &app,
        noisy,
        "ada@example.com",
        PASSWORD,
        &[("latchkey-pow", &reg_solution)],
    )
    .await;
    assert_eq!(code(&r), "challenge_failed");

    // the right one is accepted (solved by the served script), once
    let right = solve_with_served_script(&app, token, 8).await;
    let r = login(
        &app,
        noisy,
        "ada@example.com",
        PASSWORD,
        &[("latchkey-pow", &right)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = login(
        &app,
        noisy,
        "ada@example.com",
        PASSWORD,
        &[("latchkey-pow", &right)],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (403, "challenge_failed")
    );
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("used already")
    );
    // in the body, as a form would send it
    let fresh = r.json()["challenge"].clone();
    let body_solution = solve(fresh["token"].as_str().unwrap(), 8);
    let r = post(
        &app,
        noisy,
        "/v1/auth/login",
        json!({"identifier": "ada@example.com", "password": PASSWORD, "pow": body_solution}),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // others are not bothered
    assert_eq!(
        login(&app, peer(10, 2), "ada@example.com", PASSWORD, &[])
            .await
            .status,
        200
    );

    // more pressure, harder puzzles: 4 more failures make 7 ≥ 2 × 3
    let kept = app
        .call_from(
            noisy,
            Request::get("/v1/auth/challenge?action=login")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .json();
    assert_eq!(kept["difficulty"], 8);
    for _ in 0..4 {
        let c = login(&app, noisy, "ada@example.com", WRONG, &[])
            .await
            .json()["challenge"]
            .clone();
        let s = solve(
            c["token"].as_str().unwrap(),
            c["difficulty"].as_u64().unwrap() as u8,
        );
        assert_eq!(
            login(
                &app,
                noisy,
                "ada@example.com",
                WRONG,
                &[("latchkey-pow", &s)]
            )
            .await
            .status,
            401
        );
    }
    let r = app
        .call_from(
            noisy,
            Request::get("/v1/auth/challenge?action=login")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (r.json()["required"].clone(), r.json()["difficulty"].clone()),
        (json!(true), json!(9))
    );
    // a puzzle fetched at 8 bits just before is still accepted (the slack)
    let s = solve(kept["token"].as_str().unwrap(), 8);
    assert_eq!(
        login(
            &app,
            noisy,
            "ada@example.com",
            PASSWORD,
            &[("latchkey-pow", &s)]
        )
        .await
        .status,
        200
    );

    // the pressure fades
    clock.advance(time::Duration::minutes(25));
    assert_eq!(
        login(&app, noisy, "ada@example.com", PASSWORD, &[])
            .await
            .status,
        200
    );
}

async fn a_signup_surge_demands_a_challenge(make: impl AsyncFnOnce(Options) -> TestApp) {
    let clock = clock();
    let app = make(Options {
        clock: Some(clock.clone()),
        guard: GuardConfig {
            register: ClassLimits::default(),
            ..surge_config(1000, 4)
        },
        ..Options::default()
    })
    .await;
    // sign-ups from many addresses: a server-wide surge
    for i in 0..4u8 {
        let r = post(
            &app,
            peer(20, i),
            "/v1/auth/register",
            json!({"email": format!("bot{i}@example.com"), "password": PASSWORD}),
            &[],
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // now everyone, even a new address, solves a puzzle to sign up or in
    let r = post(
        &app,
        peer(21, 1),
        "/v1/auth/register",
        json!({"email": "human@example.com", "password": PASSWORD}),
        &[],
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (403, "challenge_required"),
        "{}",
        r.text()
    );
    let c = &r.json()["challenge"];
    assert_eq!(c["action"], "register");
    let s = solve(
        c["token"].as_str().unwrap(),
        c["difficulty"].as_u64().unwrap() as u8,
    );
    let r = post(
        &app,
        peer(21, 1),
        "/v1/auth/register",
        json!({"email": "human@example.com", "password": PASSWORD}),
        &[("latchkey-pow", &s)],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        code(&login(&app, peer(21, 2), "human@example.com", PASSWORD, &[]).await),
        "challenge_required"
    );
    clock.advance(time::Duration::minutes(3));
    assert_eq!(
        login(&app, peer(21, 2), "human@example.com", PASSWORD, &[])
            .await
            .status,
        200
    );
}

async fn common_and_breached_passwords_are_refused_with_a_reason(
    make: impl AsyncFnOnce(Options) -> TestApp,
) {
    let app = make(Options::default()).await;
    for (password, code_expected, words) in [
        ("password123", "password_too_common", "commonly used"),
        ("Qwertyuiop", "password_too_common", "commonly used"),
        (
            "ada.lovelace",
            "password_like_identity",
            "email address or username",
        ),
        ("short", "password_too_short", "at least 8"),
    ] {
        let r = post(
            &app,
            peer(30, 1),
            "/v1/auth/register",
            json!({"email": "Ada.Lovelace@example.com", "password": password}),
            &[],
        )
        .await;
        assert_eq!(r.status, 422, "{password}: {}", r.text());
        let errors = r.json()["errors"].clone();
        assert_eq!(errors[0]["field"], "password", "{errors}");
        assert_eq!(errors[0]["code"], code_expected, "{password}: {errors}");
        assert!(
            errors[0]["message"].as_str().unwrap().contains(words),
            "{errors}"
        );
    }
    let r = post(
        &app,
        peer(30, 1),
        "/v1/auth/register",
        json!({"email": "Ada.Lovelace@example.com", "password": PASSWORD}),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

async fn two_nodes_share_limits_through_redis(make: impl AsyncFn(Options) -> TestApp) {
    let url = redis_url("LATCHKEY_TEST_REDIS_URL");
    let config = RedisConfig::from_url(&url, &unique_prefix(), Duration::from_secs(2)).unwrap();
    two_nodes_share_limits_through(config, make).await;
}

/// Managed Redis: TLS with a private CA, and an ACL user whose password holds
/// `@` and `%` (percent-encoded in the URL). Redis does not depend on the
/// store, so SQLite alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_limits_through_redis_over_tls_as_an_acl_user() {
    let url = redis_url("LATCHKEY_TEST_REDIS_TLS_URL");
    assert!(url.starts_with("rediss://") && url.contains("%40") && url.contains("%25"));
    let config = RedisConfig::from_url(&url, &unique_prefix(), Duration::from_secs(2))
        .unwrap()
        .with_ca_file(redis_url("LATCHKEY_TEST_REDIS_TLS_CA").as_ref())
        .unwrap();
    two_nodes_share_limits_through(config, TestApp::sqlite_from).await;
}

async fn two_nodes_share_limits_through(
    config: RedisConfig,
    make: impl AsyncFn(Options) -> TestApp,
) {
    let shared: Arc<dyn CounterBackend> = Arc::new(RedisCounters::new(config));
    let clock = clock();
    let options = || Options {
        clock: Some(clock.clone()),
        guard: limits("ip=4/min"),
        shared_counters: Some(shared.clone()),
        ..Options::default()
    };
    let a = make(options()).await;
    let b = make(options()).await;
    let from = peer(40, 1);
    for (i, node) in [&a, &b, &a, &b].into_iter().enumerate() {
        let r = login(node, from, &format!("ghost{i}@example.com"), WRONG, &[]).await;
        assert_eq!(r.status, 401, "{}", r.text());
    }
    for node in [&a, &b] {
        let r = login(node, from, "ghost@example.com", WRONG, &[]).await;
        assert_eq!(r.status, 429, "one limit for both nodes");
    }
    assert_eq!(
        a.guard.limiter().sharing(),
        latchkey_core::abuse::limiter::Sharing::Shared,
        "the counters were Redis's, not each node's"
    );
}

fn redis_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run scripts/test.sh, which starts throwaway Redis servers")
    })
}

fn unique_prefix() -> String {
    format!("test:{}:", id::new_id())
}

async fn attempt(node: &TestApp, from: SocketAddr, i: usize) -> u16 {
    login(node, from, &format!("ghost{i}@example.com"), WRONG, &[])
        .await
        .status
        .as_u16()
}

/// The fault-injection Redis is stopped and started by one test at a time.
static REDIS_FAULT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Two nodes on one Redis; Redis stops mid-test and comes back.
async fn redis_down_falls_back_to_local_limits_and_recovers(
    make: impl AsyncFn(Options) -> TestApp,
) {
    let _only_one = REDIS_FAULT.lock().await;
    let url = redis_url("LATCHKEY_TEST_REDIS_FAULT_URL");
    let ctl = redis_url("LATCHKEY_TEST_REDIS_FAULT_CTL");
    let redis = Arc::new(RedisCounters::new(
        RedisConfig::from_url(&url, &unique_prefix(), Duration::from_millis(500)).unwrap(),
    ));
    redis.ping().await.expect("the fault-injection Redis is up");
    let shared: Arc<dyn CounterBackend> = redis.clone();
    let clock = clock();
    let options = || Options {
        clock: Some(clock.clone()),
        guard: limits("ip=4/min"),
        shared_counters: Some(shared.clone()),
        ..Options::default()
    };
    let a = make(options()).await;
    let b = make(options()).await;

    // shared: four for both nodes together
    let x = peer(50, 1);
    let got: Vec<u16> = vec![
        attempt(&a, x, 0).await,
        attempt(&b, x, 1).await,
        attempt(&a, x, 2).await,
        attempt(&b, x, 3).await,
        attempt(&a, x, 4).await,
        attempt(&b, x, 5).await,
    ];
    assert_eq!(got, [401, 401, 401, 401, 429, 429]);
    assert_eq!(
        a.guard.limiter().sharing(),
        latchkey_core::abuse::limiter::Sharing::Shared
    );

    // Redis stops: each node still limits, on its own counters
    let stop = std::process::Command::new(&ctl)
        .arg("stop")
        .status()
        .unwrap();
    assert!(stop.success());
    let y = peer(50, 2);
    let got: Vec<u16> = vec![
        attempt(&a, y, 0).await,
        attempt(&a, y, 1).await,
        attempt(&a, y, 2).await,
        attempt(&a, y, 3).await,
        attempt(&a, y, 4).await,
    ];
    assert_eq!(got, [401, 401, 401, 401, 429], "never no limits");
    assert_eq!(
        a.guard.limiter().sharing(),
        latchkey_core::abuse::limiter::Sharing::Degraded
    );
    let ready = a.get("/health/ready").await;
    assert_eq!(ready.status, 200, "a node without Redis stays ready");
    assert_eq!(ready.json()["checks"]["rate_limits"]["status"], "degraded");
    // the address that was limited while shared stays limited: a had
    // counted three of its requests itself, so one more passes, no more
    assert_eq!(
        (attempt(&a, x, 9).await, attempt(&a, x, 10).await),
        (401, 429)
    );
    // b limits on its own counters too
    let got: Vec<u16> = vec![
        attempt(&b, y, 5).await,
        attempt(&b, y, 6).await,
        attempt(&b, y, 7).await,
        attempt(&b, y, 8).await,
        attempt(&b, y, 9).await,
    ];
    assert_eq!(got, [401, 401, 401, 401, 429]);

    // Redis is back (empty): after the retry pause both nodes share again
    let start = std::process::Command::new(&ctl)
        .arg("start")
        .status()
        .unwrap();
    assert!(start.success());
    clock.advance(time::Duration::milliseconds(SHARED_RETRY.as_millis() as i64));
    let z = peer(50, 3);
    let got: Vec<u16> = vec![
        attempt(&a, z, 0).await,
        attempt(&b, z, 1).await,
        attempt(&a, z, 2).await,
        attempt(&b, z, 3).await,
        attempt(&b, z, 4).await,
        attempt(&a, z, 5).await,
    ];
    assert_eq!(got, [401, 401, 401, 401, 429, 429], "shared again");
    assert_eq!(
        a.guard.limiter().sharing(),
        latchkey_core::abuse::limiter::Sharing::Shared
    );
    assert_eq!(
        b.guard.limiter().sharing(),
        latchkey_core::abuse::limiter::Sharing::Shared
    );
}

/// Lists, CORS and headers (in-process, SQLite).
#[tokio::test]
async fn ip_lists_cors_and_security_headers() {
    let app = TestApp::sqlite_from(Options {
        clock: Some(clock()),
        guard: GuardConfig::default(),
        network: Network {
            deny: "203.0.113.66/32".parse().unwrap(),
            admin_allow: "10.0.0.0/8".parse().unwrap(),
            cors: CorsPolicy {
                origins: vec!["https://app.example.com".into()],
                allow_credentials: true,
                max_age_secs: 600,
            },
            hsts_max_age_secs: Some(31_536_000),
            ..Network::default()
        },
        ..Options::default()
    })
    .await;
    let get_from = |ip: &str, path: &str| {
        let from = SocketAddr::new(ip.parse().unwrap(), 1);
        let path = path.to_owned();
        let app = &app;
        async move {
            app.call_from(from, Request::get(path).body(Body::empty()).unwrap())
                .await
        }
    };
    let r = get_from("203.0.113.66", "/health/live").await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (403, "ip_forbidden")
    );
    let r = get_from("198.51.100.1", "/v1/admin/users").await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (403, "ip_forbidden"),
        "the admin list guards /v1/admin"
    );
    let r = get_from("10.9.9.9", "/v1/admin/users").await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (401, "unauthenticated"),
        "allowed through to the route, which then wants credentials"
    );
    let r = get_from("198.51.100.1", "/health/live").await;
    assert_eq!(r.status, 200);

    // security headers on every response
    for h in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("strict-transport-security", "max-age=31536000"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        assert_eq!(r.header(h.0), Some(h.1), "{}", h.0);
    }
    assert!(
        r.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    // the protocol is in the OpenAPI document
    let doc = app.get("/openapi.json").await.text();
    for needle in [
        "/v1/auth/challenge",
        "/assets/latchkey-pow.js",
        "challenge_required",
        "Latchkey-Pow",
        "RateLimit-Policy",
        "account_locked",
        "password_too_common",
    ] {
        assert!(doc.contains(needle), "{needle} missing from /openapi.json");
    }
    // rate-limit state on allowed requests of limited classes
    let r = get_from("198.51.100.1", "/v1/auth/challenge?action=login").await;
    assert_eq!(r.header("ratelimit-policy"), Some("\"api_ip\";q=1200;w=60"));
    assert!(
        r.header("ratelimit")
            .unwrap()
            .starts_with("\"api_ip\";r=1199;t="),
        "{:?}",
        r.header("ratelimit")
    );

    // CORS: a listed origin, with credentials; never a wildcard with them
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/v1/auth/login")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let r = app.call(preflight("https://app.example.com")).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(
        r.header("access-control-allow-headers")
            .unwrap()
            .contains("latchkey-pow")
    );
    assert_eq!(r.header("vary"), Some("origin"));
    let r = app.call(preflight("https://evil.example")).await;
    assert_eq!(
        (r.status.as_u16(), code(&r).as_str()),
        (403, "cors_origin_forbidden")
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = app
        .call(
            Request::get("/v1/account")
                .header("origin", "https://app.example.com")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert!(
        r.header("access-control-expose-headers")
            .unwrap()
            .contains("retry-after")
    );
    let r = app
        .call(
            Request::get("/v1/account")
                .header("origin", "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = app
        .call(
            Request::get("/.well-known/jwks.json")
                .header("origin", "https://anyone.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-credentials"), None);

    // the cookie-mode login sets the device cookie next to the session cookie
    register(&app, "c@example.com").await;
    let r = app
        .call(
            Request::post("/v1/auth/login")
                .header("content-type", "application/json")
                .header("origin", ISSUER)
                .body(Body::from(
                    json!({"identifier": "c@example.com", "password": PASSWORD, "mode": "cookie"})
                        .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("set-cookie")
            .unwrap()
            .starts_with("latchkey_session=")
    );
    device_cookie(&r);
}
