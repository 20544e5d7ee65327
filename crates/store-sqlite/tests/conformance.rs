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

    async fn all_rows_as_text(&self) -> String {
        let conn = rusqlite::Connection::open(self.path()).expect("open SQLite");
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut out = String::new();
        for table in tables {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                out.push_str(&table);
                for i in 0..columns {
                    use rusqlite::types::ValueRef;
                    out.push('|');
                    match row.get_ref(i).unwrap() {
                        ValueRef::Null => {}
                        ValueRef::Integer(n) => out.push_str(&n.to_string()),
                        ValueRef::Real(f) => out.push_str(&f.to_string()),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            out.push_str(&String::from_utf8_lossy(t))
                        }
                    }
                }
                out.push('\n');
            }
        }
        out
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
