//! `[database]`: where the data lives, the pool size, and migrations at start.

use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

use super::server::{Profile, ServerConfig};
use super::setting::{Checker, Setting, redact_url};

/// The `[database]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::derived(
        "database.url",
        "LATCHKEY_DATABASE_URL",
        "sqlite://<data_dir>/latchkey.db",
        "`sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`",
    )
    .secret(),
    Setting::int(
        "database.max_connections",
        "LATCHKEY_DATABASE_MAX_CONNECTIONS",
        16,
        1,
        1000,
        "PostgreSQL pool size; for SQLite, the number of reader threads (capped at 8)",
    ),
    Setting::flag(
        "database.migrate_on_start",
        "LATCHKEY_DATABASE_MIGRATE_ON_START",
        true,
        "apply pending migrations when `serve` starts; if false, refuse to start with pending ones",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    url: Option<String>,
    max_connections: Option<u64>,
    migrate_on_start: Option<bool>,
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

impl Raw {
    pub(super) fn validate(self, c: &mut Checker, server: &ServerConfig) -> DatabaseConfig {
        let default = || DatabaseUrl::Sqlite(server.data_dir.join("latchkey.db"));
        let url = match self.url.as_deref() {
            None => default(),
            Some(text) => parse_database_url(text).unwrap_or_else(|msg| {
                c.fail("database.url", Some(text), msg);
                default()
            }),
        };
        c.show_str("database.url", &url.redacted());
        if server.profile == Profile::Production
            && let DatabaseUrl::Postgres(u) = &url
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
        DatabaseConfig {
            url,
            max_connections: c.int("database.max_connections", self.max_connections) as usize,
            migrate_on_start: c.flag("database.migrate_on_start", self.migrate_on_start),
        }
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
