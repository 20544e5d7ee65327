//! Events: the persisted, retained stream of what happened to sessions,
//! accounts and keys (issue 18), read in commit order and resumable by id.
//!
//! Design decisions:
//! - The rows are written by the backends' triggers (migration
//!   `0020_events`), inside the transaction of the change they describe: a
//!   session's revocation, whatever path revoked it, and its
//!   `session.revoked` event commit together or not at all, and a future
//!   path that ends a session cannot forget its event. Account changes
//!   (`user.suspended`, `user.deleted`, `password.changed`, `email.changed`)
//!   are derived from the audit event each change already records in its
//!   transaction.
//! - Ids are commit-ordered (SQLite: the single writer; PostgreSQL: a
//!   position given after commit by a sequencer each read runs first,
//!   migration `0023_events_sequencer`, so that writers take no global
//!   lock), so a reader that saw id N never later meets a new row below N:
//!   `Last-Event-ID` resumes exactly. A resumption below the retention
//!   sweep's horizon is refused ([`EventsError::Expired`]).
//! - Delivery across nodes: every node's [`Hub`] polls the newest id (one
//!   indexed read) every [`EventsConfig::poll_interval`] while anyone
//!   listens, and wakes its streams; a stream then reads the rows after its
//!   cursor. The same code on both backends (no `if postgres`).

mod error;
mod model;
mod service;
pub mod store;

pub use error::EventsError;
pub use model::{ACCOUNT_STREAM, Event, EventFilter, REVOCATION_STREAM, parse_cursor};
pub use service::{Events, EventsConfig, Hub, Subscription};
pub use store::EventStore;
