//! The conformance cases. Each takes a fresh [`TestDb`] and panics on failure.

use std::collections::BTreeSet;
use std::sync::Arc;

use latchkey_core::store::{Store, StoreError, truncate_to_millis};
use latchkey_core::user::{User, normalize_email, normalize_username};
use latchkey_core::{Clock, SystemClock, id};

use crate::TestDb;

async fn migrated(db: &dyn TestDb) -> Arc<dyn Store> {
    let store = db.open().await;
    store
        .migrate()
        .await
        .expect("migrations apply on an empty database");
    store
}

/// A user with millisecond timestamps, as the contract stores them.
pub fn sample_user(email: &str, username: Option<&str>) -> User {
    let now = truncate_to_millis(SystemClock.now());
    User {
        id: id::new_id(),
        email: email.trim().to_owned(),
        email_normalized: normalize_email(email),
        email_verified: false,
        username: username.map(str::to_owned),
        username_normalized: username.map(normalize_username),
        name: Some("Sample Person".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        created_at: now,
        updated_at: now,
    }
}

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
        s.insert_user(&sample_user(&format!("{}@example.com", id::new_id()), None))
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

/// What is written is read back identically by every lookup.
pub async fn user_round_trips(db: &dyn TestDb) {
    let store = migrated(db).await;
    let mut user = sample_user("Ada.Lovelace@Example.org", Some("Ada"));
    user.email_verified = true;
    store.insert_user(&user).await.unwrap();
    assert_eq!(
        store.user_by_id(&user.id).await.unwrap().as_ref(),
        Some(&user)
    );
    assert_eq!(
        store
            .user_by_email("ada.lovelace@example.org")
            .await
            .unwrap()
            .as_ref(),
        Some(&user)
    );
    assert_eq!(
        store.user_by_username("ada").await.unwrap().as_ref(),
        Some(&user)
    );
    // optional fields absent
    let bare = User {
        name: None,
        password_hash: None,
        ..sample_user("bare@example.org", None)
    };
    store.insert_user(&bare).await.unwrap();
    assert_eq!(store.user_by_id(&bare.id).await.unwrap(), Some(bare));
}

/// Two addresses that normalize alike cannot both register.
pub async fn email_is_unique_after_normalization(db: &dyn TestDb) {
    let store = migrated(db).await;
    store
        .insert_user(&sample_user("grace@example.com", None))
        .await
        .unwrap();
    let err = store
        .insert_user(&sample_user("  GRACE@Example.COM ", None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "got {err:?}");
}

/// Usernames are unique when present; any number of users may have none.
pub async fn username_is_unique_but_optional(db: &dyn TestDb) {
    let store = migrated(db).await;
    store
        .insert_user(&sample_user("a@example.com", Some("Neo")))
        .await
        .unwrap();
    let err = store
        .insert_user(&sample_user("b@example.com", Some("neo")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict("username")),
        "got {err:?}"
    );
    store
        .insert_user(&sample_user("c@example.com", None))
        .await
        .unwrap();
    store
        .insert_user(&sample_user("d@example.com", None))
        .await
        .unwrap();
}

/// Cursor pagination by id returns every user once, in order.
pub async fn list_users_pages_in_id_order(db: &dyn TestDb) {
    let store = migrated(db).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let u = sample_user(&format!("user{i}@example.com"), None);
        ids.push(u.id.clone());
        store.insert_user(&u).await.unwrap();
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_users(cursor.as_deref(), 3).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|u| u.id.clone());
        seen.extend(page.into_iter().map(|u| u.id));
    }
    assert_eq!(seen, ids);
}

/// Lookups of absent users give `None`, not an error.
pub async fn missing_users_are_none(db: &dyn TestDb) {
    let store = migrated(db).await;
    assert_eq!(store.user_by_id("nope").await.unwrap(), None);
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );
    assert_eq!(store.user_by_username("nobody").await.unwrap(), None);
}
