//! The events slice's failures.

use crate::error::{SharedError, shared_sources};

/// What can go wrong reading the event stream.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// `Last-Event-ID` (or `after`) is not an event id this server issued.
    #[error("the event id to resume after is not a non-negative integer")]
    BadCursor,
    /// The stream resumes after an event the retention sweep has already
    /// deleted: events after it are gone, so the reader must start afresh.
    #[error("the events after this id are no longer retained")]
    Expired,
    /// The client may not read this stream (its registration lacks
    /// `events`).
    #[error("this client may not read the revocation stream")]
    NotPermitted,
    /// The node is shutting down: streams end, and their clients resume
    /// on another node (or after the restart) with `Last-Event-ID`.
    #[error("the server is shutting down")]
    Closed,
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(EventsError);
