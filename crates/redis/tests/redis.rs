//! The Redis counters against a real Redis server (started by
//! `scripts/test.sh`): they must agree step for step with the local ones.

use std::time::Duration;

use latchkey_core::abuse::limiter::{CounterBackend, LocalCounters, Quota};
use latchkey_redis::{RedisConfig, RedisCounters};

fn counters() -> RedisCounters {
    let url = std::env::var("LATCHKEY_TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!("LATCHKEY_TEST_REDIS_URL is not set: run scripts/test.sh, which starts a throwaway Redis")
    });
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("test:{}:{nanos}:", std::process::id());
    RedisCounters::new(RedisConfig::from_url(&url, &prefix, Duration::from_secs(2)).unwrap())
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
