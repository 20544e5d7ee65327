//! Conformance cases of issue 17: linked identities keyed by (provider,
//! subject), created with their account in one transaction, never unlinked
//! when they are the last way in; a flow's one-time rows taken once.

use std::sync::Arc;

use latchkey_core::audit::EventType;
use latchkey_core::federation::Identity;
use latchkey_core::id;
use latchkey_core::lifecycle::TokenPurpose;
use latchkey_core::store::{Store, StoreError};
use latchkey_core::user::User;
use time::{Duration, OffsetDateTime};

use super::lifecycle::{ev, events_about, mail, token};
use super::{NO_MAIL, base_now, migrated, sample_user, stored_user};
use crate::TestDb;

pub(crate) fn identity(
    user: &User,
    provider: &str,
    subject: &str,
    now: OffsetDateTime,
) -> Identity {
    Identity {
        id: id::new_id(),
        user_id: user.id.clone(),
        provider: provider.into(),
        subject: subject.into(),
        email: Some(user.email.clone()),
        email_verified: true,
        linked_at: now,
    }
}

/// Identities round-trip, are unique per (provider, subject), and an
/// account with no password keeps its last one.
pub async fn identities_link_once_and_keep_the_last_way_in(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let with_password = stored_user(store.as_ref()).await;
    let first = identity(&with_password, "idp", "alice", now);
    store
        .link_identity(&first, &ev(EventType::IdentityLinked, &with_password, now))
        .await
        .unwrap();
    assert_eq!(
        store.identity_by_subject("idp", "alice").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.identity_by_subject("other", "alice").await.unwrap(),
        None
    );
    let other = stored_user(store.as_ref()).await;
    let taken = identity(&other, "idp", "alice", now);
    assert!(matches!(
        store
            .link_identity(&taken, &ev(EventType::IdentityLinked, &other, now))
            .await,
        Err(StoreError::Conflict("identity"))
    ));

    // an account made by a provider: no password, one identity
    let mut fed = sample_user("fed@example.com", None);
    fed.password_hash = None;
    let only = identity(&fed, "idp", "fed", now);
    store
        .create_user_with_identity(&fed, &only, &ev(EventType::UserRegistered, &fed, now))
        .await
        .unwrap();
    let dup = sample_user("FED@example.com", None);
    assert!(matches!(
        store
            .create_user_with_identity(
                &dup,
                &identity(&dup, "idp", "x", now),
                &ev(EventType::UserRegistered, &dup, now)
            )
            .await,
        Err(StoreError::Conflict("email"))
    ));
    assert_eq!(store.identity_by_subject("idp", "x").await.unwrap(), None);
    let unlink = |u: &User| ev(EventType::IdentityUnlinked, u, now);
    assert!(matches!(
        store
            .unlink_identity(&fed.id, &only.id, NO_MAIL, &unlink(&fed))
            .await,
        Err(StoreError::Conflict("last_way_in"))
    ));
    let second = identity(&fed, "other", "fed", now + Duration::seconds(1));
    store
        .link_identity(&second, &ev(EventType::IdentityLinked, &fed, now))
        .await
        .unwrap();
    assert_eq!(
        store.identities_of(&fed.id).await.unwrap(),
        vec![only.clone(), second.clone()]
    );
    // not someone else's identity
    assert!(
        !store
            .unlink_identity(
                &with_password.id,
                &second.id,
                NO_MAIL,
                &unlink(&with_password)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .unlink_identity(&fed.id, &only.id, NO_MAIL, &unlink(&fed))
            .await
            .unwrap()
    );
    assert!(matches!(
        store
            .unlink_identity(&fed.id, &second.id, NO_MAIL, &unlink(&fed))
            .await,
        Err(StoreError::Conflict("last_way_in"))
    ));
    // a password is a way in
    assert!(
        store
            .unlink_identity(
                &with_password.id,
                &first.id,
                NO_MAIL,
                &unlink(&with_password)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        events_about(store.as_ref(), &fed.id).await,
        vec!["user.registered", "identity.linked", "identity.unlinked"]
    );
}

/// Concurrent unlinks of an account's last two identities: one passes.
pub async fn concurrent_unlinks_keep_one_way_in(db: &dyn TestDb) {
    let store: Arc<dyn Store> = migrated(db).await;
    let now = base_now();
    let mut fed = sample_user("race@example.com", None);
    fed.password_hash = None;
    let a = identity(&fed, "a", "s", now);
    let b = identity(&fed, "b", "s", now);
    store
        .create_user_with_identity(&fed, &a, &ev(EventType::UserRegistered, &fed, now))
        .await
        .unwrap();
    store
        .link_identity(&b, &ev(EventType::IdentityLinked, &fed, now))
        .await
        .unwrap();
    let go = |id: String| {
        let (store, fed) = (store.clone(), fed.clone());
        tokio::spawn(async move {
            store
                .unlink_identity(
                    &fed.id,
                    &id,
                    NO_MAIL,
                    &ev(EventType::IdentityUnlinked, &fed, now),
                )
                .await
        })
    };
    let (x, y) = (go(a.id.clone()), go(b.id.clone()));
    let results = [x.await.unwrap(), y.await.unwrap()];
    assert_eq!(
        results.iter().filter(|r| matches!(r, Ok(true))).count(),
        1,
        "{results:?}"
    );
    assert_eq!(store.identities_of(&fed.id).await.unwrap().len(), 1);
}

/// A flow's row is taken once, only for its purpose and before it expires.
pub async fn federation_rows_are_taken_once(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let later = now + Duration::minutes(10);
    store
        .put_federation_pending("h1", "flow", "{\"a\":1}", now, later)
        .await
        .unwrap();
    assert_eq!(
        store
            .take_federation_pending("h1", "exchange", now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_federation_pending("h1", "flow", later)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_federation_pending("h1", "flow", now)
            .await
            .unwrap()
            .as_deref(),
        Some("{\"a\":1}")
    );
    assert_eq!(
        store
            .take_federation_pending("h1", "flow", now)
            .await
            .unwrap(),
        None
    );
    // concurrent takes: one gets it
    store
        .put_federation_pending("h2", "exchange", "x", now, later)
        .await
        .unwrap();
    let store: Arc<dyn Store> = store;
    let take = || {
        let store = store.clone();
        tokio::spawn(async move { store.take_federation_pending("h2", "exchange", now).await })
    };
    let (x, y) = (take(), take());
    let got = [x.await.unwrap().unwrap(), y.await.unwrap().unwrap()];
    assert_eq!(got.iter().filter(|g| g.is_some()).count(), 1);
}

/// An account's deletion removes its identities with its other personal
/// data: the upstream account is free to sign up again.
pub async fn deletion_removes_the_identities(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let linked = identity(&user, "idp", "gone", now);
    store
        .link_identity(&linked, &ev(EventType::IdentityLinked, &user, now))
        .await
        .unwrap();
    let due = now + Duration::days(30);
    let cancel = token(&user, TokenPurpose::CancelDeletion, now, Duration::days(30));
    let (m, j) = mail(Some(&user), now);
    store
        .schedule_deletion(
            &user.id,
            &cancel,
            &m,
            &j,
            now,
            &ev(EventType::AccountDeletionScheduled, &user, now),
        )
        .await
        .unwrap();
    assert!(
        store
            .anonymize_user(&user.id, due, &ev(EventType::AccountDeleted, &user, due))
            .await
            .unwrap()
    );
    assert!(store.identities_of(&user.id).await.unwrap().is_empty());
    assert_eq!(
        store.identity_by_subject("idp", "gone").await.unwrap(),
        None
    );
}
