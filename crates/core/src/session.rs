//! Sessions and refresh tokens as stored.
//!
//! A session is one sign-in on one device. Bearer sessions hand out access
//! tokens (JWTs naming the session in `sid`) and a chain of single-use refresh
//! tokens; cookie sessions are identified by an opaque cookie token instead.
//! Either way the session row is the source of truth: ending it ends every
//! token issued under it, and latchkey's own endpoints check it on every
//! request.

use time::OffsetDateTime;

use crate::roles::UserRoleGraph;

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

/// What [`crate::store::SessionStore::create_session`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCreated {
    /// The session (and its first refresh token) is stored.
    Created,
    /// The user is suspended at the session's start: nothing is stored.
    UserSuspended,
}

/// How a request names its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKey<'a> {
    /// By id (the `sid` claim of an access token).
    Id(&'a str),
    /// By the SHA-256 (hex) of its cookie token.
    CookieHash(&'a str),
}

/// Which of a user's sessions a revocation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhichSessions<'a> {
    /// This one, if it is the user's.
    One(&'a str),
    /// Every one, except this one if given.
    AllExcept(Option<&'a str>),
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
        /// Its user.
        user_id: String,
    },
    /// Unknown or expired token, or its session is no longer active.
    Invalid,
}

/// Issues the successor of a presented refresh token once the exchange has
/// read its session and the user's role graph, inside the store's
/// transaction (see [`crate::store::SessionStore::exchange_refresh_token`]).
/// An `Err` (a message for the log) aborts the exchange with nothing written.
pub type IssueSuccessor =
    dyn Fn(&Session, &UserRoleGraph) -> Result<Rotation, String> + Send + Sync;

/// The presented refresh token as the exchange reads it, inside the
/// backend's transaction, before deciding with [`PresentedToken::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentedToken {
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
    /// When it was exchanged, if it was.
    pub used_at: Option<OffsetDateTime>,
    /// End of the grace window of that exchange.
    pub grace_until: Option<OffsetDateTime>,
    /// Whether the sealed response of that exchange is still kept.
    pub has_grace_response: bool,
    /// Whether the successor it was exchanged for is stored and still
    /// unused. A chain is linear, so an unused successor means that no
    /// descendant was used either; a successor that is gone (or unknown)
    /// counts as used.
    pub successor_unused: bool,
}

/// What a backend does with a presented token, as decided by
/// [`PresentedToken::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationDecision {
    /// Issue the successor, mark the presented token used (keeping the
    /// sealed response and the successor's hash), store the successor and
    /// move the session's sliding end, both capped by [`Rotation::capped`].
    Rotate,
    /// Change nothing and answer with the sealed response of the exchange
    /// that won ([`RotateOutcome::GraceRetry`]).
    GraceRetry,
    /// The token was replayed: end the session (`refresh_token_reuse`) and
    /// answer [`RotateOutcome::Reused`].
    EndSession,
    /// Change nothing and answer [`RotateOutcome::Invalid`].
    Invalid,
}

impl PresentedToken {
    /// The rotation rule, decided once for every backend. `session` is the
    /// presented token's session (`None` when it is gone).
    ///
    /// - An ended session, or an unused token past its expiry: invalid.
    /// - An unused token: rotate; the successor and the session's sliding
    ///   end never outlive the session's absolute end.
    /// - A used token, inside the grace window of its exchange, whose
    ///   successor is still unused: the same response again (a lost
    ///   response, two tabs).
    /// - Any other used token is a replay: the session ends. Once the
    ///   successor (or any descendant) was used, a retry of an ancestor is
    ///   a replay even inside the window, so a stolen token replayed
    ///   quickly still trips reuse detection.
    pub fn decide(&self, session: Option<&Session>, now: OffsetDateTime) -> RotationDecision {
        if !session.is_some_and(|s| s.is_active(now)) {
            return RotationDecision::Invalid;
        }
        match self.used_at {
            None if self.expires_at <= now => RotationDecision::Invalid,
            None => RotationDecision::Rotate,
            Some(_) => {
                let in_grace = self.grace_until.is_some_and(|g| g > now);
                if in_grace && self.has_grace_response && self.successor_unused {
                    RotationDecision::GraceRetry
                } else {
                    RotationDecision::EndSession
                }
            }
        }
    }
}

impl Rotation {
    /// The successor's expiry and the session's new sliding end: neither
    /// outlives the session's absolute end.
    pub fn capped(&self, session: &Session) -> (OffsetDateTime, OffsetDateTime) {
        (
            self.successor.expires_at.min(session.expires_at),
            self.idle_expires_at.min(session.expires_at),
        )
    }
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

    fn t(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000) + time::Duration::minutes(minutes)
    }

    fn session(expires: i64, idle: i64, revoked: bool) -> Session {
        Session {
            id: "s".into(),
            user_id: "u".into(),
            kind: SessionKind::Bearer,
            created_at: t(0),
            last_seen_at: t(0),
            expires_at: t(expires),
            idle_expires_at: t(idle),
            auth_time: t(0),
            amr: vec!["pwd".into()],
            ip: None,
            user_agent: None,
            device_label: None,
            cookie_token_hash: None,
            revoked_at: revoked.then(|| t(0)),
            revoked_reason: revoked.then(|| "logout".into()),
        }
    }

    fn rotation_at(now: i64, successor_expires: i64, idle: i64) -> Rotation {
        Rotation {
            presented_hash: "p".into(),
            successor: RefreshToken {
                token_hash: "n".into(),
                session_id: "s".into(),
                created_at: t(now),
                expires_at: t(successor_expires),
                used_at: None,
            },
            successor_sealed: b"sealed".to_vec(),
            grace_until: t(now) + time::Duration::seconds(10),
            idle_expires_at: t(idle),
            now: t(now),
        }
    }

    /// The rotation rule as a table: (case, presented token, session, the
    /// exchange at minute 100, expected decision).
    #[test]
    fn rotation_decisions() {
        use RotationDecision::*;
        let unused = PresentedToken {
            expires_at: t(200),
            used_at: None,
            grace_until: None,
            has_grace_response: false,
            successor_unused: false,
        };
        // exchanged at minute 100, grace until 100:10, successor untouched
        let used = PresentedToken {
            used_at: Some(t(100)),
            grace_until: Some(t(100) + time::Duration::seconds(10)),
            has_grace_response: true,
            successor_unused: true,
            ..unused
        };
        let live = session(1_000, 500, false);
        let rotate = Rotate;
        let cases: Vec<(
            &str,
            PresentedToken,
            Option<Session>,
            Rotation,
            RotationDecision,
        )> = vec![
            (
                "unused token rotates",
                unused,
                Some(live.clone()),
                rotation_at(100, 300, 400),
                rotate,
            ),
            (
                "successor capped at the session's end",
                unused,
                Some(live.clone()),
                rotation_at(100, 2_000, 3_000),
                Rotate,
            ),
            (
                "expired token",
                PresentedToken {
                    expires_at: t(100),
                    ..unused
                },
                Some(live.clone()),
                rotation_at(100, 300, 400),
                Invalid,
            ),
            (
                "no session",
                unused,
                None,
                rotation_at(100, 300, 400),
                Invalid,
            ),
            (
                "revoked session",
                unused,
                Some(session(1_000, 500, true)),
                rotation_at(100, 300, 400),
                Invalid,
            ),
            (
                "idle session",
                unused,
                Some(session(1_000, 100, false)),
                rotation_at(100, 300, 400),
                Invalid,
            ),
            (
                "absolutely ended session",
                unused,
                Some(session(100, 500, false)),
                rotation_at(100, 300, 400),
                Invalid,
            ),
            (
                "retry within grace",
                used,
                Some(live.clone()),
                rotation_at(100, 300, 400),
                GraceRetry,
            ),
            (
                "retry within grace after the successor was used",
                PresentedToken {
                    successor_unused: false,
                    ..used
                },
                Some(live.clone()),
                rotation_at(100, 300, 400),
                EndSession,
            ),
            (
                "retry at the end of grace (exclusive)",
                used,
                Some(live.clone()),
                Rotation {
                    now: t(100) + time::Duration::seconds(10),
                    ..rotation_at(100, 300, 400)
                },
                EndSession,
            ),
            (
                "used without grace",
                PresentedToken {
                    grace_until: None,
                    has_grace_response: false,
                    ..used
                },
                Some(live.clone()),
                rotation_at(100, 300, 400),
                EndSession,
            ),
            (
                "grace response swept",
                PresentedToken {
                    has_grace_response: false,
                    ..used
                },
                Some(live.clone()),
                rotation_at(100, 300, 400),
                EndSession,
            ),
            (
                "replay of an expired used token still ends the session",
                PresentedToken {
                    expires_at: t(50),
                    ..used
                },
                Some(live.clone()),
                rotation_at(101, 300, 400),
                EndSession,
            ),
            (
                "replay on an ended session changes nothing",
                used,
                Some(session(1_000, 500, true)),
                rotation_at(100, 300, 400),
                Invalid,
            ),
        ];
        for (name, presented, session, rotation, expected) in cases {
            assert_eq!(
                presented.decide(session.as_ref(), rotation.now),
                expected,
                "{name}"
            );
        }
        // what a rotation stores never outlives the session
        for (rotation, capped) in [
            (rotation_at(100, 300, 400), (t(300), t(400))),
            (rotation_at(100, 2_000, 3_000), (t(1_000), t(1_000))),
        ] {
            assert_eq!(rotation.capped(&live), capped);
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
