//! Configuration: parse raw, validate once, pass explicitly.
//!
//! Sources, later ones winning: built-in defaults, the TOML file
//! (`--config FILE`, or `latchkey.toml` in the working directory if present),
//! `LATCHKEY_*` environment variables, then command-line flags. Every setting
//! is listed once in [`SETTINGS`], which drives the environment overlay,
//! `latchkey config show`, and a test that keeps `docs/configuration.md`
//! complete.
//!
//! [`load`] merges the sources into one TOML table, deserializes it into
//! [`RawConfig`] (unknown keys are errors), then [`RawConfig::validate`]
//! turns it into a [`Config`] whose fields are already the types the rest
//! of the program uses. Every problem found is reported at once, each naming
//! the setting, where its value came from, the value, and what is expected.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

mod abuse;

pub use abuse::{AbuseConfig, RedisSettings};

/// The kinds of value a setting takes, for parsing environment variables and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any string.
    Str,
    /// A non-negative whole number.
    Int,
    /// `true` or `false`.
    Bool,
}

/// One documented setting.
#[derive(Debug)]
pub struct Setting {
    /// Dotted key in the TOML file.
    pub key: &'static str,
    /// Environment variable overriding it.
    pub env: &'static str,
    /// The value kind.
    pub kind: Kind,
    /// Whether the value must never be printed.
    pub secret: bool,
    /// The default, as shown in the docs.
    pub default: &'static str,
    /// One line of help.
    pub help: &'static str,
}

macro_rules! setting {
    ($key:literal, $env:literal, $kind:ident, $secret:literal, $default:literal, $help:literal) => {
        Setting {
            key: $key,
            env: $env,
            kind: Kind::$kind,
            secret: $secret,
            default: $default,
            help: $help,
        }
    };
}

/// Every setting latchkey reads. Keep `docs/configuration.md` in step (a test checks).
pub const SETTINGS: &[Setting] = &[
    setting!(
        "profile",
        "LATCHKEY_PROFILE",
        Str,
        false,
        "development",
        "`development` or `production`; production refuses insecure settings"
    ),
    setting!(
        "listen",
        "LATCHKEY_LISTEN",
        Str,
        false,
        "127.0.0.1:8080",
        "address and port to listen on (IP:port; port 0 picks a free port)"
    ),
    setting!(
        "public_url",
        "LATCHKEY_PUBLIC_URL",
        Str,
        false,
        "http://<listen>",
        "the URL users reach latchkey at; used for links in mail and as the token issuer"
    ),
    setting!(
        "data_dir",
        "LATCHKEY_DATA_DIR",
        Str,
        false,
        "./latchkey-data",
        "directory for the SQLite database, generated keys and outgoing mail files"
    ),
    setting!(
        "master_key",
        "LATCHKEY_MASTER_KEY",
        Str,
        true,
        "generated into <data_dir>/master.key",
        "64 hex digits (32 bytes) encrypting secrets at rest; required in production"
    ),
    setting!(
        "database.url",
        "LATCHKEY_DATABASE_URL",
        Str,
        true,
        "sqlite://<data_dir>/latchkey.db",
        "`sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`"
    ),
    setting!(
        "database.max_connections",
        "LATCHKEY_DATABASE_MAX_CONNECTIONS",
        Int,
        false,
        "16",
        "PostgreSQL pool size; for SQLite, the number of reader threads (capped at 8)"
    ),
    setting!(
        "database.migrate_on_start",
        "LATCHKEY_DATABASE_MIGRATE_ON_START",
        Bool,
        false,
        "true",
        "apply pending migrations when `serve` starts; if false, refuse to start with pending ones"
    ),
    setting!(
        "http.max_body_bytes",
        "LATCHKEY_HTTP_MAX_BODY_BYTES",
        Int,
        false,
        "65536",
        "largest request body accepted (413 beyond)"
    ),
    setting!(
        "http.max_header_bytes",
        "LATCHKEY_HTTP_MAX_HEADER_BYTES",
        Int,
        false,
        "16384",
        "largest total size of request headers accepted (431 beyond)"
    ),
    setting!(
        "http.request_timeout_secs",
        "LATCHKEY_HTTP_REQUEST_TIMEOUT_SECS",
        Int,
        false,
        "30",
        "longest a request may take before it is answered 503"
    ),
    setting!(
        "http.header_read_timeout_secs",
        "LATCHKEY_HTTP_HEADER_READ_TIMEOUT_SECS",
        Int,
        false,
        "10",
        "longest a client may take to send its request headers (slow-loris guard)"
    ),
    setting!(
        "http.shutdown_timeout_secs",
        "LATCHKEY_HTTP_SHUTDOWN_TIMEOUT_SECS",
        Int,
        false,
        "20",
        "on SIGTERM/SIGINT, how long in-flight requests may run before the process exits"
    ),
    setting!(
        "http.hsts_max_age_secs",
        "LATCHKEY_HTTP_HSTS_MAX_AGE_SECS",
        Int,
        false,
        "31536000",
        "Strict-Transport-Security max-age, sent only when the public URL is https (0: never)"
    ),
    setting!(
        "tokens.alg",
        "LATCHKEY_TOKENS_ALG",
        Str,
        false,
        "EdDSA",
        "signature algorithm of access tokens: `EdDSA`, `ES256` or `RS256`"
    ),
    setting!(
        "tokens.audience",
        "LATCHKEY_TOKENS_AUDIENCE",
        Str,
        false,
        "<public_url>",
        "the `aud` of first-party access tokens"
    ),
    setting!(
        "tokens.access_ttl_secs",
        "LATCHKEY_TOKENS_ACCESS_TTL_SECS",
        Int,
        false,
        "900",
        "lifetime of access tokens"
    ),
    setting!(
        "tokens.refresh_grace_secs",
        "LATCHKEY_TOKENS_REFRESH_GRACE_SECS",
        Int,
        false,
        "10",
        "a refresh token presented again within this time gets the same new pair instead of ending the session"
    ),
    setting!(
        "tokens.key_rotation_days",
        "LATCHKEY_TOKENS_KEY_ROTATION_DAYS",
        Int,
        false,
        "30",
        "make a new signing key after this many days (0: only by `latchkey keys rotate`)"
    ),
    setting!(
        "tokens.include_permissions",
        "LATCHKEY_TOKENS_INCLUDE_PERMISSIONS",
        Bool,
        false,
        "false",
        "access tokens also carry a `permissions` claim (every permission of the user's roles)"
    ),
    setting!(
        "sessions.ttl_secs",
        "LATCHKEY_SESSIONS_TTL_SECS",
        Int,
        false,
        "2592000",
        "absolute lifetime of a session (30 days)"
    ),
    setting!(
        "sessions.idle_ttl_secs",
        "LATCHKEY_SESSIONS_IDLE_TTL_SECS",
        Int,
        false,
        "604800",
        "a session unused for this long ends (7 days)"
    ),
    setting!(
        "passwords.min_length",
        "LATCHKEY_PASSWORDS_MIN_LENGTH",
        Int,
        false,
        "8",
        "shortest password accepted for new passwords, in characters"
    ),
    setting!(
        "passwords.argon2_memory_kib",
        "LATCHKEY_PASSWORDS_ARGON2_MEMORY_KIB",
        Int,
        false,
        "19456",
        "argon2id memory cost (OWASP: 19456 KiB with 2 iterations)"
    ),
    setting!(
        "passwords.argon2_iterations",
        "LATCHKEY_PASSWORDS_ARGON2_ITERATIONS",
        Int,
        false,
        "2",
        "argon2id time cost"
    ),
    setting!(
        "passwords.argon2_parallelism",
        "LATCHKEY_PASSWORDS_ARGON2_PARALLELISM",
        Int,
        false,
        "1",
        "argon2id lanes"
    ),
    setting!(
        "passwords.hash_workers",
        "LATCHKEY_PASSWORDS_HASH_WORKERS",
        Int,
        false,
        "0",
        "password hashing threads (0: one per core)"
    ),
    setting!(
        "passwords.hash_queue",
        "LATCHKEY_PASSWORDS_HASH_QUEUE",
        Int,
        false,
        "64",
        "hashes waiting beyond the busy workers before answering 503 busy"
    ),
    setting!(
        "passwords.reject_common",
        "LATCHKEY_PASSWORDS_REJECT_COMMON",
        Bool,
        false,
        "true",
        "refuse the bundled list of commonly used passwords (password_too_common)"
    ),
    setting!(
        "passwords.breached_filter",
        "LATCHKEY_PASSWORDS_BREACHED_FILTER",
        Str,
        false,
        "",
        "a breach-corpus Bloom filter file from `latchkey passwords build-filter` (password_breached)"
    ),
    setting!(
        "passwords.min_strength",
        "LATCHKEY_PASSWORDS_MIN_STRENGTH",
        Int,
        false,
        "0",
        "lowest strength estimate accepted, 0 to 4 (0: no estimate)"
    ),
    setting!(
        "audit.retention_days",
        "LATCHKEY_AUDIT_RETENTION_DAYS",
        Int,
        false,
        "365",
        "audit events older than this many days are deleted (0: keep forever)"
    ),
    setting!(
        "accounts.require_verified_email",
        "LATCHKEY_ACCOUNTS_REQUIRE_VERIFIED_EMAIL",
        Bool,
        false,
        "false",
        "refuse sign-in (403 `email_not_verified`) until the address is verified"
    ),
    setting!(
        "accounts.reauth_max_age_minutes",
        "LATCHKEY_ACCOUNTS_REAUTH_MAX_AGE_MINUTES",
        Int,
        false,
        "10",
        "email change and deletion need a sign-in or `POST /v1/auth/reauth` this recent (else 403 `reauth_required`)"
    ),
    setting!(
        "accounts.deletion_grace_days",
        "LATCHKEY_ACCOUNTS_DELETION_GRACE_DAYS",
        Int,
        false,
        "30",
        "days between `DELETE /v1/account` and the removal of the personal data"
    ),
    setting!(
        "accounts.new_sign_in_notice",
        "LATCHKEY_ACCOUNTS_NEW_SIGN_IN_NOTICE",
        Bool,
        false,
        "true",
        "mail the user when someone signs in from a device (browser and IP) never used before"
    ),
    setting!(
        "mail.transport",
        "LATCHKEY_MAIL_TRANSPORT",
        Str,
        false,
        "file",
        "`file` (write .eml files into <data_dir>/mail and log links; development only) or `smtp`"
    ),
    setting!(
        "mail.from",
        "LATCHKEY_MAIL_FROM",
        Str,
        false,
        "<product_name> <no-reply@<public host>>",
        "the sender, e.g. `Acme <no-reply@acme.example>`"
    ),
    setting!(
        "mail.smtp_host",
        "LATCHKEY_MAIL_SMTP_HOST",
        Str,
        false,
        "",
        "SMTP server host name (required with `smtp`)"
    ),
    setting!(
        "mail.smtp_port",
        "LATCHKEY_MAIL_SMTP_PORT",
        Int,
        false,
        "587",
        "SMTP server port (587 for STARTTLS, 465 for implicit TLS)"
    ),
    setting!(
        "mail.smtp_security",
        "LATCHKEY_MAIL_SMTP_SECURITY",
        Str,
        false,
        "starttls",
        "`starttls` (required, never opportunistic), `tls` (implicit TLS) or `none` (refused in production unless the host is loopback)"
    ),
    setting!(
        "mail.smtp_username",
        "LATCHKEY_MAIL_SMTP_USERNAME",
        Str,
        false,
        "",
        "SMTP AUTH user name (none: no authentication)"
    ),
    setting!(
        "mail.smtp_password",
        "LATCHKEY_MAIL_SMTP_PASSWORD",
        Str,
        true,
        "",
        "SMTP AUTH password"
    ),
    setting!(
        "mail.smtp_timeout_secs",
        "LATCHKEY_MAIL_SMTP_TIMEOUT_SECS",
        Int,
        false,
        "30",
        "limit on connecting to the SMTP server and on each exchange"
    ),
    setting!(
        "mail.smtp_ca_file",
        "LATCHKEY_MAIL_SMTP_CA_FILE",
        Str,
        false,
        "",
        "PEM file of an extra CA to trust for the SMTP server (besides the system's)"
    ),
    setting!(
        "mail.max_attempts",
        "LATCHKEY_MAIL_MAX_ATTEMPTS",
        Int,
        false,
        "12",
        "delivery attempts of one message before it is given up"
    ),
    setting!(
        "mail.product_name",
        "LATCHKEY_MAIL_PRODUCT_NAME",
        Str,
        false,
        "latchkey",
        "the product name in subjects and text of mail"
    ),
    setting!(
        "mail.logo_url",
        "LATCHKEY_MAIL_LOGO_URL",
        Str,
        false,
        "",
        "an absolute http(s) URL of a logo atop HTML mail"
    ),
    setting!(
        "mail.brand_color",
        "LATCHKEY_MAIL_BRAND_COLOR",
        Str,
        false,
        "#2f6fde",
        "the colour of buttons in HTML mail, `#rrggbb`"
    ),
    setting!(
        "mail.locale",
        "LATCHKEY_MAIL_LOCALE",
        Str,
        false,
        "en",
        "the language of mail (`en`; others fall back to English)"
    ),
    setting!(
        "jobs.poll_interval_ms",
        "LATCHKEY_JOBS_POLL_INTERVAL_MS",
        Int,
        false,
        "1000",
        "how often each node looks for due background jobs (work queued on the node itself starts at once)"
    ),
    setting!(
        "jobs.retry_base_secs",
        "LATCHKEY_JOBS_RETRY_BASE_SECS",
        Int,
        false,
        "10",
        "delay before the first retry of a failed job; doubles with each further attempt"
    ),
    setting!(
        "jobs.lease_secs",
        "LATCHKEY_JOBS_LEASE_SECS",
        Int,
        false,
        "120",
        "how long a claimed job is reserved for its worker; a job whose node died runs again once it ends (keep it longer than a job takes)"
    ),
    setting!(
        "jobs.retry_max_secs",
        "LATCHKEY_JOBS_RETRY_MAX_SECS",
        Int,
        false,
        "3600",
        "longest delay between two attempts of a job"
    ),
    setting!(
        "jobs.sweep_interval_secs",
        "LATCHKEY_JOBS_SWEEP_INTERVAL_SECS",
        Int,
        false,
        "300",
        "how often expired data is removed and due deletions carried out"
    ),
    setting!(
        "jobs.retention_days",
        "LATCHKEY_JOBS_RETENTION_DAYS",
        Int,
        false,
        "7",
        "how long ended sessions, finished jobs and sent mail records are kept"
    ),
    setting!(
        "log.level",
        "LATCHKEY_LOG_LEVEL",
        Str,
        false,
        "info",
        "a tracing filter, e.g. `info` or `info,latchkey_http=debug`"
    ),
    setting!(
        "log.format",
        "LATCHKEY_LOG_FORMAT",
        Str,
        false,
        "auto",
        "`auto` (readable on a terminal, JSON otherwise), `json` or `pretty`"
    ),
    setting!(
        "rate_limits.enabled",
        "LATCHKEY_RATE_LIMITS_ENABLED",
        Bool,
        false,
        "true",
        "rate limits per class of route (off: none at all)"
    ),
    setting!(
        "rate_limits.login",
        "LATCHKEY_RATE_LIMITS_LOGIN",
        Str,
        false,
        "ip=30/min, ip_account=10/min",
        "quotas of sign-in endpoints by ip, account and ip_account"
    ),
    setting!(
        "rate_limits.register",
        "LATCHKEY_RATE_LIMITS_REGISTER",
        Str,
        false,
        "ip=20/hour, account=10/hour",
        "quotas of sign-up"
    ),
    setting!(
        "rate_limits.mail",
        "LATCHKEY_RATE_LIMITS_MAIL",
        Str,
        false,
        "ip=20/hour, account=5/hour",
        "quotas of endpoints that send mail"
    ),
    setting!(
        "rate_limits.token",
        "LATCHKEY_RATE_LIMITS_TOKEN",
        Str,
        false,
        "ip=300/min",
        "quotas of token endpoints"
    ),
    setting!(
        "rate_limits.api",
        "LATCHKEY_RATE_LIMITS_API",
        Str,
        false,
        "ip=1200/min",
        "quotas of everything else"
    ),
    setting!(
        "rate_limits.max_keys",
        "LATCHKEY_RATE_LIMITS_MAX_KEYS",
        Int,
        false,
        "100000",
        "counters kept in memory at most"
    ),
    setting!(
        "brute_force.enabled",
        "LATCHKEY_BRUTE_FORCE_ENABLED",
        Bool,
        false,
        "true",
        "per-account failure counters, delays and lockout; `false` only for benchmarks (refused in production)"
    ),
    setting!(
        "brute_force.free_attempts",
        "LATCHKEY_BRUTE_FORCE_FREE_ATTEMPTS",
        Int,
        false,
        "5",
        "consecutive failed sign-ins of an account before delays start"
    ),
    setting!(
        "brute_force.max_delay_secs",
        "LATCHKEY_BRUTE_FORCE_MAX_DELAY_SECS",
        Int,
        false,
        "900",
        "longest delay between two sign-in attempts of an account"
    ),
    setting!(
        "brute_force.lockout_threshold",
        "LATCHKEY_BRUTE_FORCE_LOCKOUT_THRESHOLD",
        Int,
        false,
        "100",
        "consecutive failures that lock an account (1 to 100)"
    ),
    setting!(
        "brute_force.reset_after_secs",
        "LATCHKEY_BRUTE_FORCE_RESET_AFTER_SECS",
        Int,
        false,
        "86400",
        "an unlocked failure count is forgotten after this long without failures (0: never)"
    ),
    setting!(
        "brute_force.device_attempts",
        "LATCHKEY_BRUTE_FORCE_DEVICE_ATTEMPTS",
        Int,
        false,
        "10",
        "failures allowed from a known device before its cookie stops helping"
    ),
    setting!(
        "brute_force.device_cookie_days",
        "LATCHKEY_BRUTE_FORCE_DEVICE_COOKIE_DAYS",
        Int,
        false,
        "180",
        "lifetime of device cookies"
    ),
    setting!(
        "challenge.enabled",
        "LATCHKEY_CHALLENGE_ENABLED",
        Bool,
        false,
        "true",
        "demand proof-of-work under a surge of failures or sign-ups"
    ),
    setting!(
        "challenge.ip_threshold",
        "LATCHKEY_CHALLENGE_IP_THRESHOLD",
        Int,
        false,
        "10",
        "failed sign-ins plus sign-ups from one IP in 10 minutes that trigger challenges for it"
    ),
    setting!(
        "challenge.global_threshold",
        "LATCHKEY_CHALLENGE_GLOBAL_THRESHOLD",
        Int,
        false,
        "300",
        "failed sign-ins plus sign-ups server-wide per minute that trigger challenges for all"
    ),
    setting!(
        "challenge.base_difficulty",
        "LATCHKEY_CHALLENGE_BASE_DIFFICULTY",
        Int,
        false,
        "16",
        "leading zero bits at the threshold (one more per doubling of the pressure)"
    ),
    setting!(
        "challenge.max_difficulty",
        "LATCHKEY_CHALLENGE_MAX_DIFFICULTY",
        Int,
        false,
        "22",
        "the most bits ever demanded"
    ),
    setting!(
        "challenge.ttl_secs",
        "LATCHKEY_CHALLENGE_TTL_SECS",
        Int,
        false,
        "300",
        "how long a puzzle may be solved for"
    ),
    setting!(
        "redis.url",
        "LATCHKEY_REDIS_URL",
        Str,
        true,
        "",
        "`redis://[USER:PASSWORD@]HOST:PORT/DB`: share rate limits between nodes"
    ),
    setting!(
        "redis.key_prefix",
        "LATCHKEY_REDIS_KEY_PREFIX",
        Str,
        false,
        "latchkey:",
        "prefix of every Redis key"
    ),
    setting!(
        "redis.timeout_ms",
        "LATCHKEY_REDIS_TIMEOUT_MS",
        Int,
        false,
        "250",
        "connect and command timeout; past it, local limits apply"
    ),
    setting!(
        "proxies.trusted",
        "LATCHKEY_PROXIES_TRUSTED",
        Str,
        false,
        "",
        "CIDRs of proxies whose Forwarded / X-Forwarded-For is believed"
    ),
    setting!(
        "access.allow",
        "LATCHKEY_ACCESS_ALLOW",
        Str,
        false,
        "",
        "CIDRs served (empty: all)"
    ),
    setting!(
        "access.deny",
        "LATCHKEY_ACCESS_DENY",
        Str,
        false,
        "",
        "CIDRs never served"
    ),
    setting!(
        "access.admin_allow",
        "LATCHKEY_ACCESS_ADMIN_ALLOW",
        Str,
        false,
        "",
        "CIDRs that may reach /v1/admin and /admin (empty: all)"
    ),
    setting!(
        "access.admin_deny",
        "LATCHKEY_ACCESS_ADMIN_DENY",
        Str,
        false,
        "",
        "CIDRs that may never reach /v1/admin and /admin"
    ),
    setting!(
        "cors.allowed_origins",
        "LATCHKEY_CORS_ALLOWED_ORIGINS",
        Str,
        false,
        "",
        "origins that may call the JSON API from browsers, or `*`"
    ),
    setting!(
        "cors.allow_credentials",
        "LATCHKEY_CORS_ALLOW_CREDENTIALS",
        Bool,
        false,
        "false",
        "let the listed origins send cookies (never with `*`)"
    ),
    setting!(
        "cors.max_age_secs",
        "LATCHKEY_CORS_MAX_AGE_SECS",
        Int,
        false,
        "600",
        "how long browsers may cache a preflight answer"
    ),
];

/// Environment variables with the `LATCHKEY_` prefix that are not settings.
const NON_SETTING_ENV: &[&str] = &["LATCHKEY_CONFIG"];

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// The configuration file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(e) => write!(f, "environment variable {e}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting's dotted key (or the file/variable when no key applies).
    pub setting: String,
    /// Where the offending value came from.
    pub source: Source,
    /// The offending value, redacted for secrets.
    pub value: Option<String>,
    /// What is wrong and what is expected.
    pub message: String,
}

/// Everything wrong with the configuration, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<Problem>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for p in &self.0 {
            write!(f, "  - {} (from {})", p.setting, p.source)?;
            if let Some(v) = &p.value {
                write!(f, ": value {v:?}")?;
            }
            writeln!(f, ": {}", p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn one(
        setting: &str,
        source: Source,
        value: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError(vec![Problem {
            setting: setting.to_owned(),
            source,
            value,
            message: message.into(),
        }])
    }
}

/// Values given on the command line; `None` where the flag was absent.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<String>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

/// The configuration as written, before validation. Unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    profile: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<String>,
    master_key: Option<String>,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    tokens: RawTokens,
    #[serde(default)]
    sessions: RawSessions,
    #[serde(default)]
    passwords: RawPasswords,
    #[serde(default)]
    accounts: RawAccounts,
    #[serde(default)]
    mail: RawMail,
    #[serde(default)]
    jobs: RawJobs,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    rate_limits: abuse::RawRateLimits,
    #[serde(default)]
    brute_force: abuse::RawBruteForce,
    #[serde(default)]
    challenge: abuse::RawChallenge,
    #[serde(default)]
    redis: abuse::RawRedis,
    #[serde(default)]
    proxies: abuse::RawProxies,
    #[serde(default)]
    access: abuse::RawAccess,
    #[serde(default)]
    cors: abuse::RawCors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccounts {
    require_verified_email: Option<bool>,
    reauth_max_age_minutes: Option<u64>,
    deletion_grace_days: Option<u64>,
    new_sign_in_notice: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    transport: Option<String>,
    from: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<u64>,
    smtp_security: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_timeout_secs: Option<u64>,
    smtp_ca_file: Option<String>,
    max_attempts: Option<u64>,
    product_name: Option<String>,
    logo_url: Option<String>,
    brand_color: Option<String>,
    locale: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJobs {
    poll_interval_ms: Option<u64>,
    lease_secs: Option<u64>,
    retry_base_secs: Option<u64>,
    retry_max_secs: Option<u64>,
    sweep_interval_secs: Option<u64>,
    retention_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    retention_days: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    alg: Option<String>,
    audience: Option<String>,
    access_ttl_secs: Option<u64>,
    refresh_grace_secs: Option<u64>,
    key_rotation_days: Option<u64>,
    include_permissions: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    ttl_secs: Option<u64>,
    idle_ttl_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPasswords {
    min_length: Option<u64>,
    argon2_memory_kib: Option<u64>,
    argon2_iterations: Option<u64>,
    argon2_parallelism: Option<u64>,
    hash_workers: Option<u64>,
    hash_queue: Option<u64>,
    reject_common: Option<bool>,
    breached_filter: Option<String>,
    min_strength: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
    max_connections: Option<u64>,
    migrate_on_start: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    max_body_bytes: Option<u64>,
    max_header_bytes: Option<u64>,
    request_timeout_secs: Option<u64>,
    header_read_timeout_secs: Option<u64>,
    shutdown_timeout_secs: Option<u64>,
    hsts_max_age_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<String>,
    format: Option<String>,
}

/// Development or production: production refuses insecure settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Convenient defaults: generated secrets, plain http allowed.
    Development,
    /// Secure or nothing.
    Production,
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server (the URL, which may hold a password).
    Postgres(String),
}

impl DatabaseUrl {
    /// The URL with any password replaced, for logs and `config show`.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => redact_url(u),
        }
    }
}

/// The master key: 32 bytes, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey(pub [u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable on a terminal, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// Database settings.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Where the data lives.
    pub url: DatabaseUrl,
    /// Pool size (PostgreSQL) or reader threads (SQLite).
    pub max_connections: usize,
    /// Whether `serve` applies pending migrations.
    pub migrate_on_start: bool,
}

/// HTTP limits.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest accepted body.
    pub max_body_bytes: usize,
    /// Largest accepted total header size.
    pub max_header_bytes: usize,
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Time allowed to send the request head.
    pub header_read_timeout: Duration,
    /// Grace period for in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
}

/// Token settings.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// Signature algorithm for new keys.
    pub alg: latchkey_tokens::Alg,
    /// `aud` of first-party tokens; `None`: the public URL.
    pub audience: Option<String>,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Refresh grace window.
    pub refresh_grace: Duration,
    /// Automatic key rotation period; `None`: manual only.
    pub key_rotation: Option<Duration>,
    /// Whether access tokens carry a `permissions` claim.
    pub include_permissions: bool,
}

/// Audit log settings.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// How long events are kept; `None`: forever.
    pub retention: Option<Duration>,
}

/// Session lifetimes.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Absolute lifetime.
    pub ttl: Duration,
    /// Idle lifetime.
    pub idle_ttl: Duration,
}

/// Password settings.
#[derive(Debug, Clone)]
pub struct PasswordConfig {
    /// Minimum length of new passwords (characters).
    pub min_length: usize,
    /// argon2id memory (KiB).
    pub memory_kib: u32,
    /// argon2id iterations.
    pub iterations: u32,
    /// argon2id lanes.
    pub parallelism: u32,
    /// Hash worker threads (0: one per core).
    pub workers: usize,
    /// Bounded queue length.
    pub queue: usize,
}

/// Account lifecycle settings.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// Refuse sign-in until the address is verified.
    pub require_verified_email: bool,
    /// How recent an authentication sensitive changes need.
    pub reauth_max_age: Duration,
    /// Time between a deletion request and the removal of the data.
    pub deletion_grace: Duration,
    /// Mail a notice on sign-in from a new device.
    pub new_sign_in_notice: bool,
}

/// How mail leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransportConfig {
    /// `.eml` files in `<data_dir>/mail`, links logged (development).
    File,
    /// An SMTP server.
    Smtp(SmtpConfig),
}

/// SMTP settings.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: latchkey_mail::SmtpSecurity,
    /// AUTH user.
    pub username: Option<String>,
    /// AUTH password (never printed).
    pub password: Option<String>,
    /// Timeout.
    pub timeout: Duration,
    /// Extra CA file.
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Mail settings.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Files or SMTP.
    pub transport: MailTransportConfig,
    /// The sender; `None`: derived from the product name and public URL.
    pub from: Option<String>,
    /// Delivery attempts per message.
    pub max_attempts: u32,
    /// Branding.
    pub product_name: String,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Button colour.
    pub brand_color: String,
    /// Language.
    pub locale: String,
}

/// Background job settings.
#[derive(Debug, Clone)]
pub struct JobsSettings {
    /// Poll period.
    pub poll_interval: Duration,
    /// How long a claimed job is reserved for its worker.
    pub lease: Duration,
    /// First retry delay.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Sweep period.
    pub sweep_interval: Duration,
    /// Retention of ended sessions, finished jobs and sent mail.
    pub retention: Duration,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Development or production.
    pub profile: Profile,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The public URL, if set; otherwise derived from the bound address.
    pub public_url: Option<Url>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Master key, if configured (development generates one into `data_dir`).
    pub master_key: Option<MasterKey>,
    /// Database settings.
    pub database: DatabaseConfig,
    /// HTTP limits.
    pub http: HttpLimits,
    /// Log filter directive.
    pub log_level: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Tokens.
    pub tokens: TokenConfig,
    /// Sessions.
    pub sessions: SessionConfig,
    /// Passwords.
    pub passwords: PasswordConfig,
    /// Account lifecycle.
    pub accounts: AccountsConfig,
    /// Mail.
    pub mail: MailConfig,
    /// Background jobs.
    pub jobs: JobsSettings,
    /// The audit log.
    pub audit: AuditConfig,
    /// Rate limits, brute force, challenges, proxies, IP lists, CORS.
    pub abuse: AbuseConfig,
    /// Where each setting's value came from.
    pub sources: BTreeMap<&'static str, Source>,
}

/// Reads and validates the configuration from the file, the process
/// environment and the flags.
pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
    load_from(overrides, std::env::vars(), Path::new("latchkey.toml"))
}

/// [`load`] with the environment and default file path given, for tests.
pub fn load_from(
    overrides: &Overrides,
    env: impl IntoIterator<Item = (String, String)>,
    default_file: &Path,
) -> Result<Config, ConfigError> {
    let env: BTreeMap<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("LATCHKEY_"))
        .collect();
    let mut sources: BTreeMap<&'static str, Source> =
        SETTINGS.iter().map(|s| (s.key, Source::Default)).collect();

    // 1. the file
    let file = overrides
        .config_file
        .clone()
        .or_else(|| env.get("LATCHKEY_CONFIG").map(PathBuf::from))
        .or_else(|| default_file.exists().then(|| default_file.to_owned()));
    let mut table = toml::Table::new();
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(
                "config file",
                Source::File(path.clone()),
                None,
                format!("cannot read it: {e}"),
            )
        })?;
        table = text.parse::<toml::Table>().map_err(|e| {
            ConfigError::one(
                "config file",
                Source::File(path.clone()),
                None,
                format!("not valid TOML: {}", e.to_string().trim()),
            )
        })?;
        for s in SETTINGS {
            if lookup(&table, s.key).is_some() {
                sources.insert(s.key, Source::File(path.clone()));
            }
        }
    }

    // 2. the environment
    let mut problems = Vec::new();
    for (name, value) in &env {
        if NON_SETTING_ENV.contains(&name.as_str()) || name.starts_with("LATCHKEY_TEST_") {
            continue;
        }
        match SETTINGS.iter().find(|s| s.env == name) {
            Some(s) => match typed(s, value) {
                Ok(v) => {
                    insert(&mut table, s.key, v);
                    sources.insert(s.key, Source::Env(s.env.to_owned()));
                }
                Err(msg) => problems.push(problem(s, Source::Env(s.env.to_owned()), value, msg)),
            },
            None => problems.push(Problem {
                setting: name.clone(),
                source: Source::Env(name.clone()),
                value: None,
                message: format!(
                    "unknown environment variable; latchkey reads {}",
                    SETTINGS
                        .iter()
                        .map(|s| s.env)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    // 3. the flags
    for (flag, key, value) in [
        ("--listen", "listen", &overrides.listen),
        ("--data-dir", "data_dir", &overrides.data_dir),
        ("--public-url", "public_url", &overrides.public_url),
        ("--database-url", "database.url", &overrides.database_url),
    ] {
        if let Some(v) = value {
            insert(&mut table, key, toml::Value::String(v.clone()));
            sources.insert(setting(key).key, Source::Flag(flag));
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError(problems));
    }

    let raw: RawConfig =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let inner = inner.trim().to_owned();
            // serde reports an unknown key at its parent's path.
            let (setting_name, message) = match inner.strip_prefix("unknown field `") {
                Some(rest) => {
                    let field = rest.split('`').next().unwrap_or_default();
                    let full = if path == "." {
                        field.to_owned()
                    } else if path.rsplit('.').next() == Some(field) {
                        path.clone()
                    } else {
                        format!("{path}.{field}")
                    };
                    (full, format!("unknown setting ({inner})"))
                }
                None => (path, inner),
            };
            let source = SETTINGS
                .iter()
                .find(|s| s.key == setting_name)
                .and_then(|s| sources.get(s.key).cloned())
                .or_else(|| file.clone().map(Source::File))
                .unwrap_or(Source::Default);
            ConfigError::one(&setting_name, source, None, message)
        })?;
    raw.validate(sources)
}

fn setting(key: &str) -> &'static Setting {
    SETTINGS
        .iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("setting {key} is missing from SETTINGS"))
}

fn problem(s: &Setting, source: Source, value: &str, message: impl Into<String>) -> Problem {
    Problem {
        setting: s.key.to_owned(),
        source,
        value: Some(if s.secret {
            "<redacted>".into()
        } else {
            value.to_owned()
        }),
        message: message.into(),
    }
}

fn typed(s: &Setting, value: &str) -> Result<toml::Value, String> {
    match s.kind {
        Kind::Str => Ok(toml::Value::String(value.to_owned())),
        Kind::Int => value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(toml::Value::Integer)
            .ok_or_else(|| "expected a whole number".to_owned()),
        Kind::Bool => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err("expected true or false".to_owned()),
        },
    }
}

fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.').peekable();
    let mut current = table;
    while let Some(part) = parts.next() {
        let v = current.get(part)?;
        if parts.peek().is_none() {
            return Some(v);
        }
        current = v.as_table()?;
    }
    None
}

fn insert(table: &mut toml::Table, key: &str, value: toml::Value) {
    let (parents, last) = match key.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, key),
    };
    let mut current = table;
    if let Some(parents) = parents {
        for part in parents.split('.') {
            let entry = current
                .entry(part.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            current = entry.as_table_mut().expect("just made a table");
        }
    }
    current.insert(last.to_owned(), value);
}

/// Replaces the password of a URL with `***`; leaves unparsable text alone
/// except for anything between `:` and `@` in the authority.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let authority = &url[s + 3..at];
                match authority.find(':') {
                    Some(c) => format!("{}{}:***{}", &url[..s + 3], &authority[..c], &url[at..]),
                    None => url.to_owned(),
                }
            }
            _ => url.to_owned(),
        },
    }
}

struct Checker {
    sources: BTreeMap<&'static str, Source>,
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, key: &'static str, value: Option<&str>, message: impl Into<String>) {
        let s = setting(key);
        self.problems.push(Problem {
            setting: key.to_owned(),
            source: self.sources.get(key).cloned().unwrap_or(Source::Default),
            value: value.map(|v| {
                if s.secret {
                    redact_url(v)
                } else {
                    v.to_owned()
                }
            }),
            message: message.into(),
        });
    }

    fn range(
        &mut self,
        key: &'static str,
        v: Option<u64>,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
        let n = v.unwrap_or(default);
        if n < min || n > max {
            self.fail(
                key,
                Some(&n.to_string()),
                format!("expected a number from {min} to {max}"),
            );
            return default;
        }
        n
    }
}

impl RawConfig {
    /// Checks every value and builds the typed configuration.
    pub fn validate(self, sources: BTreeMap<&'static str, Source>) -> Result<Config, ConfigError> {
        let mut c = Checker {
            sources,
            problems: Vec::new(),
        };

        let profile = match self.profile.as_deref().unwrap_or("development") {
            "development" | "dev" => Profile::Development,
            "production" | "prod" => Profile::Production,
            other => {
                c.fail(
                    "profile",
                    Some(other),
                    "expected `development` or `production`",
                );
                Profile::Development
            }
        };

        let listen_text = self.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen = parse_listen(&listen_text).unwrap_or_else(|msg| {
            c.fail("listen", Some(&listen_text), msg);
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });

        let public_url = self
            .public_url
            .as_deref()
            .and_then(|text| match parse_public_url(text) {
                Ok(u) => Some(u),
                Err(msg) => {
                    c.fail("public_url", Some(text), msg);
                    None
                }
            });

        let data_dir = PathBuf::from(self.data_dir.unwrap_or_else(|| "./latchkey-data".into()));
        if data_dir.as_os_str().is_empty() {
            c.fail("data_dir", Some(""), "expected a directory path");
        }

        let master_key = self
            .master_key
            .as_deref()
            .and_then(|text| match parse_master_key(text) {
                Ok(k) => Some(k),
                Err(msg) => {
                    c.fail("master_key", None, msg);
                    None
                }
            });

        let db_url = match self.database.url.as_deref() {
            None => DatabaseUrl::Sqlite(data_dir.join("latchkey.db")),
            Some(text) => parse_database_url(text).unwrap_or_else(|msg| {
                c.fail("database.url", Some(text), msg);
                DatabaseUrl::Sqlite(data_dir.join("latchkey.db"))
            }),
        };
        let max_connections = c.range(
            "database.max_connections",
            self.database.max_connections,
            16,
            1,
            1000,
        ) as usize;

        let http = HttpLimits {
            max_body_bytes: c.range(
                "http.max_body_bytes",
                self.http.max_body_bytes,
                65_536,
                1_024,
                64 << 20,
            ) as usize,
            max_header_bytes: c.range(
                "http.max_header_bytes",
                self.http.max_header_bytes,
                16_384,
                8_192,
                1 << 20,
            ) as usize,
            request_timeout: Duration::from_secs(c.range(
                "http.request_timeout_secs",
                self.http.request_timeout_secs,
                30,
                1,
                3_600,
            )),
            header_read_timeout: Duration::from_secs(c.range(
                "http.header_read_timeout_secs",
                self.http.header_read_timeout_secs,
                10,
                1,
                300,
            )),
            shutdown_timeout: Duration::from_secs(c.range(
                "http.shutdown_timeout_secs",
                self.http.shutdown_timeout_secs,
                20,
                0,
                3_600,
            )),
        };

        let log_level = self.log.level.unwrap_or_else(|| "info".into());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_level) {
            c.fail(
                "log.level",
                Some(&log_level),
                format!("not a valid tracing filter: {e}"),
            );
        }
        let log_format = match self.log.format.as_deref().unwrap_or("auto") {
            "auto" => LogFormat::Auto,
            "json" => LogFormat::Json,
            "pretty" | "text" => LogFormat::Pretty,
            other => {
                c.fail(
                    "log.format",
                    Some(other),
                    "expected `auto`, `json` or `pretty`",
                );
                LogFormat::Auto
            }
        };

        let alg_text = self.tokens.alg.unwrap_or_else(|| "EdDSA".into());
        let alg = alg_text
            .parse::<latchkey_tokens::Alg>()
            .unwrap_or_else(|_| {
                c.fail(
                    "tokens.alg",
                    Some(&alg_text),
                    "expected `EdDSA`, `ES256` or `RS256`",
                );
                latchkey_tokens::Alg::EdDSA
            });
        let audience = self.tokens.audience.filter(|a| {
            let ok = !a.trim().is_empty();
            if !ok {
                c.fail("tokens.audience", Some(a), "must not be empty");
            }
            ok
        });
        let days = c.range(
            "tokens.key_rotation_days",
            self.tokens.key_rotation_days,
            30,
            0,
            3650,
        );
        let tokens = TokenConfig {
            alg,
            audience,
            access_ttl: Duration::from_secs(c.range(
                "tokens.access_ttl_secs",
                self.tokens.access_ttl_secs,
                900,
                30,
                86_400,
            )),
            refresh_grace: Duration::from_secs(c.range(
                "tokens.refresh_grace_secs",
                self.tokens.refresh_grace_secs,
                10,
                0,
                300,
            )),
            key_rotation: (days > 0).then(|| Duration::from_secs(days * 86_400)),
            include_permissions: self.tokens.include_permissions.unwrap_or(false),
        };
        let retention_days = c.range(
            "audit.retention_days",
            self.audit.retention_days,
            365,
            0,
            36_500,
        );
        let audit = AuditConfig {
            retention: (retention_days > 0).then(|| Duration::from_secs(retention_days * 86_400)),
        };
        let ttl = c.range(
            "sessions.ttl_secs",
            self.sessions.ttl_secs,
            2_592_000,
            60,
            31_536_000,
        );
        let idle = c.range(
            "sessions.idle_ttl_secs",
            self.sessions.idle_ttl_secs,
            604_800,
            60,
            31_536_000,
        );
        let sessions = SessionConfig {
            ttl: Duration::from_secs(ttl),
            idle_ttl: Duration::from_secs(idle.min(ttl)),
        };
        let passwords = PasswordConfig {
            min_length: c.range("passwords.min_length", self.passwords.min_length, 8, 8, 64)
                as usize,
            memory_kib: c.range(
                "passwords.argon2_memory_kib",
                self.passwords.argon2_memory_kib,
                19_456,
                8_192,
                1_048_576,
            ) as u32,
            iterations: c.range(
                "passwords.argon2_iterations",
                self.passwords.argon2_iterations,
                2,
                1,
                20,
            ) as u32,
            parallelism: c.range(
                "passwords.argon2_parallelism",
                self.passwords.argon2_parallelism,
                1,
                1,
                16,
            ) as u32,
            workers: c.range(
                "passwords.hash_workers",
                self.passwords.hash_workers,
                0,
                0,
                256,
            ) as usize,
            queue: c.range(
                "passwords.hash_queue",
                self.passwords.hash_queue,
                64,
                1,
                100_000,
            ) as usize,
        };

        let accounts = AccountsConfig {
            require_verified_email: self.accounts.require_verified_email.unwrap_or(false),
            reauth_max_age: Duration::from_secs(
                60 * c.range(
                    "accounts.reauth_max_age_minutes",
                    self.accounts.reauth_max_age_minutes,
                    10,
                    1,
                    1_440,
                ),
            ),
            deletion_grace: Duration::from_secs(
                86_400
                    * c.range(
                        "accounts.deletion_grace_days",
                        self.accounts.deletion_grace_days,
                        30,
                        0,
                        365,
                    ),
            ),
            new_sign_in_notice: self.accounts.new_sign_in_notice.unwrap_or(true),
        };
        let mail = self.mail.validate(&mut c, profile);
        let jobs = JobsSettings {
            poll_interval: Duration::from_millis(c.range(
                "jobs.poll_interval_ms",
                self.jobs.poll_interval_ms,
                1_000,
                50,
                60_000,
            )),
            lease: Duration::from_secs(c.range(
                "jobs.lease_secs",
                self.jobs.lease_secs,
                120,
                2,
                3_600,
            )),
            retry_base: Duration::from_secs(c.range(
                "jobs.retry_base_secs",
                self.jobs.retry_base_secs,
                10,
                1,
                3_600,
            )),
            retry_max: Duration::from_secs(c.range(
                "jobs.retry_max_secs",
                self.jobs.retry_max_secs,
                3_600,
                1,
                86_400,
            )),
            sweep_interval: Duration::from_secs(c.range(
                "jobs.sweep_interval_secs",
                self.jobs.sweep_interval_secs,
                300,
                10,
                86_400,
            )),
            retention: Duration::from_secs(
                86_400 * c.range("jobs.retention_days", self.jobs.retention_days, 7, 1, 365),
            ),
        };

        let abuse = abuse::validate(
            &mut c,
            abuse::RawAbuse {
                rate_limits: &self.rate_limits,
                brute_force: &self.brute_force,
                challenge: &self.challenge,
                redis: &self.redis,
                proxies: &self.proxies,
                access: &self.access,
                cors: &self.cors,
                reject_common: self.passwords.reject_common,
                breached_filter: self.passwords.breached_filter.as_deref(),
                min_strength: self.passwords.min_strength,
                hsts_max_age_secs: self.http.hsts_max_age_secs,
            },
        );

        if profile == Profile::Production {
            if !abuse.brute_force.enabled {
                c.fail(
                    "brute_force.enabled",
                    Some("false"),
                    "production refuses to turn off the sign-in failure counters",
                );
            }
            match &public_url {
                None => c.fail(
                    "public_url",
                    None,
                    "production needs an explicit https public URL",
                ),
                Some(u) if u.scheme() != "https" && !is_loopback_host(u) => c.fail(
                    "public_url",
                    Some(u.as_str()),
                    "production refuses plain http except on localhost; use https",
                ),
                Some(_) => {}
            }
            if master_key.is_none() && c.problems.iter().all(|p| p.setting != "master_key") {
                c.fail(
                    "master_key",
                    None,
                    "production needs an explicit master key (64 hex digits, e.g. from `openssl rand -hex 32`); \
                     it is never generated in production",
                );
            }
            if let DatabaseUrl::Postgres(u) = &db_url
                && let Ok(parsed) = Url::parse(u)
                && parsed
                    .password()
                    .is_none_or(|p| p.is_empty() || p == "postgres" || p == "password")
            {
                c.fail(
                    "database.url",
                    Some(u),
                    "production refuses an empty or default database password",
                );
            }
        }

        if !c.problems.is_empty() {
            return Err(ConfigError(c.problems));
        }
        Ok(Config {
            profile,
            listen,
            public_url,
            data_dir,
            master_key,
            database: DatabaseConfig {
                url: db_url,
                max_connections,
                migrate_on_start: self.database.migrate_on_start.unwrap_or(true),
            },
            http,
            log_level,
            log_format,
            tokens,
            sessions,
            passwords,
            accounts,
            mail,
            jobs,
            audit,
            abuse,
            sources: c.sources,
        })
    }
}

impl RawMail {
    fn validate(self, c: &mut Checker, profile: Profile) -> MailConfig {
        let nonempty = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let transport_text = self.transport.unwrap_or_else(|| "file".into());
        let host = nonempty(self.smtp_host);
        let port = c.range("mail.smtp_port", self.smtp_port, 587, 1, 65_535) as u16;
        let security_text = self.smtp_security.unwrap_or_else(|| "starttls".into());
        let security = match security_text.as_str() {
            "starttls" => latchkey_mail::SmtpSecurity::StartTls,
            "tls" => latchkey_mail::SmtpSecurity::Implicit,
            "none" => latchkey_mail::SmtpSecurity::None,
            other => {
                c.fail(
                    "mail.smtp_security",
                    Some(other),
                    "expected `starttls`, `tls` or `none`",
                );
                latchkey_mail::SmtpSecurity::StartTls
            }
        };
        let timeout = Duration::from_secs(c.range(
            "mail.smtp_timeout_secs",
            self.smtp_timeout_secs,
            30,
            1,
            600,
        ));
        let ca_file = nonempty(self.smtp_ca_file).map(PathBuf::from);
        if let Some(path) = &ca_file
            && !path.is_file()
        {
            c.fail(
                "mail.smtp_ca_file",
                Some(&path.display().to_string()),
                "no such file; expected a PEM file of CA certificates",
            );
        }
        let username = nonempty(self.smtp_username);
        let password = self.smtp_password.filter(|p| !p.is_empty());
        if password.is_some() && username.is_none() {
            c.fail(
                "mail.smtp_username",
                None,
                "a password is set without a user name; set both or neither",
            );
        }
        let transport = match transport_text.as_str() {
            "file" => {
                if profile == Profile::Production {
                    c.fail(
                        "mail.transport",
                        Some("file"),
                        "production needs `smtp`: the file transport keeps mail on this machine and logs its links",
                    );
                }
                MailTransportConfig::File
            }
            "smtp" => {
                if host.is_none() {
                    c.fail(
                        "mail.smtp_host",
                        None,
                        "mail.transport is `smtp`, so an SMTP host name is required",
                    );
                }
                let host = host.unwrap_or_default();
                let loopback = host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                if security == latchkey_mail::SmtpSecurity::None
                    && profile == Profile::Production
                    && !loopback
                {
                    c.fail(
                        "mail.smtp_security",
                        Some("none"),
                        "production refuses unencrypted SMTP except to a loopback host; use `starttls` or `tls`",
                    );
                }
                MailTransportConfig::Smtp(SmtpConfig {
                    host,
                    port,
                    security,
                    username,
                    password,
                    timeout,
                    ca_file,
                })
            }
            other => {
                c.fail("mail.transport", Some(other), "expected `file` or `smtp`");
                MailTransportConfig::File
            }
        };
        let from = nonempty(self.from);
        if let Some(f) = &from
            && let Err(msg) = latchkey_mail::parse_mailbox(f)
        {
            c.fail("mail.from", Some(f), msg);
        }
        let max_attempts = c.range("mail.max_attempts", self.max_attempts, 12, 1, 100) as u32;
        let product_name = nonempty(self.product_name).unwrap_or_else(|| "latchkey".into());
        if product_name.chars().count() > 100 || product_name.chars().any(char::is_control) {
            c.fail(
                "mail.product_name",
                Some(&product_name),
                "expected at most 100 characters without control characters",
            );
        }
        let logo_url = nonempty(self.logo_url);
        if let Some(u) = &logo_url
            && !Url::parse(u).is_ok_and(|p| p.scheme() == "https" || p.scheme() == "http")
        {
            c.fail("mail.logo_url", Some(u), "expected an absolute http(s) URL");
        }
        let brand_color = nonempty(self.brand_color).unwrap_or_else(|| "#2f6fde".into());
        if !latchkey_core::mail::is_hex_color(&brand_color) {
            c.fail(
                "mail.brand_color",
                Some(&brand_color),
                "expected a colour such as #2f6fde",
            );
        }
        let locale = nonempty(self.locale).unwrap_or_else(|| "en".into());
        if locale.len() > 35
            || !locale
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            c.fail(
                "mail.locale",
                Some(&locale),
                "expected a language tag such as `en` or `en-GB`",
            );
        }
        MailConfig {
            transport,
            from,
            max_attempts,
            product_name,
            logo_url,
            brand_color,
            locale,
        }
    }
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.trim().parse::<SocketAddr>() {
        return Ok(addr);
    }
    let expected =
        "expected IP:PORT such as 127.0.0.1:8080 or [::1]:8080, with a port from 0 to 65535";
    match text.rsplit_once(':') {
        Some((_, port)) if port.parse::<u64>().is_ok_and(|p| p > 65_535) => {
            Err(format!("port {port} is out of range; {expected}"))
        }
        Some((host, _)) if host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[') => {
            Err(format!(
                "`{host}` is not an IP address (host names are not resolved here); {expected}"
            ))
        }
        _ => Err(expected.to_owned()),
    }
}

fn parse_public_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| {
        format!("not a valid URL ({e}); expected an absolute http(s) URL such as https://auth.example.com")
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("scheme `{}` is not http or https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the public URL must not have a query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the public URL must not contain credentials".into());
    }
    Ok(url)
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn parse_database_url(text: &str) -> Result<DatabaseUrl, String> {
    let text = text.trim();
    if let Some(path) = text
        .strip_prefix("sqlite://")
        .or_else(|| text.strip_prefix("sqlite:"))
    {
        if path.is_empty() {
            return Err("the SQLite URL has no file path; expected sqlite://PATH".into());
        }
        return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        let url = Url::parse(text).map_err(|e| {
            format!("malformed PostgreSQL URL ({e}); expected postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        })?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the PostgreSQL URL has no host; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE".into());
        }
        return Ok(DatabaseUrl::Postgres(text.to_owned()));
    }
    Err("expected a URL starting with sqlite:// or postgres://".into())
}

fn parse_master_key(text: &str) -> Result<MasterKey, String> {
    let text = text.trim();
    let expected = "expected 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`";
    if text.len() != 64 {
        return Err(format!("has {} characters; {expected}", text.len()));
    }
    let mut key = [0u8; 32];
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(chunk).map_err(|_| expected.to_owned())?;
        key[i] =
            u8::from_str_radix(pair, 16).map_err(|_| format!("is not hexadecimal; {expected}"))?;
    }
    if key.iter().all(|b| *b == key[0]) {
        return Err("is a placeholder (all bytes equal); generate a random one".into());
    }
    Ok(MasterKey(key))
}

/// The effective configuration as TOML, secrets redacted, with each value's source.
pub fn show(config: &Config) -> String {
    let mut out = String::new();
    let value = |key: &str| -> String {
        match key {
            "profile" => format!("{:?}", format!("{:?}", config.profile).to_lowercase()),
            "listen" => format!("{:?}", config.listen.to_string()),
            "public_url" => match &config.public_url {
                Some(u) => format!("{:?}", u.as_str()),
                None => format!("{:?}", format!("http://{}", config.listen)),
            },
            "data_dir" => format!("{:?}", config.data_dir.display().to_string()),
            "master_key" => match config.master_key {
                Some(_) => "\"<redacted>\"".into(),
                None => "\"<generated into data_dir/master.key>\"".into(),
            },
            "database.url" => format!("{:?}", config.database.url.redacted()),
            "database.max_connections" => config.database.max_connections.to_string(),
            "database.migrate_on_start" => config.database.migrate_on_start.to_string(),
            "http.max_body_bytes" => config.http.max_body_bytes.to_string(),
            "http.max_header_bytes" => config.http.max_header_bytes.to_string(),
            "http.request_timeout_secs" => config.http.request_timeout.as_secs().to_string(),
            "http.header_read_timeout_secs" => {
                config.http.header_read_timeout.as_secs().to_string()
            }
            "http.shutdown_timeout_secs" => config.http.shutdown_timeout.as_secs().to_string(),
            "tokens.alg" => format!("{:?}", config.tokens.alg.as_str()),
            "tokens.audience" => match &config.tokens.audience {
                Some(a) => format!("{a:?}"),
                None => "\"<public_url>\"".into(),
            },
            "tokens.access_ttl_secs" => config.tokens.access_ttl.as_secs().to_string(),
            "tokens.refresh_grace_secs" => config.tokens.refresh_grace.as_secs().to_string(),
            "tokens.key_rotation_days" => config
                .tokens
                .key_rotation
                .map_or(0, |d| d.as_secs() / 86_400)
                .to_string(),
            "tokens.include_permissions" => config.tokens.include_permissions.to_string(),
            "audit.retention_days" => config
                .audit
                .retention
                .map_or(0, |d| d.as_secs() / 86_400)
                .to_string(),
            "sessions.ttl_secs" => config.sessions.ttl.as_secs().to_string(),
            "sessions.idle_ttl_secs" => config.sessions.idle_ttl.as_secs().to_string(),
            "passwords.min_length" => config.passwords.min_length.to_string(),
            "passwords.argon2_memory_kib" => config.passwords.memory_kib.to_string(),
            "passwords.argon2_iterations" => config.passwords.iterations.to_string(),
            "passwords.argon2_parallelism" => config.passwords.parallelism.to_string(),
            "passwords.hash_workers" => config.passwords.workers.to_string(),
            "passwords.hash_queue" => config.passwords.queue.to_string(),
            "accounts.require_verified_email" => config.accounts.require_verified_email.to_string(),
            "accounts.reauth_max_age_minutes" => {
                (config.accounts.reauth_max_age.as_secs() / 60).to_string()
            }
            "accounts.deletion_grace_days" => {
                (config.accounts.deletion_grace.as_secs() / 86_400).to_string()
            }
            "accounts.new_sign_in_notice" => config.accounts.new_sign_in_notice.to_string(),
            "mail.transport" => match &config.mail.transport {
                MailTransportConfig::File => "\"file\"".into(),
                MailTransportConfig::Smtp(_) => "\"smtp\"".into(),
            },
            "mail.from" => match &config.mail.from {
                Some(f) => format!("{f:?}"),
                None => "\"<product_name> <no-reply@public host>\"".into(),
            },
            "mail.smtp_host"
            | "mail.smtp_port"
            | "mail.smtp_security"
            | "mail.smtp_username"
            | "mail.smtp_password"
            | "mail.smtp_timeout_secs"
            | "mail.smtp_ca_file" => match &config.mail.transport {
                MailTransportConfig::File => "\"\"".into(),
                MailTransportConfig::Smtp(smtp) => match key {
                    "mail.smtp_host" => format!("{:?}", smtp.host),
                    "mail.smtp_port" => smtp.port.to_string(),
                    "mail.smtp_security" => match smtp.security {
                        latchkey_mail::SmtpSecurity::StartTls => "\"starttls\"".into(),
                        latchkey_mail::SmtpSecurity::Implicit => "\"tls\"".into(),
                        latchkey_mail::SmtpSecurity::None => "\"none\"".into(),
                    },
                    "mail.smtp_username" => {
                        format!("{:?}", smtp.username.clone().unwrap_or_default())
                    }
                    "mail.smtp_password" => match smtp.password {
                        Some(_) => "\"<redacted>\"".into(),
                        None => "\"\"".into(),
                    },
                    "mail.smtp_timeout_secs" => smtp.timeout.as_secs().to_string(),
                    _ => format!(
                        "{:?}",
                        smtp.ca_file
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    ),
                },
            },
            "mail.max_attempts" => config.mail.max_attempts.to_string(),
            "mail.product_name" => format!("{:?}", config.mail.product_name),
            "mail.logo_url" => format!("{:?}", config.mail.logo_url.clone().unwrap_or_default()),
            "mail.brand_color" => format!("{:?}", config.mail.brand_color),
            "mail.locale" => format!("{:?}", config.mail.locale),
            "jobs.poll_interval_ms" => config.jobs.poll_interval.as_millis().to_string(),
            "jobs.lease_secs" => config.jobs.lease.as_secs().to_string(),
            "jobs.retry_base_secs" => config.jobs.retry_base.as_secs().to_string(),
            "jobs.retry_max_secs" => config.jobs.retry_max.as_secs().to_string(),
            "jobs.sweep_interval_secs" => config.jobs.sweep_interval.as_secs().to_string(),
            "jobs.retention_days" => (config.jobs.retention.as_secs() / 86_400).to_string(),
            "log.level" => format!("{:?}", config.log_level),
            "log.format" => format!("{:?}", format!("{:?}", config.log_format).to_lowercase()),
            other => abuse::show(other, &config.abuse)
                .unwrap_or_else(|| panic!("config show does not know {other}")),
        }
    };
    let mut section = "";
    for s in SETTINGS {
        let (sec, name) = s.key.rsplit_once('.').unwrap_or(("", s.key));
        if sec != section {
            out.push_str(&format!("\n[{sec}]\n"));
            section = sec;
        }
        let source = config
            .sources
            .get(s.key)
            .cloned()
            .unwrap_or(Source::Default);
        out.push_str(&format!("{name} = {}  # {source}\n", value(s.key)));
    }
    out
}

#[cfg(test)]
mod tests;
