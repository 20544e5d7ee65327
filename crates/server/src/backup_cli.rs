//! `latchkey backup FILE`: a consistent copy of the SQLite store, taken
//! while the server keeps serving.
//!
//! The copy is SQLite's `VACUUM INTO` on a connection of its own: it reads
//! one snapshot of the database inside a read transaction (in WAL mode the
//! writer goes on meanwhile, and a write committed after the snapshot began
//! is not in the copy) and writes it compacted into a new file. That file is
//! created empty with mode 0600 first (it holds password hashes and sealed
//! keys), written under a temporary name next to FILE, checked with
//! `PRAGMA integrity_check`, synced, and only then renamed to FILE: a
//! backup interrupted at any point leaves no file that looks complete.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::config::{Config, DatabaseUrl};

/// How long the copy waits for a lock the writer holds (a checkpoint).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a finished backup holds.
#[derive(Debug)]
pub struct BackupReport {
    /// The file written.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Accounts in the copy.
    pub users: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Copies the configured SQLite store into `file`, which must not exist.
pub fn backup(config: &Config, file: &Path) -> Result<BackupReport, String> {
    let started = Instant::now();
    let DatabaseUrl::Sqlite(source) = &config.database.url else {
        return Err(
            "`latchkey backup` copies the SQLite store; back PostgreSQL up with its own tools \
             (pg_dump, or base backups with WAL archiving; docs/operations.md)"
                .into(),
        );
    };
    if !source.is_file() {
        return Err(format!("no database at {}", source.display()));
    }
    if file.exists() {
        return Err(format!(
            "{} exists already; a backup never overwrites, choose a new file",
            file.display()
        ));
    }
    let name = file
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", file.display()))?;
    let partial = file.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    let result = copy(source, &partial).and_then(|users| {
        std::fs::rename(&partial, file).map_err(|e| {
            format!(
                "cannot rename {} to {}: {e}",
                partial.display(),
                file.display()
            )
        })?;
        sync_dir(file);
        Ok(users)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    let users = result?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        file: file.to_owned(),
        bytes,
        users,
        elapsed: started.elapsed(),
    })
}

/// Writes the snapshot into `partial`, checks it, and returns its user count.
fn copy(source: &Path, partial: &Path) -> Result<u64, String> {
    let _ = std::fs::remove_file(partial);
    create_private(partial)?;
    let db = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    db.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| format!("cannot set a busy timeout: {e}"))?;
    let target = partial
        .to_str()
        .ok_or_else(|| format!("{} is not UTF-8", partial.display()))?;
    db.execute("VACUUM INTO ?1", [target])
        .map_err(|e| format!("the copy failed: {e}"))?;
    drop(db);

    let copy = Connection::open_with_flags(partial, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open the copy: {e}"))?;
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| format!("cannot check the copy: {e}"))?;
    if check != "ok" {
        return Err(format!("the copy fails PRAGMA integrity_check: {check}"));
    }
    let users: i64 = copy
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .map_err(|e| format!("cannot count the copy's users: {e}"))?;
    drop(copy);
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", partial.display()))?;
    Ok(users.max(0) as u64)
}

/// Creates an empty file only its owner can read (`VACUUM INTO` accepts an
/// empty file and keeps its mode).
fn create_private(path: &Path) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// Makes the rename durable (best effort: not every file system syncs a directory).
fn sync_dir(file: &Path) {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}
