//! The Redis counters against real Redis servers (started by
//! `scripts/test.sh`): they must agree step for step with the local ones,
//! over plain TCP and over TLS as an ACL user.

use std::time::Duration;

use latchkey_core::abuse::limiter::{CounterBackend, LocalCounters, Quota};
use latchkey_redis::{RedisConfig, RedisCounters};

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run scripts/test.sh, which starts throwaway Redis servers")
    })
}

/// A key prefix of this test alone (under `test:`, the TLS Redis's ACL).
fn prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test:{}:{nanos}:", std::process::id())
}

fn counters() -> RedisCounters {
    let url = env("LATCHKEY_TEST_REDIS_URL");
    RedisCounters::new(RedisConfig::from_url(&url, &prefix(), Duration::from_secs(2)).unwrap())
}

#[tokio::test]
async fn gcra_agrees_with_the_local_counters() {
    let redis = counters();
    redis.ping().await.unwrap();
    let local = LocalCounters::new(100);
    let quota: Quota = "5/min".parse().unwrap();
    let start = 1_800_000_000_000i64;
    // a burst, refusals, then time passing by uneven steps
    for (i, step) in [
        0, 0, 0, 0, 0, 0, 0, 5_000, 7_000, 0, 12_000, 60_000, 1, 0, 0,
    ]
    .iter()
    .scan(start, |t, d| {
        *t += d;
        Some(*t)
    })
    .enumerate()
    {
        let r = redis.gcra("k", &quota, step).await.unwrap();
        let l = local.gcra("k", &quota, step).await.unwrap();
        assert_eq!(r, l, "step {i} at {step}");
    }
}

#[tokio::test]
async fn windows_and_claims_work_on_redis() {
    let redis = counters();
    let w = 60_000;
    let t = 1_800_000_000_000i64 - 1_800_000_000_000i64 % w;
    assert_eq!(redis.window_add("f", w, 3, t).await.unwrap(), (3, 0));
    assert_eq!(redis.window_add("f", w, 0, t + 10).await.unwrap(), (3, 0));
    assert_eq!(redis.window_add("f", w, 2, t + w).await.unwrap(), (2, 3));
    assert!(redis.claim("n", 60_000, t).await.unwrap());
    assert!(!redis.claim("n", 60_000, t).await.unwrap());
    assert!(redis.claim("other", 60_000, t).await.unwrap());
}

#[tokio::test]
async fn an_unreachable_server_fails_fast_with_a_reason() {
    // a port nothing listens on: bind one and drop it
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = RedisCounters::new(
        RedisConfig::from_url(
            &format!("redis://127.0.0.1:{port}"),
            "x:",
            Duration::from_millis(500),
        )
        .unwrap(),
    );
    let e = redis.ping().await.unwrap_err();
    assert!(e.to_string().contains("cannot connect"), "{e}");
    let quota: Quota = "5/min".parse().unwrap();
    assert!(redis.gcra("k", &quota, 0).await.is_err());
}

#[tokio::test]
async fn tls_as_an_acl_user_whose_password_holds_at_and_percent() {
    let url = env("LATCHKEY_TEST_REDIS_TLS_URL");
    let ca = env("LATCHKEY_TEST_REDIS_TLS_CA");
    let config = |url: &str| RedisConfig::from_url(url, &prefix(), Duration::from_secs(2)).unwrap();
    let trusted = config(&url).with_ca_file(ca.as_ref()).unwrap();
    assert!(trusted.tls());
    assert!(
        trusted
            .password()
            .is_some_and(|p| p.starts_with("pa@ss%word-")),
        "the URL's password is percent-decoded"
    );
    let redis = RedisCounters::new(trusted);
    redis.ping().await.unwrap();
    let local = LocalCounters::new(100);
    let quota: Quota = "3/min".parse().unwrap();
    let t = 1_800_000_000_000i64;
    for (i, now) in [t, t, t, t, t + 20_000].into_iter().enumerate() {
        let r = redis.gcra("k", &quota, now).await.unwrap();
        assert_eq!(r, local.gcra("k", &quota, now).await.unwrap(), "step {i}");
    }
    assert_eq!(redis.window_add("f", 60_000, 2, t).await.unwrap(), (2, 0));
    assert!(redis.claim("n", 60_000, t).await.unwrap());
    assert!(!redis.claim("n", 60_000, t).await.unwrap());

    // the server's certificate is checked: the system's roots do not know the private CA
    let e = RedisCounters::new(config(&url)).ping().await.unwrap_err();
    assert!(e.to_string().contains("certificate"), "{e}");
    // and the password counts: one character off is refused
    let wrong = url.replacen("pa%40ss", "pa%40sx", 1);
    let e = RedisCounters::new(config(&wrong).with_ca_file(ca.as_ref()).unwrap())
        .ping()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("refused the credentials"), "{e}");
    assert!(
        !e.to_string().contains("pa@s"),
        "the password is never in a message: {e}"
    );
}
