//! The event stream: every way a session ends records one `session.revoked`
//! in the transaction that ends it, ids follow commit order, and the
//! retention purge deletes only what is old enough.

use latchkey_core::audit::{AuditEvent, EventType};
use latchkey_core::client_info::ClientInfo;
use latchkey_core::events::{ACCOUNT_STREAM, Event, EventFilter, REVOCATION_STREAM};
use latchkey_core::session::{RotateOutcome, WhichSessions};
use latchkey_core::store::Store;
use latchkey_core::user::Suspension;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use time::{Duration, OffsetDateTime};

use super::{
    base_now, bearer_session, migrated, rotation_at, sample_key, sample_session, stored_user,
};
use crate::db::TestDb;

fn audit(kind: EventType, subject: &str, at: OffsetDateTime) -> AuditEvent {
    AuditEvent::new(kind, at, &ClientInfo::default()).subject(subject)
}

async fn all(store: &dyn Store, types: &[&str], sub: Option<&str>) -> Vec<Event> {
    store
        .events_after(0, &EventFilter { types, sub }, 1_000)
        .await
        .unwrap()
}

/// `(sid, reason)` of the user's `session.revoked` events, in order.
async fn revocations(store: &dyn Store, sub: &str) -> Vec<(String, String)> {
    all(store, &["session.revoked"], Some(sub))
        .await
        .into_iter()
        .map(|e| {
            assert_eq!(e.data["sub"], sub, "{e:?}");
            (
                e.data["sid"].as_str().unwrap().to_owned(),
                e.data["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Logout, logout everywhere, refresh-token reuse, a password change,
/// deactivation, suspension and deletion each record one `session.revoked`
/// per session they end, with its reason; ending an ended session records
/// nothing; a write that fails records nothing.
pub async fn every_session_end_records_its_event(db: &dyn TestDb) {
    let store = migrated(db).await;
    let t = base_now();
    let s = |n: i64| t + Duration::seconds(n);

    // logout, once
    let user = stored_user(&*store).await;
    let a = sample_session(&user.id, t);
    store.create_session(&a, None).await.unwrap();
    assert!(store.revoke_session(&a.id, s(1), "logout").await.unwrap());
    assert!(!store.revoke_session(&a.id, s(2), "logout").await.unwrap());
    // logout everywhere, except the current one
    let (b, c) = (sample_session(&user.id, t), sample_session(&user.id, t));
    for x in [&b, &c] {
        store.create_session(x, None).await.unwrap();
    }
    let ended = store
        .revoke_sessions(
            &user.id,
            WhichSessions::AllExcept(Some(&c.id)),
            s(3),
            "logout_all",
            None,
        )
        .await
        .unwrap();
    assert_eq!(ended, 1);
    // a password change ends the others
    let d = sample_session(&user.id, t);
    store.create_session(&d, None).await.unwrap();
    store
        .change_password(
            &user.id,
            "$argon2id$new",
            Some(&d.id),
            None,
            s(4),
            &audit(EventType::PasswordChanged, &user.id, s(4)),
        )
        .await
        .unwrap();
    // deactivation, suspension, deletion end the rest
    store
        .set_deactivated(
            &user.id,
            Some(s(5)),
            &audit(EventType::AccountDeactivated, &user.id, s(5)),
        )
        .await
        .unwrap();
    let e = sample_session(&user.id, t);
    store.create_session(&e, None).await.unwrap();
    let suspension = Suspension {
        suspended_at: s(6),
        until: None,
        reason: "spam".into(),
    };
    let suspended = audit(EventType::UserSuspended, &user.id, s(6));
    assert_eq!(
        store
            .suspend_user(&user.id, &suspension, &suspended)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        revocations(&*store, &user.id).await,
        vec![
            (a.id.clone(), "logout".to_owned()),
            (b.id.clone(), "logout_all".to_owned()),
            (c.id.clone(), "password_changed".to_owned()),
            (d.id.clone(), "deactivated".to_owned()),
            (e.id.clone(), "suspended".to_owned()),
        ]
    );

    // refresh-token reuse ends the session
    let (session, first) = bearer_session(&*store, t).await;
    let once = rotation_at(&first.token_hash, s(10), Duration::ZERO, b"x");
    assert_eq!(
        store.rotate_refresh_token(&once).await.unwrap(),
        RotateOutcome::Rotated
    );
    let again = rotation_at(&first.token_hash, s(11), Duration::ZERO, b"y");
    assert!(matches!(
        store.rotate_refresh_token(&again).await.unwrap(),
        RotateOutcome::Reused { .. }
    ));
    assert_eq!(
        revocations(&*store, &session.user_id).await,
        vec![(session.id.clone(), "refresh_token_reuse".to_owned())]
    );

    // deletion: the sessions end (and are recorded) before the rows go
    let other = stored_user(&*store).await;
    let f = sample_session(&other.id, t);
    store.create_session(&f, None).await.unwrap();
    let deleted = audit(EventType::UserDeleted, &other.id, s(20));
    store.delete_user(&other.id, &deleted).await.unwrap();
    assert_eq!(
        revocations(&*store, &other.id).await,
        vec![(f.id.clone(), "user_deleted".to_owned())]
    );
    // a failed write records nothing
    let before = store.last_event_id().await.unwrap();
    assert!(store.delete_user(&other.id, &deleted).await.is_err());
    assert_eq!(store.last_event_id().await.unwrap(), before);

    // the account events of the revocation stream, from the audit events
    let kinds = |events: Vec<Event>| events.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    let stream = all(&*store, REVOCATION_STREAM, Some(&user.id)).await;
    assert_eq!(stream.last().unwrap().kind, "user.suspended");
    assert_eq!(stream.last().unwrap().at, s(6));
    assert_eq!(
        kinds(all(&*store, &["user.deleted"], None).await),
        vec!["user.deleted"]
    );
    // a second factor's change (issue 14's audit events) is `mfa.changed`
    for kind in [EventType::MfaEnabled, EventType::MfaReset] {
        store
            .append_audit_event(&audit(kind, &user.id, s(7)))
            .await
            .unwrap();
    }
    store
        .append_audit_event(&audit(EventType::MfaFailed, &user.id, s(7)))
        .await
        .unwrap();
    let own = kinds(all(&*store, ACCOUNT_STREAM, Some(&user.id)).await);
    assert_eq!(own.iter().filter(|k| *k == "mfa.changed").count(), 2);
    assert_eq!(own.iter().filter(|k| *k == "session.created").count(), 5);
    assert_eq!(own.iter().filter(|k| *k == "password.changed").count(), 1);
}

/// Ids grow in commit order across filters; a reader resumes after any id
/// and sees exactly the rest; key rotations are events; the purge deletes
/// what is older than its cut-off, in batches, and ids are never reused.
pub async fn events_resume_in_order_and_are_purged_by_age(db: &dyn TestDb) {
    let store = migrated(db).await;
    let t = base_now();
    assert_eq!(store.last_event_id().await.unwrap(), 0);
    assert_eq!(store.purged_through().await.unwrap(), 0);
    let user = stored_user(&*store).await;
    let mut sids = Vec::new();
    for i in 0..10 {
        let x = sample_session(&user.id, t + Duration::minutes(i));
        store.create_session(&x, None).await.unwrap();
        assert!(
            store
                .revoke_session(&x.id, t + Duration::minutes(i), "logout")
                .await
                .unwrap()
        );
        sids.push(x.id);
    }
    let key = sample_key(t + Duration::minutes(30));
    assert!(store.rotate_signing_key(&key, None, t).await.unwrap());

    let stream = all(&*store, REVOCATION_STREAM, None).await;
    assert_eq!(stream.len(), 11);
    assert!(stream.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(stream[10].kind, "keys.rotated");
    assert_eq!(stream[10].data["kid"], key.kid.as_str());
    assert_eq!(stream[10].sub, None);
    assert_eq!(store.last_event_id().await.unwrap(), stream[10].id);
    for cut in [0, 3, 9] {
        let rest = store
            .events_after(
                stream[cut].id,
                &EventFilter {
                    types: REVOCATION_STREAM,
                    sub: None,
                },
                1_000,
            )
            .await
            .unwrap();
        assert_eq!(rest, stream[cut + 1..].to_vec(), "after #{cut}");
    }
    let two = store
        .events_after(
            0,
            &EventFilter {
                types: REVOCATION_STREAM,
                sub: None,
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!(two, stream[..2].to_vec());
    assert_eq!(
        all(&*store, REVOCATION_STREAM, Some("someone-else")).await,
        vec![]
    );

    // purge: everything before minute 5 (created and revoked events alike)
    let mut purged = 0;
    loop {
        let n = store
            .purge_events(t + Duration::minutes(5), 3)
            .await
            .unwrap();
        assert!(n <= 3);
        purged += n;
        if n == 0 {
            break;
        }
    }
    assert_eq!(purged, 10, "5 created and 5 revoked");
    let left = all(&*store, REVOCATION_STREAM, None).await;
    assert_eq!(left, stream[5..].to_vec());
    // the horizon: the newest purged id, where resuming stops being exact
    assert_eq!(store.purged_through().await.unwrap(), stream[4].id);
    // a new event after purging the newest ones still gets a larger id
    let newest = store.last_event_id().await.unwrap();
    store
        .purge_events(t + Duration::days(1), 1_000)
        .await
        .unwrap();
    assert_eq!(store.purged_through().await.unwrap(), newest);
    let x = sample_session(&user.id, t);
    store.create_session(&x, None).await.unwrap();
    assert!(store.last_event_id().await.unwrap() > newest);
    // deleting nothing moves nothing
    store.purge_events(t, 1_000).await.unwrap();
    assert_eq!(store.purged_through().await.unwrap(), newest);
}

/// Writers record events at once (on PostgreSQL over the pool's
/// connections) while a reader on another handle polls and resumes after
/// the last id it got, as a stream does: it gets every
/// event, once, with ids increasing, although the writers' transactions
/// commit in any order (PostgreSQL: positions are given after commit, no
/// writer takes a global lock).
pub async fn concurrent_writers_skip_no_event_for_a_polling_reader(db: &dyn TestDb) {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let store = migrated(db).await;
    let t = base_now();
    let user = stored_user(&*store).await;
    let start = store.last_event_id().await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (s, done, sub) = (db.open().await, done.clone(), user.id.clone());
        tokio::spawn(async move {
            let filter = EventFilter {
                types: &["session.created"],
                sub: Some(&sub),
            };
            let (mut seen, mut cursor) = (Vec::new(), start);
            loop {
                // read `done` first: an empty read after it saw everything
                let finished = done.load(Ordering::SeqCst);
                let batch = s.events_after(cursor, &filter, 7).await.unwrap();
                if batch.is_empty() && finished {
                    return seen;
                }
                for e in batch {
                    assert!(e.id > cursor, "ids increase: {} after {cursor}", e.id);
                    cursor = e.id;
                    seen.push(e.data["sid"].as_str().unwrap().to_owned());
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (s, user_id) = (store.clone(), user.id.clone());
            tokio::spawn(async move {
                let mut sids = Vec::new();
                for _ in 0..EACH {
                    let x = sample_session(&user_id, t);
                    s.create_session(&x, None).await.unwrap();
                    sids.push(x.id);
                }
                sids
            })
        })
        .collect();
    let mut written = Vec::new();
    for w in writers {
        written.extend(w.await.expect("the writer completes"));
    }
    done.store(true, Ordering::SeqCst);
    let mut seen = reader.await.expect("the reader completes");
    assert_eq!(seen.len(), WRITERS * EACH, "every event once, none skipped");
    seen.sort();
    written.sort();
    assert_eq!(seen, written);
}
