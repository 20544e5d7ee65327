//! Users: every lookup reads back what was written; uniqueness after
//! normalization; profile and password-hash updates.

use latchkey_core::store::StoreError;
use latchkey_core::user::{User, normalize_email, normalize_username};
use time::Duration;

use crate::db::TestDb;

use super::{base_now, migrated, sample_user};

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
