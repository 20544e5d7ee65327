//! Conformance cases of the account lifecycle: account tokens, account
//! state, the mail outbox, jobs and sweeps.

use std::collections::BTreeSet;
use std::sync::Arc;

use latchkey_core::audit::{AuditEvent, AuditQuery, EventType};
use latchkey_core::auth::ClientInfo;
use latchkey_core::id;
use latchkey_core::lifecycle::{
    AccountToken, NewJob, QueuedMail, Redemption, SweepCutoffs, TokenPurpose,
};
use latchkey_core::session::{Session, SessionCreated};
use latchkey_core::store::{Store, StoreError};
use latchkey_core::user::{Suspension, User};
use time::{Duration, OffsetDateTime};

use super::{base_now, migrated, sample_session, sample_token, sample_user, stored_user};
use crate::db::TestDb;

pub(super) fn token(
    user: &User,
    purpose: TokenPurpose,
    now: OffsetDateTime,
    ttl: Duration,
) -> AccountToken {
    AccountToken {
        token_hash: format!("at-{}", id::new_id()),
        user_id: user.id.clone(),
        purpose,
        email: Some(user.email_normalized.clone()),
        created_at: now,
        expires_at: now + ttl,
        used_at: None,
    }
}

pub(super) fn mail(user: Option<&User>, now: OffsetDateTime) -> (QueuedMail, NewJob) {
    let id = id::new_id();
    (
        QueuedMail {
            id: id.clone(),
            user_id: user.map(|u| u.id.clone()),
            template: "verify_email".into(),
            sealed: b"sealed bytes".to_vec(),
            created_at: now,
        },
        job("mail.send", &format!("mail:{id}"), now),
    )
}

pub(super) fn job(kind: &str, key: &str, run_at: OffsetDateTime) -> NewJob {
    NewJob {
        id: id::new_id(),
        kind: kind.into(),
        idempotency_key: key.into(),
        payload: b"{}".to_vec(),
        run_at,
        max_attempts: 3,
        created_at: run_at,
    }
}

/// An event by `user` about their own account, from `ip`.
fn ev_from(kind: EventType, user: &User, now: OffsetDateTime, ip: &str) -> AuditEvent {
    let client = ClientInfo {
        ip: Some(ip.into()),
        user_agent: Some("conformance".into()),
        request_id: Some(id::new_id()),
    };
    AuditEvent::new(kind, now, &client)
        .actor(Some(&user.id))
        .subject(&user.id)
}

pub(super) fn ev(kind: EventType, user: &User, now: OffsetDateTime) -> AuditEvent {
    ev_from(kind, user, now, "198.51.100.20")
}

/// The types of the events about `user_id`, oldest first.
pub(super) async fn events_about(store: &dyn Store, user_id: &str) -> Vec<String> {
    store
        .audit_events(&AuditQuery {
            subject_id: Some(user_id.to_owned()),
            oldest_first: true,
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

pub(super) async fn with_token(
    store: &dyn Store,
    user: &User,
    purpose: TokenPurpose,
    now: OffsetDateTime,
) -> AccountToken {
    let t = token(user, purpose, now, Duration::hours(1));
    let (m, j) = mail(Some(user), now);
    store
        .insert_account_token(&t, &m, &j, None, None)
        .await
        .unwrap();
    t
}

pub(super) async fn session_of(store: &dyn Store, user: &User, now: OffsetDateTime) -> Session {
    let s = sample_session(&user.id, now);
    store
        .create_session(&s, Some(&sample_token(&s.id, now)))
        .await
        .unwrap();
    s
}

pub(super) async fn active(store: &dyn Store, user: &User, now: OffsetDateTime) -> usize {
    store
        .active_sessions_of_user(&user.id, now)
        .await
        .unwrap()
        .len()
}

/// A newer token voids the user's unused tokens of the same purpose only.
pub async fn account_tokens_supersede_older_ones_of_the_same_purpose(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let other = stored_user(store.as_ref()).await;
    let first = with_token(store.as_ref(), &user, TokenPurpose::PasswordReset, now).await;
    let verify = with_token(store.as_ref(), &user, TokenPurpose::VerifyEmail, now).await;
    let others = with_token(store.as_ref(), &other, TokenPurpose::PasswordReset, now).await;
    assert_eq!(
        store.account_token(&first.token_hash).await.unwrap(),
        Some(first.clone()),
        "round trip"
    );
    let later = now + Duration::seconds(1);
    let second = with_token(store.as_ref(), &user, TokenPurpose::PasswordReset, later).await;
    let got = store
        .account_token(&first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.used_at, Some(later), "the older reset token is void");
    for t in [&second, &verify, &others] {
        assert_eq!(
            store
                .account_token(&t.token_hash)
                .await
                .unwrap()
                .unwrap()
                .used_at,
            None,
            "{:?} of {} stays",
            t.purpose,
            t.user_id
        );
    }
    assert_eq!(store.account_token("nope").await.unwrap(), None);
    // a token stored with its event records it, in the same transaction
    assert!(events_about(store.as_ref(), &user.id).await.is_empty());
    let t = token(&user, TokenPurpose::EmailChange, later, Duration::hours(1));
    let (m, j) = mail(Some(&user), later);
    let e = ev(EventType::EmailChangeRequested, &user, later);
    store
        .insert_account_token(&t, &m, &j, None, Some(&e))
        .await
        .unwrap();
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec!["email_change.requested"]
    );
}

/// A token works once, for its purpose, before it expires.
pub async fn redemption_is_single_use_and_checks_purpose_and_expiry(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let t = with_token(store.as_ref(), &user, TokenPurpose::VerifyEmail, now).await;
    let redeem = |purpose, at| {
        let store = store.clone();
        let hash = t.token_hash.clone();
        let e = ev(EventType::EmailVerified, &user, now);
        async move {
            store
                .redeem_account_token(&hash, purpose, &Redemption::VerifyEmail, None, at, &e)
                .await
                .unwrap()
        }
    };
    assert_eq!(redeem(TokenPurpose::PasswordReset, now).await, None);
    assert_eq!(
        redeem(TokenPurpose::VerifyEmail, now + Duration::hours(1)).await,
        None,
        "expired at expires_at"
    );
    assert!(
        events_about(store.as_ref(), &user.id).await.is_empty(),
        "no event without a redemption"
    );
    let got = redeem(TokenPurpose::VerifyEmail, now)
        .await
        .expect("redeemed");
    assert_eq!(got.user_id, user.id);
    assert_eq!(got.previous_email, user.email);
    assert!(
        store
            .user_by_id(&user.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified,
        "verified"
    );
    assert_eq!(redeem(TokenPurpose::VerifyEmail, now).await, None, "used");
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec!["email.verified"],
        "one event, with the one redemption"
    );
    assert_eq!(
        store
            .redeem_account_token(
                "unknown",
                TokenPurpose::VerifyEmail,
                &Redemption::VerifyEmail,
                None,
                now,
                &ev(EventType::EmailVerified, &user, now),
            )
            .await
            .unwrap(),
        None
    );
}

/// A verification link mailed to an old address does nothing once the
/// address changed: the change voided it (issue 11), and the refused
/// redemption changes nothing more.
pub async fn verification_is_void_once_the_address_changed(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let mut user = stored_user(store.as_ref()).await;
    let t = with_token(store.as_ref(), &user, TokenPurpose::VerifyEmail, now).await;
    let moved = now + Duration::seconds(1);
    user.email = format!("moved-{}", user.email);
    user.email_normalized = latchkey_core::user::normalize_email(&user.email);
    user.updated_at = moved;
    store.update_user(&user, None).await.unwrap();
    assert_eq!(
        store
            .redeem_account_token(
                &t.token_hash,
                TokenPurpose::VerifyEmail,
                &Redemption::VerifyEmail,
                None,
                now,
                &ev(EventType::EmailVerified, &user, now),
            )
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .user_by_id(&user.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
    assert_eq!(
        store
            .account_token(&t.token_hash)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        Some(moved),
        "voided by the change of address, not by the refused redemption"
    );
    assert!(events_about(store.as_ref(), &user.id).await.is_empty());
}

/// A reset sets the password, verifies the address, voids other reset
/// tokens and ends every session.
pub async fn reset_sets_the_password_and_ends_every_session(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    session_of(store.as_ref(), &user, now).await;
    session_of(store.as_ref(), &user, now).await;
    let other = stored_user(store.as_ref()).await;
    session_of(store.as_ref(), &other, now).await;
    let t = with_token(store.as_ref(), &user, TokenPurpose::PasswordReset, now).await;
    let got = store
        .redeem_account_token(
            &t.token_hash,
            TokenPurpose::PasswordReset,
            &Redemption::ResetPassword {
                password_hash: "$argon2id$new".into(),
            },
            None,
            now,
            &ev(EventType::PasswordResetCompleted, &user, now),
        )
        .await
        .unwrap();
    assert_eq!(got.map(|r| r.user_id), Some(user.id.clone()));
    let after = store.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(after.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(after.email_verified);
    assert_eq!(active(store.as_ref(), &user, now).await, 0);
    assert_eq!(
        active(store.as_ref(), &other, now).await,
        1,
        "others untouched"
    );
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec!["password_reset.completed"]
    );
}

/// An email change moves the address; if someone took it meanwhile, the
/// redemption fails with a conflict and the token stays usable.
pub async fn email_change_applies_or_conflicts_without_using_the_token(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    session_of(store.as_ref(), &user, now).await;
    let mut t = token(&user, TokenPurpose::EmailChange, now, Duration::hours(1));
    t.email = Some("New.Address@Example.com".into());
    let (m, j) = mail(Some(&user), now);
    store
        .insert_account_token(&t, &m, &j, None, None)
        .await
        .unwrap();
    let squatter = sample_user("new.address@example.com", None);
    store.insert_user(&squatter, &[], None).await.unwrap();
    let err = store
        .redeem_account_token(
            &t.token_hash,
            TokenPurpose::EmailChange,
            &Redemption::ChangeEmail,
            None,
            now,
            &ev(EventType::EmailChangeConfirmed, &user, now),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "{err:?}");
    assert_eq!(
        store
            .account_token(&t.token_hash)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None,
        "rolled back"
    );
    assert!(
        events_about(store.as_ref(), &user.id).await.is_empty(),
        "the event rolled back too"
    );
    db.delete_user_directly(&squatter.id).await;
    let got = store
        .redeem_account_token(
            &t.token_hash,
            TokenPurpose::EmailChange,
            &Redemption::ChangeEmail,
            None,
            now,
            &ev(EventType::EmailChangeConfirmed, &user, now),
        )
        .await
        .unwrap()
        .expect("redeemed");
    assert_eq!(got.previous_email, user.email);
    let after = store.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(after.email, "New.Address@Example.com");
    assert_eq!(after.email_normalized, "new.address@example.com");
    assert!(after.email_verified);
    assert_eq!(active(store.as_ref(), &user, now).await, 1, "sessions stay");
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec!["email_change.confirmed"]
    );
}

/// Of many concurrent redemptions of one token on several handles, one wins.
pub async fn concurrent_redemptions_let_exactly_one_through(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let t = with_token(store.as_ref(), &user, TokenPurpose::PasswordReset, now).await;
    let mut handles: Vec<Arc<dyn Store>> = vec![store.clone()];
    for _ in 0..3 {
        handles.push(db.open().await);
    }
    let results = futures_util::future::join_all((0..24).map(|i| {
        let store = handles[i % handles.len()].clone();
        let hash = t.token_hash.clone();
        let e = ev(EventType::PasswordResetCompleted, &user, now);
        async move {
            store
                .redeem_account_token(
                    &hash,
                    TokenPurpose::PasswordReset,
                    &Redemption::ResetPassword {
                        password_hash: format!("hash-{i}"),
                    },
                    None,
                    now,
                    &e,
                )
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(results.iter().filter(|r| r.is_some()).count(), 1);
    assert_eq!(
        events_about(store.as_ref(), &user.id).await.len(),
        1,
        "one event for the one redemption"
    );
}

/// Suspension is the administrators' (see `suspension_ends_sessions_and_blocks_new_ones`):
/// the lifecycle sweep leaves an ended suspension as it is. It is inactive
/// by its end time (sessions may be created again), the record stays for
/// administrators (`active: false` in their view) until the next suspension
/// replaces it or an unsuspension (with its audit event) clears it.
pub async fn sweep_leaves_ended_suspensions_inactive_and_on_record(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    session_of(store.as_ref(), &user, now).await;
    let until = now + Duration::hours(2);
    let suspension = Suspension {
        suspended_at: now,
        until: Some(until),
        reason: "spam".into(),
    };
    let e = ev(EventType::UserSuspended, &user, now);
    assert_eq!(
        store.suspend_user(&user.id, &suspension, &e).await.unwrap(),
        1
    );
    assert_eq!(active(store.as_ref(), &user, now).await, 0);
    let cut = |at| SweepCutoffs {
        now: at,
        retain_after: at - Duration::days(7),
    };
    for at in [now, until, until + Duration::days(10)] {
        store.sweep(cut(at).plan()).await.unwrap();
        let stored = store.user_by_id(&user.id).await.unwrap().unwrap();
        assert_eq!(
            stored.suspension.as_ref(),
            Some(&suspension),
            "kept at {at}"
        );
        assert_eq!(
            stored.active_suspension(at).is_some(),
            at < until,
            "in force only before its end ({at})"
        );
    }
    // ended: a sign-in's session is stored again
    let later = sample_session(&user.id, until);
    assert_eq!(
        store.create_session(&later, None).await.unwrap(),
        SessionCreated::Created
    );
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec!["user.suspended"]
    );
}

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

/// Mail is queued with its job once per idempotency key; marking it sent
/// wipes the content, once.
pub async fn mail_is_queued_once_and_wiped_when_sent(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (m, j) = mail(None, now);
    assert!(store.enqueue_mail(&m, &j).await.unwrap());
    let mut again = m.clone();
    again.id = id::new_id();
    let mut j2 = j.clone();
    j2.id = id::new_id();
    assert!(!store.enqueue_mail(&again, &j2).await.unwrap(), "same key");
    assert_eq!(store.outbox_message(&again.id).await.unwrap(), None);
    let got = store.outbox_message(&m.id).await.unwrap().unwrap();
    assert_eq!(got.sealed.as_deref(), Some(&b"sealed bytes"[..]));
    assert_eq!(
        (got.sent_at, got.user_id, got.created_at),
        (None, None, now)
    );
    assert!(store.mark_mail_sent(&m.id, now).await.unwrap());
    assert!(!store.mark_mail_sent(&m.id, now).await.unwrap(), "once");
    let got = store.outbox_message(&m.id).await.unwrap().unwrap();
    assert_eq!((got.sealed, got.sent_at), (None, Some(now)));
}

/// The job lifecycle: one per key, claimed under a lease, re-claimed after
/// it expires, finished only by the holder, retried or given up.
pub async fn jobs_are_claimed_under_a_lease_and_finished_by_their_holder(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let a = job("test", "key-a", now);
    assert!(store.enqueue_job(&a).await.unwrap());
    let mut dup = job("test", "key-a", now);
    dup.kind = "other".into();
    assert!(!store.enqueue_job(&dup).await.unwrap());
    let later = job("test", "key-later", now + Duration::minutes(5));
    store.enqueue_job(&later).await.unwrap();

    let lease = now + Duration::minutes(1);
    let got = store.claim_jobs("w1", now, lease, 10).await.unwrap();
    assert_eq!(got.len(), 1, "only what is due");
    assert_eq!((got[0].id.as_str(), got[0].attempts), (a.id.as_str(), 1));
    assert_eq!(got[0].payload, b"{}");
    assert_eq!((got[0].kind.as_str(), got[0].max_attempts), ("test", 3));
    assert!(
        store
            .claim_jobs("w2", now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    // the lease ends: another worker takes over
    let got = store
        .claim_jobs("w2", lease, lease + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(got.iter().map(|j| j.attempts).collect::<Vec<_>>(), vec![2]);
    assert!(
        !store.complete_job(&a.id, "w1", lease).await.unwrap(),
        "not the holder"
    );
    assert!(!store.fail_job(&a.id, "w1", "x", None, lease).await.unwrap());
    let retry = lease + Duration::seconds(30);
    assert!(
        store
            .fail_job(&a.id, "w2", "smtp down", Some(retry), lease)
            .await
            .unwrap()
    );
    let rec = store.job(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (rec.run_at, rec.finished_at, rec.last_error.as_deref()),
        (retry, None, Some("smtp down"))
    );
    assert!(
        store
            .claim_jobs("w3", lease, retry, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let got = store
        .claim_jobs("w3", retry, retry + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert!(store.complete_job(&a.id, "w3", retry).await.unwrap());
    assert!(
        !store.complete_job(&a.id, "w3", retry).await.unwrap(),
        "once"
    );
    let rec = store.job(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (rec.outcome.as_deref(), rec.finished_at, rec.attempts),
        (Some("done"), Some(retry), 3)
    );
    // giving up
    let at = now + Duration::minutes(5);
    let got = store
        .claim_jobs("w4", at, at + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        store
            .fail_job(&later.id, "w4", "permanent", None, at)
            .await
            .unwrap()
    );
    let rec = store.job(&later.id).await.unwrap().unwrap();
    assert_eq!(
        (rec.outcome.as_deref(), rec.finished_at),
        (Some("failed"), Some(at))
    );
    assert!(
        store
            .claim_jobs("w5", at + Duration::days(1), at + Duration::days(2), 10)
            .await
            .unwrap()
            .is_empty(),
        "finished jobs never run again"
    );
    assert_eq!(store.job("nope").await.unwrap(), None);
}

/// Many workers on several handles claiming at once: every job is handed
/// out exactly once.
pub async fn concurrent_claims_hand_each_job_to_one_worker(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let mut ids = BTreeSet::new();
    for i in 0..40 {
        let j = job("test", &format!("many-{i}"), now);
        ids.insert(j.id.clone());
        store.enqueue_job(&j).await.unwrap();
    }
    let mut handles: Vec<Arc<dyn Store>> = vec![store.clone()];
    for _ in 0..3 {
        handles.push(db.open().await);
    }
    let claimed = futures_util::future::join_all((0..8).map(|w| {
        let store = handles[w % handles.len()].clone();
        async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_jobs(&format!("w{w}"), now, now + Duration::minutes(1), 3)
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
        }
    }))
    .await;
    let all: Vec<String> = claimed.into_iter().flatten().collect();
    let unique: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), unique.len(), "a job was claimed twice");
    assert_eq!(unique, ids);
}

/// The sweep removes ended sessions past retention, expired refresh tokens,
/// stale grace responses, used or expired account tokens, old finished jobs
/// and old mail; everything else stays.
pub async fn sweep_removes_what_expired_and_keeps_the_rest(db: &dyn TestDb) {
    let store = migrated(db).await;
    let t0 = base_now() - Duration::days(60);
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    // a job finished long ago, one pending
    let done = job("test", "done-long-ago", t0);
    store.enqueue_job(&done).await.unwrap();
    store
        .claim_jobs("w", t0, t0 + Duration::minutes(1), 1)
        .await
        .unwrap();
    assert!(store.complete_job(&done.id, "w", t0).await.unwrap());
    // an old session, long expired, and a live one
    let old = session_of(store.as_ref(), &user, t0).await;
    let live = session_of(store.as_ref(), &user, now).await;
    // a rotation on the live session leaves a used token with a grace response
    let rt = sample_token(&live.id, now);
    let s2 = sample_session(&user.id, now);
    store.create_session(&s2, Some(&rt)).await.unwrap();
    let rotation = latchkey_core::session::Rotation {
        presented_hash: rt.token_hash.clone(),
        successor: sample_token(&s2.id, now),
        successor_sealed: b"grace".to_vec(),
        grace_until: now + Duration::seconds(10),
        idle_expires_at: now + Duration::days(7),
        now,
    };
    store.rotate_refresh_token(&rotation).await.unwrap();
    // tokens: one used, one expired, one live
    let used = with_token(store.as_ref(), &user, TokenPurpose::VerifyEmail, now).await;
    store
        .redeem_account_token(
            &used.token_hash,
            TokenPurpose::VerifyEmail,
            &Redemption::VerifyEmail,
            None,
            now,
            &ev(EventType::EmailVerified, &user, now),
        )
        .await
        .unwrap()
        .unwrap();
    let expired = token(
        &user,
        TokenPurpose::PasswordReset,
        t0,
        Duration::minutes(15),
    );
    let (m0, j0) = mail(Some(&user), t0);
    store
        .insert_account_token(&expired, &m0, &j0, None, None)
        .await
        .unwrap();
    let live_token = with_token(store.as_ref(), &user, TokenPurpose::EmailChange, now).await;
    let pending = job("test", "pending", now + Duration::hours(1));
    store.enqueue_job(&pending).await.unwrap();

    let report = store
        .sweep(
            SweepCutoffs {
                now: now + Duration::seconds(11),
                retain_after: now - Duration::days(7),
            }
            .plan(),
        )
        .await
        .unwrap();
    assert_eq!(report.sessions, 1, "{report:?}");
    assert_eq!(store.session_by_id(&old.id).await.unwrap(), None);
    assert!(store.session_by_id(&live.id).await.unwrap().is_some());
    assert_eq!(report.grace_responses, 1, "{report:?}");
    assert_eq!(report.account_tokens, 2, "{report:?}");
    assert!(
        store
            .account_token(&live_token.token_hash)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(report.jobs, 1, "{report:?}");
    assert_eq!(store.job(&done.id).await.unwrap(), None);
    assert!(store.job(&pending.id).await.unwrap().is_some());
    assert_eq!(report.mail, 1, "{report:?}");
    assert_eq!(store.outbox_message(&m0.id).await.unwrap(), None);
    // the used token's successor still rotates: nothing live was touched
    assert_eq!(
        store
            .refresh_token(&rotation.successor.token_hash)
            .await
            .unwrap()
            .map(|(t, _)| t.used_at),
        Some(None)
    );
    // expired refresh tokens go once their expiry passes
    let report = store
        .sweep(
            SweepCutoffs {
                now: now + Duration::days(31),
                retain_after: now - Duration::days(7),
            }
            .plan(),
        )
        .await
        .unwrap();
    assert!(report.refresh_tokens >= 2, "{report:?}");
}
