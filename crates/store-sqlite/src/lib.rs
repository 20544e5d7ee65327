//! latchkey's store on an embedded SQLite file.
//!
//! Design (see ARCHITECTURE.md for the measurements behind it):
//! - rusqlite, not sqlx: the same point select costs ~7 µs of CPU with
//!   rusqlite and 110–190 µs with sqlx, and sqlx alone takes minutes to build.
//! - SQLite calls block, so they never run on the async runtime. The store
//!   owns a small set of OS threads, each with its own connection: **one
//!   writer** (SQLite admits one writer at a time anyway; funnelling writes
//!   through one thread turns lock contention into a queue and makes
//!   `BEGIN IMMEDIATE` transactions cheap) and **several readers**, which WAL
//!   lets run alongside the writer. Jobs travel as closures over channels and
//!   answer on a oneshot channel.
//! - The database is in WAL mode with `synchronous = NORMAL`: a committed
//!   transaction survives a process crash; a power loss may drop the last
//!   transactions but never corrupts the file.
//! - Erasure reaches the bytes: `secure_delete` zeroes deleted rows in their
//!   pages, and after an account is deleted or anonymized the WAL is
//!   checkpointed and truncated ([`erase_traces`]), so its address lingers
//!   in neither free space nor old WAL frames.

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

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tracing::Instrument;

use async_trait::async_trait;
use latchkey_core::store::{MigrationReport, Store, StoreError};
use rusqlite::{Connection, OpenFlags};

pub use migrate::MIGRATIONS;

type Job = Box<dyn FnOnce(&mut Connection) + Send + 'static>;

/// How long a connection waits for a lock held by another process (another
/// node migrating the same file, an operator's `sqlite3` shell).
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// Prepared statements kept per connection (rusqlite's default is 16; the
/// store has more distinct statements than that on the writer).
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: mpsc::Sender<Job>,
    readers: mpsc::Sender<Job>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with one writer
    /// thread and `readers` reader threads. The parent directory must exist.
    pub fn open(path: &Path, readers: usize) -> Result<Self, StoreError> {
        let readers = readers.max(1);
        let writer_conn = open_connection(path, true)?;
        let (writer, writer_rx) = mpsc::channel::<Job>();
        spawn_worker(
            "latchkey-sqlite-w".into(),
            writer_conn,
            Arc::new(Mutex::new(writer_rx)),
        )?;

        let (reader_tx, reader_rx) = mpsc::channel::<Job>();
        let reader_rx = Arc::new(Mutex::new(reader_rx));
        for i in 0..readers {
            let conn = open_connection(path, false)?;
            spawn_worker(format!("latchkey-sqlite-r{i}"), conn, reader_rx.clone())?;
        }
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer,
                readers: reader_tx,
                path: path.to_owned(),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a reader connection.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        run(&self.inner.readers, move |c| f(c))
            .instrument(store_span("read"))
            .await
    }

    /// Runs `f` on the writer connection; `f` opens its own transaction when
    /// it needs more than one statement.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        run(&self.inner.writer, f)
            .instrument(store_span("write"))
            .await
    }
}

/// The trace span of one store call (the queue wait and the statements).
fn store_span(operation: &'static str) -> tracing::Span {
    tracing::info_span!(target: latchkey_core::SPAN_TARGET, "store", db.system = "sqlite", db.operation = operation)
}

async fn run<T, F>(queue: &mpsc::Sender<Job>, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    queue
        .send(Box::new(move |conn| {
            let _ = tx.send(f(conn));
        }))
        .map_err(|_| StoreError::Unavailable("the SQLite worker threads have stopped".into()))?;
    rx.await
        .map_err(|_| StoreError::Backend("an SQLite job panicked".into()))?
}

fn open_connection(path: &Path, writer: bool) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        StoreError::Unavailable(format!("cannot open SQLite file {}: {e}", path.display()))
    })?;
    conn.busy_timeout(std::time::Duration::from_millis(u64::from(BUSY_TIMEOUT_MS)))
        .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    if writer {
        // journal_mode is persistent in the file; set it once, from the writer.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(map_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "SQLite refused WAL mode (got {mode}) for {}",
                path.display()
            )));
        }
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA secure_delete = ON;",
    )
    .map_err(map_err)?;
    Ok(conn)
}

fn spawn_worker(
    name: String,
    mut conn: Connection,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            loop {
                // Hold the lock only while waiting for the next job.
                let job = {
                    let rx = match jobs.lock() {
                        Ok(rx) => rx,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    match rx.recv() {
                        Ok(job) => job,
                        Err(_) => return, // the store was dropped
                    }
                };
                // A panicking job must not take the connection's thread with
                // it; its caller sees the dropped answer channel instead.
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
            }
        })
        .map(|_| ())
        .map_err(|e| StoreError::Backend(format!("cannot start an SQLite thread: {e}")))
}

/// Maps a rusqlite error into the store contract's terms.
/// After personal data was deleted (committed): copies the WAL into the
/// file and truncates it, so that the WAL frames holding the data before
/// its deletion are gone too (`secure_delete` has zeroed it in the pages).
/// Best effort: a reader holding an old snapshot keeps the WAL, and the
/// next erasure or SQLite's own checkpoint recycles it.
pub(crate) fn erase_traces(c: &Connection) {
    let done = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    });
    match done {
        Ok(0) => {}
        Ok(_) => {
            tracing::warn!("the WAL could not be truncated after an erasure: a reader is busy")
        }
        Err(e) => tracing::warn!(error = %e, "checkpoint after an erasure failed"),
    }
}

pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    if let rusqlite::Error::SqliteFailure(code, msg) = &e {
        match code.code {
            ErrorCode::ConstraintViolation => {
                let msg = msg.as_deref().unwrap_or("");
                if msg.starts_with("UNIQUE constraint failed") {
                    return StoreError::Conflict(conflict_field(msg));
                }
            }
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure => return StoreError::Unavailable(e.to_string()),
            _ => {}
        }
    }
    StoreError::Backend(e.to_string())
}

/// Names the field behind a message like `UNIQUE constraint failed: users.email_normalized`
/// (or `UNIQUE constraint failed: index 'signing_keys_one_active'` for an
/// expression index).
fn conflict_field(msg: &str) -> &'static str {
    if msg.ends_with("index 'signing_keys_one_active'") {
        return "active_key";
    }
    let column = msg.rsplit('.').next().unwrap_or("");
    match column {
        "email_normalized" | "email" => "email",
        "username_normalized" | "username" => "username",
        "id" => "id",
        "cookie_token_hash" => "cookie_token_hash",
        "token_hash" => "token_hash",
        "kid" => "kid",
        "idempotency_key" => "idempotency_key",
        "subject" => "identity",
        _ => "unique",
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())
                .map_err(map_err)
        })
        .await
    }

    async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        self.write(migrate::apply).await
    }

    async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        self.read(migrate::pending).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_fields_are_named() {
        for (msg, field) in [
            ("UNIQUE constraint failed: users.email_normalized", "email"),
            (
                "UNIQUE constraint failed: users.username_normalized",
                "username",
            ),
            ("UNIQUE constraint failed: users.id", "id"),
            ("UNIQUE constraint failed: sessions.id", "id"),
            (
                "UNIQUE constraint failed: sessions.cookie_token_hash",
                "cookie_token_hash",
            ),
            (
                "UNIQUE constraint failed: refresh_tokens.token_hash",
                "token_hash",
            ),
            ("UNIQUE constraint failed: signing_keys.kid", "kid"),
            (
                "UNIQUE constraint failed: index 'signing_keys_one_active'",
                "active_key",
            ),
            ("UNIQUE constraint failed: clients.id", "id"),
            ("UNIQUE constraint failed: other.thing", "unique"),
        ] {
            assert_eq!(conflict_field(msg), field, "{msg}");
        }
    }
}
