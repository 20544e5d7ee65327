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
        Arc::new(SqliteStore::open(&self.dir.path().join("latchkey.db"), 2).expect("open SQLite"))
    }
}

async fn fresh() -> SqliteDb {
    SqliteDb {
        dir: tempfile::tempdir().expect("temporary directory"),
    }
}

latchkey_store_tests::conformance_suite!(sqlite, fresh());
