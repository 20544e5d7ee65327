//! Conformance cases of issue 17 items 4 and 5: what a provider said of a
//! linked identity (profile, sealed tokens) is kept per identity, replaced
//! by a refresh only if nothing wrote it meanwhile, and removed with the
//! identity.

use std::sync::Arc;

use latchkey_core::audit::EventType;
use latchkey_core::federation::UpstreamRecord;
use latchkey_core::store::{Store, truncate_to_millis};
use time::Duration;

use super::federation::identity;
use super::lifecycle::ev;
use super::{base_now, migrated, stored_user};
use crate::TestDb;

/// A record round-trips, each write moves its version, a refresh at a
/// stale version stores nothing (of two concurrent ones, one wins), and
/// unlinking removes it.
pub async fn upstream_records_replace_tokens_once_per_version(db: &dyn TestDb) {
    let store: Arc<dyn Store> = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let linked = identity(&user, "idp", "subject-1", now);
    store
        .link_identity(&linked, &ev(EventType::IdentityLinked, &user, now))
        .await
        .unwrap();
    assert_eq!(store.upstream_of(&linked.id).await.unwrap(), None);
    let record = UpstreamRecord {
        name: Some("Ada".into()),
        picture: Some("https://idp.example/ada.png".into()),
        tokens_sealed: Some(vec![1, 0, 255, 7]),
        version: 0,
        updated_at: now,
    };
    assert!(
        !store
            .record_upstream("no-such-identity", &record)
            .await
            .unwrap()
    );
    assert!(store.record_upstream(&linked.id, &record).await.unwrap());
    let stored = store.upstream_of(&linked.id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        UpstreamRecord {
            version: 1,
            updated_at: truncate_to_millis(now),
            ..record.clone()
        }
    );
    // a sign-in replaces the record (here: without tokens) and its version
    let later = now + Duration::minutes(1);
    let without = UpstreamRecord {
        tokens_sealed: None,
        updated_at: later,
        ..record.clone()
    };
    assert!(store.record_upstream(&linked.id, &without).await.unwrap());
    let stored = store.upstream_of(&linked.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.tokens_sealed), (2, None));
    // a refresh read at version 1 lost to that sign-in
    assert!(
        !store
            .replace_upstream_tokens(&linked.id, 1, &[9], later)
            .await
            .unwrap()
    );
    // two refreshes from version 2: exactly one stores its tokens
    let (a, b) = tokio::join!(
        store.replace_upstream_tokens(&linked.id, 2, &[0xa], later),
        store.replace_upstream_tokens(&linked.id, 2, &[0xb], later)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a ^ b, "one of two refreshes wins: {a} {b}");
    let stored = store.upstream_of(&linked.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 3);
    assert_eq!(
        stored.tokens_sealed,
        Some(if a { vec![0xa] } else { vec![0xb] })
    );
    assert_eq!(
        (stored.name.as_deref(), stored.updated_at),
        (Some("Ada"), truncate_to_millis(later))
    );
    // removed with the identity (a password remains: it may go)
    assert!(
        store
            .unlink_identity(
                &user.id,
                &linked.id,
                super::NO_MAIL,
                &ev(EventType::IdentityUnlinked, &user, later)
            )
            .await
            .unwrap()
    );
    assert_eq!(store.upstream_of(&linked.id).await.unwrap(), None);
}
