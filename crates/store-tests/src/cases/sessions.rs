//! Sessions: round trips, uniqueness, the active list, sliding idle ends,
//! revocation, and the cascade when a user is deleted.

use latchkey_core::id;
use latchkey_core::session::{RefreshToken, RotateOutcome, Session, SessionKind, WhichSessions};
use latchkey_core::store::StoreError;
use time::Duration;

use crate::db::TestDb;

use super::{
    base_now, bearer_session, migrated, rotation_at, sample_session, sample_token, stored_user,
    token_hash,
};

/// Sessions and their first refresh token read back identically by every lookup.
pub async fn sessions_round_trip(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(&*store).await;

    let bearer = sample_session(&user.id, now);
    let first = sample_token(&bearer.id, now);
    store.create_session(&bearer, Some(&first)).await.unwrap();
    assert_eq!(
        store.session_by_id(&bearer.id).await.unwrap(),
        Some(bearer.clone())
    );
    assert_eq!(
        store.refresh_token(&first.token_hash).await.unwrap(),
        Some((first.clone(), bearer.clone()))
    );
    assert_eq!(
        store.session_by_id(&bearer.id).await.unwrap().unwrap().amr,
        vec!["pwd", "otp", "mfa"]
    );

    let cookie = Session {
        id: id::new_id(),
        kind: SessionKind::Cookie,
        amr: vec!["pwd".into()],
        ip: None,
        user_agent: None,
        device_label: None,
        cookie_token_hash: Some(token_hash("cookie")),
        ..sample_session(&user.id, now + Duration::milliseconds(1))
    };
    store.create_session(&cookie, None).await.unwrap();
    assert_eq!(
        store.session_by_id(&cookie.id).await.unwrap(),
        Some(cookie.clone())
    );
    assert_eq!(
        store
            .session_by_cookie_hash(cookie.cookie_token_hash.as_deref().unwrap())
            .await
            .unwrap(),
        Some(cookie.clone())
    );

    // an empty amr list and a stored revocation round-trip too
    let ended = Session {
        id: id::new_id(),
        amr: Vec::new(),
        revoked_at: Some(now + Duration::minutes(1)),
        revoked_reason: Some("logout".into()),
        ..sample_session(&user.id, now)
    };
    store.create_session(&ended, None).await.unwrap();
    assert_eq!(store.session_by_id(&ended.id).await.unwrap(), Some(ended));

    assert_eq!(store.session_by_id("no-such-session").await.unwrap(), None);
    assert_eq!(
        store.session_by_cookie_hash("no-such-hash").await.unwrap(),
        None
    );
    assert_eq!(store.refresh_token("no-such-hash").await.unwrap(), None);
}

/// Session ids, cookie hashes and refresh-token hashes are unique, and a
/// failed `create_session` leaves nothing behind.
pub async fn session_uniqueness_and_atomic_creation(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (session, token) = bearer_session(&*store, now).await;

    let err = store.create_session(&session, None).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("id")), "got {err:?}");

    let cookie_hash = token_hash("cookie");
    let cookie = Session {
        id: id::new_id(),
        kind: SessionKind::Cookie,
        cookie_token_hash: Some(cookie_hash.clone()),
        ..session.clone()
    };
    store.create_session(&cookie, None).await.unwrap();
    let twin = Session {
        id: id::new_id(),
        ..cookie.clone()
    };
    let err = store.create_session(&twin, None).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict("cookie_token_hash")),
        "got {err:?}"
    );
    assert_eq!(store.session_by_id(&twin.id).await.unwrap(), None);

    // a first refresh token whose hash exists: the session is not created either
    let other = Session {
        id: id::new_id(),
        ..session.clone()
    };
    let dup_token = RefreshToken {
        session_id: other.id.clone(),
        ..token.clone()
    };
    let err = store
        .create_session(&other, Some(&dup_token))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict("token_hash")),
        "got {err:?}"
    );
    assert_eq!(store.session_by_id(&other.id).await.unwrap(), None);
    assert_eq!(
        store.refresh_token(&token.token_hash).await.unwrap(),
        Some((token, session))
    );
}

/// Only the user's own sessions that are unrevoked, before their absolute
/// end and before their idle end are listed, newest first (ties by id, descending).
pub async fn active_sessions_exclude_ended_and_others_newest_first(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(&*store).await;
    let other = stored_user(&*store).await;

    let mut expected = Vec::new();
    for age_hours in [3, 1, 2, 1] {
        let s = sample_session(&user.id, now - Duration::hours(age_hours));
        store.create_session(&s, None).await.unwrap();
        expected.push(s);
    }
    // ends exactly now: not active any more (ends are exclusive)
    let expired = Session {
        expires_at: now,
        ..sample_session(&user.id, now - Duration::days(30))
    };
    let idle = Session {
        idle_expires_at: now,
        ..sample_session(&user.id, now - Duration::days(7))
    };
    let revoked = Session {
        revoked_at: Some(now - Duration::minutes(1)),
        revoked_reason: Some("logout".into()),
        ..sample_session(&user.id, now - Duration::minutes(30))
    };
    let others = sample_session(&other.id, now - Duration::minutes(10));
    for s in [&expired, &idle, &revoked, &others] {
        store.create_session(s, None).await.unwrap();
    }
    // one that still has a millisecond left on both ends is active
    let last_ms = Session {
        expires_at: now + Duration::milliseconds(1),
        idle_expires_at: now + Duration::milliseconds(1),
        ..sample_session(&user.id, now - Duration::days(40))
    };
    store.create_session(&last_ms, None).await.unwrap();
    expected.push(last_ms);

    expected.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    let active = store.active_sessions_of_user(&user.id, now).await.unwrap();
    assert_eq!(active, expected);
    assert_eq!(
        store.active_sessions_of_user(&other.id, now).await.unwrap(),
        vec![others]
    );
    assert_eq!(
        store
            .active_sessions_of_user("no-such-user", now)
            .await
            .unwrap(),
        Vec::new()
    );
}

/// `touch_session` moves `last_seen_at` and the idle end, caps the idle end
/// at the absolute end, and does nothing to an ended session.
pub async fn touch_session_slides_and_caps_and_ignores_ended(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(&*store).await;
    let session = Session {
        expires_at: now + Duration::days(10),
        ..sample_session(&user.id, now)
    };
    store.create_session(&session, None).await.unwrap();

    let t1 = now + Duration::hours(1);
    store
        .touch_session(&session.id, t1, t1 + Duration::days(7))
        .await
        .unwrap();
    let after = store.session_by_id(&session.id).await.unwrap().unwrap();
    assert_eq!(
        after,
        Session {
            last_seen_at: t1,
            idle_expires_at: t1 + Duration::days(7),
            ..session.clone()
        }
    );

    let t2 = now + Duration::days(6);
    store
        .touch_session(&session.id, t2, t2 + Duration::days(7))
        .await
        .unwrap();
    let capped = store.session_by_id(&session.id).await.unwrap().unwrap();
    assert_eq!(capped.last_seen_at, t2);
    assert_eq!(
        capped.idle_expires_at, session.expires_at,
        "capped at the absolute end"
    );

    // revoked: no effect
    let t3 = now + Duration::days(7);
    assert!(
        store
            .revoke_session(&session.id, t3, "logout")
            .await
            .unwrap()
    );
    let revoked = store.session_by_id(&session.id).await.unwrap().unwrap();
    store
        .touch_session(
            &session.id,
            t3 + Duration::minutes(1),
            t3 + Duration::days(7),
        )
        .await
        .unwrap();
    assert_eq!(
        store.session_by_id(&session.id).await.unwrap(),
        Some(revoked)
    );

    // idle-expired: no effect either (a touch must not revive it)
    let sleepy = Session {
        idle_expires_at: now + Duration::hours(1),
        ..sample_session(&user.id, now)
    };
    store.create_session(&sleepy, None).await.unwrap();
    let late = now + Duration::hours(1);
    store
        .touch_session(&sleepy.id, late, late + Duration::days(7))
        .await
        .unwrap();
    assert_eq!(store.session_by_id(&sleepy.id).await.unwrap(), Some(sleepy));

    // unknown id: no error
    store
        .touch_session("no-such-session", now, now + Duration::days(1))
        .await
        .unwrap();
}

/// `revoke_session` ends an unrevoked session once; later calls change nothing.
pub async fn revoke_session_reports_whether_it_changed(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (session, _) = bearer_session(&*store, now).await;
    let t1 = now + Duration::minutes(3);
    assert!(
        store
            .revoke_session(&session.id, t1, "logout")
            .await
            .unwrap()
    );
    let ended = Session {
        revoked_at: Some(t1),
        revoked_reason: Some("logout".into()),
        ..session.clone()
    };
    assert_eq!(
        store.session_by_id(&session.id).await.unwrap(),
        Some(ended.clone())
    );
    assert!(
        !store
            .revoke_session(&session.id, t1 + Duration::minutes(1), "user")
            .await
            .unwrap()
    );
    assert_eq!(store.session_by_id(&session.id).await.unwrap(), Some(ended));
    assert!(
        !store
            .revoke_session("no-such-session", t1, "logout")
            .await
            .unwrap()
    );
}

/// `revoke_sessions` with `AllExcept` ends every unrevoked session of the user except
/// the one named, counts what it changed, and leaves other users alone.
pub async fn revoke_sessions_of_user_with_and_without_except(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(&*store).await;
    let other = stored_user(&*store).await;
    let keep = sample_session(&user.id, now);
    let a = sample_session(&user.id, now);
    let b = sample_session(&user.id, now);
    let earlier = Session {
        revoked_at: Some(now - Duration::hours(1)),
        revoked_reason: Some("logout".into()),
        ..sample_session(&user.id, now - Duration::hours(2))
    };
    let others = sample_session(&other.id, now);
    for s in [&keep, &a, &b, &earlier, &others] {
        store.create_session(s, None).await.unwrap();
    }

    let t1 = now + Duration::minutes(1);
    let n = store
        .revoke_sessions(
            &user.id,
            WhichSessions::AllExcept(Some(&keep.id)),
            t1,
            "password_changed",
            None,
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    for s in [&a, &b] {
        let got = store.session_by_id(&s.id).await.unwrap().unwrap();
        assert_eq!(got.revoked_at, Some(t1));
        assert_eq!(got.revoked_reason.as_deref(), Some("password_changed"));
    }
    assert_eq!(
        store.session_by_id(&keep.id).await.unwrap(),
        Some(keep.clone())
    );
    assert_eq!(
        store.session_by_id(&earlier.id).await.unwrap(),
        Some(earlier.clone()),
        "an already revoked session keeps its first revocation"
    );
    assert_eq!(
        store
            .revoke_sessions(
                &user.id,
                WhichSessions::AllExcept(Some(&keep.id)),
                t1,
                "again",
                None
            )
            .await
            .unwrap(),
        0
    );

    let t2 = now + Duration::minutes(2);
    assert_eq!(
        store
            .revoke_sessions(&user.id, WhichSessions::AllExcept(None), t2, "user", None)
            .await
            .unwrap(),
        1
    );
    let got = store.session_by_id(&keep.id).await.unwrap().unwrap();
    assert_eq!(got.revoked_at, Some(t2));
    assert_eq!(got.revoked_reason.as_deref(), Some("user"));
    assert!(
        store
            .active_sessions_of_user(&user.id, t2)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.session_by_id(&others.id).await.unwrap(), Some(others));
}

/// Deleting a user deletes its sessions and their refresh tokens (foreign
/// keys cascade alike on every backend).
pub async fn deleting_a_user_cascades_to_sessions_and_tokens(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let (session, first) = bearer_session(&*store, now).await;
    let r = rotation_at(
        &first.token_hash,
        now + Duration::minutes(1),
        Duration::ZERO,
        b"s",
    );
    assert_eq!(
        store.rotate_refresh_token(&r).await.unwrap(),
        RotateOutcome::Rotated
    );
    let (survivor, survivor_token) = bearer_session(&*store, now).await;

    db.delete_user_directly(&session.user_id).await;
    assert_eq!(store.user_by_id(&session.user_id).await.unwrap(), None);
    assert_eq!(store.session_by_id(&session.id).await.unwrap(), None);
    assert_eq!(store.refresh_token(&first.token_hash).await.unwrap(), None);
    assert_eq!(
        store.refresh_token(&r.successor.token_hash).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .refresh_token(&survivor_token.token_hash)
            .await
            .unwrap(),
        Some((survivor_token, survivor))
    );

    // and a session cannot name a user that does not exist
    let orphan = sample_session(&session.user_id, now);
    assert!(store.create_session(&orphan, None).await.is_err());
    assert_eq!(store.session_by_id(&orphan.id).await.unwrap(), None);
}
