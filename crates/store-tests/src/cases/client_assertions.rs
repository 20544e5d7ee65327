//! Conformance cases for `private_key_jwt` (migration 0032): each client
//! assertion's `jti` is used once until it expires, also under concurrency.

use latchkey_core::store::truncate_to_millis;
use latchkey_core::{Clock, SystemClock};
use time::Duration;

use crate::cases::oauth_grants::with_client;
use crate::db::TestDb;

/// A `jti` passes once per client while its assertion lives; of many
/// concurrent presentations on several handles exactly one passes.
pub async fn client_assertion_jtis_are_used_once_until_they_expire(db: &dyn TestDb) {
    let store = crate::cases::migrated(db).await;
    let now = truncate_to_millis(SystemClock.now());
    with_client(store.as_ref(), "rp-a", now).await;
    with_client(store.as_ref(), "rp-b", now).await;
    let exp = now + Duration::minutes(5);
    let take = |client: &'static str, jti: &'static str, exp, now| {
        let store = store.clone();
        async move {
            store
                .use_client_assertion(client, jti, exp, now)
                .await
                .unwrap()
        }
    };
    assert!(take("rp-a", "j1", exp, now).await, "first use");
    assert!(!take("rp-a", "j1", exp, now).await, "a replay");
    assert!(
        !take("rp-a", "j1", exp, exp - Duration::seconds(1)).await,
        "still a replay just before exp"
    );
    assert!(take("rp-b", "j1", exp, now).await, "another client's jti");
    let later = exp + Duration::seconds(1);
    assert!(
        take("rp-a", "j1", later + Duration::minutes(5), later).await,
        "once expired, the row is gone"
    );

    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = if i % 2 == 0 {
            store.clone()
        } else {
            db.open().await
        };
        tasks.push(tokio::spawn(async move {
            store
                .use_client_assertion("rp-a", "raced", exp, now)
                .await
                .unwrap()
        }));
    }
    let mut passed = 0;
    for t in tasks {
        passed += usize::from(t.await.unwrap());
    }
    assert_eq!(passed, 1, "exactly one concurrent presentation passes");
}
