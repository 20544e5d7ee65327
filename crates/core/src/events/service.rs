//! The events service: reading the stream, and the per-node [`Hub`] that
//! wakes waiting readers when new events were committed (on this node or
//! any other).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::{Event, EventFilter, EventsError, parse_cursor};
use crate::auth::Context;
use crate::store::Store;

/// Tuning of the stream.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// How often a node looks for new events while anyone listens.
    pub poll_interval: Duration,
    /// The most events one read returns.
    pub batch: u32,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            poll_interval: Duration::from_millis(200),
            batch: 500,
        }
    }
}

/// Wakes this node's readers when the newest event id changes. It polls the
/// store (one indexed read) only while at least one reader is subscribed;
/// the first subscriber starts it and it stops when the last one is gone.
pub struct Hub {
    store: Arc<dyn Store>,
    interval: Duration,
    newest: watch::Sender<i64>,
    polling: AtomicBool,
    closed: watch::Sender<bool>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("newest", &*self.newest.borrow())
            .finish_non_exhaustive()
    }
}

impl Hub {
    fn new(store: Arc<dyn Store>, interval: Duration) -> Hub {
        Hub {
            store,
            interval,
            newest: watch::channel(0).0,
            polling: AtomicBool::new(false),
            closed: watch::channel(false).0,
        }
    }

    /// A receiver that changes when the newest event id does. Must be
    /// called on a Tokio runtime (it may start the poller).
    pub fn subscribe(self: &Arc<Self>) -> watch::Receiver<i64> {
        let rx = self.newest.subscribe();
        if !self.polling.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().poll());
        }
        rx
    }

    async fn poll(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.interval).await;
            if self.newest.receiver_count() == 0 {
                self.polling.store(false, Ordering::SeqCst);
                // A subscriber that came in between saw `polling` still
                // set and started nothing: keep going for it.
                if self.newest.receiver_count() > 0 && !self.polling.swap(true, Ordering::SeqCst) {
                    continue;
                }
                return;
            }
            match self.store.last_event_id().await {
                Ok(id) => {
                    self.newest.send_if_modified(|v| {
                        let changed = *v != id;
                        *v = id;
                        changed
                    });
                }
                Err(e) => tracing::warn!(error = %e, "event poll failed; retrying"),
            }
        }
    }
}

/// The events service.
#[derive(Clone)]
pub struct Events {
    ctx: Arc<Context>,
    hub: Arc<Hub>,
    config: EventsConfig,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

impl Events {
    /// The service over `ctx`.
    pub fn new(ctx: Arc<Context>, config: EventsConfig) -> Events {
        let hub = Arc::new(Hub::new(ctx.store.clone(), config.poll_interval));
        Events { ctx, hub, config }
    }

    /// The newest event's id (0 when there is none): where a reader that
    /// did not say where to resume starts.
    pub async fn newest(&self) -> Result<i64, EventsError> {
        Ok(self.ctx.store().last_event_id().await?)
    }

    /// Where a stream starts: after `last_event_id` (the `Last-Event-ID`
    /// header), or after the newest event when there is none.
    /// [`EventsError::Expired`] when the retention sweep has deleted events
    /// after it: the reader learns it missed some, rather than being served
    /// a stream with a hole (it reconnects without `Last-Event-ID`).
    pub async fn resume_point(&self, last_event_id: Option<&str>) -> Result<i64, EventsError> {
        let Some(raw) = last_event_id else {
            return self.newest().await;
        };
        let cursor = parse_cursor(raw)?;
        if cursor < self.ctx.store().purged_through().await? {
            return Err(EventsError::Expired);
        }
        Ok(cursor)
    }

    /// Whether client `client_id` may read the revocation stream (every
    /// user's session ends): only when its registration says `events`.
    /// Third-party OAuth clients are registered in the same table, so
    /// authenticating is not enough.
    pub async fn may_read_revocations(&self, client_id: &str) -> Result<(), EventsError> {
        match self.ctx.store().oauth_client(client_id).await? {
            Some(c) if c.settings.events => Ok(()),
            _ => Err(EventsError::NotPermitted),
        }
    }

    /// A receiver that changes when the newest event id does (this node's
    /// hub polls while it is held): the job loop waits on it, so that new
    /// events reach webhook endpoints and CAEP receivers at once rather
    /// than at the next poll of the jobs. Must be called on a Tokio runtime.
    pub fn watch_newest(&self) -> watch::Receiver<i64> {
        self.hub.subscribe()
    }

    /// Ends every subscription of this node (at shutdown, so that open
    /// streams do not hold the drain up; their clients resume elsewhere).
    pub fn close(&self) {
        self.hub.closed.send_replace(true);
    }

    /// A reader of the events `types` (of user `sub`, or everyone's) after
    /// `cursor`.
    pub fn subscribe(
        &self,
        cursor: i64,
        types: &'static [&'static str],
        sub: Option<String>,
    ) -> Subscription {
        Subscription {
            events: self.clone(),
            wake: self.hub.subscribe(),
            closed: self.hub.closed.subscribe(),
            cursor,
            types,
            sub,
        }
    }
}

/// One reader's position in the stream.
#[derive(Debug)]
pub struct Subscription {
    events: Events,
    wake: watch::Receiver<i64>,
    closed: watch::Receiver<bool>,
    cursor: i64,
    types: &'static [&'static str],
    sub: Option<String>,
}

impl Subscription {
    /// The next events after the cursor, waiting until there is at least
    /// one; advances the cursor past them. [`EventsError::Closed`] once the
    /// service was closed.
    pub async fn next_batch(&mut self) -> Result<Vec<Event>, EventsError> {
        loop {
            if *self.closed.borrow() {
                return Err(EventsError::Closed);
            }
            // Marked seen before the read: a change published after it wakes us.
            self.wake.borrow_and_update();
            let filter = EventFilter {
                types: self.types,
                sub: self.sub.as_deref(),
            };
            let batch = self
                .events
                .ctx
                .store()
                .events_after(self.cursor, &filter, self.events.config.batch)
                .await?;
            if let Some(last) = batch.last() {
                self.cursor = last.id;
                return Ok(batch);
            }
            tokio::select! {
                changed = self.wake.changed() => {
                    if changed.is_err() {
                        return Err(EventsError::Closed);
                    }
                }
                _ = self.closed.changed() => {}
            }
        }
    }

    /// The id of the last event returned (or the starting point).
    pub fn cursor(&self) -> i64 {
        self.cursor
    }
}
