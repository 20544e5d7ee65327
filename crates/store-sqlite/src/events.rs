//! [`EventStore`] on SQLite. The rows are written by the triggers of
//! migration `0020_events`; the single writer thread makes ids commit-ordered.

use async_trait::async_trait;
use latchkey_core::events::{Event, EventFilter, EventStore};
use latchkey_core::store::{StoreError, from_unix_millis};
use rusqlite::{Row, params};
use time::OffsetDateTime;

use crate::{SqliteStore, map_err};

const AFTER: &str = "SELECT id, at, type, sub, data FROM events \
     WHERE id > ?1 AND type IN (SELECT value FROM json_each(?2)) ORDER BY id LIMIT ?3";
const AFTER_OF_SUB: &str = "SELECT id, at, type, sub, data FROM events \
     WHERE sub = ?4 AND id > ?1 AND type IN (SELECT value FROM json_each(?2)) \
     ORDER BY id LIMIT ?3";
const LAST: &str = "SELECT coalesce(max(id), 0) FROM events";
const HORIZON: &str = "SELECT purged_through FROM events_horizon";
const PURGE: &str = "DELETE FROM events WHERE id IN \
     (SELECT id FROM events WHERE at < ?1 ORDER BY at LIMIT ?2)";

type RawEvent = (i64, i64, String, Option<String>, String);

fn raw_event(r: &Row<'_>) -> rusqlite::Result<RawEvent> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn finish((id, at, kind, sub, data): RawEvent) -> Result<Event, StoreError> {
    Event::from_stored(id, from_unix_millis(at)?, kind, sub, &data)
}

impl SqliteStore {
    /// The one integer `sql` answers.
    async fn one_number(&self, sql: &'static str) -> Result<i64, StoreError> {
        self.read(move |c| {
            c.prepare_cached(sql)
                .map_err(map_err)?
                .query_row([], |r| r.get(0))
                .map_err(map_err)
        })
        .await
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn events_after(
        &self,
        after: i64,
        filter: &EventFilter<'_>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let types =
            serde_json::to_string(filter.types).map_err(|e| StoreError::Backend(e.to_string()))?;
        let sub = filter.sub.map(str::to_owned);
        self.read(move |c| {
            let rows: Vec<RawEvent> = match &sub {
                None => c
                    .prepare_cached(AFTER)
                    .map_err(map_err)?
                    .query_map(params![after, types, limit], raw_event)
                    .map_err(map_err)?
                    .collect::<Result<_, _>>(),
                Some(sub) => c
                    .prepare_cached(AFTER_OF_SUB)
                    .map_err(map_err)?
                    .query_map(params![after, types, limit, sub], raw_event)
                    .map_err(map_err)?
                    .collect::<Result<_, _>>(),
            }
            .map_err(map_err)?;
            rows.into_iter().map(finish).collect()
        })
        .await
    }

    async fn last_event_id(&self) -> Result<i64, StoreError> {
        self.one_number(LAST).await
    }

    async fn purged_through(&self) -> Result<i64, StoreError> {
        self.one_number(HORIZON).await
    }

    async fn purge_events(&self, before: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        self.purge_before(PURGE, before, limit).await
    }
}
