//! Conformance cases of issue 14: second factors. A time step and a backup
//! code are accepted once, also under concurrency; an `mfa_token` is used
//! once and dies with its failures; changes commit with their event.

use std::sync::Arc;

use latchkey_core::audit::EventType;
use latchkey_core::mfa::{MAX_CHALLENGE_FAILURES, MfaChallenge, TotpFactor};
use latchkey_core::session::SessionKind;
use latchkey_core::store::{Store, StoreError};
use latchkey_core::user::User;
use time::{Duration, OffsetDateTime};

use super::lifecycle::{ev, events_about, mail};
use super::{base_now, migrated, sample_session, stored_user};
use crate::TestDb;

const STEP: i64 = 56_666_666;

/// What the tasks that got something got.
async fn joined<T>(tasks: Vec<tokio::task::JoinHandle<Option<T>>>) -> Vec<T> {
    let mut got = Vec::new();
    for t in tasks {
        got.extend(t.await.unwrap());
    }
    got
}

fn pending(user: &User, now: OffsetDateTime, secret: &[u8]) -> TotpFactor {
    TotpFactor {
        user_id: user.id.clone(),
        secret_sealed: secret.to_vec(),
        created_at: now,
        confirmed_at: None,
        last_step: None,
    }
}

fn codes(prefix: &str) -> Vec<String> {
    (0..10).map(|i| format!("{prefix}-{i:02}")).collect()
}

/// An enrolled user (confirmed at `STEP`, codes `a-00`..`a-09`) with an aal1
/// session that confirmed it and another session.
async fn enrolled(store: &dyn Store, now: OffsetDateTime) -> (User, String, String) {
    let user = stored_user(store).await;
    let (mut this, other) = (sample_session(&user.id, now), sample_session(&user.id, now));
    this.amr = vec!["pwd".into()];
    for s in [&this, &other] {
        store.create_session(s, None).await.unwrap();
    }
    store
        .put_pending_totp(&pending(&user, now, b"sealed-1"))
        .await
        .unwrap();
    let amr = vec!["pwd".to_owned(), "otp".into(), "mfa".into()];
    let confirmed = store
        .confirm_totp(
            &user.id,
            b"sealed-1",
            STEP,
            &codes("a"),
            &this.id,
            &amr,
            now,
            &ev(EventType::MfaEnabled, &user, now),
        )
        .await
        .unwrap();
    assert!(confirmed);
    (user, this.id, other.id)
}

/// Enrolment: pending factors are replaced until one is confirmed (with the
/// secret that was shown), then refused; confirming raises the session,
/// ends the others and stores the codes and the event together.
pub async fn totp_enrolment_is_pending_until_confirmed_once(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    assert_eq!(store.totp_factor(&user.id).await.unwrap(), None);
    store
        .put_pending_totp(&pending(&user, now, b"first"))
        .await
        .unwrap();
    store
        .put_pending_totp(&pending(&user, now, b"second"))
        .await
        .unwrap();
    let f = store.totp_factor(&user.id).await.unwrap().unwrap();
    assert_eq!(
        (f.secret_sealed.as_slice(), f.confirmed_at),
        (&b"second"[..], None)
    );
    let session = sample_session(&user.id, now);
    let other = sample_session(&user.id, now);
    for s in [&session, &other] {
        store.create_session(s, None).await.unwrap();
    }
    let amr = vec!["pwd".to_owned(), "otp".into(), "mfa".into()];
    let event = ev(EventType::MfaEnabled, &user, now);
    let later = now + Duration::seconds(3);
    let confirm = |sealed: &'static [u8]| {
        let (store, user, session, amr, event) = (
            store.clone(),
            user.clone(),
            session.id.clone(),
            amr.clone(),
            event.clone(),
        );
        async move {
            store
                .confirm_totp(
                    &user.id,
                    sealed,
                    STEP,
                    &codes("a"),
                    &session,
                    &amr,
                    later,
                    &event,
                )
                .await
                .unwrap()
        }
    };
    assert!(
        !confirm(b"first").await,
        "the replaced secret cannot be confirmed"
    );
    assert_eq!(store.backup_codes_left(&user.id).await.unwrap(), 0);
    assert!(confirm(b"second").await);
    assert!(!confirm(b"second").await, "confirmed once");
    let f = store.totp_factor(&user.id).await.unwrap().unwrap();
    assert_eq!((f.confirmed_at, f.last_step), (Some(later), Some(STEP)));
    assert_eq!(store.backup_codes_left(&user.id).await.unwrap(), 10);
    let s = store.session_by_id(&session.id).await.unwrap().unwrap();
    assert_eq!((s.auth_time, s.amr, s.revoked_at), (later, amr, None));
    let o = store.session_by_id(&other.id).await.unwrap().unwrap();
    assert_eq!(o.revoked_at, Some(later), "the other session ended");
    assert!(matches!(
        store.put_pending_totp(&pending(&user, now, b"third")).await,
        Err(StoreError::Conflict("totp"))
    ));
    assert_eq!(
        store
            .totp_factor(&user.id)
            .await
            .unwrap()
            .unwrap()
            .secret_sealed,
        b"second"
    );
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        ["mfa.enabled"]
    );
}

/// A time step is accepted once, ever: again, or any earlier step, is refused.
pub async fn totp_steps_are_accepted_once_and_in_order(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (user, _, _) = enrolled(store.as_ref(), now).await;
    let fresh = stored_user(store.as_ref()).await;
    for (step, want) in [
        (STEP, false),
        (STEP - 1, false),
        (STEP + 1, true),
        (STEP + 1, false),
        (STEP, false),
        (STEP + 3, true),
        (STEP + 2, false),
    ] {
        assert_eq!(
            store.use_totp_step(&user.id, step).await.unwrap(),
            want,
            "{step}"
        );
    }
    assert!(
        !store.use_totp_step(&fresh.id, STEP).await.unwrap(),
        "no factor"
    );
    store
        .put_pending_totp(&pending(&fresh, now, b"p"))
        .await
        .unwrap();
    assert!(
        !store.use_totp_step(&fresh.id, STEP).await.unwrap(),
        "pending"
    );
}

/// Of 50 concurrent uses of one step, and of one backup code, exactly one
/// succeeds.
pub async fn concurrent_uses_of_one_step_or_code_admit_one(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (user, _, _) = enrolled(store.as_ref(), now).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, id) = (Arc::clone(&store), user.id.clone());
            tokio::spawn(async move { store.use_totp_step(&id, STEP + 1).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "one step, one acceptance");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, user) = (Arc::clone(&store), user.clone());
            tokio::spawn(async move {
                let (m, j) = mail(Some(&user), now);
                store
                    .use_backup_code(
                        &user.id,
                        "a-03",
                        now,
                        &ev(EventType::MfaBackupCodeUsed, &user, now),
                        Some((&m, &j)),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let results = joined(tasks).await;
    assert_eq!(results, [9], "one code, one use; nine left");
    let events = events_about(store.as_ref(), &user.id).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "mfa.backup_code_used")
            .count(),
        1,
        "only the use that counted left an event"
    );
}

/// Of 20 concurrent attempts at one `mfa_token`, at most the maximum are
/// reserved: the limit is taken atomically, not read before and raised after.
pub async fn concurrent_attempts_at_one_mfa_token_reserve_at_most_the_maximum(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (user, _, _) = enrolled(store.as_ref(), now).await;
    let challenge = MfaChallenge {
        token_hash: "hash-race".into(),
        user_id: user.id.clone(),
        kind: SessionKind::Bearer,
        binding_hash: None,
        amr: vec!["pwd".into()],
        created_at: now,
        expires_at: now + Duration::minutes(5),
        failures: 0,
        used_at: None,
    };
    store.insert_mfa_challenge(&challenge).await.unwrap();
    let max = MAX_CHALLENGE_FAILURES;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .reserve_mfa_attempt("hash-race", max, now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut got = joined(tasks).await;
    got.sort_unstable();
    assert_eq!(got, (1..=max).collect::<Vec<_>>(), "each attempt once");
    assert_eq!(
        store
            .mfa_challenge("hash-race")
            .await
            .unwrap()
            .unwrap()
            .failures,
        max
    );
}

/// Backup codes: single use, replaced as a set, and gone with the factor.
pub async fn backup_codes_are_single_use_replaced_and_removed(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (user, _, _) = enrolled(store.as_ref(), now).await;
    let used = |hash: &'static str| {
        let (store, user) = (store.clone(), user.clone());
        async move {
            store
                .use_backup_code(
                    &user.id,
                    hash,
                    now,
                    &ev(EventType::MfaBackupCodeUsed, &user, now),
                    None,
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(used("a-00").await, Some(9));
    assert_eq!(used("a-00").await, None, "used already");
    assert_eq!(used("nope").await, None);
    assert_eq!(used("a-01").await, Some(8));
    let replaced = store
        .replace_backup_codes(
            &user.id,
            &codes("b"),
            now,
            &ev(EventType::MfaBackupCodesRegenerated, &user, now),
        )
        .await
        .unwrap();
    assert!(replaced);
    assert_eq!(store.backup_codes_left(&user.id).await.unwrap(), 10);
    assert_eq!(used("a-02").await, None, "the old set is gone");
    assert_eq!(used("b-02").await, Some(9));
    let (m, j) = mail(Some(&user), now);
    let removed = store
        .remove_mfa(
            &user.id,
            &ev(EventType::MfaDisabled, &user, now),
            Some((&m, &j)),
        )
        .await
        .unwrap();
    assert!(removed);
    assert_eq!(store.totp_factor(&user.id).await.unwrap(), None);
    assert_eq!(store.backup_codes_left(&user.id).await.unwrap(), 0);
    assert_eq!(used("b-03").await, None, "no codes without the factor");
    let again = store
        .remove_mfa(&user.id, &ev(EventType::MfaDisabled, &user, now), None)
        .await
        .unwrap();
    assert!(!again, "nothing to remove");
    let replaced = store
        .replace_backup_codes(
            &user.id,
            &codes("c"),
            now,
            &ev(EventType::MfaBackupCodesRegenerated, &user, now),
        )
        .await
        .unwrap();
    assert!(!replaced, "no codes without a confirmed factor");
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        [
            "mfa.enabled",
            "mfa.backup_code_used",
            "mfa.backup_code_used",
            "mfa.backup_codes_regenerated",
            "mfa.backup_code_used",
            "mfa.disabled"
        ]
    );
}

/// An `mfa_token`'s challenge round-trips, reserves attempts up to the
/// maximum (not when used or expired), is used once, and goes with the factor.
pub async fn mfa_challenges_count_failures_and_are_used_once(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (user, session, _) = enrolled(store.as_ref(), now).await;
    let challenge = |hash: &str, binding: Option<&str>| MfaChallenge {
        token_hash: hash.into(),
        user_id: user.id.clone(),
        kind: if binding.is_some() {
            SessionKind::Cookie
        } else {
            SessionKind::Bearer
        },
        binding_hash: binding.map(str::to_owned),
        amr: vec!["pwd".into()],
        created_at: now,
        expires_at: now + Duration::minutes(5),
        failures: 0,
        used_at: None,
    };
    let (a, b) = (challenge("hash-a", Some("bind")), challenge("hash-b", None));
    for c in [&a, &b] {
        store.insert_mfa_challenge(c).await.unwrap();
    }
    assert_eq!(
        store.mfa_challenge("hash-a").await.unwrap().as_ref(),
        Some(&a)
    );
    assert_eq!(
        store.mfa_challenge("hash-b").await.unwrap().as_ref(),
        Some(&b)
    );
    assert_eq!(store.mfa_challenge("nope").await.unwrap(), None);
    let max = MAX_CHALLENGE_FAILURES;
    for n in 1..=max {
        assert_eq!(
            store.reserve_mfa_attempt("hash-b", max, now).await.unwrap(),
            Some(n)
        );
    }
    assert_eq!(
        store.reserve_mfa_attempt("hash-b", max, now).await.unwrap(),
        None,
        "dead"
    );
    assert_eq!(
        store
            .mfa_challenge("hash-b")
            .await
            .unwrap()
            .unwrap()
            .failures,
        max,
        "a refused attempt is not counted"
    );
    assert_eq!(
        store
            .reserve_mfa_attempt("hash-a", max, now + Duration::minutes(5))
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.reserve_mfa_attempt("nope", max, now).await.unwrap(),
        None
    );
    assert_eq!(
        store.reserve_mfa_attempt("hash-a", max, now).await.unwrap(),
        Some(1)
    );
    assert!(store.use_mfa_challenge("hash-a", now).await.unwrap());
    assert!(
        !store.use_mfa_challenge("hash-a", now).await.unwrap(),
        "once"
    );
    assert_eq!(
        store.reserve_mfa_attempt("hash-a", max, now).await.unwrap(),
        None,
        "used: no more attempts"
    );
    let used = store.mfa_challenge("hash-a").await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(now));
    assert_eq!(used.failures, 1, "the right code keeps its attempt");
    // a changed password voids the second steps under way, like every
    // outstanding credential of the account
    store
        .insert_mfa_challenge(&challenge("hash-d", None))
        .await
        .unwrap();
    store
        .change_password(
            &user.id,
            "$argon2id$new",
            Some(session.as_str()),
            None,
            now,
            &ev(EventType::PasswordChanged, &user, now),
        )
        .await
        .unwrap();
    assert_eq!(store.mfa_challenge("hash-d").await.unwrap(), None, "voided");
    // an expired challenge goes when the next one is made
    let old = MfaChallenge {
        expires_at: now - Duration::seconds(1),
        ..challenge("hash-old", None)
    };
    store.insert_mfa_challenge(&old).await.unwrap();
    store
        .insert_mfa_challenge(&challenge("hash-c", None))
        .await
        .unwrap();
    assert_eq!(
        store.mfa_challenge("hash-old").await.unwrap(),
        None,
        "swept"
    );
    // a fresh authentication raises a session; an ended one is not raised
    let amr = vec!["pwd".to_owned(), "otp".into(), "mfa".into()];
    let later = now + Duration::minutes(1);
    assert!(store.raise_session(&session, later, &amr).await.unwrap());
    assert_eq!(
        store
            .session_by_id(&session)
            .await
            .unwrap()
            .unwrap()
            .auth_time,
        later
    );
    store
        .revoke_session(&session, later, "logout")
        .await
        .unwrap();
    assert!(!store.raise_session(&session, later, &amr).await.unwrap());
    store
        .remove_mfa(&user.id, &ev(EventType::MfaReset, &user, now), None)
        .await
        .unwrap();
    assert_eq!(
        store.mfa_challenge("hash-c").await.unwrap(),
        None,
        "gone with the factor"
    );
}
