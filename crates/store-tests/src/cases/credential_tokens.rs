//! Conformance cases of issue 11: outstanding credential tokens die with
//! every change of the account's address or password (and with suspension
//! and a scheduled deletion), inside the change's transaction; a write that
//! owes a mail commits it with the write; a retried token mail stores
//! nothing new.

use latchkey_core::audit::EventType;
use latchkey_core::lifecycle::{
    AccountToken, CREDENTIAL_TOKENS, NewJob, QueuedMail, Redeemed, Redemption, TokenPurpose,
};
use latchkey_core::store::{Store, StoreError};
use latchkey_core::user::{Suspension, User, normalize_email};
use time::{Duration, OffsetDateTime};

use super::lifecycle::{ev, events_about, mail, token, with_token};
use super::{base_now, migrated, sample_user, stored_user};
use crate::TestDb;

/// A change that must void the credential tokens of an account.
#[derive(Debug, Clone, Copy)]
pub(super) enum Change {
    PasswordChanged,
    ResetCompleted,
    EmailChangeConfirmed,
    AddressEdited,
    AddressEditedByAnAdministrator,
    Suspended,
    DeletionScheduled,
}

/// Every change that voids the credential tokens.
pub(super) const EVERY_CHANGE: [Change; 7] = [
    Change::PasswordChanged,
    Change::ResetCompleted,
    Change::EmailChangeConfirmed,
    Change::AddressEdited,
    Change::AddressEditedByAnAdministrator,
    Change::Suspended,
    Change::DeletionScheduled,
];

/// The user's live tokens of every purpose: verification, reset, email
/// change (to a new address) and cancel-deletion.
pub(super) async fn tokens_of_every_purpose(
    store: &dyn Store,
    user: &User,
    now: OffsetDateTime,
) -> Vec<AccountToken> {
    let mut all = Vec::new();
    for purpose in [
        TokenPurpose::VerifyEmail,
        TokenPurpose::PasswordReset,
        TokenPurpose::CancelDeletion,
    ] {
        all.push(with_token(store, user, purpose, now).await);
    }
    let mut change = token(user, TokenPurpose::EmailChange, now, Duration::hours(1));
    change.email = Some(format!("next-{}", user.email_normalized));
    let (m, j) = mail(Some(user), now);
    assert!(
        store
            .insert_account_token(&change, &m, &j, None, None)
            .await
            .unwrap()
    );
    all.push(change);
    all
}

async fn used_at(store: &dyn Store, t: &AccountToken) -> Option<OffsetDateTime> {
    store
        .account_token(&t.token_hash)
        .await
        .unwrap()
        .expect("the token row stays")
        .used_at
}

fn of(tokens: &[AccountToken], purpose: TokenPurpose) -> &AccountToken {
    tokens.iter().find(|t| t.purpose == purpose).unwrap()
}

pub(super) async fn apply(
    store: &dyn Store,
    change: Change,
    user: &User,
    tokens: &[AccountToken],
    at: OffsetDateTime,
) {
    let moved = |user: &User| {
        let mut u = user.clone();
        u.email = format!("moved-{}", u.email);
        u.email_normalized = normalize_email(&u.email);
        u.updated_at = at;
        u
    };
    match change {
        Change::PasswordChanged => {
            store
                .change_password(
                    &user.id,
                    "$argon2id$changed",
                    None,
                    None,
                    at,
                    &ev(EventType::PasswordChanged, user, at),
                )
                .await
                .unwrap();
        }
        Change::ResetCompleted => {
            let t = of(tokens, TokenPurpose::PasswordReset);
            reset(store, t, "$argon2id$reset", None, at)
                .await
                .expect("redeemed");
        }
        Change::EmailChangeConfirmed => {
            let t = of(tokens, TokenPurpose::EmailChange);
            store
                .redeem_account_token(
                    &t.token_hash,
                    t.purpose,
                    &Redemption::ChangeEmail,
                    None,
                    at,
                    &ev(EventType::EmailChangeConfirmed, user, at),
                )
                .await
                .unwrap()
                .expect("redeemed");
        }
        Change::AddressEdited => store.update_user(&moved(user), None).await.unwrap(),
        Change::AddressEditedByAnAdministrator => store
            .update_user(&moved(user), Some(&ev(EventType::UserUpdated, user, at)))
            .await
            .unwrap(),
        Change::Suspended => {
            let s = Suspension {
                suspended_at: at,
                until: None,
                reason: "conformance".into(),
            };
            store
                .suspend_user(&user.id, &s, &ev(EventType::UserSuspended, user, at))
                .await
                .unwrap();
        }
        Change::DeletionScheduled => {
            let cancel = token(user, TokenPurpose::CancelDeletion, at, Duration::days(30));
            let (m, j) = mail(Some(user), at);
            store
                .schedule_deletion(
                    &user.id,
                    &cancel,
                    &m,
                    &j,
                    at,
                    &ev(EventType::AccountDeletionScheduled, user, at),
                )
                .await
                .unwrap();
        }
    }
}

/// Redeems a reset link (setting `password_hash`) with its notice.
async fn reset(
    store: &dyn Store,
    t: &AccountToken,
    password_hash: &str,
    notice: Option<(&QueuedMail, &NewJob)>,
    at: OffsetDateTime,
) -> Option<Redeemed> {
    let user = store.user_by_id(&t.user_id).await.unwrap().unwrap();
    store
        .redeem_account_token(
            &t.token_hash,
            TokenPurpose::PasswordReset,
            &Redemption::ResetPassword {
                password_hash: password_hash.into(),
            },
            notice,
            at,
            &ev(EventType::PasswordResetCompleted, &user, at),
        )
        .await
        .unwrap()
}

/// Every change of address or password, a suspension and a scheduled
/// deletion void the account's verification, reset and email-change
/// tokens at the change's time, in its transaction; other accounts' tokens
/// and the way back from a deletion (cancel-deletion) stay; a profile edit
/// that keeps the address voids nothing.
pub async fn credential_tokens_die_with_every_change_of_address_or_password(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let at = now + Duration::seconds(1);
    for change in EVERY_CHANGE {
        let user = stored_user(store.as_ref()).await;
        let bystander = stored_user(store.as_ref()).await;
        let tokens = tokens_of_every_purpose(store.as_ref(), &user, now).await;
        let theirs = tokens_of_every_purpose(store.as_ref(), &bystander, now).await;
        apply(store.as_ref(), change, &user, &tokens, at).await;
        for t in &tokens {
            // a cancel-deletion link goes only when a new one supersedes it
            let voided = CREDENTIAL_TOKENS.contains(&t.purpose)
                || matches!(change, Change::DeletionScheduled);
            let expected = voided.then_some(at);
            assert_eq!(
                used_at(store.as_ref(), t).await,
                expected,
                "{change:?}: the {:?} token",
                t.purpose
            );
        }
        for t in &theirs {
            assert_eq!(
                used_at(store.as_ref(), t).await,
                None,
                "{change:?}: another account's {:?} token",
                t.purpose
            );
        }
    }
    // a profile edit that keeps the address (only the case differs) voids nothing
    let user = stored_user(store.as_ref()).await;
    let tokens = tokens_of_every_purpose(store.as_ref(), &user, now).await;
    let mut edited = user.clone();
    edited.name = Some("Another Name".into());
    edited.email = user.email.to_uppercase();
    edited.updated_at = at;
    assert_eq!(normalize_email(&edited.email), user.email_normalized);
    store.update_user(&edited, None).await.unwrap();
    store
        .update_user(&edited, Some(&ev(EventType::UserUpdated, &user, at)))
        .await
        .unwrap();
    for t in &tokens {
        assert_eq!(used_at(store.as_ref(), t).await, None, "{:?}", t.purpose);
    }
}

/// A reset link made for an address the account has left (a reset job
/// that looked the old address up while the change committed) is refused:
/// nothing changes, nothing is recorded.
pub async fn a_reset_link_for_an_address_the_account_left_is_refused(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let mut moved = user.clone();
    moved.email = format!("moved-{}", user.email);
    moved.email_normalized = normalize_email(&moved.email);
    store.update_user(&moved, None).await.unwrap();
    // made after the change, for the address looked up before it
    let late = with_token(store.as_ref(), &user, TokenPurpose::PasswordReset, now).await;
    assert_eq!(late.email.as_deref(), Some(user.email_normalized.as_str()));
    let got = reset(store.as_ref(), &late, "$argon2id$taken-over", None, now).await;
    assert_eq!(got, None);
    let after = store.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(
        after.password_hash, user.password_hash,
        "password unchanged"
    );
    assert!(events_about(store.as_ref(), &user.id).await.is_empty());
    // and a link for the current address works
    let good = with_token(store.as_ref(), &moved, TokenPurpose::PasswordReset, now).await;
    let got = reset(store.as_ref(), &good, "$argon2id$owner", None, now).await;
    assert!(got.is_some());
}

/// A registration stores the user, its verification token, the mail with
/// the link (and its delivery job) and the event in one transaction; a
/// refused registration stores none of them.
pub async fn registration_commits_the_user_its_mail_and_its_event_together(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let email = format!("{}@example.com", latchkey_core::id::new_id());
    let user = sample_user(
        &email,
        Some(&format!("u{}", &latchkey_core::id::new_id()[..8])),
    );
    let t = token(&user, TokenPurpose::VerifyEmail, now, Duration::hours(24));
    let (m, j) = mail(Some(&user), now);
    store
        .register_user(
            &user,
            &t,
            &m,
            &j,
            &ev(EventType::UserRegistered, &user, now),
        )
        .await
        .unwrap();
    assert_eq!(
        store.user_by_id(&user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(store.account_token(&t.token_hash).await.unwrap(), Some(t));
    assert!(store.outbox_message(&m.id).await.unwrap().is_some());
    assert!(store.job(&j.id).await.unwrap().is_some());
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec!["user.registered"]
    );

    // the same address (after normalization), then the same username: nothing at all
    let same_email = sample_user(&email.to_uppercase(), None);
    let same_username = sample_user(
        &format!("{}@example.com", latchkey_core::id::new_id()),
        user.username.as_deref(),
    );
    for (again, field) in [(same_email, "email"), (same_username, "username")] {
        let t = token(&again, TokenPurpose::VerifyEmail, now, Duration::hours(24));
        let (m, j) = mail(Some(&again), now);
        let err = store
            .register_user(
                &again,
                &t,
                &m,
                &j,
                &ev(EventType::UserRegistered, &again, now),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(f) if f == field),
            "{err:?}"
        );
        assert_eq!(store.user_by_id(&again.id).await.unwrap(), None);
        assert_eq!(store.account_token(&t.token_hash).await.unwrap(), None);
        assert_eq!(store.outbox_message(&m.id).await.unwrap(), None);
        assert_eq!(store.job(&j.id).await.unwrap(), None);
        assert!(events_about(store.as_ref(), &again.id).await.is_empty());
    }
}

/// A token mail whose delivery job's idempotency key exists (the retry of
/// a job that made it before) stores nothing: the first token stays live,
/// no second token, mail, notice or event appears.
pub async fn a_retried_token_mail_finds_the_first_one_and_stores_nothing(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let key = format!("password_reset.request:{}", latchkey_core::id::new_id());
    let first = token(
        &user,
        TokenPurpose::PasswordReset,
        now,
        Duration::minutes(15),
    );
    let (m1, mut j1) = mail(Some(&user), now);
    j1.idempotency_key = key.clone();
    let e = ev(EventType::PasswordResetRequested, &user, now);
    assert!(
        store
            .insert_account_token(&first, &m1, &j1, None, Some(&e))
            .await
            .unwrap()
    );
    let later = now + Duration::seconds(5);
    let second = token(
        &user,
        TokenPurpose::PasswordReset,
        later,
        Duration::minutes(15),
    );
    let (m2, mut j2) = mail(Some(&user), later);
    j2.idempotency_key = key;
    let (notice, notice_job) = mail(Some(&user), later);
    assert!(
        !store
            .insert_account_token(
                &second,
                &m2,
                &j2,
                Some((&notice, &notice_job)),
                Some(&ev(EventType::PasswordResetRequested, &user, later)),
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.account_token(&first.token_hash).await.unwrap(),
        Some(first)
    );
    assert_eq!(store.account_token(&second.token_hash).await.unwrap(), None);
    for id in [&m2.id, &notice.id] {
        assert_eq!(store.outbox_message(id).await.unwrap(), None);
    }
    for id in [&j2.id, &notice_job.id] {
        assert_eq!(store.job(id).await.unwrap(), None);
    }
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        vec!["password_reset.requested"]
    );
}

/// The notice a change owes (the old address told of an email change, the
/// owner told of a completed reset) commits with the change, and only
/// with it.
pub async fn notices_commit_with_their_change_and_only_with_it(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    // an email change's link and the notice to the current address
    let mut change = token(&user, TokenPurpose::EmailChange, now, Duration::hours(1));
    change.email = Some(format!("next-{}", user.email_normalized));
    let (m, j) = mail(Some(&user), now);
    let (notice, notice_job) = mail(Some(&user), now);
    assert!(
        store
            .insert_account_token(&change, &m, &j, Some((&notice, &notice_job)), None)
            .await
            .unwrap()
    );
    assert!(store.outbox_message(&notice.id).await.unwrap().is_some());
    assert!(store.job(&notice_job.id).await.unwrap().is_some());
    // a completed reset and its notice
    let reset_link = with_token(store.as_ref(), &user, TokenPurpose::PasswordReset, now).await;
    let redeem = async |(m, j): (QueuedMail, NewJob)| {
        let got = reset(
            store.as_ref(),
            &reset_link,
            "$argon2id$new",
            Some((&m, &j)),
            now,
        )
        .await;
        (
            got.is_some(),
            store.outbox_message(&m.id).await.unwrap().is_some(),
            store.job(&j.id).await.unwrap().is_some(),
        )
    };
    assert_eq!(redeem(mail(Some(&user), now)).await, (true, true, true));
    // the link is used: no redemption, and no notice either
    assert_eq!(redeem(mail(Some(&user), now)).await, (false, false, false));
}
