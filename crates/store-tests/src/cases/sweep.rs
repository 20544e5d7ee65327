//! The sweep runs core's plan: around every cut-off of a
//! [`SweepPlan`](latchkey_core::lifecycle::SweepPlan), the rows a backend
//! leaves are exactly the ones the plan's predicates keep.

use latchkey_core::lifecycle::{SweepCutoffs, TokenPurpose};
use latchkey_core::session::Session;
use time::Duration;

use super::lifecycle::{job, mail, token};
use super::{base_now, migrated, sample_session, sample_token, stored_user};
use crate::db::TestDb;

/// Rows one millisecond on either side of each cut-off, swept once.
pub async fn sweep_removes_exactly_what_the_plan_says(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let keep = now - Duration::days(7);
    let plan = SweepCutoffs {
        now,
        retain_after: keep,
    }
    .plan();
    let ms = Duration::milliseconds(1);
    let long_ago = keep - Duration::days(60);
    let far = now + Duration::days(30);

    // jobs first, so that each claim finds only its own job
    let mut jobs = Vec::new();
    for finished in [Some(keep), Some(keep + ms), None] {
        let j = job("test", &format!("sweep-{finished:?}"), long_ago);
        store.enqueue_job(&j).await.unwrap();
        if let Some(at) = finished {
            let claimed = store.claim_jobs("w", at, at + ms, 1).await.unwrap();
            assert_eq!(claimed.len(), 1);
            assert!(store.complete_job(&j.id, "w", at).await.unwrap());
        }
        jobs.push((j.id, finished));
    }

    let user = stored_user(store.as_ref()).await;
    let ended = |revoked, expires, idle| Session {
        revoked_at: revoked,
        revoked_reason: revoked.map(|_| "logout".into()),
        expires_at: expires,
        idle_expires_at: idle,
        ..sample_session(&user.id, long_ago)
    };
    let sessions = [
        ended(Some(keep), far, far),
        ended(Some(keep + ms), keep, keep),
        ended(None, keep, far),
        ended(None, far, keep),
        ended(None, keep + ms, far),
        ended(None, far, far),
    ];
    for s in &sessions {
        store.create_session(s, None).await.unwrap();
    }
    // refresh tokens of a live session, expiring around `now`
    let live = sample_session(&user.id, now);
    store.create_session(&live, None).await.unwrap();
    let mut refresh = Vec::new();
    for expires in [now, now + ms] {
        let session = Session {
            id: latchkey_core::id::new_id(),
            ..live.clone()
        };
        let t = latchkey_core::session::RefreshToken {
            expires_at: expires,
            ..sample_token(&session.id, long_ago)
        };
        store.create_session(&session, Some(&t)).await.unwrap();
        refresh.push(t);
    }
    // account tokens, one user each (a newer token supersedes older ones)
    let mut account = Vec::new();
    for (expires_in, used) in [
        (Duration::ZERO, false),
        (ms, false),
        (Duration::days(1), true),
    ] {
        let owner = stored_user(store.as_ref()).await;
        let t = token(
            &owner,
            TokenPurpose::PasswordReset,
            now - Duration::minutes(15),
            Duration::minutes(15) + expires_in,
        );
        let (m, j) = mail(Some(&owner), now);
        store
            .insert_account_token(&t, &m, &j, None, None)
            .await
            .unwrap();
        if used {
            // a newer token of the same purpose marks this one used
            let newer = token(&owner, TokenPurpose::PasswordReset, now, Duration::days(1));
            let (m, j) = mail(Some(&owner), now);
            store
                .insert_account_token(&newer, &m, &j, None, None)
                .await
                .unwrap();
        }
        account.push(t.token_hash);
    }
    // mail: queued at, or sent at, each side of the retention cut-off
    let mut outbox = Vec::new();
    for (queued, sent) in [
        (keep, None),
        (keep + ms, None),
        (long_ago, Some(keep)),
        (long_ago, Some(keep + ms)),
    ] {
        let (m, j) = mail(None, queued);
        assert!(store.enqueue_mail(&m, &j).await.unwrap());
        if let Some(at) = sent {
            assert!(store.mark_mail_sent(&m.id, at).await.unwrap());
        }
        outbox.push(m.id);
    }

    // what the plan says, read before the sweep
    let mut expected = Vec::new();
    for s in &sessions {
        let stored = store.session_by_id(&s.id).await.unwrap().unwrap();
        expected.push((format!("session {s:?}"), !plan.removes_session(&stored)));
    }
    for t in &refresh {
        let (stored, _) = store.refresh_token(&t.token_hash).await.unwrap().unwrap();
        expected.push((
            format!("refresh {stored:?}"),
            !plan.removes_refresh_token(&stored),
        ));
    }
    for hash in &account {
        let stored = store.account_token(hash).await.unwrap().unwrap();
        expected.push((
            format!("account {stored:?}"),
            !plan.removes_account_token(&stored),
        ));
    }
    for (_, finished) in &jobs {
        expected.push((format!("job {finished:?}"), !plan.removes_job(*finished)));
    }
    for id in &outbox {
        let stored = store.outbox_message(id).await.unwrap().unwrap();
        expected.push((format!("mail {stored:?}"), !plan.removes_mail(&stored)));
    }
    assert!(expected.iter().any(|(_, kept)| *kept));
    assert!(expected.iter().any(|(_, kept)| !*kept));

    store.sweep(plan).await.unwrap();

    let mut actual = Vec::new();
    for s in &sessions {
        actual.push(store.session_by_id(&s.id).await.unwrap().is_some());
    }
    for t in &refresh {
        actual.push(store.refresh_token(&t.token_hash).await.unwrap().is_some());
    }
    for hash in &account {
        actual.push(store.account_token(hash).await.unwrap().is_some());
    }
    for (id, _) in &jobs {
        actual.push(store.job(id).await.unwrap().is_some());
    }
    for id in &outbox {
        actual.push(store.outbox_message(id).await.unwrap().is_some());
    }
    assert_eq!(actual.len(), expected.len());
    for ((what, kept), present) in expected.iter().zip(actual) {
        assert_eq!(present, *kept, "{what}");
    }
}
