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
