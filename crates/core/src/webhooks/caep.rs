//! CAEP push (RFC 8935, RFC 8417): a `session.revoked` event as a signed
//! Security Event Token with the CAEP `session-revoked` event, for
//! receivers registered with the format `set`.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::events::Event;

/// The CAEP event type of a session's end.
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/// The JOSE `typ` of a Security Event Token (RFC 8417 §2.3).
pub const SET_TYP: &str = "secevent+jwt";

/// The media type of a pushed SET (RFC 8935 §2).
pub const CONTENT_TYPE: &str = "application/secevent+jwt";

/// The claims of the SET telling `audience` that the session of `event`
/// (a `session.revoked` row: `{sid, sub, reason}`) ended: `iss`, `aud`,
/// `iat`, `jti` (the delivery id, the same on every attempt), `sub_id`
/// (the user, `iss_sub`) and the CAEP event with its `subject` (the
/// session, `opaque`), `event_timestamp` and `reason_admin`. No `exp`: a
/// SET is a statement of fact, not a credential (RFC 8417 §4.1).
#[must_use]
pub fn session_revoked(
    issuer: &str,
    audience: &str,
    jti: &str,
    now: OffsetDateTime,
    event: &Event,
) -> Value {
    let field = |k: &str| event.data.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "iss": issuer,
        "aud": audience,
        "iat": now.unix_timestamp(),
        "jti": jti,
        "sub_id": {"format": "iss_sub", "iss": issuer, "sub": field("sub")},
        "events": {
            SESSION_REVOKED: {
                "subject": {"format": "opaque", "id": field("sid")},
                "event_timestamp": event.at.unix_timestamp(),
                "reason_admin": {"en": field("reason")},
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_end_becomes_a_caep_session_revoked_set() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let event = Event {
            id: 7,
            at,
            kind: "session.revoked".into(),
            sub: Some("u1".into()),
            data: json!({"sid": "s1", "sub": "u1", "reason": "logout"}),
        };
        let claims = session_revoked(
            "https://id.example.com",
            "https://rs.example.com",
            "msg_1",
            at,
            &event,
        );
        assert_eq!(
            claims,
            json!({
                "iss": "https://id.example.com",
                "aud": "https://rs.example.com",
                "iat": 1_800_000_000,
                "jti": "msg_1",
                "sub_id": {"format": "iss_sub", "iss": "https://id.example.com", "sub": "u1"},
                "events": {SESSION_REVOKED: {
                    "subject": {"format": "opaque", "id": "s1"},
                    "event_timestamp": 1_800_000_000,
                    "reason_admin": {"en": "logout"},
                }},
            })
        );
        assert!(claims.get("exp").is_none());
    }
}
