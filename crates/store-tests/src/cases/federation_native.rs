//! Conformance case of issue 17's native apps: the nonce row (purpose
//! `nonce`, migration 0081) is stored and taken once, and the rows of a
//! flow stored before the migration are still there.

use time::Duration;

use super::{base_now, migrated};
use crate::TestDb;

/// A native app's nonce is taken once, only as a nonce, before it expires.
pub async fn native_nonces_are_taken_once(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let later = now + Duration::minutes(5);
    store
        .put_federation_pending("n1", "nonce", "google", now, later)
        .await
        .unwrap();
    let take = |purpose: &'static str, at| store.take_federation_pending("n1", purpose, at);
    assert_eq!(take("flow", now).await.unwrap(), None);
    assert_eq!(take("nonce", later).await.unwrap(), None);
    assert_eq!(take("nonce", now).await.unwrap().as_deref(), Some("google"));
    assert_eq!(take("nonce", now).await.unwrap(), None);
    // any other purpose is refused by the table
    assert!(
        store
            .put_federation_pending("n2", "other", "x", now, later)
            .await
            .is_err()
    );
}
