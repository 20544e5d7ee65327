//! The refresh rule of issue 11: a retry inside the grace window is answered
//! only while the successor is unused; once the successor (or a descendant)
//! was used, a replay of an ancestor is reuse and ends the session, also
//! when the two race.

use std::collections::BTreeSet;
use std::sync::Arc;

use latchkey_core::audit::{AuditEvent, EventType};
use latchkey_core::auth::ClientInfo;
use latchkey_core::roles::UserRoleGraph;
use latchkey_core::session::{IssueSuccessor, RefreshToken, RotateOutcome, Rotation, Session};
use latchkey_core::{Store, StoreError};
use time::{Duration, OffsetDateTime};

use super::{base_now, bearer_session, migrated, rotation_at};
use crate::db::TestDb;

const GRACE: Duration = Duration::seconds(30);

/// A bearer session whose first token was exchanged at `now` (sealed
/// response `pair-1`): the session, that first token and the exchange.
async fn rotated_once(store: &dyn Store, now: OffsetDateTime) -> (Session, RefreshToken, Rotation) {
    let (session, first) = bearer_session(store, now).await;
    let r1 = rotation_at(&first.token_hash, now, GRACE, b"pair-1");
    assert_eq!(
        store.rotate_refresh_token(&r1).await.unwrap(),
        RotateOutcome::Rotated
    );
    (session, first, r1)
}

/// Inside the grace window, a retry of an ancestor after its successor was
/// used ends the session: the successor's successor stops working, and so
/// do fifty concurrent replays and rotations that follow.
pub async fn rotation_replay_after_the_successor_was_used_ends_the_session(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (session, first, r1) = rotated_once(&*store, now).await;
    // before the successor is used, a retry is answered with its pair
    let retry = rotation_at(&first.token_hash, now + Duration::seconds(1), GRACE, b"x");
    assert_eq!(
        store.rotate_refresh_token(&retry).await.unwrap(),
        RotateOutcome::GraceRetry {
            successor_sealed: b"pair-1".to_vec()
        }
    );
    // the successor is used (same instant: the rule does not rest on clocks)
    let r2 = rotation_at(&r1.successor.token_hash, now, GRACE, b"pair-2");
    assert_eq!(
        store.rotate_refresh_token(&r2).await.unwrap(),
        RotateOutcome::Rotated
    );
    // a replay of the ancestor, still inside its window, is reuse
    let replay_at = now + Duration::seconds(2);
    let replay = rotation_at(&first.token_hash, replay_at, GRACE, b"y");
    assert_eq!(
        store.rotate_refresh_token(&replay).await.unwrap(),
        RotateOutcome::Reused {
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
        }
    );
    let ended = store.session_by_id(&session.id).await.unwrap().unwrap();
    assert_eq!(ended.revoked_at, Some(replay_at));
    assert_eq!(ended.revoked_reason.as_deref(), Some("refresh_token_reuse"));
    // nothing of the chain works any more
    for presented in [
        &first.token_hash,
        &r1.successor.token_hash,
        &r2.successor.token_hash,
    ] {
        let r = rotation_at(presented, replay_at + Duration::seconds(1), GRACE, b"z");
        assert_eq!(
            store.rotate_refresh_token(&r).await.unwrap(),
            RotateOutcome::Invalid
        );
    }
}

/// The successor's first use races fifty replays of its ancestor (inside
/// the grace window) over several handles: either the session ends, or
/// every replay ran before that use and got the ancestor's pair. Never are
/// two unused tokens of a live session handed out.
pub async fn concurrent_successor_use_and_ancestor_replays_leave_one_live_pair(db: &dyn TestDb) {
    const TRIES: usize = 50;
    let store = migrated(db).await;
    let mut stores = vec![store.clone()];
    for _ in 1..5 {
        stores.push(db.open().await);
    }
    let now = base_now();
    let (session, first, r1) = rotated_once(&*store, now).await;

    let at = now + Duration::seconds(1);
    let start = Arc::new(tokio::sync::Barrier::new(TRIES));
    let tasks: Vec<_> = (0..TRIES)
        .map(|i| {
            let s = stores[i % stores.len()].clone();
            // even tries use the successor, odd ones replay its ancestor
            let presented = if i % 2 == 0 {
                &r1.successor.token_hash
            } else {
                &first.token_hash
            };
            let r = rotation_at(presented, at, GRACE, format!("pair-{i}").as_bytes());
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let outcome = s.rotate_refresh_token(&r).await;
                (i, r, outcome)
            })
        })
        .collect();
    let mut results: Vec<(usize, Rotation, RotateOutcome)> = Vec::new();
    for t in tasks {
        let (i, r, outcome) = t.await.expect("the task completes");
        results.push((
            i,
            r,
            outcome.unwrap_or_else(|e| panic!("exchange failed: {e:?}")),
        ));
    }

    let rotated = results
        .iter()
        .filter(|(_, _, o)| *o == RotateOutcome::Rotated)
        .count();
    assert!(
        rotated <= 1,
        "the successor rotates at most once: {rotated}"
    );
    let live_session = store
        .session_by_id(&session.id)
        .await
        .unwrap()
        .unwrap()
        .is_active(at);
    if live_session {
        for (i, _, o) in &results {
            if i % 2 == 1 {
                assert_eq!(
                    *o,
                    RotateOutcome::GraceRetry {
                        successor_sealed: b"pair-1".to_vec()
                    },
                    "with the session alive, every replay ran before the successor's use"
                );
            }
        }
    } else {
        assert!(
            results
                .iter()
                .any(|(_, _, o)| matches!(o, RotateOutcome::Reused { .. })),
            "a session ends only through a detected reuse"
        );
    }
    // every token handed out: the successor and any stored successor of it
    let mut handed: BTreeSet<String> = BTreeSet::from([r1.successor.token_hash.clone()]);
    handed.extend(
        results
            .iter()
            .map(|(_, r, _)| r.successor.token_hash.clone()),
    );
    let mut live = 0;
    for hash in &handed {
        if let Some((t, s)) = store.refresh_token(hash).await.unwrap()
            && t.used_at.is_none()
            && s.is_active(at)
        {
            live += 1;
        }
    }
    assert!(live <= 1, "never two live tokens: {live}");
    assert_eq!(
        live == 1,
        live_session,
        "a live session keeps exactly one token"
    );
}

/// One call does the exchange: the issuer sees the session and the user's
/// role graph as the store read them; the issued rotation's presented hash
/// is not trusted (the token read is the one used); an issuer that fails
/// leaves everything as it was.
pub async fn exchange_issues_from_what_it_read_and_writes_nothing_on_failure(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (session, first) = bearer_session(&*store, now).await;
    store
        .set_user_roles(
            &session.user_id,
            &["moderator".into()],
            None,
            now,
            &AuditEvent::new(EventType::UserRolesChanged, now, &ClientInfo::default())
                .subject(&session.user_id),
        )
        .await
        .unwrap();

    let failing: Arc<IssueSuccessor> = Arc::new(|_, _| Err("no signing key".into()));
    let err = store
        .exchange_refresh_token(&first.token_hash, now, failing)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    let (token, after) = store
        .refresh_token(&first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.used_at, None, "a failed issue writes nothing");
    assert_eq!(after, session);

    let seen: Arc<std::sync::Mutex<Option<(Session, UserRoleGraph)>>> = Arc::default();
    let issued = rotation_at("not-the-presented-hash", now, GRACE, b"pair-1");
    let issue: Arc<IssueSuccessor> = {
        let (seen, issued) = (seen.clone(), issued.clone());
        Arc::new(move |s, g| {
            *seen.lock().unwrap() = Some((s.clone(), g.clone()));
            Ok(issued.clone())
        })
    };
    assert_eq!(
        store
            .exchange_refresh_token(&first.token_hash, now, issue)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    let (seen_session, seen_graph) = seen.lock().unwrap().clone().expect("issued once");
    assert_eq!(seen_session, session);
    assert_eq!(
        seen_graph,
        store.user_role_graph(&session.user_id).await.unwrap()
    );
    assert_eq!(seen_graph.assigned, ["moderator"]);
    let (used, _) = store
        .refresh_token(&first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.used_at, Some(now));
    let (successor, of) = store
        .refresh_token(&issued.successor.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((successor.used_at, of.id), (None, session.id));
}
