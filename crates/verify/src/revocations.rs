//! Optional subscription to latchkey's revocation stream
//! (`GET /v1/events/stream`, Server-Sent Events): a background task keeps
//! the ids of ended sessions (and the users suspended or deleted) so that
//! their tokens are refused at once, without a call to latchkey per request.
//!
//! The task reconnects after any failure (with a doubling pause, capped)
//! and resumes with `Last-Event-ID`, so no revocation committed while it
//! was away is missed. It starts from the stream's newest event: sessions
//! that ended before it first connected are not known (introspection, if
//! configured, still catches them); the same when it was away longer than
//! latchkey keeps events (410: it starts again from the newest). It stops
//! when the [`Verifier`] is dropped.
//!
//! A suspension or deletion voids the user's tokens issued up to the
//! event's `at` (latchkey's clock, not this host's: a replayed event does
//! not void tokens issued after it, and clock skew opens no window). A
//! `keys.rotated` event fetches the JWKS until it lists the new key.
//!
//! [`Verifier`]: crate::Verifier

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, Weak};

use crate::jwks::JwksCache;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use serde::Deserialize;
use url::Url;

use crate::fetch::{FetchError, Http};
use crate::introspect::basic_credentials;

/// Where and as whom to subscribe.
#[derive(Clone)]
pub struct RevocationStream {
    /// The stream, e.g. `https://id.example/v1/events/stream`.
    pub url: Url,
    /// The resource server's client id at latchkey.
    pub client_id: String,
    /// Its client secret (sent with HTTP Basic, never logged).
    pub client_secret: String,
    /// How long an ended session's id is remembered: at least the access
    /// tokens' lifetime (latchkey's `tokens.access_ttl_minutes`).
    pub remember: Duration,
    /// The longest pause between two reconnection attempts.
    pub max_retry: Duration,
}

impl std::fmt::Debug for RevocationStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationStream")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("remember", &self.remember)
            .field("max_retry", &self.max_retry)
            .finish()
    }
}

impl RevocationStream {
    /// The stream of `issuer`, read as client `client_id`; ids remembered
    /// for an hour, reconnection at most 5 s apart.
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<RevocationStream, url::ParseError> {
        Ok(RevocationStream {
            url: Url::parse(&format!(
                "{}/v1/events/stream",
                issuer.trim_end_matches('/')
            ))?,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            remember: Duration::from_secs(3600),
            max_retry: Duration::from_secs(5),
        })
    }
}

/// What the stream told us: ended sessions, and users whose tokens issued
/// until some moment are void.
#[derive(Default)]
pub(crate) struct Revoked {
    /// Session id → when to forget it (unix seconds).
    sessions: RwLock<HashMap<Box<str>, i64>>,
    /// User id → tokens issued at or before this (unix seconds) are void.
    users: RwLock<HashMap<Box<str>, i64>>,
    connected: AtomicBool,
}

/// The fields of the events read.
#[derive(Deserialize)]
struct EventData {
    sid: Option<String>,
    sub: Option<String>,
    kid: Option<String>,
    /// RFC 3339, in UTC.
    at: Option<String>,
}

/// Unix seconds of latchkey's RFC 3339 UTC times
/// (`2126-12-07T18:00:00.000Z`; fractions dropped); `None` for anything else.
fn unix_seconds(at: &str) -> Option<i64> {
    let b = at.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = at.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let zone = at.get(19..)?;
    let zone = match zone.strip_prefix('.') {
        Some(rest) => rest.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => zone,
    };
    if b.len() < 20 || (b[4], b[7], b[10], b[13], b[16]) != (b'-', b'-', b'T', b':', b':') {
        return None;
    }
    if zone != "Z" && zone != "+00:00" {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // days from the civil date (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

impl Revoked {
    /// Whether a token of session `sid`, user `sub`, issued at `iat`, is void.
    pub(crate) fn refuses(&self, sid: &str, sub: &str, iat: i64) -> bool {
        if self
            .sessions
            .read()
            .expect("revoked lock")
            .contains_key(sid)
        {
            return true;
        }
        self.users
            .read()
            .expect("revoked lock")
            .get(sub)
            .is_some_and(|until| iat <= *until)
    }

    pub(crate) fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Takes in one event; returns the `kid` of a `keys.rotated`.
    fn record(&self, event: &str, data: &str, now: i64, remember: i64) -> Option<String> {
        let Ok(data) = serde_json::from_str::<EventData>(data) else {
            return None;
        };
        // when it happened, by latchkey's clock (this host's only when absent)
        let at = data.at.as_deref().and_then(unix_seconds).unwrap_or(now);
        match (event, data.sid, data.sub) {
            ("session.revoked", Some(sid), _) => {
                let mut sessions = self.sessions.write().expect("revoked lock");
                if sessions.len() % 1024 == 1023 {
                    sessions.retain(|_, forget_at| now < *forget_at);
                }
                sessions.insert(sid.into(), now.saturating_add(remember));
            }
            ("user.suspended" | "user.deleted", _, Some(sub)) => {
                let mut users = self.users.write().expect("revoked lock");
                users.retain(|_, until| now < until.saturating_add(remember));
                let until = users.entry(sub.into()).or_insert(at);
                *until = (*until).max(at);
            }
            ("keys.rotated", _, _) => return data.kid,
            _ => {}
        }
        None
    }
}

/// Follows the stream for as long as `revoked` is alive.
pub(crate) async fn follow(
    stream: RevocationStream,
    http: Http,
    revoked: Weak<Revoked>,
    jwks: Weak<JwksCache>,
) {
    let mut last_id: Option<String> = None;
    let mut pause = Duration::from_millis(100);
    loop {
        let Some(alive) = revoked.upgrade() else {
            return;
        };
        drop(alive);
        match read(&stream, &http, &revoked, &jwks, &mut last_id).await {
            Ok(()) => return,
            Err(FetchError::Status(410)) => {
                // away longer than latchkey keeps events: some were missed
                tracing::warn!(
                    "latchkey-verify: revocation stream events were missed (no longer retained); resuming from the newest"
                );
                last_id = None;
            }
            Err(FetchError::Status(403)) => tracing::error!(
                "latchkey-verify: this client may not read the revocation stream; register it with `events` (latchkey client update ID --events true)"
            ),
            Err(e) => {
                // after a connection that worked, start again from a short pause
                if revoked
                    .upgrade()
                    .is_some_and(|r| r.connected.swap(false, Ordering::Relaxed))
                {
                    pause = Duration::from_millis(100);
                }
                tracing::warn!(error = %e, "latchkey-verify: revocation stream lost; reconnecting");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(stream.max_retry);
    }
}

/// One connection: reads events until the stream ends or fails. `Ok` only
/// when the verifier is gone.
async fn read(
    stream: &RevocationStream,
    http: &Http,
    revoked: &Weak<Revoked>,
    jwks: &Weak<JwksCache>,
    last_id: &mut Option<String>,
) -> Result<(), FetchError> {
    let mut request = Request::get("/")
        .header(
            hyper::header::AUTHORIZATION,
            basic_credentials(&stream.client_id, &stream.client_secret),
        )
        .header(hyper::header::ACCEPT, "text/event-stream");
    if let Some(id) = last_id.as_deref() {
        request = request.header("last-event-id", id);
    }
    let request = request
        .body(Full::new(Bytes::new()))
        .map_err(|_| FetchError::Url)?;
    let mut body = http.open(&stream.url, request).await?;
    match revoked.upgrade() {
        Some(r) => r.connected.store(true, Ordering::Relaxed),
        None => return Ok(()),
    }
    let remember = i64::try_from(stream.remember.as_secs()).unwrap_or(i64::MAX);
    let mut buffer = String::new();
    // latchkey sends a comment every 15 s: a silent minute is a dead connection
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(60), body.frame())
        .await
        .map_err(|_| FetchError::Timeout)?
    {
        let frame = frame.map_err(|_| FetchError::Connect("stream read".into()))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        if buffer.len() > 1024 * 1024 {
            return Err(FetchError::Body);
        }
        let Some(revoked) = revoked.upgrade() else {
            return Ok(());
        };
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, "message", String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim_start());
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim_start();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            let rotated = revoked.record(event, &data, crate::unix_now(), remember);
            if let (Some(kid), Some(jwks)) = (rotated, jwks.upgrade()) {
                tokio::spawn(async move { jwks.learn(&kid).await });
            }
            if let Some(id) = id {
                *last_id = Some(id.to_owned());
            }
        }
    }
    Err(FetchError::Connect("the stream ended".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocations_refuse_what_they_name() {
        let r = Revoked::default();
        r.record(
            "session.revoked",
            r#"{"sid":"s1","sub":"u1","reason":"logout"}"#,
            1000,
            60,
        );
        r.record("user.suspended", r#"{"sub":"u2"}"#, 1000, 60);
        r.record("session.created", r#"{"sid":"s3","sub":"u3"}"#, 1000, 60);
        r.record("session.revoked", "not json", 1000, 60);
        for (sid, sub, iat, refused) in [
            ("s1", "u1", 999, true),
            ("s1", "u9", 2000, true),
            ("s2", "u1", 999, false),
            ("s2", "u2", 1000, true),
            ("s2", "u2", 1001, false),
            ("s3", "u3", 999, false),
        ] {
            assert_eq!(r.refuses(sid, sub, iat), refused, "{sid} {sub} {iat}");
        }
    }

    /// A suspension voids the tokens issued up to the event's `at`, by
    /// latchkey's clock: one replayed later (a reconnection with
    /// `Last-Event-ID`) does not void the tokens the user got after it
    /// ended, and this host's clock running late opens no window. Old
    /// main dated it by this host's clock at reading.
    #[test]
    fn suspensions_are_dated_by_the_events_at() {
        let r = Revoked::default();
        // 1970-01-01T00:16:40Z is unix 1000; read at 5000
        r.record(
            "user.suspended",
            r#"{"sub":"u1","at":"1970-01-01T00:16:40.250Z"}"#,
            5000,
            3600,
        );
        assert!(r.refuses("s", "u1", 1000));
        assert!(!r.refuses("s", "u1", 1001), "issued after the suspension");
        // read early (this host's clock behind latchkey's): still void
        r.record(
            "user.deleted",
            r#"{"sub":"u2","at":"1970-01-01T00:16:40.000Z"}"#,
            900,
            3600,
        );
        assert!(r.refuses("s", "u2", 999));
        assert!(r.refuses("s", "u2", 1000));
        // an older replay does not move a later date back
        r.record(
            "user.suspended",
            r#"{"sub":"u2","at":"1970-01-01T00:00:10Z"}"#,
            900,
            3600,
        );
        assert!(r.refuses("s", "u2", 1000));
        // no `at` (an older server): this host's clock
        r.record("user.suspended", r#"{"sub":"u3"}"#, 2000, 3600);
        assert!(r.refuses("s", "u3", 2000) && !r.refuses("s", "u3", 2001));
    }

    #[test]
    fn a_key_rotation_names_the_key_to_learn() {
        let r = Revoked::default();
        assert_eq!(
            r.record(
                "keys.rotated",
                r#"{"kid":"k2","at":"2126-12-07T18:00:00.000Z"}"#,
                0,
                60
            ),
            Some("k2".to_owned())
        );
        assert_eq!(r.record("session.revoked", r#"{"sid":"s"}"#, 0, 60), None);
    }

    #[test]
    fn rfc3339_times_in_utc() {
        for (at, expected) in [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("1970-01-01T00:16:40.999Z", Some(1000)),
            ("2000-03-01T00:00:00Z", Some(951_868_800)),
            ("2126-12-07T18:00:00.000Z", Some(4_952_340_000)),
            ("2024-02-29T12:00:00+00:00", Some(1_709_208_000)),
            ("2024-02-29T12:00:00+01:00", None),
            ("2024-13-01T00:00:00Z", None),
            ("2024-01-01 00:00:00Z", None),
            ("2024-01-01T00:00:00", None),
            ("yesterday", None),
            ("", None),
        ] {
            assert_eq!(unix_seconds(at), expected, "{at}");
        }
    }
}
