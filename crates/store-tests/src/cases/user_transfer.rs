//! Batched account writes (`latchkey user import`, `latchkey seed`).

use latchkey_core::audit::{AuditEvent, AuditQuery, EventType};
use latchkey_core::client_info::ClientInfo;
use latchkey_core::id;
use latchkey_core::store::StoreError;
use latchkey_core::user_transfer::NewAccount;

use super::{base_now, migrated, sample_session, sample_user};
use crate::db::TestDb;

fn account(email: &str, username: Option<&str>, with_session: bool) -> NewAccount {
    let user = sample_user(email, username);
    let event = AuditEvent::new(EventType::UserCreated, base_now(), &ClientInfo::default())
        .subject(&user.id);
    NewAccount {
        session: with_session.then(|| sample_session(&user.id, base_now())),
        user,
        roles: vec!["moderator".into()],
        events: vec![event],
    }
}

/// A batch stores each new address once with its roles, events and
/// session; an address stored already or earlier in the batch is skipped,
/// so running a batch again stores nothing twice; a username taken fails
/// the whole batch and stores nothing of it.
pub async fn account_batches_store_each_address_once(db: &dyn TestDb) {
    let store = migrated(db).await;
    let tag = id::new_id();
    let a = account(&format!("a.{tag}@example.com"), None, true);
    let b = account(
        &format!("b.{tag}@example.com"),
        Some(&format!("b{tag}")),
        false,
    );
    let a_again = account(&format!("A.{tag}@example.com"), None, false);
    let batch = vec![a.clone(), b.clone(), a_again];
    assert_eq!(store.insert_accounts(&batch).await.unwrap(), 2);
    assert_eq!(
        store.insert_accounts(&batch).await.unwrap(),
        0,
        "again: nothing"
    );

    let stored = store
        .user_by_email(&a.user.email_normalized)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, a.user);
    let roles = store
        .assigned_roles_of_users(std::slice::from_ref(&a.user.id))
        .await
        .unwrap();
    assert_eq!(roles, vec![(a.user.id.clone(), "moderator".to_owned())]);
    let session = a.session.as_ref().unwrap();
    assert_eq!(
        store.session_by_id(&session.id).await.unwrap().as_ref(),
        Some(session)
    );
    let events = store
        .audit_events(&AuditQuery {
            subject_id: Some(b.user.id.clone()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);

    // b's username under a new address: the whole batch is refused
    let c = account(&format!("c.{tag}@example.com"), None, false);
    let d = account(
        &format!("d.{tag}@example.com"),
        Some(&format!("b{tag}")),
        false,
    );
    let err = store.insert_accounts(&[c.clone(), d]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("username")), "{err:?}");
    assert!(
        store
            .user_by_email(&c.user.email_normalized)
            .await
            .unwrap()
            .is_none()
    );
}
