//! Conformance cases for the OAuth slice (re-exported from [`crate::cases`]).

use latchkey_core::audit::{AuditEvent, AuditQuery, EventType};
use latchkey_core::auth::ClientInfo;
use latchkey_core::keys::{Client, StoredKey};
use latchkey_core::oauth::{ClientSettings, ClientType, GrantType, IdTokenAlg, OAuthClient};
use latchkey_core::store::{Store, StoreError, truncate_to_millis};
use latchkey_core::{Clock, SystemClock, id};
use time::OffsetDateTime;

use crate::db::TestDb;

async fn migrated(db: &dyn TestDb) -> std::sync::Arc<dyn Store> {
    let store = db.open().await;
    store.migrate().await.expect("migrations apply");
    store
}

fn event(kind: EventType, actor: &str) -> AuditEvent {
    let client = ClientInfo {
        ip: None,
        user_agent: Some("conformance".into()),
        request_id: Some(id::new_id()),
    };
    AuditEvent::new(kind, truncate_to_millis(SystemClock.now()), &client).actor(Some(actor))
}

/// The audit events `actor` made, oldest first.
pub(super) async fn events_by(store: &dyn Store, actor: &str) -> Vec<String> {
    store
        .audit_events(&AuditQuery {
            actor_id: Some(actor.to_owned()),
            oldest_first: true,
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

/// Clients with their settings: stored and read whole, an id taken is a
/// conflict that records nothing, a client from before the slice reads with
/// the default settings, and updates, secret changes and deletes report an
/// unknown id as `NotFound` and record their event with the write.
pub async fn oauth_clients_round_trip_update_and_delete(db: &dyn TestDb) {
    let store = migrated(db).await;
    let actor = id::new_id();
    let now = truncate_to_millis(SystemClock.now());
    let client = |id: &str| Client {
        id: id.into(),
        name: format!("App {id}"),
        secret_hash: format!("{:064x}", id.len()),
        created_at: now,
    };
    let settings = ClientSettings {
        client_type: ClientType::Public,
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        post_logout_redirect_uris: vec!["https://app.example/bye".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: vec!["openid".into(), "email".into()],
        first_party: true,
        access_token_ttl_secs: Some(300),
        id_token_signed_response_alg: IdTokenAlg::EdDSA,
        ..ClientSettings::default()
    };
    store
        .insert_oauth_client(
            &client("app-b"),
            &settings,
            &event(EventType::ClientCreated, &actor),
        )
        .await
        .unwrap();
    store
        .insert_oauth_client(
            &client("app-a"),
            &ClientSettings::default(),
            &event(EventType::ClientCreated, &actor),
        )
        .await
        .unwrap();
    let err = store
        .insert_oauth_client(
            &client("app-a"),
            &settings,
            &event(EventType::ClientCreated, &actor),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("id")), "got {err:?}");
    // a client registered before the slice existed
    store.insert_client(&client("legacy")).await.unwrap();

    let b = OAuthClient {
        client: client("app-b"),
        settings: settings.clone(),
    };
    assert_eq!(store.oauth_client("app-b").await.unwrap(), Some(b.clone()));
    assert_eq!(store.oauth_client("nobody").await.unwrap(), None);
    let legacy = store.oauth_client("legacy").await.unwrap().unwrap();
    assert_eq!(legacy.settings, ClientSettings::default());
    let ids: Vec<String> = store
        .list_oauth_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client.id)
        .collect();
    assert_eq!(ids, ["app-a", "app-b", "legacy"]);

    let changed = ClientSettings {
        scopes: vec!["openid".into()],
        ..settings.clone()
    };
    for id in ["app-b", "legacy"] {
        store
            .update_oauth_client(
                id,
                "Renamed",
                &changed,
                now,
                &event(EventType::ClientUpdated, &actor),
            )
            .await
            .unwrap();
        let got = store.oauth_client(id).await.unwrap().unwrap();
        assert_eq!(
            (got.client.name.as_str(), &got.settings),
            ("Renamed", &changed)
        );
    }
    let err = store
        .update_oauth_client(
            "nobody",
            "x",
            &changed,
            now,
            &event(EventType::ClientUpdated, &actor),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "got {err:?}");

    store
        .set_client_secret_hash(
            "app-b",
            &"f".repeat(64),
            &event(EventType::ClientSecretRotated, &actor),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .client_by_id("app-b")
            .await
            .unwrap()
            .unwrap()
            .secret_hash,
        "f".repeat(64)
    );
    let err = store
        .set_client_secret_hash(
            "nobody",
            "x",
            &event(EventType::ClientSecretRotated, &actor),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "got {err:?}");

    store
        .delete_oauth_client("app-b", &event(EventType::ClientDeleted, &actor))
        .await
        .unwrap();
    store
        .delete_oauth_client("legacy", &event(EventType::ClientDeleted, &actor))
        .await
        .unwrap();
    assert_eq!(store.oauth_client("app-b").await.unwrap(), None);
    assert_eq!(store.client_by_id("legacy").await.unwrap(), None);
    let err = store
        .delete_oauth_client("app-b", &event(EventType::ClientDeleted, &actor))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "got {err:?}");
    // the same id can be registered again: nothing of the old one is left
    store
        .insert_oauth_client(
            &client("app-b"),
            &ClientSettings::default(),
            &event(EventType::ClientCreated, &actor),
        )
        .await
        .unwrap();
    assert_eq!(
        store.oauth_client("app-b").await.unwrap().unwrap().settings,
        ClientSettings::default()
    );

    assert_eq!(
        events_by(store.as_ref(), &actor).await,
        [
            "client.created",
            "client.created",
            "client.updated",
            "client.updated",
            "client.secret_rotated",
            "client.deleted",
            "client.deleted",
            "client.created",
        ]
    );
}

/// The ID-token keys rotate under the same rules as the access-token keys,
/// in their own table: neither rotation touches the other's keys.
pub async fn id_token_keys_rotate_apart_from_access_keys(db: &dyn TestDb) {
    use time::Duration;
    let store = migrated(db).await;
    let now = truncate_to_millis(SystemClock.now());
    let key = |created| StoredKey {
        alg: "RS256".into(),
        ..crate::cases::sample_key(created)
    };
    assert!(store.id_token_keys().await.unwrap().is_empty());
    assert_eq!(store.active_id_token_kid().await.unwrap(), None);
    let access = crate::cases::sample_key(now - Duration::days(1));
    assert!(store.rotate_signing_key(&access, None, now).await.unwrap());

    let k1 = key(now - Duration::days(10));
    assert!(
        store
            .rotate_id_token_key(&k1, Some(OffsetDateTime::UNIX_EPOCH), now)
            .await
            .unwrap(),
        "with no active ID-token key, the first is made although an access key exists"
    );
    let k2 = key(now);
    assert!(
        !store
            .rotate_id_token_key(&k2, Some(OffsetDateTime::UNIX_EPOCH), now)
            .await
            .unwrap(),
        "an active key younger than the threshold stays"
    );
    assert!(
        store
            .rotate_id_token_key(&k2, Some(now - Duration::days(5)), now + Duration::days(1))
            .await
            .unwrap()
    );
    assert_eq!(
        store.active_id_token_kid().await.unwrap(),
        Some(k2.kid.clone())
    );
    let keys = store.id_token_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], k2);
    assert_eq!(keys[1].kid, k1.kid);
    assert_eq!(keys[1].retired_at, Some(k2.created_at));
    assert_eq!(keys[1].publish_until, Some(now + Duration::days(1)));
    // the access-token keys are untouched
    assert_eq!(store.signing_keys().await.unwrap(), vec![access.clone()]);
    assert_eq!(store.active_signing_kid().await.unwrap(), Some(access.kid));
}

/// An authorization code is taken once: its first presentation marks it
/// used and returns it as it was; later ones find it used; of concurrent
/// presentations exactly one takes it. It goes with its user.
pub async fn authorization_codes_are_taken_once(db: &dyn TestDb) {
    use latchkey_core::oauth::{AuthorizationCode, CODE_TTL, CodeTaken};
    let store = migrated(db).await;
    let now = truncate_to_millis(SystemClock.now());
    let user = crate::cases::sample_user(&format!("{}@example.com", id::new_id()), None);
    store.insert_user(&user, &[], None).await.unwrap();
    let session = crate::cases::sample_session(&user.id, now);
    store.create_session(&session, None).await.unwrap();
    let client = Client {
        id: "app".into(),
        name: "App".into(),
        secret_hash: String::new(),
        created_at: now,
    };
    store
        .insert_oauth_client(
            &client,
            &ClientSettings::default(),
            &event(EventType::ClientCreated, "admin"),
        )
        .await
        .unwrap();
    let code = |hash: &str| AuthorizationCode {
        code_hash: hash.into(),
        client_id: "app".into(),
        user_id: user.id.clone(),
        session_id: session.id.clone(),
        redirect_uri: "https://app.example/cb".into(),
        scope: vec!["openid".into(), "email".into()],
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        resource: None,
        auth_time: now,
        amr: vec!["pwd".into()],
        created_at: now,
        expires_at: now + CODE_TTL,
        used_at: None,
    };
    let first = code("hash-1");
    store.insert_authorization_code(&first).await.unwrap();
    assert_eq!(
        store.take_authorization_code("hash-1", now).await.unwrap(),
        CodeTaken::Taken(first.clone())
    );
    let later = now + time::Duration::seconds(1);
    assert_eq!(
        store
            .take_authorization_code("hash-1", later)
            .await
            .unwrap(),
        CodeTaken::AlreadyUsed(AuthorizationCode {
            used_at: Some(now),
            ..first.clone()
        }),
        "the first use is kept"
    );
    assert_eq!(
        store.take_authorization_code("nope", now).await.unwrap(),
        CodeTaken::Unknown
    );

    store
        .insert_authorization_code(&code("hash-2"))
        .await
        .unwrap();
    let takes: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_authorization_code("hash-2", now).await })
        })
        .collect();
    let mut taken = 0;
    for t in takes {
        if matches!(t.await.unwrap().unwrap(), CodeTaken::Taken(_)) {
            taken += 1;
        }
    }
    assert_eq!(
        taken, 1,
        "exactly one concurrent presentation takes the code"
    );

    store
        .delete_user(&user.id, &event(EventType::UserDeleted, "admin"))
        .await
        .unwrap();
    assert_eq!(
        store.take_authorization_code("hash-2", now).await.unwrap(),
        CodeTaken::Unknown,
        "a deleted user's codes are gone"
    );
}
