//! The events slice's failures.

use crate::error::{SharedError, shared_sources};

/// What can go wrong reading the event stream.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// `Last-Event-ID` (or `after`) is not an event id this server issued.
    #[error("the event id to resume after is not a non-negative integer")]
    BadCursor,
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(EventsError);
