//! What the rule needs from persistence outside a removal.

use async_trait::async_trait;

use super::WaysIn;
use crate::store::StoreError;

/// Counting an account's ways in. Each removal (password, passkey,
/// identity) counts again inside its own transaction, with the account
/// locked; this read is for showing what is possible.
#[async_trait]
pub trait WaysInStore: Send + Sync {
    /// The ways into account `user_id`; `None` when there is no such account.
    async fn ways_in(&self, user_id: &str) -> Result<Option<WaysIn>, StoreError>;
}
