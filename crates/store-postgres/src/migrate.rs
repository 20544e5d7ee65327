//! Forward-only migrations for PostgreSQL.
//!
//! The whole run happens in one transaction that first takes a
//! transaction-scoped advisory lock ([`LOCK_KEY`]), so a second node migrating
//! the same database waits for the first to commit and then finds the work
//! done. The lock is taken *before* `CREATE TABLE IF NOT EXISTS
//! schema_migrations`: two sessions running that statement at once can both
//! pass the "if not exists" check and one then fails on a duplicate `pg_type`
//! row. DDL is transactional in PostgreSQL, so a failing migration leaves
//! nothing behind. Each applied migration is recorded with its checksum; an
//! applied migration whose SQL has changed since is an error, not a silent
//! divergence.

use deadpool_postgres::GenericClient;
use latchkey_core::store::{Migration, MigrationReport, StoreError};

use crate::{Client, map_err};

/// Every migration of this backend, in order. The file names must match the
/// SQLite backend's; a test in `latchkey-store-tests` compares them and a
/// test below checks this list against the directory.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_users",
        sql: include_str!("../migrations/0001_users.sql"),
    },
    Migration {
        name: "0002_sessions",
        sql: include_str!("../migrations/0002_sessions.sql"),
    },
    Migration {
        name: "0003_roles_audit",
        sql: include_str!("../migrations/0003_roles_audit.sql"),
    },
    Migration {
        name: "0004_lifecycle",
        sql: include_str!("../migrations/0004_lifecycle.sql"),
    },
    Migration {
        name: "0005_abuse",
        sql: include_str!("../migrations/0005_abuse.sql"),
    },
    Migration {
        name: "0006_refresh_successor",
        sql: include_str!("../migrations/0006_refresh_successor.sql"),
    },
    Migration {
        name: "0010_mfa",
        sql: include_str!("../migrations/0010_mfa.sql"),
    },
    Migration {
        name: "0020_events",
        sql: include_str!("../migrations/0020_events.sql"),
    },
    Migration {
        name: "0021_events_mfa",
        sql: include_str!("../migrations/0021_events_mfa.sql"),
    },
    Migration {
        name: "0022_events_horizon",
        sql: include_str!("../migrations/0022_events_horizon.sql"),
    },
    Migration {
        name: "0023_events_sequencer",
        sql: include_str!("../migrations/0023_events_sequencer.sql"),
    },
    Migration {
        name: "0024_webhooks",
        sql: include_str!("../migrations/0024_webhooks.sql"),
    },
    Migration {
        name: "0030_oauth",
        sql: include_str!("../migrations/0030_oauth.sql"),
    },
    Migration {
        name: "0031_oauth_grants",
        sql: include_str!("../migrations/0031_oauth_grants.sql"),
    },
    Migration {
        name: "0032_client_assertions",
        sql: include_str!("../migrations/0032_client_assertions.sql"),
    },
    Migration {
        name: "0040_identities",
        sql: include_str!("../migrations/0040_identities.sql"),
    },
    Migration {
        name: "0050_account_locale",
        sql: include_str!("../migrations/0050_account_locale.sql"),
    },
    Migration {
        name: "0060_passwordless",
        sql: include_str!("../migrations/0060_passwordless.sql"),
    },
    Migration {
        name: "0070_passkeys",
        sql: include_str!("../migrations/0070_passkeys.sql"),
    },
    Migration {
        name: "0071_passkey_purposes",
        sql: include_str!("../migrations/0071_passkey_purposes.sql"),
    },
    Migration {
        name: "0072_passkey_signup",
        sql: include_str!("../migrations/0072_passkey_signup.sql"),
    },
    Migration {
        name: "0080_federation",
        sql: include_str!("../migrations/0080_federation.sql"),
    },
    Migration {
        name: "0081_federation_native",
        sql: include_str!("../migrations/0081_federation_native.sql"),
    },
    Migration {
        name: "0085_identity_upstream",
        sql: include_str!("../migrations/0085_identity_upstream.sql"),
    },
];

/// The advisory lock serializing migration runs: the 64-bit FNV-1a hash of
/// `"latchkey-migrations"` (the same hash as [`Migration::checksum`]), fixed
/// so that every latchkey version takes the same lock. Advisory locks are
/// per database, so unrelated databases on one server do not wait for each other.
pub(crate) const LOCK_KEY: i64 = fnv1a(b"latchkey-migrations");

pub(crate) const fn fnv1a(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h as i64
}

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    name       TEXT        PRIMARY KEY,
    checksum   BIGINT      NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

pub(crate) async fn apply(client: &mut Client) -> Result<MigrationReport, StoreError> {
    let tx = client.transaction().await.map_err(map_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(map_err)?;
    tx.batch_execute(CREATE_LEDGER).await.map_err(map_err)?;
    let applied = applied(&tx).await?;
    check_known(&applied)?;
    let mut report = MigrationReport {
        applied: Vec::new(),
        already_applied: applied.len(),
    };
    for m in MIGRATIONS {
        if applied.iter().any(|(name, _)| name == m.name) {
            continue;
        }
        tx.batch_execute(m.sql)
            .await
            .map_err(|e| match map_err(e) {
                StoreError::Backend(msg) => {
                    StoreError::Backend(format!("migration {} failed: {msg}", m.name))
                }
                other => other,
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
            &[&m.name, &m.checksum()],
        )
        .await
        .map_err(map_err)?;
        report.applied.push(m.name.to_owned());
    }
    tx.commit().await.map_err(map_err)?;
    if !report.applied.is_empty() {
        tracing::info!(applied = ?report.applied, "applied PostgreSQL migrations");
    }
    Ok(report)
}

pub(crate) async fn pending(client: &Client) -> Result<Vec<String>, StoreError> {
    // `to_regclass` resolves the name through the search_path, exactly as the
    // unqualified name in the queries below does.
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(map_err)?;
    let applied = if exists {
        applied(client).await?
    } else {
        Vec::new()
    };
    check_known(&applied)?;
    Ok(MIGRATIONS
        .iter()
        .filter(|m| !applied.iter().any(|(name, _)| name == m.name))
        .map(|m| m.name.to_owned())
        .collect())
}

async fn applied(client: &impl GenericClient) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = client
        .query(
            "SELECT name, checksum FROM schema_migrations ORDER BY name",
            &[],
        )
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(map_err)
}

/// Refuses a database touched by a newer binary or by an edited migration.
fn check_known(applied: &[(String, i64)]) -> Result<(), StoreError> {
    latchkey_core::store::check_applied(MIGRATIONS, applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_matches_the_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter_map(|n| n.strip_suffix(".sql").map(str::to_owned))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = MIGRATIONS.iter().map(|m| m.name.to_owned()).collect();
        assert_eq!(
            embedded, on_disk,
            "every file in migrations/ must be listed in MIGRATIONS, in order"
        );
    }

    #[test]
    fn the_lock_key_never_changes() {
        // Changing it would let an old and a new binary migrate at the same time.
        let same_as_checksum = Migration {
            name: "",
            sql: "latchkey-migrations",
        }
        .checksum();
        assert_eq!(LOCK_KEY, same_as_checksum);
        assert_eq!(LOCK_KEY, 0x7a0e_5c83_7a4e_546a, "{LOCK_KEY:#x}");
    }

    #[test]
    fn unknown_and_edited_migrations_are_refused() {
        assert!(check_known(&[]).is_ok());
        let m = &MIGRATIONS[0];
        assert!(check_known(&[(m.name.to_owned(), m.checksum())]).is_ok());
        let edited = check_known(&[(m.name.to_owned(), m.checksum() ^ 1)]).unwrap_err();
        assert!(edited.to_string().contains("checksum mismatch"), "{edited}");
        let newer = check_known(&[("9999_future".to_owned(), 0)]).unwrap_err();
        assert!(newer.to_string().contains("newer latchkey"), "{newer}");
    }
}
