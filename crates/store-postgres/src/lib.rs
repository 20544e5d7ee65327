//! latchkey's store on PostgreSQL.
//!
//! Design (see `/work/shared/PERF.md` for the measurements behind it):
//! - **tokio-postgres + deadpool-postgres, not sqlx.** Locally, tokio-postgres
//!   drove 4.9k refresh-rotation transactions/s with 32 connections, while
//!   sqlx-postgres spends 2–4× the client CPU for the same work; sqlx alone
//!   also takes about 6 minutes to build on two cores, against about 1.3 for
//!   tokio-postgres. deadpool adds a small, well-understood pool and nothing
//!   else.
//! - **Hot queries are prepared once per connection** (`prepare_cached`), so
//!   a lookup is one Bind/Execute round trip.
//! - **Failing fast when the database is down.** A TCP connect is bounded by
//!   [`CONNECT_TIMEOUT`] at start-up; at run time, waiting for a free
//!   connection and opening a new one are each bounded by
//!   [`ACQUIRE_TIMEOUT`], and the whole acquisition too, so a request fails
//!   within about two seconds with [`StoreError::Unavailable`] (HTTP 503 with
//!   `Retry-After`) instead of piling up. Each operation's queries are then
//!   bounded by [`QUERY_TIMEOUT`], so a server that hangs, or a network path
//!   that silently drops packets while the socket stays open, also ends in
//!   `Unavailable` rather than in requests stuck for minutes. [`Store::ping`]
//!   is bounded by [`PING_TIMEOUT`] as a whole. `migrate` alone has no
//!   deadline: it may legitimately wait for another node's migration.
//! - **Recovering by itself after a server restart.** The pool checks
//!   `Client::is_closed()` before handing out an idle connection (deadpool's
//!   `RecyclingMethod::Fast`), so connections the server closed are dropped
//!   and replaced. A connection whose query fails with a connection-level
//!   error, or whose ping times out, is also taken out of the pool rather than
//!   returned to it, which covers connections that died without the client
//!   noticing yet (a query that timed out may still be running on it).
//! - **Errors in the contract's terms**: unique violations become
//!   [`StoreError::Conflict`] named after the index (`users_email_normalized_key`
//!   → `"email"`); connection failures, closed connections, pool timeouts and
//!   the SQLSTATEs of class 08, `57P01`–`57P04` and `53300`
//!   (`too_many_connections`) become [`StoreError::Unavailable`]; everything
//!   else is [`StoreError::Backend`]. No message ever contains the password.
//! - **Migrations** run in one transaction under a transaction-scoped
//!   advisory lock, so several nodes may start at once (see [`MIGRATIONS`]).
//! - Timestamps are `TIMESTAMPTZ`, truncated to milliseconds on write so that
//!   both backends return identical values.
//!
//! **TLS to the database is not supported yet**: connections are made without
//! TLS (`NoTls`, the semantics of `sslmode=disable`), so the database should
//! be on loopback or a private network. A URL asking for `sslmode=require` is
//! refused at start-up rather than silently downgraded.
//!
//! The URL is anything `tokio_postgres::Config` parses, e.g.
//! `postgres://latchkey:secret@db.internal:5432/latchkey?application_name=latchkey`;
//! libpq-style options such as `keepalives_idle` or `tcp_user_timeout` are
//! honoured, and `connect_timeout` overrides the default of five seconds.

mod admin;
mod audit;
mod client_assertions;
mod clients;
mod credentials;
mod events;
mod federation;
mod identity_upstream;
mod keys;
mod legacy_hashes;
mod lifecycle;
mod login_failures;
mod mfa;
mod migrate;
mod oauth;
mod oauth_grants;
mod passkey_signup;
mod passkeys;
mod passwordless;
mod roles;
mod sessions;
mod user_transfer;
mod users;
mod ways_in;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;
use tracing::Instrument;

use async_trait::async_trait;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, Timeouts,
};
use latchkey_core::store::{MigrationReport, Store, StoreError};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Config, NoTls};

pub use migrate::MIGRATIONS;

/// How long opening one TCP connection (and its start-up handshake) may take
/// when the URL does not say otherwise (`connect_timeout`). Also bounds the
/// start-up check in [`PgStore::connect`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// At run time, the longest a call waits to obtain a connection from the pool
/// (waiting for a free one, then recycling or opening one) before failing
/// with [`StoreError::Unavailable`].
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The overall bound on [`Store::ping`]: acquiring a connection and the round trip.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the queries of one store operation (after a connection was
/// acquired) may take before the call fails with [`StoreError::Unavailable`]
/// and the connection is discarded. The store's queries are point lookups and
/// single-row writes that take well under a millisecond; this bound only
/// trips on a hung server or a dead network path, and is generous enough
/// not to trip on a healthy database stalled by a checkpoint. A write that
/// times out may or may not have committed.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// A deadpool connection: a `tokio_postgres::Client` with a statement cache.
pub(crate) type Client = Object;

/// The PostgreSQL implementation of [`Store`]. Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// `host:port/dbname`, for messages; never contains the password.
    target: std::sync::Arc<str>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl PgStore {
    /// Connects to the database at `url` with a pool of at most
    /// `max_connections` connections (at least one).
    ///
    /// Opens one connection and runs `SELECT 1` before returning, so that a
    /// wrong URL or an unreachable server is reported at start-up:
    /// [`StoreError::Unavailable`] naming `host:port` when the server cannot
    /// be reached, [`StoreError::Backend`] for a malformed URL or a refused
    /// login. The password never appears in either.
    pub async fn connect(url: &str, max_connections: usize) -> Result<PgStore, StoreError> {
        let mut config = parse_url(url)?;
        match config.get_ssl_mode() {
            SslMode::Disable | SslMode::Prefer => {}
            _ => {
                return Err(StoreError::Backend(
                    "the PostgreSQL URL requires TLS (sslmode=require), which latchkey does \
                     not support yet: use a loopback or private-network connection without \
                     sslmode=require"
                        .into(),
                ));
            }
        }
        // NoTls never negotiates TLS; say so instead of letting `prefer` suggest otherwise.
        config.ssl_mode(SslMode::Disable);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let target: std::sync::Arc<str> = describe_target(&config).into();

        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // Fast: only `is_closed()` is checked before reuse, no extra
                // round trip; a connection the server closed is discarded.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(ACQUIRE_TIMEOUT))
            .create_timeout(Some(ACQUIRE_TIMEOUT))
            .recycle_timeout(Some(ACQUIRE_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the PostgreSQL pool: {e}")))?;
        let store = PgStore { pool, target };

        // The start-up check gets the longer connect timeout: a slow first
        // handshake is worth waiting for once, not on every request.
        let startup = Timeouts {
            wait: Some(CONNECT_TIMEOUT),
            create: Some(CONNECT_TIMEOUT),
            recycle: Some(CONNECT_TIMEOUT),
        };
        let client = match tokio::time::timeout(
            CONNECT_TIMEOUT + Duration::from_secs(1),
            store.pool.timeout_get(&startup),
        )
        .await
        {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(store.pool_error(e)),
            Err(_) => return Err(store.timed_out("connecting")),
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, client.simple_query("SELECT 1")).await {
            Ok(result) => settle(client, result.map(|_| ()).map_err(map_err))?,
            Err(_) => {
                discard(client);
                return Err(store.timed_out("running SELECT 1"));
            }
        }
        tracing::debug!(target = %store.target, "connected to PostgreSQL");
        Ok(store)
    }

    /// The server and database this store talks to, as `host:port/dbname`
    /// (for logs; it never contains the password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Takes a connection from the pool, within [`ACQUIRE_TIMEOUT`] overall.
    pub(crate) async fn client(&self) -> Result<Client, StoreError> {
        match tokio::time::timeout(ACQUIRE_TIMEOUT, self.pool.get()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(self.pool_error(e)),
            Err(_) => Err(self.timed_out("waiting for a connection")),
        }
    }

    /// Runs the queries of one operation within [`QUERY_TIMEOUT`]; pass the
    /// result to [`settle`] so that a timed-out connection is discarded.
    pub(crate) async fn bounded<T>(
        &self,
        queries: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StoreError> {
        let bounded = tokio::time::timeout(QUERY_TIMEOUT, queries).instrument(store_span());
        match bounded.await {
            Ok(result) => result.map_err(map_err),
            Err(_) => Err(self.timed_out("waiting for an answer")),
        }
    }

    /// Like [`PgStore::bounded`], for queries whose result needs checks of
    /// its own (already in the contract's terms).
    pub(crate) async fn bounded_store<T>(
        &self,
        queries: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let bounded = tokio::time::timeout(QUERY_TIMEOUT, queries).instrument(store_span());
        match bounded.await {
            Ok(result) => result,
            Err(_) => Err(self.timed_out("waiting for an answer")),
        }
    }

    fn timed_out(&self, what: &str) -> StoreError {
        StoreError::Unavailable(format!("PostgreSQL at {}: timed out {what}", self.target))
    }

    fn pool_error(&self, e: PoolError) -> StoreError {
        match e {
            PoolError::Timeout(t) => {
                let what = match t {
                    deadpool_postgres::TimeoutType::Wait => "waiting for a free connection",
                    deadpool_postgres::TimeoutType::Create => "opening a connection",
                    deadpool_postgres::TimeoutType::Recycle => "checking a pooled connection",
                };
                self.timed_out(what)
            }
            PoolError::Backend(e) => match map_err(e) {
                StoreError::Unavailable(msg) => StoreError::Unavailable(format!(
                    "cannot connect to PostgreSQL at {}: {msg}",
                    self.target
                )),
                StoreError::Backend(msg) => StoreError::Backend(format!(
                    "PostgreSQL at {} refused the connection: {msg}",
                    self.target
                )),
                other => other,
            },
            PoolError::Closed => StoreError::Unavailable(format!(
                "the pool for PostgreSQL at {} is closed",
                self.target
            )),
            other => StoreError::Backend(format!("PostgreSQL pool at {}: {other}", self.target)),
        }
    }
}

/// Parses a connection URL; the error never repeats the password.
fn parse_url(url: &str) -> Result<Config, StoreError> {
    Config::from_str(url).map_err(|e| {
        let mut msg = String::from("invalid PostgreSQL URL");
        // The parser's detail ("invalid value for option `port`") is useful,
        // but a few of its messages quote the input: keep it only when it
        // cannot be echoing the password.
        if let Some(detail) = std::error::Error::source(&e).map(ToString::to_string) {
            let leaks = password_in(url).is_some_and(|pw| !pw.is_empty() && detail.contains(pw));
            if !leaks {
                msg.push_str(": ");
                msg.push_str(&detail);
            }
        }
        msg.push_str(
            " (expected postgres://user:password@host:port/dbname?option=value, \
             or key=value pairs)",
        );
        StoreError::Backend(msg)
    })
}

/// A best-effort guess at the password in a URL or key=value string, only
/// used to keep it out of error messages.
fn password_in(url: &str) -> Option<&str> {
    for prefix in ["postgres://", "postgresql://"] {
        if let Some(rest) = url.strip_prefix(prefix) {
            let creds = &rest[..rest.rfind('@')?];
            return creds.split_once(':').map(|(_, pw)| pw);
        }
    }
    let start = url.find("password")? + "password".len();
    let rest = url[start..].trim_start().strip_prefix('=')?.trim_start();
    match rest.strip_prefix('\'') {
        Some(quoted) => quoted.split('\'').next(),
        None => rest.split(char::is_whitespace).next(),
    }
}

/// `host:port[,host:port…]/dbname` for messages.
fn describe_target(config: &Config) -> String {
    let ports = config.get_ports();
    let port_of = |i: usize| match ports.len() {
        0 => 5432,
        1 => ports[0],
        _ => ports.get(i).copied().unwrap_or(5432),
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| match h {
            Host::Tcp(name) if name.contains(':') => format!("[{name}]:{}", port_of(i)),
            Host::Tcp(name) => format!("{name}:{}", port_of(i)),
            #[cfg(unix)]
            Host::Unix(dir) => format!("{}/.s.PGSQL.{}", dir.display(), port_of(i)),
        })
        .collect();
    let hosts = if hosts.is_empty() {
        "(no host)".to_owned()
    } else {
        hosts.join(",")
    };
    match config.get_dbname() {
        Some(db) => format!("{hosts}/{db}"),
        None => hosts,
    }
}

/// Returns a connection's result, first taking the connection out of the
/// pool when the error says it is broken: it is dropped (and closed) instead
/// of being handed to the next caller.
pub(crate) fn settle<T>(client: Client, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if let Err(StoreError::Unavailable(msg)) = &result {
        tracing::warn!(error = %msg, "discarding a broken PostgreSQL connection");
        discard(client);
    }
    result
}

/// Removes a connection from the pool for good and closes it.
pub(crate) fn discard(client: Client) {
    drop(Object::take(client));
}

/// Maps a tokio-postgres error into the store contract's terms.
pub(crate) fn map_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            return StoreError::Conflict(conflict_field(db.constraint().unwrap_or("")));
        }
        let text = describe(&e);
        return if is_unavailable_code(code.code()) {
            StoreError::Unavailable(text)
        } else {
            StoreError::Backend(text)
        };
    }
    let text = describe(&e);
    if e.is_closed() || is_io(&e) || text.starts_with("timeout waiting for server") {
        StoreError::Unavailable(text)
    } else {
        StoreError::Backend(text)
    }
}

/// Class 08 (connection exception), 57P01–57P04 (admin/crash shutdown,
/// cannot connect now, database dropped) and 53300 (too many connections):
/// the server is going away or cannot take us now; retrying later may work.
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P0") || code == "53300"
}

fn is_io(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The error and its causes on one line (tokio-postgres's `Display` alone
/// says only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string().replace('\n', " "));
        source = s.source();
    }
    text
}

/// Names the field behind a unique index or constraint.
fn conflict_field(constraint: &str) -> &'static str {
    match constraint {
        "users_email_normalized_key" => "email",
        "users_username_normalized_key" => "username",
        "users_pkey" => "id",
        "sessions_pkey" => "id",
        "sessions_cookie_token_hash_key" => "cookie_token_hash",
        "refresh_tokens_pkey" => "token_hash",
        "signing_keys_pkey" => "kid",
        "signing_keys_one_active" => "active_key",
        "clients_pkey" => "id",
        "jobs_idempotency_key" => "idempotency_key",
        "identities_provider_subject_key" => "identity",
        _ => "unique",
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + PING_TIMEOUT;
        let client = match tokio::time::timeout_at(deadline, self.pool.get()).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(self.pool_error(e)),
            Err(_) => return Err(self.timed_out("waiting for a connection")),
        };
        match tokio::time::timeout_at(deadline, client.simple_query("SELECT 1")).await {
            Ok(result) => settle(client, result.map(|_| ()).map_err(map_err)),
            Err(_) => {
                // A connection that does not answer is not put back.
                discard(client);
                Err(self.timed_out("waiting for SELECT 1"))
            }
        }
    }

    async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let mut client = self.client().await?;
        let result = migrate::apply(&mut client).await;
        settle(client, result)
    }

    async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let result = match tokio::time::timeout(QUERY_TIMEOUT, migrate::pending(&client)).await {
            Ok(result) => result,
            Err(_) => Err(self.timed_out("reading schema_migrations")),
        };
        settle(client, result)
    }
}

/// The trace span of one store operation's queries.
fn store_span() -> tracing::Span {
    tracing::info_span!(target: latchkey_core::SPAN_TARGET, "store", db.system = "postgresql")
}

/// A row value of the wrong type: a backend failure.
pub(crate) fn backend(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_fields_are_named() {
        for (constraint, field) in [
            ("users_email_normalized_key", "email"),
            ("users_username_normalized_key", "username"),
            ("users_pkey", "id"),
            ("sessions_pkey", "id"),
            ("sessions_cookie_token_hash_key", "cookie_token_hash"),
            ("refresh_tokens_pkey", "token_hash"),
            ("signing_keys_pkey", "kid"),
            ("signing_keys_one_active", "active_key"),
            ("clients_pkey", "id"),
            ("identities_provider_subject_key", "identity"),
            ("other_thing_key", "unique"),
            ("", "unique"),
        ] {
            assert_eq!(conflict_field(constraint), field, "{constraint}");
        }
    }

    #[test]
    fn unavailable_sqlstates() {
        for code in [
            "08000", "08006", "08001", "57P01", "57P02", "57P03", "57P04", "53300",
        ] {
            assert!(is_unavailable_code(code), "{code}");
        }
        for code in ["23505", "42P01", "57014", "28P01", "3D000", "40001"] {
            assert!(!is_unavailable_code(code), "{code}");
        }
    }

    #[test]
    fn malformed_urls_are_backend_errors_without_the_password() {
        for url in [
            "postgres://u:s3cretpw@127.0.0.1:notaport/x",
            "postgres://u:s3cretpw@127.0.0.1:5432/x?nosuchoption=1",
            "postgres://u:s3cretpw@[::1/x",
            "host=127.0.0.1 password=s3cretpw port=nope",
            "host=127.0.0.1 password='s3cretpw",
            "postgres://u:s3cretpw@127.0.0.1:5432/x?sslmode=s3cretpw",
        ] {
            let err = parse_url(url).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(matches!(err, StoreError::Backend(_)), "{url}: {text}");
            assert!(!text.contains("s3cretpw"), "{url}: {text}");
        }
        let err = parse_url("postgres://u:pw@h:notaport/x").unwrap_err();
        assert!(err.to_string().contains("`port`"), "{err}");
    }

    #[test]
    fn passwords_are_found_for_redaction() {
        assert_eq!(password_in("postgres://u:p%40ss@h/x"), Some("p%40ss"));
        assert_eq!(password_in("postgresql://u:a:b@c@h/x"), Some("a:b@c"));
        assert_eq!(password_in("postgres://u@h/x"), None);
        assert_eq!(password_in("postgres://h/x"), None);
        assert_eq!(password_in("host=h password = 'x y'"), Some("x y"));
        assert_eq!(password_in("host=h password=xy port=1"), Some("xy"));
    }

    #[test]
    fn targets_name_host_port_and_database_only() {
        for (url, target) in [
            (
                "postgres://u:pw@db.internal/latchkey",
                "db.internal:5432/latchkey",
            ),
            ("postgres://u:pw@127.0.0.1:6543/x", "127.0.0.1:6543/x"),
            ("postgres://u:pw@[::1]:6543", "[::1]:6543"),
            ("postgres://a:1,b:2/x", "a:1,b:2/x"),
            (
                "host=/run/postgresql port=5433 dbname=x",
                "/run/postgresql/.s.PGSQL.5433/x",
            ),
        ] {
            let config = Config::from_str(url).unwrap();
            assert_eq!(describe_target(&config), target, "{url}");
        }
    }
}
