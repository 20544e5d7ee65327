//! Time as an input, so that expiry rules can be tested without sleeping.

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until told to move: for tests of anything that
/// depends on time (expiry, rate limits, lockouts) without sleeping.
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: OffsetDateTime) -> ManualClock {
        ManualClock {
            now: std::sync::Mutex::new(start),
        }
    }

    /// A clock showing the given Unix time (seconds).
    pub fn at_unix(secs: i64) -> ManualClock {
        ManualClock::new(OffsetDateTime::from_unix_timestamp(secs).expect("a valid Unix time"))
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: OffsetDateTime) {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
