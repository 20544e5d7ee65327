//! Batched account writes (`latchkey user import`, `latchkey seed`).

use latchkey_core::audit::{AuditEvent, AuditQuery, EventType};
use latchkey_core::client_info::ClientInfo;
use latchkey_core::id;
use latchkey_core::store::StoreError;
use latchkey_core::user_transfer::{LinkedIdentity, NewAccount};

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
        identities: Vec::new(),
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

fn identity(provider: &str, subject: &str, email: Option<&str>) -> LinkedIdentity {
    LinkedIdentity {
        provider: provider.into(),
        subject: subject.into(),
        email: email.map(str::to_owned),
        email_verified: email.is_some(),
        linked_at: base_now(),
    }
}

/// Linked identities are stored with their account and read back per
/// account; a (provider, subject) links one account only: a batch that
/// links it again fails whole, and `identities_taken` names it beforehand.
pub async fn linked_identities_are_stored_once_per_provider_and_subject(db: &dyn TestDb) {
    let store = migrated(db).await;
    let tag = id::new_id();
    let mut a = account(&format!("ia.{tag}@example.com"), None, false);
    let google = identity("google.com", &format!("g-{tag}"), Some("a@gmail.example"));
    let github = identity("github", &tag, None);
    a.identities = vec![google.clone(), github.clone()];
    assert_eq!(store.insert_accounts(&[a.clone()]).await.unwrap(), 1);
    let mut linked = store
        .identities_of_users(std::slice::from_ref(&a.user.id))
        .await
        .unwrap();
    linked.sort_by(|x, y| x.1.provider.cmp(&y.1.provider));
    assert_eq!(
        linked,
        vec![
            (a.user.id.clone(), github.clone()),
            (a.user.id.clone(), google.clone())
        ]
    );
    let other = (google.provider.clone(), format!("other-{tag}"));
    let taken = store
        .identities_taken(&[
            (google.provider.clone(), google.subject.clone()),
            other.clone(),
        ])
        .await
        .unwrap();
    assert_eq!(
        taken,
        vec![(google.provider.clone(), google.subject.clone())]
    );

    let mut b = account(&format!("ib.{tag}@example.com"), None, false);
    b.identities = vec![identity(&other.0, &other.1, None), google.clone()];
    let c = account(&format!("ic.{tag}@example.com"), None, false);
    let result = store.insert_accounts(&[c.clone(), b.clone()]).await;
    assert!(
        matches!(result, Err(StoreError::Conflict("identity"))),
        "{result:?}"
    );
    assert!(
        store
            .user_by_email(&c.user.email_normalized)
            .await
            .unwrap()
            .is_none(),
        "nothing of the failed batch"
    );
    assert_eq!(store.identities_taken(&[other]).await.unwrap(), vec![]);
    assert_eq!(
        store
            .identities_of_users(&[b.user.id.clone()])
            .await
            .unwrap(),
        vec![]
    );
}
