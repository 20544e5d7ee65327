use super::*;

use std::path::PathBuf;
use std::time::Duration;

fn load_with(
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

fn err(env: &[(&str, &str)], file: Option<&str>, overrides: Overrides) -> ConfigError {
    load_with(env, file, overrides).expect_err("configuration should be refused")
}

/// Checks that the error names `setting` and the message contains each of `words`.
fn check(e: &ConfigError, setting: &str, words: &[&str]) {
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
fn secrets_are_never_echoed() {
    let e = err(
        &[("LATCHKEY_DATABASE_URL", "postgres://u:hunter2secret@/db")],
        None,
        Overrides::default(),
    );
    assert!(!e.to_string().contains("hunter2secret"), "{e}");
    let e = err(
        &[("LATCHKEY_MASTER_KEY", "zz-not-a-key-hunter2")],
        None,
        Overrides::default(),
    );
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let c = load_with(
        &[
            (
                "LATCHKEY_DATABASE_URL",
                "postgres://u:hunter2secret@db.internal:5432/lk",
            ),
            ("LATCHKEY_MASTER_KEY", &"a1b2".repeat(16)),
        ],
        None,
        Overrides::default(),
    )
    .unwrap();
    let shown = show(&c);
    assert!(!shown.contains("hunter2secret"), "{shown}");
    assert!(!shown.contains("a1b2a1b2"), "{shown}");
    assert!(shown.contains("db.internal"), "{shown}");
    assert!(format!("{c:?}").contains("<redacted>"));
    assert!(
        !format!("{:?}", c.server.master_key).contains("161"),
        "bytes of the key in Debug output"
    );
}

#[test]
fn production_refuses_insecure_settings() {
    let e = err(
        &[("LATCHKEY_PROFILE", "production")],
        None,
        Overrides::default(),
    );
    check(&e, "public_url", &["https"]);
    check(&e, "master_key", &["explicit master key"]);

    let e = err(
        &[
            ("LATCHKEY_PROFILE", "production"),
            ("LATCHKEY_PUBLIC_URL", "http://auth.example.com"),
            ("LATCHKEY_MASTER_KEY", &"00".repeat(32)),
            ("LATCHKEY_DATABASE_URL", "postgres://latchkey@db:5432/lk"),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "public_url", &["plain http"]);
    check(&e, "master_key", &["placeholder"]);
    check(&e, "database.url", &["password"]);

    let e = err(
        &[
            ("LATCHKEY_PROFILE", "production"),
            ("LATCHKEY_BRUTE_FORCE_ENABLED", "false"),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "brute_force.enabled", &["failure counters"]);

    let key = "0123456789abcdef".repeat(4);
    let c = load_with(
        &[
            ("LATCHKEY_PROFILE", "production"),
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
            ("LATCHKEY_MASTER_KEY", &key),
            (
                "LATCHKEY_DATABASE_URL",
                "postgres://latchkey:Xq9-long-secret@db:5432/lk",
            ),
            ("LATCHKEY_MAIL_TRANSPORT", "smtp"),
            ("LATCHKEY_MAIL_SMTP_HOST", "smtp.example.net"),
        ],
        None,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.server.profile, Profile::Production);
    // http on localhost is fine even in production (a local reverse proxy test)
    load_with(
        &[
            ("LATCHKEY_PROFILE", "production"),
            ("LATCHKEY_PUBLIC_URL", "http://localhost:8080"),
            ("LATCHKEY_MASTER_KEY", &key),
            ("LATCHKEY_MAIL_TRANSPORT", "smtp"),
            ("LATCHKEY_MAIL_SMTP_HOST", "127.0.0.1"),
            ("LATCHKEY_MAIL_SMTP_SECURITY", "none"),
        ],
        None,
        Overrides::default(),
    )
    .unwrap();
}

#[test]
fn redaction_of_urls() {
    assert_eq!(
        redact_url("postgres://u:pw@h:5/db"),
        "postgres://u:***@h:5/db"
    );
    assert_eq!(redact_url("postgres://u@h:5/db"), "postgres://u@h:5/db");
    assert_eq!(redact_url("postgres://u:pw@/db"), "postgres://u:***@/db");
    // a secret that is no URL is never shown: a libpq key/value string, a key
    for secret in ["host=db user=lk password=s3cr3t", "3c9f01d2deadbeef"] {
        assert_eq!(redact_secret(secret), "<redacted>");
    }
    assert_eq!(
        redact_secret("postgres://u:pw@h:5/db"),
        "postgres://u:***@h:5/db"
    );
}

/// A secret setting with a value that cannot be used is named in the error,
/// its value never shown.
#[test]
fn unusable_secrets_are_never_echoed() {
    let e = err(
        &[(
            "LATCHKEY_DATABASE_URL",
            "host=db user=lk password=s3cr3t-kv",
        )],
        None,
        Overrides::default(),
    );
    let text = format!("{e}");
    assert!(text.contains("database.url"), "{text}");
    assert!(!text.contains("s3cr3t-kv"), "{text}");
    let e = err(
        &[("LATCHKEY_MASTER_KEY", "s3cr3t-not-hex")],
        None,
        Overrides::default(),
    );
    let text = format!("{e}");
    assert!(text.contains("master_key"), "{text}");
    assert!(!text.contains("s3cr3t-not-hex"), "{text}");
}

#[test]
fn docs_list_every_setting() {
    let docs = include_str!("../../../../docs/configuration.md");
    for s in settings() {
        assert!(
            docs.contains(&format!("`{}`", s.key)),
            "docs/configuration.md lacks `{}`",
            s.key
        );
        assert!(
            docs.contains(&format!("`{}`", s.env)),
            "docs/configuration.md lacks `{}`",
            s.env
        );
    }
}

#[test]
fn mail_settings_are_checked() {
    let c = load_with(&[], None, Overrides::default()).unwrap();
    assert_eq!(
        c.mail.transport,
        MailTransportConfig::File,
        "files by default"
    );
    let e = err(
        &[
            ("LATCHKEY_MAIL_TRANSPORT", "smtp"),
            ("LATCHKEY_MAIL_SMTP_SECURITY", "ssl"),
            ("LATCHKEY_MAIL_FROM", "not an address"),
            ("LATCHKEY_MAIL_BRAND_COLOR", "red;x"),
            ("LATCHKEY_MAIL_LOGO_URL", "javascript:alert(1)"),
            ("LATCHKEY_MAIL_SMTP_PASSWORD", "hunter2-secret"),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "mail.smtp_host", &["SMTP host name is required"]);
    check(&e, "mail.smtp_security", &["starttls"]);
    check(&e, "mail.from", &["Name <name@example.com>"]);
    check(&e, "mail.brand_color", &["#2f6fde"]);
    check(&e, "mail.logo_url", &["http(s)"]);
    check(
        &e,
        "mail.smtp_username",
        &["password is set without a user name"],
    );
    assert!(!e.to_string().contains("hunter2-secret"));
    let key = "0123456789abcdef".repeat(4);
    let e = err(
        &[
            ("LATCHKEY_PROFILE", "production"),
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
            ("LATCHKEY_MASTER_KEY", &key),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "mail.transport", &["production needs `smtp`"]);
    let e = err(
        &[
            ("LATCHKEY_PROFILE", "production"),
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
            ("LATCHKEY_MASTER_KEY", &key),
            ("LATCHKEY_MAIL_TRANSPORT", "smtp"),
            ("LATCHKEY_MAIL_SMTP_HOST", "smtp.example.net"),
            ("LATCHKEY_MAIL_SMTP_SECURITY", "none"),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "mail.smtp_security", &["unencrypted"]);
    let c = load_with(
        &[
            ("LATCHKEY_MAIL_TRANSPORT", "smtp"),
            ("LATCHKEY_MAIL_SMTP_HOST", "smtp.example.net"),
            ("LATCHKEY_MAIL_SMTP_SECURITY", "tls"),
            ("LATCHKEY_MAIL_SMTP_PORT", "465"),
            ("LATCHKEY_MAIL_SMTP_USERNAME", "lk"),
            ("LATCHKEY_MAIL_SMTP_PASSWORD", "hunter2-secret"),
            ("LATCHKEY_ACCOUNTS_DELETION_GRACE_DAYS", "0"),
        ],
        None,
        Overrides::default(),
    )
    .unwrap();
    let MailTransportConfig::Smtp(smtp) = &c.mail.transport else {
        panic!("smtp expected");
    };
    assert_eq!(
        (smtp.port, smtp.security),
        (465, latchkey_mail::SmtpSecurity::Implicit)
    );
    assert!(
        !format!("{c:?}").contains("hunter2-secret"),
        "Debug redacts the password"
    );
    assert!(
        !show(&c).contains("hunter2-secret"),
        "config show redacts it"
    );
    assert_eq!(c.accounts.deletion_grace, Duration::ZERO);
}

#[test]
fn abuse_settings_have_safe_defaults() {
    let c = load_with(&[], None, Overrides::default()).unwrap();
    assert!(c.rate_limits.enabled && c.challenge.enabled);
    assert_eq!(
        c.rate_limits.login.to_string(),
        "ip=30/min, ip_account=10/min"
    );
    assert_eq!(c.brute_force.policy.lockout_threshold, 100);
    assert!(c.redis.is_none() && c.proxies.trusted.is_empty() && c.cors.origins.is_empty());
    assert!(c.passwords.reject_common);
    assert_eq!(c.http.hsts_max_age_secs, 31_536_000);
}

#[test]
fn abuse_settings_parse_from_file_and_environment() {
    let file = r#"
[rate_limits]
login = "ip=5/min, account=20/hour"
[proxies]
trusted = ["10.0.0.0/8", "192.168.0.0/16"]
[access]
admin_allow = "10.1.0.0/16"
[cors]
allowed_origins = ["https://app.example.com"]
allow_credentials = true
[redis]
url = "redis://:s3cret@127.0.0.1:6379/2"
"#;
    let c = load_with(
        &[
            ("LATCHKEY_ACCESS_DENY", "203.0.113.0/24, 198.51.100.7"),
            ("LATCHKEY_CHALLENGE_BASE_DIFFICULTY", "12"),
        ],
        Some(file),
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.rate_limits.login.to_string(), "ip=5/min, account=20/hour");
    assert_eq!(c.proxies.trusted.0.len(), 2);
    assert_eq!(c.access.deny.0.len(), 2);
    assert_eq!(c.challenge.base_difficulty, 12);
    assert!(c.cors.allow_credentials);
    assert_eq!(c.redis.as_ref().unwrap().connection.key_prefix, "latchkey:");
    let shown = show(&c);
    assert!(
        shown.contains("[rate_limits]") && shown.contains("login = \"ip=5/min, account=20/hour\""),
        "{shown}"
    );
    assert!(!shown.contains("s3cret"), "{shown}");
    // every section appears once, so the output is valid TOML
    shown
        .parse::<toml::Table>()
        .expect("config show prints TOML");
}

#[test]
fn abuse_mistakes_name_the_setting() {
    for (env, setting, words) in [
        (
            ("LATCHKEY_RATE_LIMITS_LOGIN", "ip=fast"),
            "rate_limits.login",
            &["N/unit"][..],
        ),
        (
            ("LATCHKEY_RATE_LIMITS_API", "host=1/min"),
            "rate_limits.api",
            &["unknown dimension"][..],
        ),
        (
            ("LATCHKEY_PROXIES_TRUSTED", "10.0.0.0/33"),
            "proxies.trusted",
            &["prefix length"][..],
        ),
        (
            ("LATCHKEY_ACCESS_ADMIN_ALLOW", "intranet"),
            "access.admin_allow",
            &["not an IP address"][..],
        ),
        (
            (
                "LATCHKEY_CORS_ALLOWED_ORIGINS",
                "https://app.example.com/path",
            ),
            "cors.allowed_origins",
            &["scheme, host and port"][..],
        ),
        (
            ("LATCHKEY_PAGES_ALLOWED_RETURN_ORIGINS", "*"),
            "pages.allowed_return_origins",
            &["no wildcards"][..],
        ),
        (
            (
                "LATCHKEY_PAGES_ALLOWED_RETURN_ORIGINS",
                "https://*.example.com",
            ),
            "pages.allowed_return_origins",
            &["exact origins"][..],
        ),
        (
            ("LATCHKEY_PAGES_THEME_DIR", "/nonexistent/theme"),
            "pages.theme_dir",
            &["no such directory"][..],
        ),
        (
            ("LATCHKEY_BRUTE_FORCE_LOCKOUT_THRESHOLD", "101"),
            "brute_force.lockout_threshold",
            &["1 to 100"][..],
        ),
        (
            ("LATCHKEY_REDIS_URL", "rediss://:pw@cache:6380/#insecure"),
            "redis.url",
            &["TLS"][..],
        ),
        (
            ("LATCHKEY_PASSWORDS_MIN_STRENGTH", "5"),
            "passwords.min_strength",
            &["0 to 4"][..],
        ),
    ] {
        let e = err(&[env], None, Overrides::default());
        check(&e, setting, words);
    }
    // never a wildcard with credentials
    let e = err(
        &[
            ("LATCHKEY_CORS_ALLOWED_ORIGINS", "*"),
            ("LATCHKEY_CORS_ALLOW_CREDENTIALS", "true"),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "cors.allow_credentials", &["wildcard"]);
    // the Redis password is never echoed
    let e = err(
        &[("LATCHKEY_REDIS_URL", "redis://:hunter2@cache:99999")],
        None,
        Overrides::default(),
    );
    assert!(!e.to_string().contains("hunter2"), "{e}");
    // a CA file is for rediss:// only, and must be readable
    for (url, ca, words) in [
        ("rediss://cache:6380", "/nonexistent/ca.pem", "cannot read"),
        ("redis://cache:6379", "/nonexistent/ca.pem", "rediss://"),
    ] {
        let e = err(
            &[("LATCHKEY_REDIS_URL", url), ("LATCHKEY_REDIS_CA_FILE", ca)],
            None,
            Overrides::default(),
        );
        check(&e, "redis.ca_file", &[words]);
    }
    let e = err(
        &[
            ("LATCHKEY_CHALLENGE_BASE_DIFFICULTY", "20"),
            ("LATCHKEY_CHALLENGE_MAX_DIFFICULTY", "18"),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "challenge.max_difficulty", &["at least"]);
}

#[test]
fn each_section_lists_its_own_keys_once() {
    let mut names = Vec::new();
    for list in SECTIONS {
        let name = setting::section_name(list);
        assert!(!names.contains(&name), "section {name:?} listed twice");
        names.push(name);
        for s in *list {
            assert_eq!(s.section(), name, "{} is listed in [{name}]", s.key);
            let env = format!("LATCHKEY_{}", s.key.replace('.', "_").to_uppercase());
            assert_eq!(s.env, env, "the variable of {} follows its key", s.key);
        }
    }
    assert_eq!(
        names[0], "",
        "top-level keys come first, before any [table]"
    );
    let keys: std::collections::BTreeSet<_> = settings().map(|s| s.key).collect();
    assert_eq!(keys.len(), settings().count(), "a key is listed twice");
}

#[test]
fn docs_show_the_default_the_code_uses() {
    let docs = include_str!("../../../../docs/configuration.md");
    for s in settings() {
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", s.key)))
            .unwrap_or_else(|| panic!("docs/configuration.md has no row for `{}`", s.key));
        let default = row.split(" | ").nth(2).unwrap_or_default();
        match (s.kind, s.default_text()) {
            (Kind::Derived(_), _) => {}
            (_, None) => assert!(default.starts_with("none"), "{row}"),
            (_, Some(d)) => assert_eq!(default, format!("`{d}`"), "{row}"),
        }
    }
}

#[test]
fn every_setting_is_read_by_its_section() {
    // A key listed in SETTINGS but missing from its section's raw form would
    // be refused as an unknown field when set.
    for s in settings() {
        let sample = match s.kind {
            Kind::Int { default, .. } => default.to_string(),
            Kind::Bool(b) => b.to_string(),
            Kind::Str(_) | Kind::Derived(_) => "x".to_owned(),
        };
        if let Err(e) = load_with(&[(s.env, &sample)], None, Overrides::default()) {
            assert!(
                e.0.iter().all(|p| !p.message.contains("unknown field")),
                "{}: {e}",
                s.env
            );
        }
    }
}

#[test]
fn config_show_prints_every_setting_once() {
    for env in [
        &[][..],
        &[
            ("LATCHKEY_MAIL_TRANSPORT", "smtp"),
            ("LATCHKEY_MAIL_SMTP_HOST", "smtp.example.net"),
            ("LATCHKEY_REDIS_URL", "redis://127.0.0.1:6379/0"),
        ][..],
    ] {
        let c = load_with(env, None, Overrides::default()).unwrap();
        let shown: toml::Table = show(&c).parse().expect("config show prints TOML");
        let mut count = 0;
        for (key, value) in &shown {
            match value.as_table() {
                Some(t) => count += t.len(),
                None => count += usize::from(!key.is_empty()),
            }
        }
        assert_eq!(count, settings().count());
        for s in settings() {
            let (section, name) = s.key.rsplit_once('.').unwrap_or(("", s.key));
            let value = if section.is_empty() {
                shown.get(name)
            } else {
                shown[section].get(name)
            };
            assert!(value.is_some(), "config show lacks {}", s.key);
        }
    }
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
fn redis_timeout_is_checked_without_a_url() {
    let e = err(
        &[("LATCHKEY_REDIS_TIMEOUT_MS", "5")],
        None,
        Overrides::default(),
    );
    check(&e, "redis.timeout_ms", &["10 to 60000"]);
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

/// A secret setting's key, a valid value, and the variables that make it apply.
type SecretCase = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
);

/// A valid value of every secret setting and the settings that make it apply.
fn secret_cases() -> Vec<SecretCase> {
    vec![
        ("master_key", "3c9f01d2".repeat(8).leak(), vec![]),
        (
            "database.url",
            "postgres://lk:s3cr3t-pg@db.internal:5432/lk",
            vec![],
        ),
        (
            "mail.smtp_password",
            "s3cr3t smtp password ",
            vec![
                ("LATCHKEY_MAIL_TRANSPORT", "smtp"),
                ("LATCHKEY_MAIL_SMTP_HOST", "smtp.example.net"),
                ("LATCHKEY_MAIL_SMTP_USERNAME", "latchkey"),
            ],
        ),
        (
            "redis.url",
            "redis://:s3cr3t-redis@cache.internal:6379/0",
            vec![],
        ),
    ]
}

/// The value a secret setting ended up with, as text, to compare with what
/// the file held.
fn secret_value(c: &Config, key: &str) -> String {
    match key {
        "master_key" => c
            .server
            .master_key
            .as_ref()
            .map(|k| k.0.iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default(),
        "database.url" => match &c.database.url {
            DatabaseUrl::Postgres(u) => u.clone(),
            other => panic!("expected PostgreSQL, got {other:?}"),
        },
        "mail.smtp_password" => match &c.mail.transport {
            MailTransportConfig::Smtp(s) => s.password.clone().unwrap_or_default(),
            MailTransportConfig::File => panic!("expected SMTP"),
        },
        "redis.url" => {
            let r = &c.redis.as_ref().expect("redis configured").connection;
            let password = r.password().unwrap_or_default();
            format!("redis://:{password}@{}/{}", r.address(), r.database())
        }
        other => panic!("no case reads secret {other}"),
    }
}

#[test]
fn every_secret_can_come_from_a_file_and_is_never_shown() {
    let cases = secret_cases();
    for s in settings().filter(|s| s.secret) {
        assert!(
            cases.iter().any(|(key, ..)| *key == s.key),
            "secret {} has no case here: add one so its {}_FILE is tested",
            s.key,
            s.env
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for (key, value, extra) in cases {
        let s = settings().find(|s| s.key == key).unwrap();
        let path = dir.path().join(key);
        // written as `echo VALUE > file` does: the line end is not the secret's
        std::fs::write(&path, format!("{value}\n")).unwrap();
        let variable = format!("{}_FILE", s.env);
        let mut env = extra.clone();
        env.push((&variable, path.to_str().unwrap()));
        let c = load_with(&env, None, Overrides::default()).unwrap();
        assert_eq!(secret_value(&c, key), value, "{key}");
        assert_eq!(
            c.sources[key],
            Source::SecretFile {
                variable: variable.clone(),
                path: path.clone()
            }
        );
        let shown = show(&c);
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("3c9f01d2"),
            "{shown}"
        );
        assert!(shown.contains(&variable), "{shown}");
    }
}

#[test]
fn secret_files_that_cannot_be_used_are_named_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let bad_key = dir.path().join("master.key");
    std::fs::write(&bad_key, "s3cr3t-but-not-hex\n").unwrap();
    let missing = dir.path().join("absent");
    let (bad, absent) = (bad_key.to_str().unwrap(), missing.to_str().unwrap());

    let e = err(
        &[("LATCHKEY_MASTER_KEY_FILE", bad)],
        None,
        Overrides::default(),
    );
    check(
        &e,
        "master_key",
        &["LATCHKEY_MASTER_KEY_FILE", "64 hex digits"],
    );
    assert!(!e.to_string().contains("s3cr3t"), "{e}");

    let e = err(
        &[("LATCHKEY_DATABASE_URL_FILE", absent)],
        None,
        Overrides::default(),
    );
    check(&e, "database.url", &["cannot read", absent]);

    // both the value and a file: ambiguous, refused
    let e = err(
        &[
            ("LATCHKEY_REDIS_URL", "redis://127.0.0.1:6379/0"),
            ("LATCHKEY_REDIS_URL_FILE", bad),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "redis.url", &["LATCHKEY_REDIS_URL is set as well"]);

    // only secrets are read from files; an existing `_FILE` setting keeps its meaning
    let e = err(&[("LATCHKEY_LISTEN_FILE", bad)], None, Overrides::default());
    check(
        &e,
        "LATCHKEY_LISTEN_FILE",
        &["unknown environment variable", "LATCHKEY_MASTER_KEY_FILE"],
    );
    let e = err(
        &[("LATCHKEY_MAIL_SMTP_CA_FILE", absent)],
        None,
        Overrides::default(),
    );
    check(&e, "mail.smtp_ca_file", &["no such file"]);

    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'a'; 70_000]).unwrap();
    let e = err(
        &[("LATCHKEY_MASTER_KEY_FILE", big.to_str().unwrap())],
        None,
        Overrides::default(),
    );
    check(&e, "master_key", &["larger than"]);
}

#[test]
fn authz_rules_parse_from_file_and_environment() {
    let file = r#"
[authz]
rules = ["app.example.com/admin role:admin aal2", "*/health public"]
"#;
    let c = load_with(&[], Some(file), Overrides::default()).unwrap();
    assert_eq!(
        c.authz.to_string(),
        "app.example.com/admin signed_in role:admin aal2, */health public"
    );
    let c = load_with(
        &[(
            "LATCHKEY_AUTHZ_RULES",
            "app.example.com/ signed_in, */api scope:email",
        )],
        None,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.authz.rules.len(), 2);
    let e = err(
        &[("LATCHKEY_AUTHZ_RULES", "app.example.com/x sudo")],
        None,
        Overrides::default(),
    );
    check(&e, "authz.rules", &["expected public, signed_in"]);
}

#[test]
fn branding_is_read_with_the_mail_aliases() {
    let c = load_with(&[], None, Overrides::default()).unwrap();
    assert_eq!(c.branding.product_name, "latchkey");
    assert_eq!(c.branding.color, "#2f6fde");
    // the old `mail.*` names still work
    let c = load_with(
        &[
            ("LATCHKEY_MAIL_PRODUCT_NAME", "Acme"),
            ("LATCHKEY_MAIL_LOGO_URL", "https://acme.example/logo.png"),
            ("LATCHKEY_MAIL_BRAND_COLOR", "#aa0000"),
        ],
        None,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.branding.product_name, "Acme");
    assert_eq!(
        c.branding.logo_url.as_deref(),
        Some("https://acme.example/logo.png")
    );
    assert_eq!(c.branding.color, "#aa0000");
    // `[branding]` wins over an alias
    let c = load_with(
        &[("LATCHKEY_MAIL_PRODUCT_NAME", "Old")],
        Some("[branding]\nproduct_name = \"New\"\n"),
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.branding.product_name, "New");
    let e = err(
        &[
            ("LATCHKEY_BRANDING_COLOR", "blue"),
            ("LATCHKEY_BRANDING_BACKGROUND_COLOR", "#12"),
            ("LATCHKEY_BRANDING_CUSTOM_CSS", "/no/such/file.css"),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "branding.color", &["#2f6fde"]);
    check(&e, "branding.background_color", &["blue", "#12"]);
    check(&e, "branding.custom_css", &["cannot be read"]);
    let dir = tempfile::tempdir().unwrap();
    let css = dir.path().join("custom.css");
    std::fs::write(&css, "body{color:#123456}").unwrap();
    let c = load_with(
        &[("LATCHKEY_BRANDING_CUSTOM_CSS", css.to_str().unwrap())],
        None,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.branding.custom_css.unwrap().1, "body{color:#123456}");
}

#[test]
fn a_theme_catalogue_missing_a_key_of_a_configured_locale_stops_start_up() {
    let theme = tempfile::tempdir().unwrap();
    let dir = theme.path().to_str().unwrap();
    std::fs::create_dir_all(theme.path().join("locales/en")).unwrap();
    std::fs::write(
        theme.path().join("locales/en/pages.ftl"),
        "login-title = Welcome back\n",
    )
    .unwrap();
    let e = err(
        &[("LATCHKEY_PAGES_THEME_DIR", dir)],
        None,
        Overrides::default(),
    );
    check(&e, "pages.locales", &["`de`", "`login-title`"]);
    // with the key in every configured locale it starts
    for lang in ["de", "fr"] {
        std::fs::create_dir_all(theme.path().join(format!("locales/{lang}"))).unwrap();
        std::fs::write(
            theme.path().join(format!("locales/{lang}/pages.ftl")),
            format!("login-title = Willkommen ({lang})\n"),
        )
        .unwrap();
    }
    let c = load_with(
        &[("LATCHKEY_PAGES_THEME_DIR", dir)],
        None,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        c.pages.catalogue.text("fr", "login-title", &[]),
        "Willkommen (fr)"
    );
    // or when only the locales it covers are configured
    let c = load_with(
        &[("LATCHKEY_PAGES_LOCALES", "fr")],
        None,
        Overrides::default(),
    );
    assert!(c.is_err(), "mail.locale `en` is not configured");
    let c = load_with(
        &[
            ("LATCHKEY_PAGES_LOCALES", "fr, en"),
            ("LATCHKEY_MAIL_LOCALE", "fr-CA"),
        ],
        None,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.pages.catalogue.default_locale(), "fr");
    // a language nobody ships
    let e = err(
        &[("LATCHKEY_PAGES_LOCALES", "en, es")],
        None,
        Overrides::default(),
    );
    check(&e, "pages.locales", &["`es`", "lacks the key"]);
    let e = err(
        &[("LATCHKEY_MAIL_LOCALE", "es")],
        None,
        Overrides::default(),
    );
    check(&e, "mail.locale", &["pages.locales"]);
    // a theme file that is not Fluent is named
    std::fs::write(
        theme.path().join("locales/fr/pages.ftl"),
        "login-title = { $\n",
    )
    .unwrap();
    let e = err(
        &[("LATCHKEY_PAGES_THEME_DIR", dir)],
        None,
        Overrides::default(),
    );
    check(&e, "pages.locales", &["locales/fr/pages.ftl"]);
}
