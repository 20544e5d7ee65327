//! The conformance cases. Each takes a fresh [`TestDb`] and panics on failure.

use std::collections::BTreeSet;
use std::sync::Arc;

use latchkey_core::abuse::brute_force::LoginFailures;
use latchkey_core::keys::{Client, StoredKey};
use latchkey_core::session::{
    RefreshToken, RotateOutcome, Rotation, Session, SessionKind, WhichSessions,
};
use latchkey_core::store::{Store, StoreError, truncate_to_millis};
use latchkey_core::user::{User, normalize_email, normalize_username};
use latchkey_core::{Clock, SystemClock, id};
use time::{Duration, OffsetDateTime};

use crate::db::TestDb;

mod credential_tokens;
mod events;
pub use events::*;
mod legacy_hashes;
pub use legacy_hashes::*;
mod user_transfer;
pub use user_transfer::*;
mod lifecycle;
mod mfa;
mod oauth;
pub use credential_tokens::*;
pub use lifecycle::*;
pub use mfa::*;
pub use oauth::*;
mod roles_audit;
pub use roles_audit::*;
mod rotation;
mod session_reads;
pub use session_reads::*;
mod i18n;
mod sweep;
pub use i18n::*;
pub use rotation::*;
pub use sweep::*;

async fn migrated(db: &dyn TestDb) -> Arc<dyn Store> {
    let store = db.open().await;
    store
        .migrate()
        .await
        .expect("migrations apply on an empty database");
    store
}

/// A user with millisecond timestamps, as the contract stores them.
pub fn sample_user(email: &str, username: Option<&str>) -> User {
    let now = truncate_to_millis(SystemClock.now());
    User {
        id: id::new_id(),
        email: email.trim().to_owned(),
        email_normalized: normalize_email(email),
        email_verified: false,
        username: username.map(str::to_owned),
        username_normalized: username.map(normalize_username),
        name: Some("Sample Person".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        created_at: now,
        updated_at: now,
        suspension: None,
        locale: None,
    }
}

/// The first run applies every migration; the second applies none.
pub async fn migrate_applies_all_then_nothing(db: &dyn TestDb) {
    let store = db.open().await;
    let pending = store.pending_migrations().await.unwrap();
    assert!(
        !pending.is_empty(),
        "an empty database has pending migrations"
    );
    let first = store.migrate().await.unwrap();
    assert_eq!(
        first.applied, pending,
        "applies exactly what was pending, in order"
    );
    assert_eq!(first.already_applied, 0);
    let second = store.migrate().await.unwrap();
    assert!(
        second.applied.is_empty(),
        "nothing left to apply: {second:?}"
    );
    assert_eq!(second.already_applied, pending.len());
    assert!(store.pending_migrations().await.unwrap().is_empty());
}

/// Two nodes starting at once on one database: both succeed, and every
/// migration is applied exactly once between them.
pub async fn concurrent_migrations_are_safe(db: &dyn TestDb) {
    let handles: Vec<Arc<dyn Store>> =
        futures_util::future::join_all((0..4).map(|_| db.open())).await;
    let expected = handles[0].pending_migrations().await.unwrap();
    let reports = futures_util::future::join_all(handles.iter().map(|s| s.migrate())).await;
    let mut seen = Vec::new();
    for r in reports {
        seen.extend(r.expect("a concurrent migration run must not fail").applied);
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(
        seen.len(),
        unique.len(),
        "a migration was applied twice: {seen:?}"
    );
    assert_eq!(unique, expected.into_iter().collect::<BTreeSet<_>>());
    // and the schema works for every handle
    for s in &handles {
        s.insert_user(
            &sample_user(&format!("{}@example.com", id::new_id()), None),
            &[],
            None,
        )
        .await
        .unwrap();
    }
}

/// `ping` answers on a reachable database.
pub async fn ping_answers(db: &dyn TestDb) {
    migrated(db)
        .await
        .ping()
        .await
        .expect("ping on a live database");
}

/// What is written is read back identically by every lookup.
pub async fn user_round_trips(db: &dyn TestDb) {
    let store = migrated(db).await;
    let mut user = sample_user("Ada.Lovelace@Example.org", Some("Ada"));
    user.email_verified = true;
    store.insert_user(&user, &[], None).await.unwrap();
    assert_eq!(
        store.user_by_id(&user.id).await.unwrap().as_ref(),
        Some(&user)
    );
    assert_eq!(
        store
            .user_by_email("ada.lovelace@example.org")
            .await
            .unwrap()
            .as_ref(),
        Some(&user)
    );
    assert_eq!(
        store.user_by_username("ada").await.unwrap().as_ref(),
        Some(&user)
    );
    // optional fields absent
    let bare = User {
        name: None,
        password_hash: None,
        ..sample_user("bare@example.org", None)
    };
    store.insert_user(&bare, &[], None).await.unwrap();
    assert_eq!(store.user_by_id(&bare.id).await.unwrap(), Some(bare));
}

/// Two addresses that normalize alike cannot both register.
pub async fn email_is_unique_after_normalization(db: &dyn TestDb) {
    let store = migrated(db).await;
    store
        .insert_user(&sample_user("grace@example.com", None), &[], None)
        .await
        .unwrap();
    let err = store
        .insert_user(&sample_user("  GRACE@Example.COM ", None), &[], None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "got {err:?}");
}

/// Usernames are unique when present; any number of users may have none.
pub async fn username_is_unique_but_optional(db: &dyn TestDb) {
    let store = migrated(db).await;
    store
        .insert_user(&sample_user("a@example.com", Some("Neo")), &[], None)
        .await
        .unwrap();
    let err = store
        .insert_user(&sample_user("b@example.com", Some("neo")), &[], None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict("username")),
        "got {err:?}"
    );
    store
        .insert_user(&sample_user("c@example.com", None), &[], None)
        .await
        .unwrap();
    store
        .insert_user(&sample_user("d@example.com", None), &[], None)
        .await
        .unwrap();
}

/// Cursor pagination by id returns every user once, in order.
pub async fn list_users_pages_in_id_order(db: &dyn TestDb) {
    let store = migrated(db).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let u = sample_user(&format!("user{i}@example.com"), None);
        ids.push(u.id.clone());
        store.insert_user(&u, &[], None).await.unwrap();
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_users(cursor.as_deref(), 3).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|u| u.id.clone());
        seen.extend(page.into_iter().map(|u| u.id));
    }
    assert_eq!(seen, ids);
}

/// Lookups of absent users give `None`, not an error.
pub async fn missing_users_are_none(db: &dyn TestDb) {
    let store = migrated(db).await;
    assert_eq!(store.user_by_id("nope").await.unwrap(), None);
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );
    assert_eq!(store.user_by_username("nobody").await.unwrap(), None);
}

// ---------------------------------------------------------------------------
// Users: updates
// ---------------------------------------------------------------------------

/// The base instant of a case, millisecond-aligned so that every time built
/// from it round-trips exactly on every backend.
fn base_now() -> OffsetDateTime {
    truncate_to_millis(SystemClock.now())
}

/// Inserts a fresh user and returns it.
async fn stored_user(store: &dyn Store) -> User {
    let user = sample_user(&format!("{}@example.com", id::new_id()), None);
    store.insert_user(&user, &[], None).await.unwrap();
    user
}

/// `update_user` replaces the profile fields and nothing else.
pub async fn update_user_replaces_the_profile_only(db: &dyn TestDb) {
    let store = migrated(db).await;
    let user = sample_user("ada@example.org", Some("Ada"));
    store.insert_user(&user, &[], None).await.unwrap();
    let later = user.updated_at + Duration::minutes(5);
    let changed = User {
        email: "Ada@Lovelace.example".into(),
        email_normalized: normalize_email("Ada@Lovelace.example"),
        email_verified: true,
        username: Some("Countess".into()),
        username_normalized: Some(normalize_username("Countess")),
        name: Some("Ada King".into()),
        updated_at: later,
        // neither of these may be written by update_user
        password_hash: Some("$argon2id$something-else".into()),
        created_at: user.created_at - Duration::days(3),
        ..user.clone()
    };
    store.update_user(&changed, None).await.unwrap();
    let expected = User {
        password_hash: user.password_hash.clone(),
        created_at: user.created_at,
        ..changed.clone()
    };
    assert_eq!(
        store.user_by_id(&user.id).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store.user_by_email("ada@lovelace.example").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(store.user_by_email("ada@example.org").await.unwrap(), None);
    assert_eq!(
        store.user_by_username("countess").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(store.user_by_username("ada").await.unwrap(), None);
    // clearing the optional fields
    let cleared = User {
        username: None,
        username_normalized: None,
        name: None,
        ..expected.clone()
    };
    store.update_user(&cleared, None).await.unwrap();
    assert_eq!(store.user_by_id(&user.id).await.unwrap(), Some(cleared));
}

/// `update_user` of a missing id is `NotFound`; taking someone else's
/// username or email is a `Conflict` naming the field, and changes nothing.
pub async fn update_user_reports_missing_and_conflicts(db: &dyn TestDb) {
    let store = migrated(db).await;
    let ghost = sample_user("ghost@example.com", None);
    let err = store.update_user(&ghost, None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "got {err:?}");
    assert_eq!(store.user_by_id(&ghost.id).await.unwrap(), None);

    let alice = sample_user("alice@example.com", Some("alice"));
    let bob = sample_user("bob@example.com", Some("bob"));
    store.insert_user(&alice, &[], None).await.unwrap();
    store.insert_user(&bob, &[], None).await.unwrap();
    let err = store
        .update_user(
            &User {
                username: Some("BOB".into()),
                username_normalized: Some(normalize_username("BOB")),
                ..alice.clone()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict("username")),
        "got {err:?}"
    );
    let err = store
        .update_user(
            &User {
                email: "Bob@Example.com".into(),
                email_normalized: normalize_email("Bob@Example.com"),
                ..alice.clone()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "got {err:?}");
    assert_eq!(store.user_by_id(&alice.id).await.unwrap(), Some(alice));
    assert_eq!(store.user_by_id(&bob.id).await.unwrap(), Some(bob));
}

/// `set_password_hash` sets the hash and `updated_at`, nothing else, only
/// in place of the hash it names; `NotFound` for a missing user, and for a
/// hash changed meanwhile (which it leaves as it is).
pub async fn set_password_hash_updates_hash_and_time(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let err = store
        .set_password_hash("no-such-user", "$argon2id$old", "$argon2id$x", now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "got {err:?}");

    let user = sample_user("pw@example.com", Some("pw"));
    store.insert_user(&user, &[], None).await.unwrap();
    let later = user.updated_at + Duration::seconds(90);
    let current = user
        .password_hash
        .clone()
        .expect("the sample has a password");
    store
        .set_password_hash(&user.id, &current, "$argon2id$v=19$new", later)
        .await
        .unwrap();
    let expected = User {
        password_hash: Some("$argon2id$v=19$new".into()),
        updated_at: later,
        ..user.clone()
    };
    assert_eq!(
        store.user_by_id(&user.id).await.unwrap(),
        Some(expected.clone())
    );

    // a rehash of the hash that was replaced meanwhile (a reset won) writes nothing
    let err = store
        .set_password_hash(
            &user.id,
            &current,
            "$argon2id$v=19$stale",
            later + Duration::seconds(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "got {err:?}");
    assert_eq!(store.user_by_id(&user.id).await.unwrap(), Some(expected));
}

// ---------------------------------------------------------------------------
// Sessions and refresh tokens
// ---------------------------------------------------------------------------

/// A bearer session of `user_id` created at `now`: 30 days absolute, 7 days idle.
pub fn sample_session(user_id: &str, now: OffsetDateTime) -> Session {
    Session {
        id: id::new_id(),
        user_id: user_id.to_owned(),
        kind: SessionKind::Bearer,
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::days(30),
        idle_expires_at: now + Duration::days(7),
        auth_time: now - Duration::seconds(5),
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0".into()),
        device_label: Some("Firefox on Linux".into()),
        cookie_token_hash: None,
        revoked_at: None,
        revoked_reason: None,
    }
}

/// A fresh refresh-token hash (unique per call).
fn token_hash(label: &str) -> String {
    format!("{label}-{}", id::new_id())
}

/// An unused refresh token of `session_id` issued at `now`, valid 30 days.
pub fn sample_token(session_id: &str, now: OffsetDateTime) -> RefreshToken {
    RefreshToken {
        token_hash: token_hash("rt"),
        session_id: session_id.to_owned(),
        created_at: now,
        expires_at: now + Duration::days(30),
        used_at: None,
    }
}

/// An exchange of `presented` at `now` with a fresh successor, a grace
/// window of `grace` and a 7-day idle extension.
fn rotation_at(presented: &str, now: OffsetDateTime, grace: Duration, sealed: &[u8]) -> Rotation {
    Rotation {
        presented_hash: presented.to_owned(),
        successor: RefreshToken {
            token_hash: token_hash("succ"),
            // the store uses the presented token's session, whatever this says
            session_id: "not-the-session".into(),
            created_at: now,
            expires_at: now + Duration::days(30),
            used_at: None,
        },
        successor_sealed: sealed.to_vec(),
        grace_until: now + grace,
        idle_expires_at: now + Duration::days(7),
        now,
    }
}

/// A user with one bearer session (created at `now`) and its first refresh token.
async fn bearer_session(store: &dyn Store, now: OffsetDateTime) -> (Session, RefreshToken) {
    let user = stored_user(store).await;
    let session = sample_session(&user.id, now);
    let token = sample_token(&session.id, now);
    store.create_session(&session, Some(&token)).await.unwrap();
    (session, token)
}

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

// ---------------------------------------------------------------------------
// Signing keys and clients
// ---------------------------------------------------------------------------

/// A signing key made at `created_at`.
pub fn sample_key(created_at: OffsetDateTime) -> StoredKey {
    let kid = id::new_id();
    StoredKey {
        public_jwk: format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"AAAA"}}"#),
        kid,
        alg: "EdDSA".into(),
        private_sealed: vec![0, 1, 2, 254, 255, 42],
        created_at,
        retired_at: None,
        publish_until: None,
    }
}

/// The first rotation inserts; a conditional one is refused while the active
/// key is recent enough; an unconditional one retires the active key.
pub async fn signing_keys_rotate_conditionally(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    assert!(store.signing_keys().await.unwrap().is_empty());

    let k1 = sample_key(now - Duration::days(10));
    assert!(
        store
            .rotate_signing_key(&k1, Some(now - Duration::days(90)), now)
            .await
            .unwrap(),
        "with no active key, a conditional rotation inserts"
    );
    assert_eq!(store.signing_keys().await.unwrap(), vec![k1.clone()]);

    // the active key was created after the threshold: nothing happens
    let k2 = sample_key(now);
    for threshold in [now - Duration::days(20), k1.created_at] {
        assert!(
            !store
                .rotate_signing_key(&k2, Some(threshold), now + Duration::days(1))
                .await
                .unwrap()
        );
        assert_eq!(store.signing_keys().await.unwrap(), vec![k1.clone()]);
    }

    // older than the threshold: rotates
    let publish1 = now + Duration::days(1);
    assert!(
        store
            .rotate_signing_key(
                &k2,
                Some(k1.created_at + Duration::milliseconds(1)),
                publish1
            )
            .await
            .unwrap()
    );
    let k1_retired = StoredKey {
        retired_at: Some(k2.created_at),
        publish_until: Some(publish1),
        ..k1.clone()
    };
    assert_eq!(
        store.signing_keys().await.unwrap(),
        vec![k2.clone(), k1_retired.clone()]
    );

    // unconditionally
    let k3 = sample_key(now + Duration::minutes(1));
    let publish2 = now + Duration::days(2);
    assert!(store.rotate_signing_key(&k3, None, publish2).await.unwrap());
    let k2_retired = StoredKey {
        retired_at: Some(k3.created_at),
        publish_until: Some(publish2),
        ..k2.clone()
    };
    assert_eq!(
        store.signing_keys().await.unwrap(),
        vec![k3.clone(), k2_retired, k1_retired]
    );

    // a kid is unique
    let dup = StoredKey {
        created_at: now + Duration::minutes(2),
        ..k3.clone()
    };
    let err = store.rotate_signing_key(&dup, None, now).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict("kid")), "got {err:?}");
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0], k3, "a failed rotation changes nothing");
}

/// The active `kid` (the keys version nodes poll) follows every rotation.
pub async fn active_signing_kid_follows_rotation(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    assert_eq!(store.active_signing_kid().await.unwrap(), None);
    let k1 = sample_key(now);
    assert!(store.rotate_signing_key(&k1, None, now).await.unwrap());
    assert_eq!(store.active_signing_kid().await.unwrap(), Some(k1.kid));
    let k2 = sample_key(now + Duration::minutes(1));
    assert!(store.rotate_signing_key(&k2, None, now).await.unwrap());
    assert_eq!(store.active_signing_kid().await.unwrap(), Some(k2.kid));
}

/// Four nodes creating the first key at once: exactly one key is made.
pub async fn concurrent_first_signing_key_is_created_once(db: &dyn TestDb) {
    let first = migrated(db).await;
    let mut handles = vec![first];
    for _ in 1..4 {
        handles.push(db.open().await);
    }
    let now = base_now();
    let start = Arc::new(tokio::sync::Barrier::new(handles.len()));
    let tasks: Vec<_> = handles
        .iter()
        .map(|s| {
            let s = s.clone();
            let key = sample_key(now);
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let rotated = s
                    .rotate_signing_key(&key, Some(now - Duration::days(90)), now)
                    .await
                    .unwrap();
                (key, rotated)
            })
        })
        .collect();
    let mut made = Vec::new();
    for t in tasks {
        let (key, rotated) = t.await.unwrap();
        if rotated {
            made.push(key);
        }
    }
    assert_eq!(made.len(), 1, "exactly one node creates the first key");
    assert_eq!(handles[0].signing_keys().await.unwrap(), made);
}

/// Clients: insert, lookup, list by id, and a taken id is a conflict.
pub async fn clients_round_trip_and_conflict(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    assert!(store.list_clients().await.unwrap().is_empty());
    let mut clients: Vec<Client> = ["resource-b", "resource-a", "Resource-C"]
        .into_iter()
        .enumerate()
        .map(|(i, id)| Client {
            id: id.into(),
            name: format!("Resource server {i}"),
            secret_hash: format!("{i:064x}"),
            created_at: now + Duration::milliseconds(i as i64),
        })
        .collect();
    for c in &clients {
        store.insert_client(c).await.unwrap();
    }
    let err = store
        .insert_client(&Client {
            name: "Impostor".into(),
            ..clients[0].clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("id")), "got {err:?}");
    assert_eq!(
        store.client_by_id("resource-b").await.unwrap(),
        Some(clients[0].clone())
    );
    assert_eq!(store.client_by_id("resource-z").await.unwrap(), None);
    clients.sort_by(|a, b| a.id.cmp(&b.id)); // byte order: "Resource-C" first
    assert_eq!(store.list_clients().await.unwrap(), clients);
}

fn failures_row(key: &str, failures: u32, at: OffsetDateTime, locked: bool) -> LoginFailures {
    LoginFailures {
        key: key.to_owned(),
        failures,
        last_failure_at: at,
        next_attempt_at: at + Duration::seconds(i64::from(failures)),
        locked_at: locked.then_some(at),
    }
}

/// Failure counters: a compare-and-set on the count, where a missing row
/// counts as zero; clearing deletes; timestamps round-trip to the millisecond.
pub async fn login_failures_compare_and_set(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now() + Duration::nanoseconds(123_456_789);
    let key = "user:0190a0b0-0000-7000-8000-000000000001";
    assert_eq!(store.login_failures(key).await.unwrap(), None);
    assert!(
        !store
            .swap_login_failures(key, 3, &failures_row(key, 4, now, false))
            .await
            .unwrap(),
        "a missing row is not 3"
    );
    assert_eq!(store.login_failures(key).await.unwrap(), None);

    let first = failures_row(key, 1, now, false);
    assert!(store.swap_login_failures(key, 0, &first).await.unwrap());
    let got = store.login_failures(key).await.unwrap().unwrap();
    assert_eq!(got.failures, 1);
    assert_eq!(got.last_failure_at, truncate_to_millis(now));
    assert_eq!(
        got.next_attempt_at,
        truncate_to_millis(first.next_attempt_at)
    );
    assert_eq!(got.locked_at, None);
    assert!(
        !store.swap_login_failures(key, 0, &first).await.unwrap(),
        "the row is 1, not 0"
    );

    let locked = failures_row(key, 2, now + Duration::seconds(5), true);
    assert!(store.swap_login_failures(key, 1, &locked).await.unwrap());
    assert!(
        !store.swap_login_failures(key, 1, &locked).await.unwrap(),
        "already moved on"
    );
    let got = store.login_failures(key).await.unwrap().unwrap();
    assert_eq!(got.failures, 2);
    assert_eq!(
        got.locked_at,
        Some(truncate_to_millis(now + Duration::seconds(5)))
    );

    // another key is independent
    let other = "ident:abc";
    assert!(
        store
            .swap_login_failures(other, 0, &failures_row(other, 1, now, false))
            .await
            .unwrap()
    );
    assert!(store.clear_login_failures(key).await.unwrap());
    assert!(
        !store.clear_login_failures(key).await.unwrap(),
        "nothing left to clear"
    );
    assert_eq!(store.login_failures(key).await.unwrap(), None);
    assert_eq!(
        store.login_failures(other).await.unwrap().unwrap().failures,
        1
    );
    // after a clear, counting starts from zero again
    assert!(store.swap_login_failures(key, 0, &first).await.unwrap());
}

/// Many nodes charging one counter at once: each step is won by exactly one.
pub async fn concurrent_login_failure_swaps_admit_one(db: &dyn TestDb) {
    let first = migrated(db).await;
    let mut handles = vec![first];
    for _ in 1..4 {
        handles.push(db.open().await);
    }
    let key = "ident:race";
    let now = base_now();
    for expected in 0..3u32 {
        let start = Arc::new(tokio::sync::Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let s = handles[i % handles.len()].clone();
                let start = start.clone();
                let row = failures_row(key, expected + 1, now, false);
                tokio::spawn(async move {
                    start.wait().await;
                    s.swap_login_failures(key, expected, &row).await.unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 1, "step {expected}: exactly one swap wins");
        assert_eq!(
            handles[0]
                .login_failures(key)
                .await
                .unwrap()
                .unwrap()
                .failures,
            expected + 1
        );
    }
}

/// Purging removes old unlocked counters only.
pub async fn purge_login_failures_keeps_locked_and_recent(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let old = now - Duration::days(2);
    for (key, at, locked) in [
        ("a:old", old, false),
        ("b:old-locked", old, true),
        ("c:recent", now, false),
    ] {
        assert!(
            store
                .swap_login_failures(key, 0, &failures_row(key, 1, at, locked))
                .await
                .unwrap()
        );
    }
    assert_eq!(
        store
            .purge_login_failures(now - Duration::days(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.login_failures("a:old").await.unwrap(), None);
    assert!(
        store
            .login_failures("b:old-locked")
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.login_failures("c:recent").await.unwrap().is_some());
    assert_eq!(
        store
            .purge_login_failures(now - Duration::days(1))
            .await
            .unwrap(),
        0
    );
}
