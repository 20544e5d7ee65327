//! Signing keys (conditional rotation, the first key created once) and
//! OAuth clients.

use std::sync::Arc;

use latchkey_core::keys::{Client, StoredKey};
use latchkey_core::store::StoreError;
use time::Duration;

use crate::db::TestDb;

use super::{base_now, migrated, sample_key};

/// The first rotation inserts; a conditional one is refused while the active
/// key is recent enough; an unconditional one retires the active key.
pub async fn signing_keys_rotate_conditionally(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    assert!(store.signing_keys().await.unwrap().is_empty());

    let k1 = sample_key(now - Duration::days(10));
    assert!(
        store
            .rotate_signing_key(&k1, Some(now - Duration::days(90)), now)
            .await
            .unwrap(),
        "with no active key, a conditional rotation inserts"
    );
    assert_eq!(store.signing_keys().await.unwrap(), vec![k1.clone()]);

    // the active key was created after the threshold: nothing happens
    let k2 = sample_key(now);
    for threshold in [now - Duration::days(20), k1.created_at] {
        assert!(
            !store
                .rotate_signing_key(&k2, Some(threshold), now + Duration::days(1))
                .await
                .unwrap()
        );
        assert_eq!(store.signing_keys().await.unwrap(), vec![k1.clone()]);
    }

    // older than the threshold: rotates
    let publish1 = now + Duration::days(1);
    assert!(
        store
            .rotate_signing_key(
                &k2,
                Some(k1.created_at + Duration::milliseconds(1)),
                publish1
            )
            .await
            .unwrap()
    );
    let k1_retired = StoredKey {
        retired_at: Some(k2.created_at),
        publish_until: Some(publish1),
        ..k1.clone()
    };
    assert_eq!(
        store.signing_keys().await.unwrap(),
        vec![k2.clone(), k1_retired.clone()]
    );

    // unconditionally
    let k3 = sample_key(now + Duration::minutes(1));
    let publish2 = now + Duration::days(2);
    assert!(store.rotate_signing_key(&k3, None, publish2).await.unwrap());
    let k2_retired = StoredKey {
        retired_at: Some(k3.created_at),
        publish_until: Some(publish2),
        ..k2.clone()
    };
    assert_eq!(
        store.signing_keys().await.unwrap(),
        vec![k3.clone(), k2_retired, k1_retired]
    );

    // a kid is unique
    let dup = StoredKey {
        created_at: now + Duration::minutes(2),
        ..k3.clone()
    };
    let err = store.rotate_signing_key(&dup, None, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("kid")), "got {err:?}");
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0], k3, "a failed rotation changes nothing");
}

/// The active `kid` (the keys version nodes poll) follows every rotation.
pub async fn active_signing_kid_follows_rotation(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    assert_eq!(store.active_signing_kid().await.unwrap(), None);
    let k1 = sample_key(now);
    assert!(store.rotate_signing_key(&k1, None, now).await.unwrap());
    assert_eq!(store.active_signing_kid().await.unwrap(), Some(k1.kid));
    let k2 = sample_key(now + Duration::minutes(1));
    assert!(store.rotate_signing_key(&k2, None, now).await.unwrap());
    assert_eq!(store.active_signing_kid().await.unwrap(), Some(k2.kid));
}

/// Four nodes creating the first key at once: exactly one key is made.
pub async fn concurrent_first_signing_key_is_created_once(db: &dyn TestDb) {
    let first = migrated(db).await;
    let mut handles = vec![first];
    for _ in 1..4 {
        handles.push(db.open().await);
    }
    let now = base_now();
    let start = Arc::new(tokio::sync::Barrier::new(handles.len()));
    let tasks: Vec<_> = handles
        .iter()
        .map(|s| {
            let s = s.clone();
            let key = sample_key(now);
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let rotated = s
                    .rotate_signing_key(&key, Some(now - Duration::days(90)), now)
                    .await
                    .unwrap();
                (key, rotated)
            })
        })
        .collect();
    let mut made = Vec::new();
    for t in tasks {
        let (key, rotated) = t.await.unwrap();
        if rotated {
            made.push(key);
        }
    }
    assert_eq!(made.len(), 1, "exactly one node creates the first key");
    assert_eq!(handles[0].signing_keys().await.unwrap(), made);
}

/// Clients: insert, lookup, list by id, and a taken id is a conflict.
pub async fn clients_round_trip_and_conflict(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    assert!(store.list_clients().await.unwrap().is_empty());
    let mut clients: Vec<Client> = ["resource-b", "resource-a", "Resource-C"]
        .into_iter()
        .enumerate()
        .map(|(i, id)| Client {
            id: id.into(),
            name: format!("Resource server {i}"),
            secret_hash: format!("{i:064x}"),
            created_at: now + Duration::milliseconds(i as i64),
        })
        .collect();
    for c in &clients {
        store.insert_client(c).await.unwrap();
    }
    let err = store
        .insert_client(&Client {
            name: "Impostor".into(),
            ..clients[0].clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("id")), "got {err:?}");
    assert_eq!(
        store.client_by_id("resource-b").await.unwrap(),
        Some(clients[0].clone())
    );
    assert_eq!(store.client_by_id("resource-z").await.unwrap(), None);
    clients.sort_by(|a, b| a.id.cmp(&b.id)); // byte order: "Resource-C" first
    assert_eq!(store.list_clients().await.unwrap(), clients);
}
