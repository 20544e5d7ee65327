//! Conformance cases for the OAuth provider's flows (migration 0031):
//! client sessions under a browser session, and remembered consent.

use latchkey_core::audit::{AuditEvent, EventType};
use latchkey_core::auth::ClientInfo;
use latchkey_core::keys::Client;
use latchkey_core::oauth::{ClientSession, ClientSessions, ClientSettings, Grant};
use latchkey_core::session::{Session, WhichSessions};
use latchkey_core::store::{Store, truncate_to_millis};
use latchkey_core::{Clock, SystemClock, id};
use time::{Duration, OffsetDateTime};

use crate::cases::{sample_session, sample_token, sample_user};
use crate::db::TestDb;

pub(crate) async fn with_client(store: &dyn Store, client_id: &str, now: OffsetDateTime) {
    let event = AuditEvent::new(
        EventType::ClientCreated,
        now,
        &ClientInfo {
            ip: None,
            user_agent: None,
            request_id: None,
        },
    );
    store
        .insert_oauth_client(
            &Client {
                id: client_id.into(),
                name: client_id.into(),
                secret_hash: String::new(),
                created_at: now,
            },
            &ClientSettings::default(),
            &event,
        )
        .await
        .unwrap();
}

/// A client session of `client` under `parent`, with a refresh token; its
/// token hash.
async fn client_session(
    store: &dyn Store,
    parent: &Session,
    client: &str,
    code_hash: &str,
    now: OffsetDateTime,
) -> (Session, String) {
    let session = sample_session(&parent.user_id, now);
    let token = sample_token(&session.id, now);
    store.create_session(&session, Some(&token)).await.unwrap();
    store
        .insert_client_session(&ClientSession {
            session_id: session.id.clone(),
            client_id: client.into(),
            user_id: parent.user_id.clone(),
            parent_session_id: parent.id.clone(),
            scope: vec!["openid".into(), "email".into()],
            resource: Some("https://api.example/".into()),
            code_hash: code_hash.into(),
            created_at: now,
        })
        .await
        .unwrap();
    (session, token.token_hash)
}

async fn revoked(store: &dyn Store, id: &str) -> Option<String> {
    store
        .session_by_id(id)
        .await
        .unwrap()
        .unwrap()
        .revoked_reason
}

/// Client sessions read back by id and by refresh token; they end by
/// their code, by their grant (only that client's), and with the browser
/// session they came from (any way it ends), in the same write.
pub async fn client_sessions_end_with_their_code_grant_and_browser_session(db: &dyn TestDb) {
    let store = db.open().await;
    store.migrate().await.unwrap();
    let now = truncate_to_millis(SystemClock.now());
    let user = sample_user(&format!("{}@example.com", id::new_id()), None);
    store.insert_user(&user, &[], None).await.unwrap();
    with_client(store.as_ref(), "app", now).await;
    with_client(store.as_ref(), "other", now).await;
    let browser = sample_session(&user.id, now);
    store.create_session(&browser, None).await.unwrap();

    let (a, a_token) = client_session(store.as_ref(), &browser, "app", "code-a", now).await;
    let read = store.client_session(&a.id).await.unwrap().unwrap();
    assert_eq!(read.client_id, "app");
    assert_eq!(read.scope, ["openid", "email"]);
    assert_eq!(read.resource.as_deref(), Some("https://api.example/"));
    assert_eq!(read.created_at, now);
    assert_eq!(
        store.client_session_by_refresh(&a_token).await.unwrap(),
        Some(read)
    );
    assert!(store.client_session(&browser.id).await.unwrap().is_none());
    assert!(
        store
            .client_session_by_refresh("nope")
            .await
            .unwrap()
            .is_none()
    );

    // by code
    let ended = store
        .revoke_client_sessions(ClientSessions::FromCode("code-a"), now, "code_reuse")
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(
        revoked(store.as_ref(), &a.id).await.as_deref(),
        Some("code_reuse")
    );
    assert!(revoked(store.as_ref(), &browser.id).await.is_none());

    // by grant: only that client's
    let (b, _) = client_session(store.as_ref(), &browser, "app", "code-b", now).await;
    let (c, _) = client_session(store.as_ref(), &browser, "other", "code-c", now).await;
    let ended = store
        .revoke_client_sessions(
            ClientSessions::OfGrant {
                user_id: &user.id,
                client_id: "app",
            },
            now,
            "grant_revoked",
        )
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(revoked(store.as_ref(), &b.id).await.is_some());
    assert!(revoked(store.as_ref(), &c.id).await.is_none());

    // with the browser session
    store
        .revoke_sessions(
            &user.id,
            WhichSessions::One(&browser.id),
            now,
            "logout",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        revoked(store.as_ref(), &c.id).await.as_deref(),
        Some("browser_session_ended")
    );
}

/// Consent is stored per (user, client), replaced whole, listed by client,
/// and deleting it ends that client's sessions of the user in one write.
pub async fn grants_are_remembered_listed_and_revoked_with_their_sessions(db: &dyn TestDb) {
    let store = db.open().await;
    store.migrate().await.unwrap();
    let now = truncate_to_millis(SystemClock.now());
    let user = sample_user(&format!("{}@example.com", id::new_id()), None);
    store.insert_user(&user, &[], None).await.unwrap();
    with_client(store.as_ref(), "b-app", now).await;
    with_client(store.as_ref(), "a-app", now).await;
    let grant = |client: &str, scope: &[&str], at: OffsetDateTime| Grant {
        user_id: user.id.clone(),
        client_id: client.into(),
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        created_at: now,
        updated_at: at,
    };
    assert!(store.grant(&user.id, "b-app").await.unwrap().is_none());
    let own = |kind| {
        let info = ClientInfo {
            ip: None,
            user_agent: None,
            request_id: None,
        };
        AuditEvent::new(kind, now, &info)
            .actor(Some(&user.id))
            .subject(&user.id)
    };
    store
        .upsert_grant(
            &grant("b-app", &["openid"], now),
            &own(EventType::ConsentGranted),
        )
        .await
        .unwrap();
    let later = now + Duration::seconds(5);
    store
        .upsert_grant(
            &grant("b-app", &["openid", "email"], later),
            &own(EventType::ConsentGranted),
        )
        .await
        .unwrap();
    store
        .upsert_grant(
            &grant("a-app", &["openid"], now),
            &own(EventType::ConsentGranted),
        )
        .await
        .unwrap();
    assert_eq!(
        store.grant(&user.id, "b-app").await.unwrap(),
        Some(grant("b-app", &["openid", "email"], later))
    );
    let listed: Vec<String> = store
        .grants_of_user(&user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.client_id)
        .collect();
    assert_eq!(listed, ["a-app", "b-app"]);

    let browser = sample_session(&user.id, now);
    store.create_session(&browser, None).await.unwrap();
    let (s, _) = client_session(store.as_ref(), &browser, "b-app", "code", now).await;
    let revoked_event = own(EventType::ConsentRevoked);
    assert!(
        store
            .delete_grant(&user.id, "b-app", now, &revoked_event)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_grant(&user.id, "b-app", now, &revoked_event)
            .await
            .unwrap()
    );
    // each write recorded its event; the delete of nothing recorded none
    let kinds = crate::cases::lifecycle::events_about(store.as_ref(), &user.id).await;
    assert_eq!(
        kinds,
        [
            "consent.granted",
            "consent.granted",
            "consent.granted",
            "consent.revoked"
        ]
    );
    assert_eq!(
        revoked(store.as_ref(), &s.id).await.as_deref(),
        Some("grant_revoked")
    );
    assert!(store.grant(&user.id, "b-app").await.unwrap().is_none());
}
