//! Sections with many settings: mail, the abuse defences, Redis, forward-auth rules,
//! branding and a theme's catalogues.

use std::time::Duration;

use super::*;

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
fn redis_timeout_is_checked_without_a_url() {
    let e = err(
        &[("LATCHKEY_REDIS_TIMEOUT_MS", "5")],
        None,
        Overrides::default(),
    );
    check(&e, "redis.timeout_ms", &["10 to 60000"]);
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
fn mfa_required_roles_parse_from_file_and_environment() {
    let c = load_with(&[], None, Overrides::default()).unwrap();
    assert!(c.mfa.required_for_roles.is_empty(), "none by default");
    let file = r#"
[mfa]
required_for_roles = ["admin", "ops"]
"#;
    let c = load_with(&[], Some(file), Overrides::default()).unwrap();
    assert_eq!(c.mfa.required_for_roles, ["admin", "ops"]);
    let c = load_with(
        &[("LATCHKEY_MFA_REQUIRED_FOR_ROLES", "admin, auditor")],
        None,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.mfa.required_for_roles, ["admin", "auditor"]);
    let e = err(
        &[("LATCHKEY_MFA_REQUIRED_FOR_ROLES", "admin, Root!")],
        None,
        Overrides::default(),
    );
    check(&e, "mfa.required_for_roles", &["Root!", "role names"]);
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

#[test]
fn the_passkeys_relying_party_is_checked_against_the_public_url() {
    let public = ("LATCHKEY_PUBLIC_URL", "https://id.example.com");
    let c = load_with(
        &[
            public,
            ("LATCHKEY_PASSKEYS_RP_ID", "example.com"),
            ("LATCHKEY_PASSKEYS_ORIGINS", "https://app.example.com"),
        ],
        None,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.passkeys.rp_id.as_deref(), Some("example.com"));
    assert_eq!(c.passkeys.origins, ["https://app.example.com"]);
    let c = load_with(&[public], None, Overrides::default()).unwrap();
    assert_eq!(c.passkeys.rp_id, None, "the public URL's host by default");
    let e = err(
        &[
            public,
            ("LATCHKEY_PASSKEYS_RP_ID", "other.com"),
            (
                "LATCHKEY_PASSKEYS_ORIGINS",
                "https://app.example.com.evil.net",
            ),
        ],
        None,
        Overrides::default(),
    );
    check(&e, "passkeys.rp_id", &["registrable suffix"]);
    check(&e, "passkeys.origins", &["on the RP ID"]);
}
