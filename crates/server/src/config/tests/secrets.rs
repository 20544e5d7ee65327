//! Secrets: never echoed (values, URLs, unusable files), read from `_FILE`
//! files, and refused when production would run insecurely.

use super::*;

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
