//! The language of an account (`users.locale`, migration 0050).

use latchkey_core::store::StoreError;
use latchkey_core::user::User;

use super::{migrated, sample_session, sample_token, sample_user};
use crate::db::TestDb;

/// The locale is stored at creation, read by every user read (by id,
/// address, username, page, and with a session), replaced and cleared by
/// `update_user`.
pub async fn account_locale_round_trips(db: &dyn TestDb) {
    let store = migrated(db).await;
    let user = User {
        locale: Some("fr".into()),
        ..sample_user("langue@example.org", Some("langue"))
    };
    store.insert_user(&user, &[], None).await.unwrap();
    let read = |u: Option<User>| u.and_then(|u| u.locale);
    assert_eq!(
        read(store.user_by_id(&user.id).await.unwrap()).as_deref(),
        Some("fr")
    );
    assert_eq!(
        read(store.user_by_email("langue@example.org").await.unwrap()).as_deref(),
        Some("fr")
    );
    assert_eq!(
        read(store.user_by_username("langue").await.unwrap()).as_deref(),
        Some("fr")
    );
    let listed = store.list_users(None, 10).await.unwrap();
    assert_eq!(listed, vec![user.clone()]);
    let now = user.created_at;
    let s = sample_session(&user.id, now);
    store
        .create_session(&s, Some(&sample_token(&s.id, now)))
        .await
        .unwrap();
    let (_, with_user) = store
        .session_with_user(latchkey_core::session::SessionKey::Id(&s.id))
        .await
        .unwrap()
        .expect("both");
    assert_eq!(with_user.locale.as_deref(), Some("fr"));

    for locale in [Some("de"), None] {
        let changed = User {
            locale: locale.map(str::to_owned),
            ..user.clone()
        };
        store.update_user(&changed, None).await.unwrap();
        assert_eq!(store.user_by_id(&user.id).await.unwrap(), Some(changed));
    }
    let ghost = sample_user("ghost@example.org", None);
    assert!(matches!(
        store.update_user(&ghost, None).await,
        Err(StoreError::NotFound)
    ));
}
