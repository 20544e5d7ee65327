//! The token check's one read: a session with its user.

use latchkey_core::session::{SessionKey, SessionKind};

use super::{base_now, migrated, sample_session, stored_user};
use crate::db::TestDb;

/// `session_with_user` finds a session by id or by cookie hash, whatever
/// its state, with its user as `user_by_id` reads it; unknown keys are None.
pub async fn session_with_user_reads_both_in_one_call(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let stored = store.user_by_id(&user.id).await.unwrap().unwrap();
    let bearer = sample_session(&user.id, now);
    store.create_session(&bearer, None).await.unwrap();
    let cookie = latchkey_core::session::Session {
        kind: SessionKind::Cookie,
        cookie_token_hash: Some("cookie-hash-of-the-session".into()),
        revoked_at: Some(now),
        revoked_reason: Some("logout".into()),
        ..sample_session(&user.id, now)
    };
    store.create_session(&cookie, None).await.unwrap();

    for (key, expected) in [
        (SessionKey::Id(&bearer.id), &bearer),
        (SessionKey::Id(&cookie.id), &cookie),
        (
            SessionKey::CookieHash("cookie-hash-of-the-session"),
            &cookie,
        ),
    ] {
        assert_eq!(
            store.session_with_user(key).await.unwrap(),
            Some((expected.clone(), stored.clone())),
            "{key:?}"
        );
    }
    for key in [
        SessionKey::Id("no-such-session"),
        SessionKey::CookieHash("nope"),
    ] {
        assert_eq!(store.session_with_user(key).await.unwrap(), None);
    }
}
