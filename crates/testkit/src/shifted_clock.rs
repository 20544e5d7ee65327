//! The clock of a test app.

use std::sync::{Arc, Mutex};

use latchkey_core::{Clock, ManualClock, SystemClock};
use time::{Duration, OffsetDateTime};

/// The clock of a test app: the system clock (or the [`ManualClock`] of
/// [`crate::Options::clock`]) moved by an offset that tests can advance.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    pub(crate) base: Option<Arc<ManualClock>>,
    pub(crate) offset: Mutex<Duration>,
}

impl ShiftedClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().expect("clock lock") += by;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        let base = match &self.base {
            Some(manual) => manual.now(),
            None => SystemClock.now(),
        };
        base + *self.offset.lock().expect("clock lock")
    }
}
