//! Sessions and refresh tokens as stored.
//!
//! A session is one sign-in on one device. Bearer sessions hand out access
//! tokens (JWTs naming the session in `sid`) and a chain of single-use refresh
//! tokens; cookie sessions are identified by an opaque cookie token instead.
//! Either way the session row is the source of truth: ending it ends every
//! token issued under it, and latchkey's own endpoints check it on every
//! request.

use time::OffsetDateTime;

/// How the session's client holds its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Access token plus refresh token in the response body.
    Bearer,
    /// An HttpOnly session cookie (browser apps).
    Cookie,
}

impl SessionKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Bearer => "bearer",
            SessionKind::Cookie => "cookie",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<SessionKind> {
        match s {
            "bearer" => Some(SessionKind::Bearer),
            "cookie" => Some(SessionKind::Cookie),
            _ => None,
        }
    }
}

/// One sign-in on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Identifier (UUIDv7), the `sid` claim of access tokens.
    pub id: String,
    /// The signed-in user.
    pub user_id: String,
    /// Bearer or cookie.
    pub kind: SessionKind,
    /// When the session began.
    pub created_at: OffsetDateTime,
    /// When the session was last used to refresh or (cookie mode) to call.
    pub last_seen_at: OffsetDateTime,
    /// Absolute end: the session cannot outlive it.
    pub expires_at: OffsetDateTime,
    /// Sliding end: pushed forward on use, never past `expires_at`.
    pub idle_expires_at: OffsetDateTime,
    /// When the user last authenticated (the `auth_time` claim).
    pub auth_time: OffsetDateTime,
    /// Authentication methods used (RFC 8176 values: `pwd`, `otp`, `mfa`, …).
    pub amr: Vec<String>,
    /// Client IP at sign-in.
    pub ip: Option<String>,
    /// User-Agent at sign-in.
    pub user_agent: Option<String>,
    /// A readable label derived from the user agent ("Firefox on Linux").
    pub device_label: Option<String>,
    /// SHA-256 (hex) of the session cookie's token, for cookie sessions.
    pub cookie_token_hash: Option<String>,
    /// When the session was ended, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Why it was ended (`logout`, `refresh_token_reuse`, `user`, …).
    pub revoked_reason: Option<String>,
}

impl Session {
    /// Whether the session may still be used at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at && now < self.idle_expires_at
    }
}

/// One refresh token of a session's chain, stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 (hex) of the token; the token itself is never stored.
    pub token_hash: String,
    /// The session it belongs to.
    pub session_id: String,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
    /// When it was exchanged for its successor, if it was.
    pub used_at: Option<OffsetDateTime>,
}

/// A request to exchange a refresh token for its successor, atomically.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// Hash of the presented token.
    pub presented_hash: String,
    /// The successor to insert (its `session_id` is the presented token's).
    pub successor: RefreshToken,
    /// The complete response for the successor, sealed, kept on the used
    /// token until `grace_until` so that a client retrying the same refresh
    /// (a lost response, two tabs) gets the same pair instead of tripping
    /// reuse detection.
    pub successor_sealed: Vec<u8>,
    /// End of the grace window (equal to `now` when there is none).
    pub grace_until: OffsetDateTime,
    /// The session's new sliding end.
    pub idle_expires_at: OffsetDateTime,
    /// The time of the exchange.
    pub now: OffsetDateTime,
}

/// What a [`Rotation`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The presented token was current: it is now used, the successor is
    /// stored, the session touched. Only one concurrent exchange gets this.
    Rotated,
    /// The presented token was already exchanged, within the grace window:
    /// nothing changed; here is the sealed response of that exchange.
    GraceRetry {
        /// The successor response sealed by the exchange that won.
        successor_sealed: Vec<u8>,
    },
    /// The presented token was already exchanged, outside the grace window:
    /// someone replayed it. The session has been ended (reason
    /// `refresh_token_reuse`).
    Reused {
        /// The session that was ended.
        session_id: String,
    },
    /// Unknown or expired token, or its session is no longer active.
    Invalid,
}

/// Derives a short readable device label from a User-Agent header.
pub fn device_label(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else if ua.contains("okhttp") {
        "Android app"
    } else if ua.contains("CFNetwork") {
        "iOS app"
    } else {
        "Unknown browser"
    };
    let os = if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS")
    } else if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("CrOS") {
        Some("ChromeOS")
    } else if ua.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_labels() {
        for (ua, label) in [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome on macOS",
            ),
            ("curl/8.5.0", "curl"),
            ("", "Unknown browser"),
        ] {
            assert_eq!(device_label(ua), label, "{ua}");
        }
    }

    #[test]
    fn activity_depends_on_both_ends_and_revocation() {
        let t0 = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut s = Session {
            id: "s".into(),
            user_id: "u".into(),
            kind: SessionKind::Bearer,
            created_at: t0,
            last_seen_at: t0,
            expires_at: t0 + time::Duration::days(30),
            idle_expires_at: t0 + time::Duration::days(7),
            auth_time: t0,
            amr: vec!["pwd".into()],
            ip: None,
            user_agent: None,
            device_label: None,
            cookie_token_hash: None,
            revoked_at: None,
            revoked_reason: None,
        };
        assert!(s.is_active(t0 + time::Duration::days(6)));
        assert!(!s.is_active(t0 + time::Duration::days(7)));
        s.idle_expires_at = t0 + time::Duration::days(40);
        assert!(!s.is_active(t0 + time::Duration::days(30)));
        s.revoked_at = Some(t0);
        assert!(!s.is_active(t0));
    }
}
