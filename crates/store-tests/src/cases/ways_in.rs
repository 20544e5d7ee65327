//! Conformance case across slices: what may stand in for a password
//! (passkeys of issue 15, linked identities of issue 17) is counted for the
//! rule of removing a password, and a passkey keeps the last linked identity
//! of a password-less account unlinkable.

use latchkey_core::audit::EventType;
use latchkey_core::store::StoreError;

use super::federation::identity;
use super::lifecycle::ev;
use super::passkeys::passkey;
use super::{base_now, migrated, sample_user};
use crate::TestDb;

/// Counts by kind, and the last identity unlinks once a passkey remains.
pub async fn ways_in_besides_the_password_are_counted_across_slices(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let mut fed = sample_user("ways@example.com", None);
    fed.password_hash = None;
    let only = identity(&fed, "idp", "ways", now);
    store
        .create_user_with_identity(&fed, &only, &ev(EventType::UserRegistered, &fed, now))
        .await
        .unwrap();
    let counts = |c: Vec<latchkey_core::passwordless::CredentialCount>| {
        let mut c: Vec<(String, u64)> = c.into_iter().map(|c| (c.kind, c.count)).collect();
        c.sort();
        c
    };
    assert_eq!(
        counts(store.credential_counts(&fed.id).await.unwrap()),
        vec![("identity".into(), 1), ("passkey".into(), 0)]
    );
    let unlink = ev(EventType::IdentityUnlinked, &fed, now);
    assert!(matches!(
        store.unlink_identity(&fed.id, &only.id, &unlink).await,
        Err(StoreError::Conflict("last_way_in"))
    ));
    store
        .insert_passkey(
            &passkey(&fed, b"ways-cred", now),
            &ev(EventType::PasskeyAdded, &fed, now),
        )
        .await
        .unwrap();
    assert_eq!(
        counts(store.credential_counts(&fed.id).await.unwrap()),
        vec![("identity".into(), 1), ("passkey".into(), 1)]
    );
    assert!(
        store
            .unlink_identity(&fed.id, &only.id, &unlink)
            .await
            .unwrap(),
        "a passkey is a way in: the last identity may go"
    );
    assert_eq!(
        counts(store.credential_counts(&fed.id).await.unwrap()),
        vec![("identity".into(), 0), ("passkey".into(), 1)]
    );
}
