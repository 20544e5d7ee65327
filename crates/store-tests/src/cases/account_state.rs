//! Conformance cases of the account's state: deactivation, a password
//! change, recorded sign-ins and devices, deletion and its tombstone.

use latchkey_core::audit::{AuditEvent, EventType};
use latchkey_core::auth::ClientInfo;
use latchkey_core::lifecycle::TokenPurpose;
use latchkey_core::store::StoreError;
use time::Duration;

use super::{base_now, migrated, sample_session, sample_token, sample_user, stored_user};
use crate::db::TestDb;

use super::lifecycle::{active, ev, ev_from, events_about, mail, session_of, token, with_token};

/// Deactivation ends every session; reactivation clears the mark.
pub async fn deactivation_ends_sessions_and_reactivation_clears_it(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    session_of(store.as_ref(), &user, now).await;
    store
        .set_deactivated(
            &user.id,
            Some(now),
            &ev(EventType::AccountDeactivated, &user, now),
        )
        .await
        .unwrap();
    assert_eq!(active(store.as_ref(), &user, now).await, 0);
    assert_eq!(
        store
            .account_state(&user.id)
            .await
            .unwrap()
            .unwrap()
            .deactivated_at,
        Some(now)
    );
    store
        .set_deactivated(
            &user.id,
            None,
            &ev(EventType::AccountReactivated, &user, now),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .account_state(&user.id)
            .await
            .unwrap()
            .unwrap()
            .deactivated_at,
        None
    );
    let nobody = sample_user("nobody-deactivated@example.com", None);
    assert!(matches!(
        store
            .set_deactivated(
                "nobody",
                Some(now),
                &ev(EventType::AccountDeactivated, &nobody, now)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec!["account.deactivated", "account.reactivated"]
    );
    assert!(
        events_about(store.as_ref(), &nobody.id).await.is_empty(),
        "no event without the change"
    );
}

/// A password change keeps the named session, ends the others and queues
/// the notice, together.
pub async fn password_change_keeps_one_session_and_queues_the_notice(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let keep = session_of(store.as_ref(), &user, now).await;
    session_of(store.as_ref(), &user, now).await;
    let (m, j) = mail(Some(&user), now);
    let ended = store
        .change_password(
            &user.id,
            "$argon2id$changed",
            Some(&keep.id),
            Some((&m, &j)),
            now,
            &ev(EventType::PasswordChanged, &user, now),
        )
        .await
        .unwrap();
    assert_eq!(ended, 1);
    let left = store.active_sessions_of_user(&user.id, now).await.unwrap();
    assert_eq!(
        left.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&keep.id]
    );
    assert_eq!(
        store
            .user_by_id(&user.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some("$argon2id$changed")
    );
    assert!(store.outbox_message(&m.id).await.unwrap().is_some());
    assert!(store.job(&j.id).await.unwrap().is_some());
    assert!(matches!(
        store
            .change_password(
                "nobody",
                "h",
                None,
                None,
                now,
                &ev(EventType::PasswordChanged, &user, now)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec!["password.changed"],
        "only the change that happened is recorded"
    );
}

/// Re-authentication moves `auth_time` of an unrevoked session; devices are
/// recognized by label and IP across the user's sessions.
pub async fn auth_time_and_devices_are_recorded(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    assert_eq!(
        store
            .device_seen(&user.id, Some("Firefox on Linux"), Some("203.0.113.7"))
            .await
            .unwrap(),
        (false, false)
    );
    let s = session_of(store.as_ref(), &user, now).await;
    let later = now + Duration::minutes(20);
    assert!(store.set_session_auth_time(&s.id, later).await.unwrap());
    assert_eq!(
        store.session_by_id(&s.id).await.unwrap().unwrap().auth_time,
        later
    );
    for (label, ip, seen) in [
        (Some("Firefox on Linux"), Some("203.0.113.7"), true),
        (Some("Firefox on Linux"), Some("198.51.100.1"), false),
        (Some("Chrome on macOS"), Some("203.0.113.7"), false),
        (None, None, false),
    ] {
        assert_eq!(
            store.device_seen(&user.id, label, ip).await.unwrap(),
            (true, seen),
            "{label:?} {ip:?}"
        );
    }
    store.revoke_session(&s.id, now, "logout").await.unwrap();
    assert!(!store.set_session_auth_time(&s.id, later).await.unwrap());
    assert!(
        store
            .device_seen(&user.id, Some("Firefox on Linux"), Some("203.0.113.7"))
            .await
            .unwrap()
            .1,
        "ended sessions count too"
    );
}

/// Scheduling a deletion ends the sessions and stores the cancel token and
/// mail; once due, the user becomes a tombstone and nothing personal is
/// left in any table.
pub async fn deletion_is_scheduled_then_leaves_a_tombstone_without_personal_data(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let mut user = sample_user("Erased.Person@Example.org", Some("erased_person"));
    user.name = Some("Erasmus Personname".into());
    user.locale = Some("de".into());
    store.insert_user(&user, &[], None).await.unwrap();
    let bystander = stored_user(store.as_ref()).await;
    session_of(store.as_ref(), &bystander, now).await;
    let mut s = sample_session(&user.id, now);
    s.ip = Some("192.0.2.55".into());
    s.user_agent = Some("ErasedAgent/9.9".into());
    store
        .create_session(&s, Some(&sample_token(&s.id, now)))
        .await
        .unwrap();
    with_token(store.as_ref(), &user, TokenPurpose::VerifyEmail, now).await;
    // what deletion leaves: an administrator's role, a failure counter
    store
        .set_user_roles(
            &user.id,
            &["moderator".to_owned()],
            None,
            now,
            &ev(EventType::UserRolesChanged, &user, now),
        )
        .await
        .unwrap();
    store
        .swap_login_failures(
            &format!("user:{}", user.id),
            0,
            &latchkey_core::abuse::brute_force::LoginFailures {
                key: format!("user:{}", user.id),
                failures: 1,
                last_failure_at: now,
                next_attempt_at: now,
                locked_at: None,
            },
        )
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
            &ev_from(
                EventType::AccountDeletionScheduled,
                &user,
                now,
                "192.0.2.55",
            ),
        )
        .await
        .unwrap();
    assert_eq!(active(store.as_ref(), &user, now).await, 0);
    assert_eq!(
        store
            .account_state(&user.id)
            .await
            .unwrap()
            .unwrap()
            .deletion_due_at,
        Some(due)
    );
    assert!(
        store
            .account_token(&cancel.token_hash)
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.deletions_due(now, 10).await.unwrap().is_empty());
    let deleted = |at| {
        AuditEvent::new(EventType::AccountDeleted, at, &ClientInfo::default())
            .subject(&user.id)
            .reason("grace_period_ended")
    };
    assert!(
        !store
            .anonymize_user(&user.id, now, &deleted(now))
            .await
            .unwrap(),
        "not before it is due"
    );
    assert_eq!(
        store.deletions_due(due, 10).await.unwrap(),
        vec![user.id.clone()]
    );
    assert!(
        store
            .anonymize_user(&user.id, due, &deleted(due))
            .await
            .unwrap()
    );
    assert!(
        !store
            .anonymize_user(&user.id, due, &deleted(due))
            .await
            .unwrap(),
        "once"
    );
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec![
            "user.roles_changed",
            "account.deletion_scheduled",
            "account.deleted"
        ],
        "the audit trail stays, with one deletion"
    );
    assert!(
        store
            .user_role_graph(&user.id)
            .await
            .unwrap()
            .assigned
            .is_empty(),
        "roles go"
    );
    assert_eq!(
        store
            .login_failures(&format!("user:{}", user.id))
            .await
            .unwrap(),
        None,
        "the failure counter goes"
    );
    assert!(store.deletions_due(due, 10).await.unwrap().is_empty());

    let tomb = store
        .user_by_id(&user.id)
        .await
        .unwrap()
        .expect("the row stays");
    assert_eq!(tomb.email, "");
    assert_eq!(
        (tomb.username, tomb.name, tomb.password_hash, tomb.locale),
        (None, None, None, None)
    );
    assert_eq!(
        store
            .account_state(&user.id)
            .await
            .unwrap()
            .unwrap()
            .deleted_at,
        Some(due)
    );
    assert_eq!(
        store
            .user_by_email("erased.person@example.org")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.session_by_id(&s.id).await.unwrap(), None);
    assert_eq!(store.outbox_message(&m.id).await.unwrap(), None);
    let everything = db.all_rows_as_text().await;
    // The audit log is the one exception, by design: its events outlive the
    // account until their retention ends, as a security record. They name
    // the account by id and never hold its address, username or name.
    let (audit, rest): (Vec<&str>, Vec<&str>) = everything
        .lines()
        .partition(|l| l.starts_with("audit_events|"));
    let audit = audit.join("\n");
    for pii in [
        "Erased.Person@Example.org",
        "erased.person@example.org",
        "erased_person",
        "Erasmus Personname",
    ] {
        assert!(!audit.contains(pii), "{pii} is in the audit log");
    }
    let text = rest.join("\n");
    for pii in [
        "Erased.Person@Example.org",
        "erased.person@example.org",
        "erased_person",
        "Erasmus Personname",
        "192.0.2.55",
        "ErasedAgent",
    ] {
        assert!(!text.contains(pii), "{pii} is still stored somewhere");
    }
    assert!(
        text.contains(&bystander.email),
        "the dump does see user data"
    );
    assert!(
        matches!(
            store
                .schedule_deletion(
                    &user.id,
                    &cancel,
                    &m,
                    &j,
                    due,
                    &ev(EventType::AccountDeletionScheduled, &user, due)
                )
                .await,
            Err(StoreError::NotFound)
        ),
        "a tombstone cannot be scheduled again"
    );
}
