//! [`EventStore`] on PostgreSQL. The rows are written by the triggers of
//! migration `0020_events`, without a lock; a row's place in the stream
//! (`pos`, served as the event's id) is given after it committed by
//! `events_sequence()` (migration `0023_events_sequencer`), which every read
//! runs first: positions follow commit order, so resuming is exact.

use async_trait::async_trait;
use latchkey_core::events::{Event, EventFilter, EventStore};
use latchkey_core::store::StoreError;
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::{PgStore, settle};

const SEQUENCE: &str = "SELECT events_sequence()";
const AFTER: &str = "SELECT pos, at, type, sub, data FROM events \
     WHERE pos > $1 AND type = ANY($2) ORDER BY pos LIMIT $3";
const AFTER_OF_SUB: &str = "SELECT pos, at, type, sub, data FROM events \
     WHERE sub = $4 AND pos > $1 AND type = ANY($2) ORDER BY pos LIMIT $3";
const LAST: &str = "SELECT coalesce(max(pos), 0) FROM events";
const HORIZON: &str = "SELECT purged_through FROM events_horizon";
const PURGE: &str = "DELETE FROM events WHERE id IN \
     (SELECT id FROM events WHERE at < $1 ORDER BY at LIMIT $2)";

type RawEvent = (i64, OffsetDateTime, String, Option<String>, String);

fn raw_event(r: &Row) -> Result<RawEvent, tokio_postgres::Error> {
    Ok((
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
    ))
}

fn finish((id, at, kind, sub, data): RawEvent) -> Result<Event, StoreError> {
    Event::from_stored(id, at, kind, sub, &data)
}

impl PgStore {
    /// The one integer `sql` answers; after positioning the committed
    /// events when `sequence_first`.
    async fn one_number(&self, sql: &'static str, sequence_first: bool) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                if sequence_first {
                    let sequence = client.prepare_cached(SEQUENCE).await?;
                    client.execute(&sequence, &[]).await?;
                }
                let stmt = client.prepare_cached(sql).await?;
                client.query_one(&stmt, &[]).await?.try_get(0)
            })
            .await;
        settle(client, result)
    }
}

#[async_trait]
impl EventStore for PgStore {
    async fn events_after(
        &self,
        after: i64,
        filter: &EventFilter<'_>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let types: Vec<&str> = filter.types.to_vec();
        let limit = i64::from(limit);
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let sequence = client.prepare_cached(SEQUENCE).await?;
                client.execute(&sequence, &[]).await?;
                let rows = match filter.sub {
                    None => {
                        let stmt = client.prepare_cached(AFTER).await?;
                        client.query(&stmt, &[&after, &types, &limit]).await?
                    }
                    Some(sub) => {
                        let stmt = client.prepare_cached(AFTER_OF_SUB).await?;
                        client.query(&stmt, &[&after, &types, &limit, &sub]).await?
                    }
                };
                rows.iter().map(raw_event).collect::<Result<Vec<_>, _>>()
            })
            .await;
        settle(client, result)?.into_iter().map(finish).collect()
    }

    async fn last_event_id(&self) -> Result<i64, StoreError> {
        self.one_number(LAST, true).await
    }

    async fn purged_through(&self) -> Result<i64, StoreError> {
        self.one_number(HORIZON, false).await
    }

    async fn purge_events(&self, before: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        // the sweep runs on every node whether or not anyone reads the
        // stream: it keeps the rows waiting for a position few, so that the
        // first reader to come does not meet a backlog
        self.one_number(SEQUENCE, false).await?;
        self.purge_before(PURGE, before, limit).await
    }
}
