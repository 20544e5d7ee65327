//! Conformance cases of issue 15: passkeys. A challenge is taken once (also
//! under concurrency) and not after it expired; a credential id belongs to
//! one account; a use records the counter only over the expected one;
//! rename and delete touch only the owner's passkey, with their event.

use std::sync::Arc;

use latchkey_core::audit::EventType;
use latchkey_core::passkeys::{Passkey, PasskeyChallenge, Purpose};
use latchkey_core::store::StoreError;
use latchkey_core::user::User;
use time::{Duration, OffsetDateTime};

use super::lifecycle::{ev, events_about};
use super::{NO_MAIL, base_now, migrated, stored_user};
use crate::TestDb;

fn challenge(hash: &str, user: Option<&User>, now: OffsetDateTime) -> PasskeyChallenge {
    PasskeyChallenge {
        challenge_hash: hash.into(),
        purpose: Purpose::Login,
        user_id: user.map(|u| u.id.clone()),
        binding_hash: Some("bind".into()),
        created_at: now,
        expires_at: now + Duration::minutes(5),
    }
}

pub(crate) fn passkey(user: &User, credential_id: &[u8], now: OffsetDateTime) -> Passkey {
    Passkey {
        id: latchkey_core::id::new_id(),
        user_id: user.id.clone(),
        credential_id: credential_id.to_vec(),
        public_key: vec![0xa5, 1, 2],
        sign_count: 7,
        transports: vec!["internal".into(), "hybrid".into()],
        backup_eligible: true,
        backup_state: false,
        aaguid: "00".repeat(16),
        name: "Laptop".into(),
        created_at: now,
        last_used_at: None,
    }
}

/// A challenge is taken once, whole, and never after it expired; of fifty
/// concurrent takers exactly one gets it.
pub async fn passkey_challenges_are_taken_once_until_they_expire(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let c = challenge("h1", Some(&user), now);
    store.insert_passkey_challenge(&c).await.unwrap();
    assert_eq!(
        store.take_passkey_challenge("h1", now).await.unwrap(),
        Some(c)
    );
    assert_eq!(store.take_passkey_challenge("h1", now).await.unwrap(), None);
    store
        .insert_passkey_challenge(&challenge("h2", None, now))
        .await
        .unwrap();
    let late = now + Duration::minutes(5);
    assert_eq!(
        store.take_passkey_challenge("h2", late).await.unwrap(),
        None,
        "expired"
    );
    store
        .insert_passkey_challenge(&challenge("h3", None, now))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.take_passkey_challenge("h3", now).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(won, 1, "one challenge, one ceremony");
}

/// Passkeys round-trip; a credential id is registered once across
/// accounts; a use records the counter only over the expected value.
pub async fn passkeys_round_trip_and_count_uses_once(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (alice, bob) = (
        stored_user(store.as_ref()).await,
        stored_user(store.as_ref()).await,
    );
    let p = passkey(&alice, b"cred-1", now);
    store
        .insert_passkey(&p, &ev(EventType::PasskeyAdded, &alice, now))
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_passkey(
                &passkey(&bob, b"cred-1", now),
                &ev(EventType::PasskeyAdded, &bob, now)
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.passkeys_of(&alice.id).await.unwrap(), vec![p.clone()]);
    assert!(store.passkeys_of(&bob.id).await.unwrap().is_empty());
    assert_eq!(
        store.passkey_by_credential_id(b"cred-1").await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(store.passkey_by_credential_id(b"x").await.unwrap(), None);
    assert_eq!(
        events_about(store.as_ref(), &bob.id).await,
        Vec::<String>::new(),
        "the refused insert left no event"
    );
    let later = now + Duration::minutes(1);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, id) = (Arc::clone(&store), p.id.clone());
            tokio::spawn(async move {
                store
                    .record_passkey_use(&id, 7, 8, true, later)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "one counter value, one use");
    let used = store
        .passkey_by_credential_id(b"cred-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (used.sign_count, used.backup_state, used.last_used_at),
        (8, true, Some(later))
    );
}

/// Rename and delete act on the owner's passkey only, with their event.
pub async fn passkeys_are_renamed_and_deleted_by_their_owner_only(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (alice, bob) = (
        stored_user(store.as_ref()).await,
        stored_user(store.as_ref()).await,
    );
    let p = passkey(&alice, b"cred-2", now);
    store
        .insert_passkey(&p, &ev(EventType::PasskeyAdded, &alice, now))
        .await
        .unwrap();
    let renamed = ev(EventType::PasskeyRenamed, &bob, now);
    assert!(
        !store
            .rename_passkey(&bob.id, &p.id, "Mine", &renamed)
            .await
            .unwrap()
    );
    let removed = ev(EventType::PasskeyRemoved, &bob, now);
    assert!(
        !store
            .delete_passkey(&bob.id, &p.id, NO_MAIL, &removed)
            .await
            .unwrap()
    );
    assert!(events_about(store.as_ref(), &bob.id).await.is_empty());
    let renamed = ev(EventType::PasskeyRenamed, &alice, now);
    assert!(
        store
            .rename_passkey(&alice.id, &p.id, "Phone", &renamed)
            .await
            .unwrap()
    );
    assert_eq!(store.passkeys_of(&alice.id).await.unwrap()[0].name, "Phone");
    let removed = ev(EventType::PasskeyRemoved, &alice, now);
    assert!(
        store
            .delete_passkey(&alice.id, &p.id, NO_MAIL, &removed)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_passkey(&alice.id, &p.id, NO_MAIL, &removed)
            .await
            .unwrap()
    );
    assert!(store.passkeys_of(&alice.id).await.unwrap().is_empty());
    assert_eq!(
        events_about(store.as_ref(), &alice.id).await,
        ["passkey.added", "passkey.renamed", "passkey.removed"]
    );
}
