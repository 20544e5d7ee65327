//! Webhooks (issue 18 item 5): groundwork, not wired yet. What is here is
//! the part every later piece (endpoints in the admin API, the outbox, the
//! delivery job) relies on and that can be decided without them:
//!
//! - [`signature`]: the Standard Webhooks signature (`webhook-id`,
//!   `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`, with
//!   `whsec_` secrets), checked against the specification's reference vector;
//! - [`address`]: which resolved addresses a delivery may connect to (public
//!   unicast only: no loopback, private, link-local, metadata or otherwise
//!   special address, whatever name led there), decided on the address the
//!   connection is about to use, so that a name that resolves elsewhere at
//!   registration and to 127.0.0.1 at delivery is refused.
//!
//! Still to build (see the closing note): the endpoint registry with sealed
//! secrets and event filters, the outbox filled from the event table, the
//! restart-safe delivery job with backoff, the delivery log, and the
//! connector that applies [`address::deliverable`] at connect time and never
//! follows redirects.

pub mod address;
pub mod signature;
