//! Failed-sign-in counters: compare-and-set, concurrent swaps, the purge.

use std::sync::Arc;

use latchkey_core::store::truncate_to_millis;
use time::Duration;

use crate::db::TestDb;

use super::{base_now, failures_row, migrated};

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
