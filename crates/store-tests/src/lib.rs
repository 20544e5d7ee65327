//! The store conformance suite.
//!
//! Every backend crate runs these cases from its own `tests/conformance.rs`:
//!
//! ```ignore
//! latchkey_store_tests::conformance_suite!(my_backend, my_backend_test_db());
//! ```
//!
//! where the expression is a future giving a fresh, empty, isolated
//! [`TestDb`]. The macro expands into a module named after the backend with
//! one `#[tokio::test]` per case, so the test output names every case for
//! every backend (`sqlite::user_round_trips`, `postgres::user_round_trips`),
//! and a backend cannot skip a case. A case that fails on one backend and passes on
//! the other is a bug in the first backend, never in the suite.

pub mod cases;

use std::sync::Arc;

use async_trait::async_trait;
use latchkey_core::Store;

/// A fresh, isolated database for one test case.
#[async_trait]
pub trait TestDb: Send + Sync {
    /// Opens another handle (its own pool or threads) onto this same database.
    /// The first call sees an empty, unmigrated database.
    async fn open(&self) -> Arc<dyn Store>;
}

/// Expands into one test per conformance case for the given backend.
#[macro_export]
macro_rules! conformance_suite {
    ($backend:ident, $fresh:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $crate::conformance_suite!(@cases $fresh;
            migrate_applies_all_then_nothing,
            concurrent_migrations_are_safe,
            ping_answers,
            user_round_trips,
            email_is_unique_after_normalization,
            username_is_unique_but_optional,
            list_users_pages_in_id_order,
            missing_users_are_none
            );
        }
    };
    (@cases $fresh:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let db = $fresh.await;
                $crate::cases::$case(&db).await;
            }
        )*
    };
}
