//! The configuration as a whole: zero-configuration defaults, the order of
//! file, environment and flags, unknown keys, malformed values named with
//! their setting, every problem at once, typed values. The helpers here
//! serve the other files.

use super::*;

use std::path::PathBuf;
use std::time::Duration;

pub(super) fn load_with(
    env: &[(&str, &str)],
    file: Option<&str>,
    overrides: Overrides,
) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latchkey.toml");
    if let Some(text) = file {
        std::fs::write(&path, text).unwrap();
    }
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    load_from(&overrides, env, &path)
}

pub(super) fn err(env: &[(&str, &str)], file: Option<&str>, overrides: Overrides) -> ConfigError {
    load_with(env, file, overrides).expect_err("configuration should be refused")
}

/// Checks that the error names `setting` and the message contains each of `words`.
pub(super) fn check(e: &ConfigError, setting: &str, words: &[&str]) {
    let text = e.to_string();
    let p =
        e.0.iter()
            .find(|p| p.setting == setting)
            .unwrap_or_else(|| panic!("no problem names {setting}: {text}"));
    for w in words {
        assert!(text.contains(w), "{w:?} missing from: {text}");
    }
    assert!(!p.message.is_empty());
}

#[test]
fn zero_configuration_defaults() {
    let c = load_with(&[], None, Overrides::default()).unwrap();
    assert_eq!(c.server.profile, Profile::Development);
    assert_eq!(c.server.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.server.public_url, None);
    assert_eq!(c.server.data_dir, PathBuf::from("./latchkey-data"));
    assert_eq!(
        c.database.url,
        DatabaseUrl::Sqlite(PathBuf::from("./latchkey-data/latchkey.db"))
    );
    assert!(c.database.migrate_on_start);
    assert_eq!(c.http.max_body_bytes, 65_536);
    assert_eq!(c.log.format, LogFormat::Auto);
    assert!(c.sources.values().all(|s| *s == Source::Default));
}

#[test]
fn file_then_env_then_flags() {
    let file =
        "listen = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/a\"\n[http]\nmax_body_bytes = 2048\n";
    let c = load_with(
        &[
            ("LATCHKEY_LISTEN", "127.0.0.1:9001"),
            ("LATCHKEY_HTTP_MAX_BODY_BYTES", "4096"),
        ],
        Some(file),
        Overrides {
            listen: Some("127.0.0.1:9002".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(c.server.listen.port(), 9002);
    assert_eq!(c.sources["listen"], Source::Flag("--listen"));
    assert_eq!(c.http.max_body_bytes, 4096);
    assert_eq!(
        c.sources["http.max_body_bytes"],
        Source::Env("LATCHKEY_HTTP_MAX_BODY_BYTES".into())
    );
    assert_eq!(c.server.data_dir, PathBuf::from("/tmp/a"));
    assert!(matches!(c.sources["data_dir"], Source::File(_)));
    // the database follows the data directory unless set
    assert_eq!(
        c.database.url,
        DatabaseUrl::Sqlite(PathBuf::from("/tmp/a/latchkey.db"))
    );
}

#[test]
fn unknown_keys_are_errors() {
    let e = err(&[], Some("lisen = \"127.0.0.1:1\"\n"), Overrides::default());
    check(&e, "lisen", &["unknown setting", "latchkey.toml"]);
    let e = err(
        &[],
        Some("[database]\nurll = \"x\"\n"),
        Overrides::default(),
    );
    check(&e, "database.urll", &["unknown setting"]);
    let e = err(&[], Some("[databse]\nurl = \"x\"\n"), Overrides::default());
    check(&e, "databse", &["unknown setting"]);
    let e = err(&[("LATCHKEY_LISTN", "x")], None, Overrides::default());
    check(
        &e,
        "LATCHKEY_LISTN",
        &["unknown environment variable", "LATCHKEY_LISTEN"],
    );
}

#[test]
fn malformed_values_name_the_setting_and_the_expectation() {
    for (env, setting, words) in [
        (
            ("LATCHKEY_LISTEN", "127.0.0.1:70000"),
            "listen",
            &["70000", "out of range", "0 to 65535"][..],
        ),
        (
            ("LATCHKEY_LISTEN", "localhost:80"),
            "listen",
            &["not an IP address"],
        ),
        (("LATCHKEY_LISTEN", "8080"), "listen", &["expected IP:PORT"]),
        (
            ("LATCHKEY_PUBLIC_URL", "not a url"),
            "public_url",
            &["not a valid URL", "https://"],
        ),
        (
            ("LATCHKEY_PUBLIC_URL", "ftp://x.example"),
            "public_url",
            &["not http or https"],
        ),
        (
            ("LATCHKEY_DATABASE_URL", "mysql://x"),
            "database.url",
            &["sqlite://", "postgres://"],
        ),
        (
            ("LATCHKEY_DATABASE_URL", "postgres://u:p@:5432/db"),
            "database.url",
            &["PostgreSQL URL"],
        ),
        (
            ("LATCHKEY_DATABASE_URL", "sqlite://"),
            "database.url",
            &["no file path"],
        ),
        (
            ("LATCHKEY_HTTP_MAX_BODY_BYTES", "ten"),
            "http.max_body_bytes",
            &["LATCHKEY_HTTP_MAX_BODY_BYTES", "whole number"],
        ),
        (
            ("LATCHKEY_HTTP_MAX_BODY_BYTES", "10"),
            "http.max_body_bytes",
            &["1024 to"],
        ),
        (
            ("LATCHKEY_DATABASE_MIGRATE_ON_START", "maybe"),
            "database.migrate_on_start",
            &["true or false"],
        ),
        (("LATCHKEY_LOG_FORMAT", "xml"), "log.format", &["json"]),
        (
            ("LATCHKEY_LOG_LEVEL", "info,[[["),
            "log.level",
            &["tracing filter"],
        ),
        (("LATCHKEY_PROFILE", "staging"), "profile", &["production"]),
        (
            ("LATCHKEY_MASTER_KEY", "abc"),
            "master_key",
            &["64 hex digits"],
        ),
    ] {
        let e = err(&[env], None, Overrides::default());
        check(&e, setting, words);
    }
}

#[test]
fn wrong_types_in_the_file_name_the_setting() {
    let e = err(
        &[],
        Some("[http]\nmax_body_bytes = \"big\"\n"),
        Overrides::default(),
    );
    check(
        &e,
        "http.max_body_bytes",
        &["http.max_body_bytes", "latchkey.toml"],
    );
    let e = err(&[], Some("listen = [1, 2\n"), Overrides::default());
    check(&e, "config file", &["not valid TOML"]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = err(
        &[("LATCHKEY_LISTEN", "nope"), ("LATCHKEY_LOG_FORMAT", "xml")],
        None,
        Overrides::default(),
    );
    assert_eq!(e.0.len(), 2, "{e}");
}

#[test]
fn problems_in_several_places_are_reported_together() {
    // unknown keys in the file and an unknown variable, all at once
    let e = err(
        &[("LATCHKEY_LISTN", "x")],
        Some("lisen = 1\n[http]\nmax_body = 1\n[databse]\nurl = \"x\"\n"),
        Overrides::default(),
    );
    for setting in ["LATCHKEY_LISTN", "lisen", "http.max_body", "databse"] {
        check(&e, setting, &["unknown"]);
    }
    // wrong types in two sections, both named
    let e = err(
        &[],
        Some("[http]\nmax_body_bytes = \"big\"\n[mail]\nsmtp_port = \"x\"\n"),
        Overrides::default(),
    );
    check(&e, "http.max_body_bytes", &["latchkey.toml"]);
    check(&e, "mail.smtp_port", &["latchkey.toml"]);
}

#[test]
fn values_are_kept_typed() {
    let c = load_with(
        &[
            ("LATCHKEY_REDIS_URL", "redis://lk:pw@cache.internal:6380/3"),
            ("LATCHKEY_REDIS_TIMEOUT_MS", "400"),
            ("LATCHKEY_MAIL_FROM", "Acme <no-reply@acme.example>"),
        ],
        None,
        Overrides::default(),
    )
    .unwrap();
    let redis = c.redis.as_ref().unwrap();
    assert_eq!(redis.connection.address(), "cache.internal:6380");
    assert_eq!(redis.connection.database(), 3);
    assert_eq!(redis.connection.timeout, Duration::from_millis(400));
    assert!(!redis.redacted_url.contains("pw"), "{}", redis.redacted_url);
    let from = c.mail.from.as_ref().unwrap();
    assert_eq!(from.email.to_string(), "no-reply@acme.example");
}

mod catalogue;
mod secrets;
mod sections;
