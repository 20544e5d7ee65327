//! Conformance cases of issue 15: passkey-only sign-up. A ticket is read
//! only while unused and unexpired; it makes one account, with its passkey
//! and events, in one transaction, once (also under concurrency); an
//! address taken meanwhile leaves nothing behind and the ticket unused.

use std::sync::Arc;

use latchkey_core::audit::EventType;
use latchkey_core::passkeys::SignupTicket;
use latchkey_core::store::StoreError;
use latchkey_core::user::User;
use time::{Duration, OffsetDateTime};

use super::lifecycle::{ev, events_about};
use super::passkeys::passkey;
use super::{base_now, migrated, sample_user};
use crate::TestDb;

fn ticket(hash: &str, email: &str, now: OffsetDateTime) -> SignupTicket {
    SignupTicket {
        ticket_hash: hash.into(),
        email: email.into(),
        user_id: latchkey_core::id::new_id(),
        created_at: now,
        expires_at: now + Duration::minutes(10),
    }
}

/// The account a ticket makes.
fn account(t: &SignupTicket) -> User {
    User {
        id: t.user_id.clone(),
        password_hash: None,
        email_verified: true,
        ..sample_user(&t.email, None)
    }
}

/// A ticket makes one account with its passkey and events, once; it is not
/// read once used or expired; fifty concurrent sign-ups with one ticket make
/// one account.
pub async fn signup_tickets_make_one_account_once(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let email = format!("{}@example.com", latchkey_core::id::new_id());
    let t = ticket("t1", &email, now);
    store.insert_signup_ticket(&t).await.unwrap();
    assert_eq!(
        store.signup_ticket("t1", now).await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(store.signup_ticket("t1", t.expires_at).await.unwrap(), None);
    assert_eq!(store.signup_ticket("nope", now).await.unwrap(), None);
    let user = account(&t);
    // another address or id than the ticket's: nothing
    let other = User {
        email_normalized: "other@example.com".into(),
        ..user.clone()
    };
    let key = passkey(&user, b"cred-signup-1", now);
    let events = [ev(EventType::UserRegistered, &user, now)];
    assert!(
        !store
            .sign_up_with_passkey("t1", now, &other, &key, &events)
            .await
            .unwrap()
    );
    let store: Arc<_> = store;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, user, events) = (store.clone(), user.clone(), events.clone());
            let key = passkey(&user, format!("cred-race-{i}").as_bytes(), now);
            tokio::spawn(async move {
                store
                    .sign_up_with_passkey("t1", now, &user, &key, &events)
                    .await
            })
        })
        .collect();
    let mut made = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(true) => made += 1,
            Ok(false) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(made, 1, "one account per ticket");
    let stored = store.user_by_email(&email).await.unwrap().expect("made");
    assert_eq!(stored.id, user.id);
    assert!(stored.email_verified && stored.password_hash.is_none());
    assert_eq!(store.passkeys_of(&user.id).await.unwrap().len(), 1);
    assert_eq!(events_about(store.as_ref(), &user.id).await.len(), 1);
    assert_eq!(store.signup_ticket("t1", now).await.unwrap(), None, "used");
}

/// An address that got an account meanwhile: `Conflict`, no passkey, no
/// event, and the ticket stays unused (it still names that address).
pub async fn a_signup_ticket_for_a_taken_address_makes_nothing(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let email = format!("{}@example.com", latchkey_core::id::new_id());
    let t = ticket("t2", &email, now);
    store.insert_signup_ticket(&t).await.unwrap();
    store
        .insert_user(&sample_user(&email, None), &[], None)
        .await
        .unwrap();
    let user = account(&t);
    let key = passkey(&user, b"cred-taken", now);
    let events = [ev(EventType::UserRegistered, &user, now)];
    let r = store
        .sign_up_with_passkey("t2", now, &user, &key, &events)
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert!(store.passkeys_of(&user.id).await.unwrap().is_empty());
    assert!(events_about(store.as_ref(), &user.id).await.is_empty());
    assert_eq!(store.signup_ticket("t2", now).await.unwrap(), Some(t));
}
