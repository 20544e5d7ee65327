//! What a backend gives the suite: fresh databases.

use std::sync::Arc;

use async_trait::async_trait;
use latchkey_core::Store;

/// A fresh, isolated database for one test case.
#[async_trait]
pub trait TestDb: Send + Sync {
    /// Opens another handle (its own pool or threads) onto this same database.
    /// The first call sees an empty, unmigrated database.
    async fn open(&self) -> Arc<dyn Store>;

    /// Deletes a user row with the backend's own SQL, bypassing the store
    /// (the contract has no `delete_user` yet): lets the suite check that
    /// foreign keys cascade alike on every backend. Panics on failure.
    async fn delete_user_directly(&self, user_id: &str);

    /// Every row of every table of the database, rendered as text with the
    /// backend's own SQL, bypassing the store: lets the suite prove that
    /// personal data is gone from *all* tables, including ones added later.
    async fn all_rows_as_text(&self) -> String;
}
