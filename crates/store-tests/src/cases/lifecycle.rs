//! Conformance cases of account tokens: supersession, single-use
//! redemption of each purpose, voiding, concurrent redemptions; and the
//! helpers the lifecycle cases share (`account_state.rs`, `jobs.rs`).

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
pub(super) fn ev_from(kind: EventType, user: &User, now: OffsetDateTime, ip: &str) -> AuditEvent {
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
