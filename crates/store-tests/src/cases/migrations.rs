//! Migrations and the connection: applied once, also by two nodes at once.

use std::collections::BTreeSet;
use std::sync::Arc;

use latchkey_core::id;
use latchkey_core::store::Store;

use crate::db::TestDb;

use super::{migrated, sample_user};

/// The first run applies every migration; the second applies none.
pub async fn migrate_applies_all_then_nothing(db: &dyn TestDb) {
    let store = db.open().await;
    let pending = store.pending_migrations().await.unwrap();
    assert!(
        !pending.is_empty(),
        "an empty database has pending migrations"
    );
    let first = store.migrate().await.unwrap();
    assert_eq!(
        first.applied, pending,
        "applies exactly what was pending, in order"
    );
    assert_eq!(first.already_applied, 0);
    let second = store.migrate().await.unwrap();
    assert!(
        second.applied.is_empty(),
        "nothing left to apply: {second:?}"
    );
    assert_eq!(second.already_applied, pending.len());
    assert!(store.pending_migrations().await.unwrap().is_empty());
}

/// Two nodes starting at once on one database: both succeed, and every
/// migration is applied exactly once between them.
pub async fn concurrent_migrations_are_safe(db: &dyn TestDb) {
    let handles: Vec<Arc<dyn Store>> =
        futures_util::future::join_all((0..4).map(|_| db.open())).await;
    let expected = handles[0].pending_migrations().await.unwrap();
    let reports = futures_util::future::join_all(handles.iter().map(|s| s.migrate())).await;
    let mut seen = Vec::new();
    for r in reports {
        seen.extend(r.expect("a concurrent migration run must not fail").applied);
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(
        seen.len(),
        unique.len(),
        "a migration was applied twice: {seen:?}"
    );
    assert_eq!(unique, expected.into_iter().collect::<BTreeSet<_>>());
    // and the schema works for every handle
    for s in &handles {
        s.insert_user(
            &sample_user(&format!("{}@example.com", id::new_id()), None),
            &[],
            None,
        )
        .await
        .unwrap();
    }
}

/// `ping` answers on a reachable database.
pub async fn ping_answers(db: &dyn TestDb) {
    migrated(db)
        .await
        .ping()
        .await
        .expect("ping on a live database");
}
