//! `[events]`: the event stream (`/v1/events/stream`, `/v1/account/events`).

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[events]` settings.
pub const SETTINGS: &[Setting] = &[Setting::int(
    "events.retention_hours",
    "LATCHKEY_EVENTS_RETENTION_HOURS",
    24,
    1,
    8_760,
    "how long events stay in the stream, resumable with Last-Event-ID; the sweep deletes older ones",
)];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    retention_hours: Option<u64>,
}

/// Event stream settings.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// How long events are kept.
    pub retention: time::Duration,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> EventsConfig {
        EventsConfig {
            retention: time::Duration::hours(
                c.int("events.retention_hours", self.retention_hours) as i64
            ),
        }
    }
}
