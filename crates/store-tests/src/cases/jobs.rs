//! Conformance cases of the outbox, the job queue (leases, concurrent
//! claims) and the sweep.

use std::collections::BTreeSet;
use std::sync::Arc;

use latchkey_core::audit::EventType;
use latchkey_core::id;
use latchkey_core::lifecycle::{Redemption, SweepCutoffs, TokenPurpose};
use latchkey_core::store::Store;
use time::Duration;

use super::{base_now, migrated, sample_session, sample_token, stored_user};
use crate::db::TestDb;

use super::lifecycle::{ev, job, mail, session_of, token, with_token};

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
