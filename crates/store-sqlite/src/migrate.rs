//! Forward-only migrations for SQLite.
//!
//! The whole run happens in one `BEGIN EXCLUSIVE` transaction, so a second
//! process migrating the same file waits (busy timeout) and then finds the
//! work done. Each applied migration is recorded with its checksum; an
//! applied migration whose SQL has changed since is an error, not a silent
//! divergence.

use latchkey_core::store::{Migration, MigrationReport, StoreError};
use rusqlite::{Connection, TransactionBehavior};

use crate::map_err;

/// Every migration of this backend, in order. The file names must match the
/// PostgreSQL backend's; a test in `latchkey-store-tests` compares them and a
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

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    name       TEXT    NOT NULL PRIMARY KEY,
    checksum   INTEGER NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT";

pub(crate) fn apply(conn: &mut Connection) -> Result<MigrationReport, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Exclusive)
        .map_err(map_err)?;
    tx.execute(CREATE_LEDGER, []).map_err(map_err)?;
    let applied = applied(&tx)?;
    check_known(&applied)?;
    let mut report = MigrationReport {
        applied: Vec::new(),
        already_applied: applied.len(),
    };
    for m in MIGRATIONS {
        if applied.iter().any(|(name, _)| name == m.name) {
            continue;
        }
        tx.execute_batch(m.sql)
            .map_err(|e| StoreError::Backend(format!("migration {} failed: {e}", m.name)))?;
        tx.execute(
            "INSERT INTO schema_migrations (name, checksum, applied_at)
             VALUES (?1, ?2, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
            rusqlite::params![m.name, m.checksum()],
        )
        .map_err(map_err)?;
        report.applied.push(m.name.to_owned());
    }
    tx.commit().map_err(map_err)?;
    Ok(report)
}

pub(crate) fn pending(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
            [],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    let applied = if exists { applied(conn)? } else { Vec::new() };
    check_known(&applied)?;
    Ok(MIGRATIONS
        .iter()
        .filter(|m| !applied.iter().any(|(name, _)| name == m.name))
        .map(|m| m.name.to_owned())
        .collect())
}

fn applied(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT name, checksum FROM schema_migrations ORDER BY name")
        .map_err(map_err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
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
}
