//! The store conformance suite on PostgreSQL: a fresh database per case.
//!
//! Needs a server: `LATCHKEY_TEST_POSTGRES_URL` names it (any database on it,
//! e.g. `postgres://postgres@127.0.0.1:5432/postgres`), and the role must be
//! allowed to create databases. `scripts/test.sh` starts a throwaway one. A
//! missing variable fails the tests rather than skipping them, so a green run
//! always means the suite ran.

use std::sync::Arc;

use async_trait::async_trait;
use latchkey_core::Store;
use latchkey_store_postgres::PgStore;
use latchkey_store_tests::TestDb;
use tokio_postgres::NoTls;

const URL_VAR: &str = "LATCHKEY_TEST_POSTGRES_URL";

/// A database created for one test case, dropped again when the case ends.
struct PgDb {
    server_url: String,
    name: String,
}

impl PgDb {
    /// The server URL pointed at this database (a later `dbname` parameter
    /// overrides the path of the URL).
    fn url(&self) -> String {
        let sep = if self.server_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}dbname={}", self.server_url, self.name)
    }
}

#[async_trait]
impl TestDb for PgDb {
    async fn open(&self) -> Arc<dyn Store> {
        Arc::new(
            PgStore::connect(&self.url(), 4)
                .await
                .expect("connect to the test database"),
        )
    }

    async fn delete_user_directly(&self, user_id: &str) {
        let client = admin(&self.url())
            .await
            .expect("connect to the test database");
        let n = client
            .execute("DELETE FROM users WHERE id = $1", &[&user_id])
            .await
            .expect("delete the user");
        assert_eq!(n, 1, "the user existed");
    }

    async fn all_rows_as_text(&self) -> String {
        let client = admin(&self.url())
            .await
            .expect("connect to the test database");
        let tables: Vec<String> = client
            .query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = String::new();
        for table in tables {
            // the whole row as text; bytea columns also decoded, in case
            // someone stored text in one
            let rows = client
                .query(&format!("SELECT t::text FROM \"{table}\" t"), &[])
                .await
                .unwrap();
            for r in rows {
                out.push_str(&table);
                out.push('|');
                out.push_str(r.get::<_, &str>(0));
                out.push('\n');
            }
            let bytea: Vec<String> = client
                .query(
                    "SELECT column_name::text FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = $1 AND data_type = 'bytea'",
                    &[&table],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            for column in bytea {
                let rows = client
                    .query(&format!("SELECT \"{column}\" FROM \"{table}\""), &[])
                    .await
                    .unwrap();
                for r in rows {
                    if let Some(bytes) = r.get::<_, Option<Vec<u8>>>(0) {
                        out.push_str(&String::from_utf8_lossy(&bytes));
                        out.push('\n');
                    }
                }
            }
        }
        out
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        // Best effort, on a thread of its own: Drop cannot await, and the
        // case's runtime may be shutting down.
        let server_url = self.server_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                if let Ok(admin) = admin(&server_url).await {
                    let _ = admin.batch_execute(&sql).await;
                }
            });
            Ok::<_, std::io::Error>(())
        })
        .join();
    }
}

async fn admin(server_url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(server_url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn fresh() -> PgDb {
    let server_url = std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!("{URL_VAR} is not set: run scripts/test.sh, which starts a throwaway PostgreSQL")
    });
    let name = format!("lk_{}", latchkey_core::id::new_id().replace('-', ""));
    let admin = admin(&server_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e:?}"));
    PgDb { server_url, name }
}

latchkey_store_tests::conformance_suite!(postgres, fresh());
