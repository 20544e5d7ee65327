//! Webhooks (issue 18 item 5), per the Standard Webhooks specification.
//!
//! Design decisions:
//! - **The outbox is derived from the event table with a cursor per
//!   endpoint**, not written by every change: the events are already
//!   written by the backends' triggers inside each change's transaction
//!   (`crate::events`), so a change and its webhook cannot part. A fan-out
//!   step ([`Webhooks::fan_out`], run by every node's job loop) reads the
//!   events after an endpoint's cursor and, in one transaction, stores a
//!   delivery row per event with its delivery job and moves the cursor, only
//!   while the cursor is where it read it (two nodes: one wins). Event ids
//!   are commit-ordered, so the cursor never passes an event that commits
//!   later.
//! - **Deliveries run as jobs** (`webhook.deliver`, the `jobs` table): the
//!   job's lease keeps two nodes from making the same attempt, and a node
//!   killed mid-delivery leaves a lease that ends, after which the attempt
//!   is made again. The one repeat no protocol closes: a node killed after
//!   the receiver answered and before the attempt was recorded sends it
//!   again, with the same `webhook-id`, which the specification tells
//!   receivers to drop.
//! - **Retries** wait 5 s doubling to 1 h, with ±20 % jitter
//!   ([`rules::backoff`]); an endpoint that failed every attempt for a day
//!   is disabled ([`rules::DISABLE_AFTER`], audit event `webhook.disabled`).
//! - **Outbound safety** is the transport's ([`WebhookTransport`], in
//!   `http`): every resolved address is checked with
//!   [`address::deliverable`] and the connection goes to the address that
//!   was checked; no redirect is followed; time and size are bounded.
//!
//! - [`signature`]: the Standard Webhooks signature (`webhook-id`,
//!   `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`, with
//!   `whsec_` secrets), checked against the specification's reference vector;
//! - [`address`]: which resolved addresses a delivery may connect to.

pub mod address;
pub mod caep;
mod error;
mod model;
pub mod rules;
mod service;
pub mod signature;
mod store;

pub use error::WebhookError;
pub use model::{Attempt, AttemptRecord, Delivery, DeliveryStatus, EVENT_TYPES, Endpoint, Format};
pub use service::{
    DeliveryRun, EndpointPatch, NewEndpoint, Outgoing, REPLAY_LIMIT, WebhookTransport, Webhooks,
    WebhooksConfig,
};
pub use store::WebhookStore;

/// The job kind that makes one delivery attempt.
pub const JOB_WEBHOOK: &str = "webhook.deliver";
