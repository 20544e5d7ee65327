//! Fresh PostgreSQL databases for tests.
//!
//! `scripts/test.sh` starts a throwaway server and exports its URL as
//! `LATCHKEY_TEST_POSTGRES_URL`. Each call makes a new database on it, so
//! tests stay parallel and independent. A missing variable fails the test:
//! a green run always means the PostgreSQL tests ran.

use tokio_postgres::NoTls;

/// The environment variable naming the test server.
pub const URL_VAR: &str = "LATCHKEY_TEST_POSTGRES_URL";

/// The test server's URL; panics with instructions when unset.
pub fn server_url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!("{URL_VAR} is not set: run scripts/test.sh, which starts a throwaway PostgreSQL")
    })
}

/// Creates an empty database and returns a URL pointing at it.
pub async fn fresh_database() -> String {
    let server = server_url();
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).expect("OS random source");
    let name: String = std::iter::once("lk_".to_owned())
        .chain(random.iter().map(|b| format!("{b:02x}")))
        .collect();
    let (client, connection) = tokio_postgres::connect(&server, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {URL_VAR}: {e}"));
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e:?}"));
    drop(client);
    let _ = driver.await;
    with_database(&server, &name)
}

/// `url` pointed at database `name` (a `dbname` parameter overrides the path).
pub fn with_database(url: &str, name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}dbname={name}")
}

/// Every row of every table of the database at `url`, as text (bytea
/// columns also decoded as UTF-8, in case someone stored text in one).
pub async fn all_rows_as_text(url: &str) -> String {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test database");
    let driver = tokio::spawn(connection);
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            &[],
        )
        .await
        .expect("list tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = String::new();
    for table in tables {
        for r in client
            .query(&format!("SELECT t::text FROM \"{table}\" t"), &[])
            .await
            .expect("select")
        {
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
            .expect("list columns")
            .iter()
            .map(|r| r.get(0))
            .collect();
        for column in bytea {
            for r in client
                .query(&format!("SELECT \"{column}\" FROM \"{table}\""), &[])
                .await
                .expect("select")
            {
                if let Some(bytes) = r.get::<_, Option<Vec<u8>>>(0) {
                    out.push_str(&String::from_utf8_lossy(&bytes));
                    out.push('\n');
                }
            }
        }
    }
    drop(client);
    let _ = driver.await;
    out
}

/// A plain-text `pg_dump` of the database at `url`, made with the newest
/// PostgreSQL installed (found as `scripts/services.sh` finds `initdb`),
/// else `pg_dump` on the `PATH`.
pub fn pg_dump(url: &str) -> Vec<u8> {
    let mut bins: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path().join("bin/pg_dump")))
        .filter(|p| p.exists())
        .collect();
    bins.sort_by_key(|p| {
        p.components()
            .nth(4)
            .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
    });
    let bin = bins.pop().unwrap_or_else(|| "pg_dump".into());
    let out = std::process::Command::new(&bin)
        .args(["--no-owner", "--dbname", url])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
