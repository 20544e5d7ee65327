//! The stored shapes of webhooks: endpoints, deliveries (the outbox) and
//! their attempts (the delivery log), and the event types an endpoint may
//! ask for.

use time::OffsetDateTime;

/// The event types an endpoint may subscribe to. Each is a row type of the
/// event table (`crate::events`), written in the transaction of its change.
pub const EVENT_TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deleted",
    "user.suspended",
    "session.created",
    "session.revoked",
    "login.failed",
    "password.changed",
    "email.changed",
    "mfa.changed",
    "keys.rotated",
];

/// How an endpoint's deliveries are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Standard Webhooks: JSON `{type, timestamp, data}` signed with the
    /// endpoint's `whsec_` secret.
    #[default]
    StandardWebhook,
    /// A Security Event Token (RFC 8417) pushed per RFC 8935 (CAEP
    /// receivers): `session.revoked` as a signed CAEP `session-revoked`.
    SecurityEventToken,
}

impl Format {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Format::StandardWebhook => "standard",
            Format::SecurityEventToken => "set",
        }
    }

    /// From the stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "standard" => Some(Format::StandardWebhook),
            "set" => Some(Format::SecurityEventToken),
            _ => None,
        }
    }
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `wh_` and a UUIDv7 without dashes.
    pub id: String,
    /// Where deliveries are POSTed (`https://`, or `http://`).
    pub url: String,
    /// For people.
    pub description: String,
    /// The event types delivered (a subset of [`EVENT_TYPES`]).
    pub event_types: Vec<String>,
    /// How deliveries are written.
    pub format: Format,
    /// A CAEP receiver's audience (the SET's `aud`).
    pub audience: Option<String>,
    /// Sealed under the master key: the signing secret's key bytes, or a
    /// CAEP receiver's bearer token (empty: none).
    pub secret_sealed: Vec<u8>,
    /// Deliveries are made while true.
    pub enabled: bool,
    /// The last event id fanned out to this endpoint's outbox.
    pub cursor: i64,
    /// Since when every attempt failed (`None` after a success).
    pub failing_since: Option<OffsetDateTime>,
    /// Why it was disabled automatically (`None` when enabled by hand).
    pub disabled_reason: Option<String>,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for an attempt (or its retry).
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up (a day of failures, or its endpoint was disabled).
    Failed,
}

impl DeliveryStatus {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// From the stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One event for one endpoint: a row of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `msg_` and a UUIDv7 without dashes: the `webhook-id` header, the
    /// same on every attempt (receivers drop repeats by it).
    pub id: String,
    /// Its endpoint.
    pub endpoint_id: String,
    /// The event delivered.
    pub event_id: i64,
    /// Its type.
    pub event_type: String,
    /// When the event happened.
    pub event_at: OffsetDateTime,
    /// The body sent (JSON).
    pub payload: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The last answer's HTTP status (`None`: no answer).
    pub last_status: Option<u16>,
    /// The last attempt's duration.
    pub last_latency_ms: Option<u32>,
    /// Why the last attempt failed (never a secret).
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// One attempt of a delivery, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// When it ended.
    pub at: OffsetDateTime,
    /// The answer's HTTP status (`None`: no answer).
    pub status: Option<u16>,
    /// How long it took.
    pub latency_ms: u32,
    /// Why it failed.
    pub error: Option<String>,
}

/// What an attempt changes, decided in core and written by the backend in
/// one transaction (the delivery, its log row, and its endpoint).
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// The log row.
    pub attempt: Attempt,
    /// The delivery's new status.
    pub status: DeliveryStatus,
    /// The endpoint's new `failing_since`.
    pub failing_since: Option<OffsetDateTime>,
    /// Disable the endpoint, for this reason.
    pub disable: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in [Format::StandardWebhook, Format::SecurityEventToken] {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        for s in [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ] {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(Format::parse("json"), None);
        assert_eq!(DeliveryStatus::parse("done"), None);
    }
}
