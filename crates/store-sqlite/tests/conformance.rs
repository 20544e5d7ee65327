//! The store conformance suite on SQLite: a fresh database file per case.

use std::sync::Arc;

use async_trait::async_trait;
use latchkey_core::Store;
use latchkey_store_sqlite::SqliteStore;
use latchkey_store_tests::TestDb;

struct SqliteDb {
    dir: tempfile::TempDir,
}

#[async_trait]
impl TestDb for SqliteDb {
    async fn open(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&self.path(), 2).expect("open SQLite"))
    }

    async fn delete_user_directly(&self, user_id: &str) {
        let conn = rusqlite::Connection::open(self.path()).expect("open SQLite");
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        // As every store connection does: foreign keys are per connection in SQLite.
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        let n = conn
            .execute("DELETE FROM users WHERE id = ?1", [user_id])
            .expect("delete the user");
        assert_eq!(n, 1, "the user existed");
    }
}

impl SqliteDb {
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("latchkey.db")
    }
}

async fn fresh() -> SqliteDb {
    SqliteDb {
        dir: tempfile::tempdir().expect("temporary directory"),
    }
}

latchkey_store_tests::conformance_suite!(sqlite, fresh());
