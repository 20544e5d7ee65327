//! Start-up failures: they must be quick, typed, and never show the password.
//! These need no server.

use std::time::{Duration, Instant};

use latchkey_core::StoreError;
use latchkey_store_postgres::PgStore;

async fn connect_err(url: &str) -> (StoreError, Duration) {
    let started = Instant::now();
    let err = PgStore::connect(url, 2)
        .await
        .expect_err("nothing listens there");
    (err, started.elapsed())
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_quickly() {
    let (err, took) = connect_err("postgres://postgres@127.0.0.1:1/x").await;
    assert!(matches!(err, StoreError::Unavailable(_)), "got {err:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(
        err.to_string().contains("127.0.0.1:1"),
        "names host:port: {err}"
    );
}

#[tokio::test]
async fn the_password_never_appears_in_connection_errors() {
    let (err, took) = connect_err("postgres://u:s3cretpw@127.0.0.1:1/x").await;
    assert!(matches!(err, StoreError::Unavailable(_)), "got {err:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let text = format!("{err} | {err:?}");
    assert!(text.contains("127.0.0.1:1"), "names host:port: {text}");
    assert!(!text.contains("s3cretpw"), "leaks the password: {text}");
}

#[tokio::test]
async fn a_malformed_url_is_a_backend_error_without_the_password() {
    let (err, _) = connect_err("postgres://u:s3cretpw@127.0.0.1:port/x").await;
    let text = format!("{err} | {err:?}");
    assert!(matches!(err, StoreError::Backend(_)), "got {text}");
    assert!(!text.contains("s3cretpw"), "leaks the password: {text}");
}

#[tokio::test]
async fn tls_is_refused_rather_than_downgraded() {
    let (err, _) = connect_err("postgres://u:s3cretpw@127.0.0.1:1/x?sslmode=require").await;
    let text = format!("{err} | {err:?}");
    assert!(matches!(err, StoreError::Backend(_)), "got {text}");
    assert!(text.contains("sslmode=require"), "{text}");
}
