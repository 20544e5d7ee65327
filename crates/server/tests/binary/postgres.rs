//! The binary on PostgreSQL: readiness follows the database down and back up
//! without a restart.
//!
//! Uses the fault-injection cluster that `scripts/test.sh` starts for this
//! test alone (`LATCHKEY_TEST_PG_FAULT_URL`, controlled by the script in
//! `LATCHKEY_TEST_PG_FAULT_CTL`), so stopping it disturbs no other test.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;
use latchkey_testkit::raw_http;

fn fault_env() -> (String, String) {
    let url = std::env::var("LATCHKEY_TEST_PG_FAULT_URL");
    let ctl = std::env::var("LATCHKEY_TEST_PG_FAULT_CTL");
    match (url, ctl) {
        (Ok(u), Ok(c)) => (u, c),
        _ => panic!(
            "LATCHKEY_TEST_PG_FAULT_URL / LATCHKEY_TEST_PG_FAULT_CTL are not set: run scripts/test.sh, \
             which starts a PostgreSQL server for this test"
        ),
    }
}

fn ctl(script: &str, action: &str) {
    let status = Command::new(script)
        .arg(action)
        .status()
        .expect("run the cluster control script");
    assert!(status.success(), "{script} {action} failed");
}

/// Polls `/health/ready` until it answers `want`; returns how long it took.
fn wait_for(server: &Server, want: u16, within: Duration) -> (Duration, raw_http::RawResponse) {
    let start = Instant::now();
    loop {
        let r =
            raw_http::get(server.addr, "/health/ready", &[]).expect("the server itself stays up");
        if r.status == want {
            return (start.elapsed(), r);
        }
        assert!(
            start.elapsed() < within,
            "/health/ready still {} after {within:?}: {}",
            r.status,
            r.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn readiness_follows_postgres_down_and_back_up() {
    let (url, script) = fault_env();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--database-url", &url], &[]);
    let (_, ready) = wait_for(&server, 200, Duration::from_secs(10));
    assert!(
        ready.text().contains("\"backend\":\"postgres\""),
        "{}",
        ready.text()
    );

    ctl(&script, "stop");
    let stopped = Instant::now();
    let (_, down) = wait_for(&server, 503, Duration::from_secs(5));
    let took = stopped.elapsed();
    assert!(took <= Duration::from_secs(5), "503 took {took:?}");
    assert_eq!(
        down.header("content-type"),
        Some("application/problem+json")
    );
    assert!(down.header("retry-after").is_some());
    let body: serde_json::Value = serde_json::from_slice(&down.body).unwrap();
    assert_eq!(body["code"], "not_ready");
    assert_eq!(body["checks"]["database"]["status"], "down");
    assert!(
        body["detail"].as_str().unwrap().contains("database"),
        "{body}"
    );
    // liveness is not readiness: the process is still up
    assert_eq!(
        raw_http::get(server.addr, "/health/live", &[])
            .unwrap()
            .status,
        200
    );

    ctl(&script, "start");
    let (_, up) = wait_for(&server, 200, Duration::from_secs(20));
    assert!(up.text().contains("\"status\":\"up\""), "{}", up.text());
    assert!(server.terminate().success());
}

#[test]
fn migrate_and_config_check_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(latchkey_testkit::postgres::fresh_database());
    let dir = tempfile::tempdir().unwrap();
    let check = common::run_in(dir.path(), &["config", "check", "--database-url", &db], &[]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("(postgres) is reachable; pending migrations: 0001_users"),
        "{said}"
    );
    let out = common::run_in(dir.path(), &["migrate", "--database-url", &db], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!(
        "applied {} migration",
        latchkey_store_sqlite::MIGRATIONS.len()
    )));
    let check = common::run_in(dir.path(), &["config", "check", "--database-url", &db], &[]);
    assert!(!String::from_utf8_lossy(&check.stdout).contains("pending"));
}
