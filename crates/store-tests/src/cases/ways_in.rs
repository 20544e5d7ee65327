//! Conformance cases across slices: the ways into an account (password,
//! passkeys of issue 15, linked identities of issue 17, a verified address)
//! are counted alike by every backend, and each removal (password, passkey,
//! identity) executes core's one rule, `LastWayIn`, inside its transaction:
//! of two concurrent removals of an account's last two ways in, one passes.

use std::sync::Arc;

use latchkey_core::audit::EventType;
use latchkey_core::store::{Store, StoreError};
use latchkey_core::user::User;
use latchkey_core::ways_in::{LastWayIn, WaysIn};

use super::federation::identity;
use super::lifecycle::ev;
use super::passkeys::passkey;
use super::{NO_MAIL, base_now, migrated, sample_user};
use crate::TestDb;

const BY_MAIL: LastWayIn = LastWayIn {
    email_sign_in: true,
};

fn last_way_in<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::Conflict("last_way_in"))),
        "{r:?}"
    );
}

async fn ways(store: &dyn Store, user: &User) -> WaysIn {
    store.ways_in(&user.id).await.unwrap().expect("the account")
}

/// Counts by kind, and the last identity unlinks once a passkey remains.
pub async fn ways_in_besides_the_password_are_counted_across_slices(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    assert_eq!(store.ways_in("nobody").await.unwrap(), None);
    let mut fed = sample_user("ways@example.com", None);
    fed.password_hash = None;
    fed.email_verified = true;
    let only = identity(&fed, "idp", "ways", now);
    store
        .create_user_with_identity(&fed, &only, &ev(EventType::UserRegistered, &fed, now))
        .await
        .unwrap();
    let expected = |passkeys, identities| WaysIn {
        password: false,
        email_verified: true,
        passkeys,
        identities,
    };
    assert_eq!(ways(store.as_ref(), &fed).await, expected(0, 1));
    let unlink = ev(EventType::IdentityUnlinked, &fed, now);
    last_way_in(
        store
            .unlink_identity(&fed.id, &only.id, NO_MAIL, &unlink)
            .await,
    );
    store
        .insert_passkey(
            &passkey(&fed, b"ways-cred", now),
            &ev(EventType::PasskeyAdded, &fed, now),
        )
        .await
        .unwrap();
    assert_eq!(ways(store.as_ref(), &fed).await, expected(1, 1));
    assert!(
        store
            .unlink_identity(&fed.id, &only.id, NO_MAIL, &unlink)
            .await
            .unwrap(),
        "a passkey is a way in: the last identity may go"
    );
    assert_eq!(ways(store.as_ref(), &fed).await, expected(1, 0));
}

/// Each of the three removals refuses to take the last way in, and
/// nothing of a refused removal stays (the row, its event, its session
/// ends); a verified address counts while sign-in by mail is on.
pub async fn every_removal_keeps_the_last_way_in(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let mut user = sample_user("removals@example.com", None);
    user.email_verified = true;
    let hash = user.password_hash.clone().unwrap();
    store.insert_user(&user, &[], None).await.unwrap();
    let key = passkey(&user, b"removals-cred", now);
    store
        .insert_passkey(&key, &ev(EventType::PasskeyAdded, &user, now))
        .await
        .unwrap();
    let event = |t| ev(t, &user, now);
    let remove_password = || {
        let e = event(EventType::PasswordChanged);
        let store = store.clone();
        let (id, hash) = (user.id.clone(), hash.clone());
        async move {
            store
                .remove_password(&id, &hash, NO_MAIL, "s", now, &e)
                .await
        }
    };
    // the password goes: the passkey remains; not a second time
    assert!(remove_password().await.unwrap());
    assert!(!remove_password().await.unwrap());
    // the passkey is now the last way in, unless mail to the verified address is one
    let removed = event(EventType::PasskeyRemoved);
    last_way_in(
        store
            .delete_passkey(&user.id, &key.id, NO_MAIL, &removed)
            .await,
    );
    assert_eq!(
        ways(store.as_ref(), &user).await.passkeys,
        1,
        "nothing stays"
    );
    // an unknown passkey is not found, whatever the rule
    assert!(
        !store
            .delete_passkey(&user.id, "no-such-passkey", NO_MAIL, &removed)
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_passkey(&user.id, &key.id, BY_MAIL, &removed)
            .await
            .unwrap()
    );
    assert_eq!(
        ways(store.as_ref(), &user).await,
        WaysIn {
            email_verified: true,
            ..WaysIn::default()
        }
    );

    // a password with nothing else, not even a verified address
    let alone = sample_user("alone@example.com", None);
    let alone_hash = alone.password_hash.clone().unwrap();
    store.insert_user(&alone, &[], None).await.unwrap();
    for rule in [NO_MAIL, BY_MAIL] {
        last_way_in(
            store
                .remove_password(
                    &alone.id,
                    &alone_hash,
                    rule,
                    "s",
                    now,
                    &ev(EventType::PasswordChanged, &alone, now),
                )
                .await,
        );
    }
    assert!(ways(store.as_ref(), &alone).await.password, "nothing stays");
    let mut kinds = super::lifecycle::events_about(store.as_ref(), &alone.id).await;
    kinds.retain(|k| k == "password.changed");
    assert!(kinds.is_empty(), "no event of a refused removal: {kinds:?}");
}

/// Two concurrent removals of an account's last two ways in (its password
/// and its passkey; its passkey and its identity): exactly one passes, the
/// other is refused, and one way in remains.
pub async fn concurrent_removals_of_the_last_two_ways_in_admit_one(db: &dyn TestDb) {
    let store: Arc<dyn Store> = migrated(db).await;
    let now = base_now();
    for round in 0..10 {
        // password + passkey
        let user = sample_user(&format!("race-pw-{round}@example.com"), None);
        let hash = user.password_hash.clone().unwrap();
        store.insert_user(&user, &[], None).await.unwrap();
        let key = passkey(&user, format!("race-pw-{round}").as_bytes(), now);
        store
            .insert_passkey(&key, &ev(EventType::PasskeyAdded, &user, now))
            .await
            .unwrap();
        let (s1, s2, u1, u2) = (store.clone(), store.clone(), user.clone(), user.clone());
        let password = tokio::spawn(async move {
            let e = ev(EventType::PasswordChanged, &u1, now);
            s1.remove_password(&u1.id, &hash, NO_MAIL, "s", now, &e)
                .await
        });
        let key_id = key.id.clone();
        let passkey_gone = tokio::spawn(async move {
            let e = ev(EventType::PasskeyRemoved, &u2, now);
            s2.delete_passkey(&u2.id, &key_id, NO_MAIL, &e).await
        });
        let results = [password.await.unwrap(), passkey_gone.await.unwrap()];
        assert_one_passed(&results);
        let left = ways(store.as_ref(), &user).await;
        assert!(NO_MAIL.any(&left), "{left:?}");

        // passkey + identity, no password
        let mut fed = sample_user(&format!("race-fed-{round}@example.com"), None);
        fed.password_hash = None;
        let linked = identity(&fed, "idp", &format!("race-{round}"), now);
        store
            .create_user_with_identity(&fed, &linked, &ev(EventType::UserRegistered, &fed, now))
            .await
            .unwrap();
        let key = passkey(&fed, format!("race-fed-{round}").as_bytes(), now);
        store
            .insert_passkey(&key, &ev(EventType::PasskeyAdded, &fed, now))
            .await
            .unwrap();
        let (s1, s2, u1, u2) = (store.clone(), store.clone(), fed.clone(), fed.clone());
        let unlink = tokio::spawn(async move {
            let e = ev(EventType::IdentityUnlinked, &u1, now);
            s1.unlink_identity(&u1.id, &linked.id, NO_MAIL, &e).await
        });
        let passkey_gone = tokio::spawn(async move {
            let e = ev(EventType::PasskeyRemoved, &u2, now);
            s2.delete_passkey(&u2.id, &key.id, NO_MAIL, &e).await
        });
        let results = [unlink.await.unwrap(), passkey_gone.await.unwrap()];
        assert_one_passed(&results);
        let left = ways(store.as_ref(), &fed).await;
        assert_eq!(left.passkeys + left.identities, 1, "{left:?}");
    }
}

fn assert_one_passed(results: &[Result<bool, StoreError>; 2]) {
    assert_eq!(
        results.iter().filter(|r| matches!(r, Ok(true))).count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict("last_way_in"))))
            .count(),
        1,
        "{results:?}"
    );
}
