//! The `latchkey` command line, run as a user would run it.

use crate::common;

use common::{Server, run_in};
use latchkey_testkit::raw_http;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_prints_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("latchkey {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn zero_configuration_serve_creates_its_data_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]);
    let ready = raw_http::get(server.addr, "/health/ready", &[]).unwrap();
    assert_eq!(ready.status, 200, "{}", ready.text());
    let db = dir.path().join("latchkey-data/latchkey.db");
    // SQLite's header records WAL mode in bytes 18 and 19 (2 = WAL).
    let header = std::fs::read(&db).expect("database file in ./latchkey-data");
    assert_eq!(
        (header[18], header[19]),
        (2, 2),
        "the database is in WAL mode"
    );
    assert!(dir.path().join("latchkey-data/master.key").exists());
    let status = server.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

#[test]
fn bad_configuration_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("latchkey.toml"),
        "listen = \"127.0.0.1:8080\"\nlisten_port = 9\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["config", "check"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("listen_port") && err.contains("unknown setting"),
        "{err}"
    );
    std::fs::remove_file(dir.path().join("latchkey.toml")).unwrap();

    for (args, env, words) in [
        (
            &["serve", "--listen", "127.0.0.1:99999"][..],
            &[][..],
            &["listen", "99999", "out of range"][..],
        ),
        (
            &["config", "check"],
            &[("LATCHKEY_PUBLIC_URL", "https//nope")][..],
            &["public_url", "not a valid URL"],
        ),
        (
            &["config", "check", "--database-url", "postgres://u:pw@:5432"],
            &[],
            &[
                "database.url",
                "empty host",
                "postgres://USER:PASSWORD@HOST",
            ],
        ),
        (
            &["serve"],
            &[("LATCHKEY_DATABSE_URL", "x")][..],
            &["LATCHKEY_DATABSE_URL", "unknown environment variable"],
        ),
    ] {
        let out = run_in(dir.path(), args, env);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        for w in words {
            assert!(
                err.contains(w),
                "{args:?} {env:?}: {w:?} missing from {err}"
            );
        }
    }
    assert!(
        !dir.path().join("latchkey-data").exists(),
        "nothing is created when the configuration is bad"
    );
}

#[test]
fn unreachable_database_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // nothing listens on port 1
    let out = run_in(
        dir.path(),
        &[
            "config",
            "check",
            "--database-url",
            "postgres://latchkey:s3cr3t-pw@127.0.0.1:1/latchkey",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("database.url"), "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("s3cr3t-pw"), "the password leaked: {err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cr3t-pw"));
}

#[test]
fn config_show_redacts_secrets_and_names_sources() {
    let dir = tempfile::tempdir().unwrap();
    let key = "5f3e".repeat(16);
    let out = run_in(
        dir.path(),
        &["config", "show", "--listen", "127.0.0.1:9999"],
        &[
            ("LATCHKEY_MASTER_KEY", &key),
            (
                "LATCHKEY_DATABASE_URL",
                "postgres://lk:pw-secret-1@db:5432/lk",
            ),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains(&key) && !text.contains("pw-secret-1"),
        "{text}"
    );
    assert!(
        text.contains("listen = \"127.0.0.1:9999\"  # flag --listen"),
        "{text}"
    );
    assert!(
        text.contains("# environment variable LATCHKEY_DATABASE_URL"),
        "{text}"
    );
    // the output is valid TOML once the comments are stripped
    text.parse::<toml::Table>()
        .expect("config show prints TOML");
}

#[test]
fn migrate_then_serve_without_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let refused = run_in(
        dir.path(),
        &["serve", "--no-migrate", "--listen", "127.0.0.1:0"],
        &[],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("pending migrations"),
        "{}",
        stderr(&refused)
    );

    let out = run_in(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!(
        "applied {} migration",
        latchkey_store_sqlite::MIGRATIONS.len()
    )));
    let again = run_in(dir.path(), &["migrate"], &[]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("applied 0 migration"));

    let server = Server::start(dir.path(), &["--no-migrate"], &[]);
    assert_eq!(
        raw_http::get(server.addr, "/health/ready", &[])
            .unwrap()
            .status,
        200
    );
    assert!(server.terminate().success());
}

#[test]
fn busy_port_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_in(dir.path(), &["serve", "--listen", &addr], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("listen") && err.contains(&addr), "{err}");
}

#[test]
fn a_breach_filter_built_by_the_cli_refuses_its_passwords_at_sign_up() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("breached.txt"),
        "Tr0ub4dor&3-leaked\nanother-leaked-one\n",
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &[
            "passwords",
            "build-filter",
            "--input",
            "breached.txt",
            "--output",
            "breached.lkbloom",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 entries"));

    let filter = dir.path().join("breached.lkbloom");
    let server = Server::start(
        dir.path(),
        &[],
        &[(
            "LATCHKEY_PASSWORDS_BREACHED_FILTER",
            filter.to_str().unwrap(),
        )],
    );
    let register = |password: &str| {
        let body =
            serde_json::json!({"email": "ada@example.com", "password": password}).to_string();
        let request = format!(
            "POST /v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        raw_http::send(server.addr, request.as_bytes()).unwrap()
    };
    let refused = register("Tr0ub4dor&3-leaked");
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(
        refused.text().contains("password_breached"),
        "{}",
        refused.text()
    );
    assert!(refused.text().contains("data breach"), "{}", refused.text());
    let common = register("iloveyou123");
    assert!(
        common.text().contains("password_too_common"),
        "{}",
        common.text()
    );
    let accepted = register("correct horse battery staple");
    assert_eq!(accepted.status, 201, "{}", accepted.text());
    // security headers from the real binary; no HSTS on a plain-http URL
    assert_eq!(accepted.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(accepted.header("strict-transport-security"), None);
    assert!(server.terminate().success());

    // a broken filter path stops start-up, naming the setting
    let out = run_in(
        dir.path(),
        &["serve"],
        &[
            ("LATCHKEY_PASSWORDS_BREACHED_FILTER", "breached.txt"),
            ("LATCHKEY_LISTEN", "127.0.0.1:0"),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("passwords.breached_filter"),
        "{}",
        stderr(&out)
    );
}

/// `latchkey serve` shares its rate limits through a TLS Redis with a private
/// CA, signed in as an ACL user whose password holds `@` and `%`; without the
/// CA the certificate is refused and the node enforces its own counters.
#[test]
fn serve_shares_rate_limits_through_rediss_with_a_private_ca() {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run scripts/test.sh, which starts throwaway Redis servers")
        })
    };
    let (url, ca) = (
        var("LATCHKEY_TEST_REDIS_TLS_URL"),
        var("LATCHKEY_TEST_REDIS_TLS_CA"),
    );
    let prefix = format!("test:serve:{}:", std::process::id());
    for (ca_file, expected) in [(ca.as_str(), "shared"), ("", "degraded")] {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(
            dir.path(),
            &[],
            &[
                ("LATCHKEY_REDIS_URL", url.as_str()),
                ("LATCHKEY_REDIS_CA_FILE", ca_file),
                ("LATCHKEY_REDIS_KEY_PREFIX", prefix.as_str()),
                ("LATCHKEY_REDIS_TIMEOUT_MS", "2000"),
            ],
        );
        // a sign-in attempt counts against the client's login limit
        let body = r#"{"identifier": "ghost@example.com", "password": "not the password"}"#;
        let request = format!(
            "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let login = raw_http::send(server.addr, request.as_bytes()).unwrap();
        assert_eq!(login.status, 401, "{}", login.text());
        let ready = raw_http::get(server.addr, "/health/ready", &[]).unwrap();
        assert_eq!(ready.status, 200, "{}", ready.text());
        let checks: serde_json::Value = serde_json::from_str(&ready.text()).unwrap();
        assert_eq!(
            checks["checks"]["rate_limits"]["status"], expected,
            "redis.ca_file = {ca_file:?}"
        );
        drop(server);
    }
}

#[test]
fn theme_check_passes_the_built_in_theme_and_names_a_removed_value() {
    let dir = tempfile::tempdir().unwrap();
    let theme = dir.path().join("theme");
    std::fs::create_dir(&theme).unwrap();
    for (name, text) in latchkey_http::pages::TEMPLATES {
        std::fs::write(theme.join(name), text).unwrap();
    }
    let out = run_in(dir.path(), &["theme", "check", "theme"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("contract version"));

    // a theme written against a value that is gone
    std::fs::write(
        theme.join("account.html"),
        "{% extends \"layout.html\" %}{% block content %}{{ account.email }} {{ account.avatar_url }}{% endblock %}",
    )
    .unwrap();
    let out = run_in(dir.path(), &["theme", "check", "theme"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("account.html") && err.contains("`account.avatar_url`"),
        "{err}"
    );
    assert!(!err.contains("`account.email`"), "{err}");
}
