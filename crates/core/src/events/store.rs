//! The events slice's store contract. Rows are written by the backends
//! themselves, in the transaction of each change (see the module docs); this
//! trait reads and retires them.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Event, EventFilter};
use crate::store::StoreError;

/// Reading and retiring the event stream.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Events with an id above `after` that `filter` selects, in id order
    /// (which is commit order), at most `limit`.
    async fn events_after(
        &self,
        after: i64,
        filter: &EventFilter<'_>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;

    /// The newest event's id (0 when there is none): what every node polls.
    async fn last_event_id(&self) -> Result<i64, StoreError>;

    /// The highest event id the retention sweep has deleted (0 when none):
    /// a reader resuming below it has missed events.
    async fn purged_through(&self) -> Result<i64, StoreError>;

    /// Deletes at most `limit` of the events older than `before` (the
    /// retention sweep); returns how many. Safe to run from several nodes.
    async fn purge_events(&self, before: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;
}
