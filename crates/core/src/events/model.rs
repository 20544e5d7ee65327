//! The stored shape of an event, and which events each stream serves.

use time::OffsetDateTime;

use super::EventsError;

/// One event, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its position in the stream: increasing in commit order, never reused.
    pub id: i64,
    /// When the change happened.
    pub at: OffsetDateTime,
    /// `session.revoked`, `session.created`, `user.suspended`, `user.deleted`,
    /// `keys.rotated`, `password.changed`, `email.changed`, ...
    pub kind: String,
    /// The user concerned, when there is one.
    pub sub: Option<String>,
    /// The event's fields (a JSON object), e.g. `{sid, sub, reason}`.
    pub data: serde_json::Value,
}

impl Event {
    /// An event from its stored columns (`data` the JSON text the backend's
    /// trigger wrote).
    pub fn from_stored(
        id: i64,
        at: OffsetDateTime,
        kind: String,
        sub: Option<String>,
        data: &str,
    ) -> Result<Event, crate::store::StoreError> {
        let data = serde_json::from_str(data)
            .map_err(|e| crate::store::StoreError::Backend(format!("event {id}: bad data: {e}")))?;
        Ok(Event {
            id,
            at,
            kind,
            sub,
            data,
        })
    }
}

/// The events of the revocation stream for resource servers
/// (`GET /v1/events/stream`).
pub const REVOCATION_STREAM: &[&str] = &[
    "session.revoked",
    "user.suspended",
    "user.deleted",
    "keys.rotated",
];

/// The events of a user's own stream (`GET /v1/account/events`).
pub const ACCOUNT_STREAM: &[&str] = &[
    "session.created",
    "session.revoked",
    "password.changed",
    "mfa.changed",
    "email.changed",
];

/// Which events a reader wants.
#[derive(Debug, Clone, Copy)]
pub struct EventFilter<'a> {
    /// Only these types.
    pub types: &'a [&'a str],
    /// Only this user's (`None`: everyone's).
    pub sub: Option<&'a str>,
}

/// Parses a resume position (`Last-Event-ID`): a non-negative integer.
pub fn parse_cursor(raw: &str) -> Result<i64, EventsError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EventsError::BadCursor);
    }
    raw.parse().map_err(|_| EventsError::BadCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        for (raw, expected) in [
            ("0", Some(0)),
            ("42", Some(42)),
            (" 7 ", Some(7)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("99999999999999999999", None),
            ("-1", None),
            ("+1", None),
            ("1e3", None),
            ("", None),
            ("abc", None),
        ] {
            assert_eq!(parse_cursor(raw).ok(), expected, "{raw:?}");
        }
    }

    #[test]
    fn the_revocation_stream_carries_every_session_end_and_no_personal_event() {
        assert!(REVOCATION_STREAM.contains(&"session.revoked"));
        assert!(!REVOCATION_STREAM.contains(&"session.created"));
        assert!(!REVOCATION_STREAM.contains(&"password.changed"));
    }
}
