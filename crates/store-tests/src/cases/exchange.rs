//! Refresh-token exchange: the happy path, invalid tokens, the grace
//! window, reuse, and concurrent exchanges of one token.

use std::sync::Arc;

use latchkey_core::session::{RefreshToken, RotateOutcome, Rotation, Session};
use time::Duration;

use crate::db::TestDb;

use super::{
    base_now, bearer_session, migrated, rotation_at, sample_session, sample_token, stored_user,
};

/// A current token is exchanged: it is marked used, the successor is stored
/// on the presented token's session with its expiry capped at the session's
/// end, and the session is touched (idle end capped too). The successor is
/// then exchangeable in turn.
pub async fn rotation_happy_path_then_successor_rotates(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (session, first) = bearer_session(&*store, now).await;

    let t1 = now + Duration::hours(1);
    let mut r1 = rotation_at(&first.token_hash, t1, Duration::seconds(30), b"sealed-1");
    r1.successor.expires_at = now + Duration::days(60); // past the session's end
    assert_eq!(
        store.rotate_refresh_token(&r1).await.unwrap(),
        RotateOutcome::Rotated
    );
    let touched = Session {
        last_seen_at: t1,
        idle_expires_at: t1 + Duration::days(7),
        ..session.clone()
    };
    assert_eq!(
        store.refresh_token(&first.token_hash).await.unwrap(),
        Some((
            RefreshToken {
                used_at: Some(t1),
                ..first.clone()
            },
            touched.clone()
        ))
    );
    let successor = RefreshToken {
        token_hash: r1.successor.token_hash.clone(),
        session_id: session.id.clone(),
        created_at: t1,
        expires_at: session.expires_at,
        used_at: None,
    };
    assert_eq!(
        store.refresh_token(&successor.token_hash).await.unwrap(),
        Some((successor.clone(), touched.clone()))
    );
    assert_eq!(
        store.session_by_id(&session.id).await.unwrap(),
        Some(touched)
    );

    // the successor rotates next; both the new token and the idle end are capped
    let t2 = now + Duration::days(2);
    let mut r2 = rotation_at(
        &successor.token_hash,
        t2,
        Duration::seconds(30),
        b"sealed-2",
    );
    r2.idle_expires_at = now + Duration::days(45);
    assert_eq!(
        store.rotate_refresh_token(&r2).await.unwrap(),
        RotateOutcome::Rotated
    );
    let (third, s) = store
        .refresh_token(&r2.successor.token_hash)
        .await
        .unwrap()
        .expect("the second successor is stored");
    assert_eq!(third.session_id, session.id);
    assert_eq!(third.created_at, t2);
    assert_eq!(third.expires_at, session.expires_at);
    assert_eq!(third.used_at, None);
    assert_eq!(s.last_seen_at, t2);
    assert_eq!(s.idle_expires_at, session.expires_at);
    assert!(s.is_active(t2));
    let (used, _) = store
        .refresh_token(&successor.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.used_at, Some(t2));
}

/// Unknown and expired tokens, revoked and ended sessions: `Invalid`, and nothing changes.
pub async fn rotation_invalid_cases(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let grace = Duration::seconds(30);

    // unknown hash
    let r = rotation_at("no-such-token", now, grace, b"x");
    assert_eq!(
        store.rotate_refresh_token(&r).await.unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        store.refresh_token(&r.successor.token_hash).await.unwrap(),
        None
    );

    // expired token (its end is exclusive)
    let user = stored_user(&*store).await;
    let session = sample_session(&user.id, now);
    let short = RefreshToken {
        expires_at: now + Duration::hours(1),
        ..sample_token(&session.id, now)
    };
    store.create_session(&session, Some(&short)).await.unwrap();
    let r = rotation_at(&short.token_hash, now + Duration::hours(1), grace, b"x");
    assert_eq!(
        store.rotate_refresh_token(&r).await.unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        store.refresh_token(&short.token_hash).await.unwrap(),
        Some((short.clone(), session.clone())),
        "nothing changed"
    );
    assert_eq!(
        store.refresh_token(&r.successor.token_hash).await.unwrap(),
        None
    );

    // revoked session
    let (revoked, token) = bearer_session(&*store, now).await;
    assert!(
        store
            .revoke_session(&revoked.id, now + Duration::minutes(1), "logout")
            .await
            .unwrap()
    );
    let r = rotation_at(&token.token_hash, now + Duration::minutes(2), grace, b"x");
    assert_eq!(
        store.rotate_refresh_token(&r).await.unwrap(),
        RotateOutcome::Invalid
    );
    let (t, s) = store
        .refresh_token(&token.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.used_at, None);
    assert_eq!(s.revoked_reason.as_deref(), Some("logout"));
    assert_eq!(
        store.refresh_token(&r.successor.token_hash).await.unwrap(),
        None
    );

    // session past its absolute end (the token itself would still be valid)
    let user = stored_user(&*store).await;
    let ending = Session {
        expires_at: now + Duration::days(1),
        ..sample_session(&user.id, now)
    };
    let token = sample_token(&ending.id, now);
    store.create_session(&ending, Some(&token)).await.unwrap();
    let r = rotation_at(&token.token_hash, now + Duration::days(1), grace, b"x");
    assert_eq!(
        store.rotate_refresh_token(&r).await.unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        store.refresh_token(&token.token_hash).await.unwrap(),
        Some((token, ending))
    );

    // session past its idle end
    let user = stored_user(&*store).await;
    let idle = Session {
        idle_expires_at: now + Duration::hours(2),
        ..sample_session(&user.id, now)
    };
    let token = sample_token(&idle.id, now);
    store.create_session(&idle, Some(&token)).await.unwrap();
    let r = rotation_at(&token.token_hash, now + Duration::hours(2), grace, b"x");
    assert_eq!(
        store.rotate_refresh_token(&r).await.unwrap(),
        RotateOutcome::Invalid
    );
    assert_eq!(
        store.refresh_token(&token.token_hash).await.unwrap(),
        Some((token, idle))
    );
}

/// A second exchange of the same token within the grace window gets the
/// first exchange's sealed response and changes nothing; after the window it
/// is reuse: the session ends, and its current token stops working.
pub async fn rotation_grace_retry_then_reuse_ends_the_session(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (session, first) = bearer_session(&*store, now).await;

    let t1 = now + Duration::hours(1);
    let sealed = b"\x00\x01sealed response\xff".to_vec();
    let r1 = rotation_at(&first.token_hash, t1, Duration::seconds(30), &sealed);
    assert_eq!(
        store.rotate_refresh_token(&r1).await.unwrap(),
        RotateOutcome::Rotated
    );
    let after_first = store.session_by_id(&session.id).await.unwrap().unwrap();

    let retry = rotation_at(
        &first.token_hash,
        t1 + Duration::seconds(10),
        Duration::seconds(30),
        b"another response",
    );
    assert_eq!(
        store.rotate_refresh_token(&retry).await.unwrap(),
        RotateOutcome::GraceRetry {
            successor_sealed: sealed.clone()
        }
    );
    assert_eq!(
        store
            .refresh_token(&retry.successor.token_hash)
            .await
            .unwrap(),
        None,
        "a grace retry stores no successor"
    );
    assert_eq!(
        store.session_by_id(&session.id).await.unwrap(),
        Some(after_first.clone()),
        "a grace retry does not touch the session"
    );

    // the window's end is exclusive
    let replay_at = t1 + Duration::seconds(30);
    let replay = rotation_at(&first.token_hash, replay_at, Duration::seconds(30), b"y");
    assert_eq!(
        store.rotate_refresh_token(&replay).await.unwrap(),
        RotateOutcome::Reused {
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
        }
    );
    assert_eq!(
        store
            .refresh_token(&replay.successor.token_hash)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.session_by_id(&session.id).await.unwrap(),
        Some(Session {
            revoked_at: Some(replay_at),
            revoked_reason: Some("refresh_token_reuse".into()),
            ..after_first
        })
    );

    // the legitimate holder's successor no longer works, nor does another replay
    let later = replay_at + Duration::seconds(1);
    for presented in [&r1.successor.token_hash, &first.token_hash] {
        let r = rotation_at(presented, later, Duration::seconds(30), b"z");
        assert_eq!(
            store.rotate_refresh_token(&r).await.unwrap(),
            RotateOutcome::Invalid
        );
    }
}

/// Fifty concurrent exchanges of one token, spread over `handles` store
/// handles: exactly one rotates and exactly one successor exists. With a
/// grace window every other exchange gets the winner's sealed response; with
/// none the first loser ends the session (`Reused`) and the rest find it
/// ended (`Reused` or `Invalid`).
async fn concurrent_rotations(db: &dyn TestDb, handles: usize, with_grace: bool) {
    const EXCHANGES: usize = 50;
    let store = migrated(db).await;
    let mut stores = vec![store.clone()];
    for _ in 1..handles {
        stores.push(db.open().await);
    }
    let now = base_now();
    let (session, first) = bearer_session(&*store, now).await;
    let at = now + Duration::minutes(5);
    let grace = if with_grace {
        Duration::seconds(30)
    } else {
        Duration::ZERO
    };

    // every task waits until all are ready, so that the exchanges overlap
    let start = Arc::new(tokio::sync::Barrier::new(EXCHANGES));
    let tasks: Vec<_> = (0..EXCHANGES)
        .map(|i| {
            let s = stores[i % stores.len()].clone();
            let r = rotation_at(
                &first.token_hash,
                at,
                grace,
                format!("sealed-{i}").as_bytes(),
            );
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let outcome = s.rotate_refresh_token(&r).await;
                (r, outcome)
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        let (r, outcome) = t.await.expect("the task completes");
        let outcome = outcome.unwrap_or_else(|e| panic!("exchange failed: {e:?}"));
        results.push((r, outcome));
    }

    let winners: Vec<&Rotation> = results
        .iter()
        .filter(|(_, o)| *o == RotateOutcome::Rotated)
        .map(|(r, _)| r)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one exchange rotates");
    let winner = winners[0];

    let mut stored = 0;
    for (r, _) in &results {
        if store
            .refresh_token(&r.successor.token_hash)
            .await
            .unwrap()
            .is_some()
        {
            stored += 1;
            assert_eq!(r.successor.token_hash, winner.successor.token_hash);
        }
    }
    assert_eq!(stored, 1, "exactly one successor is stored");
    let (presented, _) = store
        .refresh_token(&first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(presented.used_at, Some(at));

    let losers = results.iter().filter(|(_, o)| *o != RotateOutcome::Rotated);
    let ended = store.session_by_id(&session.id).await.unwrap().unwrap();
    if with_grace {
        for (_, o) in losers {
            assert_eq!(
                *o,
                RotateOutcome::GraceRetry {
                    successor_sealed: winner.successor_sealed.clone()
                }
            );
        }
        assert!(ended.is_active(at), "grace retries do not end the session");
        assert_eq!(ended.last_seen_at, at);
    } else {
        let mut reused = 0;
        for (_, o) in losers {
            match o {
                RotateOutcome::Reused {
                    session_id,
                    user_id,
                } => {
                    assert_eq!(session_id, &session.id);
                    assert_eq!(user_id, &session.user_id);
                    reused += 1;
                }
                RotateOutcome::Invalid => {}
                other => panic!("unexpected outcome without a grace window: {other:?}"),
            }
        }
        assert!(reused >= 1, "the first loser detects the reuse");
        assert_eq!(ended.revoked_at, Some(at));
        assert_eq!(ended.revoked_reason.as_deref(), Some("refresh_token_reuse"));
    }
}

/// Fifty concurrent exchanges of one token on one handle, with a grace window.
pub async fn concurrent_rotations_one_handle_with_grace(db: &dyn TestDb) {
    concurrent_rotations(db, 1, true).await;
}

/// Fifty concurrent exchanges of one token over five handles, with a grace window.
pub async fn concurrent_rotations_many_handles_with_grace(db: &dyn TestDb) {
    concurrent_rotations(db, 5, true).await;
}

/// Fifty concurrent exchanges of one token on one handle, without a grace window.
pub async fn concurrent_rotations_one_handle_without_grace(db: &dyn TestDb) {
    concurrent_rotations(db, 1, false).await;
}

/// Fifty concurrent exchanges of one token over five handles, without a grace window.
pub async fn concurrent_rotations_many_handles_without_grace(db: &dyn TestDb) {
    concurrent_rotations(db, 5, false).await;
}
