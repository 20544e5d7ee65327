//! The webhook rules, as pure functions with table tests: which URLs may be
//! registered, the wait before a retry, and what an attempt's answer does
//! to its delivery and its endpoint.

use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use super::address::deliverable;
use super::model::{Attempt, AttemptRecord, DeliveryStatus};
use crate::validate::FieldProblem;

/// An endpoint that failed every attempt for this long is disabled (and
/// the administrators are told).
pub const DISABLE_AFTER: Duration = Duration::days(1);

/// Attempts of one delivery before it is given up; with [`backoff`] they
/// span a little more than [`DISABLE_AFTER`].
pub const MAX_ATTEMPTS: u32 = 42;

/// The first retry's wait; each further one doubles it, up to [`RETRY_MAX`].
pub const RETRY_BASE: Duration = Duration::seconds(5);

/// The longest wait between two attempts.
pub const RETRY_MAX: Duration = Duration::hours(1);

/// The wait before attempt `attempts + 1`: `RETRY_BASE · 2^(attempts-1)`,
/// capped at [`RETRY_MAX`], times a jitter factor between 0.8 and 1.2 taken
/// from `jitter` (0 ≤ jitter < 1), so that receivers that came back are
/// not met by every sender at the same instant.
#[must_use]
pub fn backoff(attempts: u32, jitter: f64) -> Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let base = RETRY_BASE.saturating_mul(1_i32 << exp).min(RETRY_MAX);
    base * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

/// A random jitter in `[0, 1)`.
#[must_use]
pub fn jitter() -> f64 {
    f64::from(u16::from_be_bytes(latchkey_tokens::random_bytes::<2>())) / 65_536.0
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The receiver answered with this HTTP status.
    Status(u16),
    /// No answer: refused address, connection failure, timeout. The text
    /// says which (never a secret).
    Failed(String),
    /// A push receiver refused this event for good (RFC 8935 §2.3: 400
    /// with an `err` code such as `invalid_key` or `access_denied`): it is
    /// not sent again.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The receiver's `err` code.
        err: String,
    },
}

/// What an attempt's answer does: the record to store, and whether the
/// delivery is tried again.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The delivery, its log row and its endpoint's state.
    pub record: AttemptRecord,
    /// Try again after [`backoff`].
    pub retry: bool,
}

impl Decision {
    /// Decides attempt number `attempts` (1 for the first) of a delivery
    /// that may be tried `max_attempts` times, whose endpoint has failed
    /// since `failing_since`: a 2xx delivers and clears the failures;
    /// anything else (a redirect included: it is never followed) fails it,
    /// and after [`DISABLE_AFTER`] of failures the endpoint is disabled.
    #[must_use]
    pub fn decide(
        answer: &Answer,
        latency_ms: u32,
        now: OffsetDateTime,
        failing_since: Option<OffsetDateTime>,
        attempts: u32,
        max_attempts: u32,
    ) -> Decision {
        let (status, error) = match answer {
            Answer::Status(s) if (200..300).contains(s) => {
                return Decision {
                    record: AttemptRecord {
                        attempt: Attempt {
                            at: now,
                            status: Some(*s),
                            latency_ms,
                            error: None,
                        },
                        status: DeliveryStatus::Delivered,
                        failing_since: None,
                        disable: None,
                    },
                    retry: false,
                };
            }
            Answer::Status(s) if (300..400).contains(s) => {
                (Some(*s), "redirect not followed".to_owned())
            }
            Answer::Status(s) => (Some(*s), format!("status {s}")),
            Answer::Failed(e) => (None, e.clone()),
            Answer::Rejected { status, err } => (Some(*status), format!("rejected: {err}")),
        };
        let since = failing_since.unwrap_or(now);
        let disable = (now - since >= DISABLE_AFTER).then(|| {
            format!(
                "every attempt failed since {}",
                since
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            )
        });
        let rejected = matches!(answer, Answer::Rejected { .. });
        let retry = disable.is_none() && !rejected && attempts < max_attempts;
        Decision {
            record: AttemptRecord {
                attempt: Attempt {
                    at: now,
                    status,
                    latency_ms,
                    error: Some(error),
                },
                status: if retry {
                    DeliveryStatus::Pending
                } else {
                    DeliveryStatus::Failed
                },
                failing_since: Some(since),
                disable,
            },
            retry,
        }
    }
}

/// Checks an endpoint URL at registration: `https://` or `http://`, a
/// host, no user or password, no fragment, at most 2,000 characters; an IP
/// literal must be one a delivery may connect to unless `allow_private`.
/// (A name is checked at every connection, on the addresses it resolves to.)
pub fn endpoint_url(raw: &str, allow_private: bool) -> Result<String, FieldProblem> {
    let bad = |code, message: &str| Err(FieldProblem::new("url", code, message));
    let raw = raw.trim();
    if raw.len() > 2_000 {
        return bad("too_long", "at most 2000 characters");
    }
    let Ok(url) = url::Url::parse(raw) else {
        return bad("invalid_url", "must be an absolute http:// or https:// URL");
    };
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none_or(str::is_empty) {
        return bad("invalid_url", "must be an absolute http:// or https:// URL");
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return bad("invalid_url", "must not carry a user, password or fragment");
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        _ => None,
    };
    if let Some(ip) = literal
        && !allow_private
        && !deliverable(ip, false)
    {
        return bad(
            "private_address",
            "a private, loopback, link-local or otherwise special address is refused",
        );
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_a_fifth() {
        for (attempts, secs) in [
            (1, 5),
            (2, 10),
            (3, 20),
            (8, 640),
            (10, 2560),
            (11, 3600),
            (30, 3600),
        ] {
            assert_eq!(
                backoff(attempts, 0.5),
                Duration::seconds(secs),
                "{attempts}"
            );
            assert_eq!(backoff(attempts, 0.0), Duration::seconds(secs) * 0.8);
            assert!(backoff(attempts, 0.999_9) < Duration::seconds(secs) * 1.2);
        }
        let total: Duration = (1..MAX_ATTEMPTS).map(|n| backoff(n, 0.0)).sum();
        assert!(total > DISABLE_AFTER, "{total}");
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }

    #[test]
    fn answers_decide_delivery_retry_and_disabling() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let hour_ago = now - Duration::hours(1);
        let day_ago = now - Duration::hours(24);
        use Answer::Status;
        use DeliveryStatus::{Delivered, Failed, Pending};
        // (answer, failing_since, attempts, status, failing_since', disabled, retry)
        for (answer, since, attempts, status, since_after, disabled, retry) in [
            (Status(200), Some(day_ago), 3, Delivered, None, false, false),
            (Status(204), None, 1, Delivered, None, false, false),
            (Status(500), None, 1, Pending, Some(now), false, true),
            (
                Status(500),
                Some(hour_ago),
                5,
                Pending,
                Some(hour_ago),
                false,
                true,
            ),
            (Status(302), None, 1, Pending, Some(now), false, true),
            (
                Answer::Failed("refused".into()),
                None,
                1,
                Pending,
                Some(now),
                false,
                true,
            ),
            (
                Status(500),
                Some(hour_ago),
                MAX_ATTEMPTS,
                Failed,
                Some(hour_ago),
                false,
                false,
            ),
            (
                Status(404),
                Some(day_ago),
                2,
                Failed,
                Some(day_ago),
                true,
                false,
            ),
            (
                Answer::Failed("timed out".into()),
                Some(day_ago),
                9,
                Failed,
                Some(day_ago),
                true,
                false,
            ),
        ] {
            let d = Decision::decide(&answer, 12, now, since, attempts, MAX_ATTEMPTS);
            assert_eq!(d.record.status, status, "{answer:?} {attempts}");
            assert_eq!(d.record.failing_since, since_after, "{answer:?}");
            assert_eq!(d.record.disable.is_some(), disabled, "{answer:?}");
            assert_eq!(d.retry, retry, "{answer:?}");
            assert_eq!(d.record.attempt.latency_ms, 12);
            assert_eq!(d.record.attempt.error.is_none(), status == Delivered);
        }
        let rejected = Answer::Rejected {
            status: 400,
            err: "invalid_key".into(),
        };
        let d = Decision::decide(&rejected, 1, now, None, 1, MAX_ATTEMPTS);
        assert_eq!((d.retry, d.record.status), (false, Failed));
        assert_eq!(
            d.record.attempt.error.as_deref(),
            Some("rejected: invalid_key")
        );
        let redirect = Decision::decide(&Status(307), 1, now, None, 1, 3);
        assert_eq!(redirect.record.attempt.status, Some(307));
        assert_eq!(
            redirect.record.attempt.error.as_deref(),
            Some("redirect not followed")
        );
    }

    #[test]
    fn endpoint_urls() {
        for (raw, allow_private, ok) in [
            ("https://hooks.example.com/latchkey", false, true),
            ("http://hooks.example.com:8080/x?y=1", false, true),
            ("https://93.184.215.14/in", false, true),
            ("https://127.0.0.1/in", false, false),
            ("https://127.0.0.1/in", true, true),
            ("http://[::1]:9000/", false, false),
            ("http://[::ffff:10.0.0.1]/", false, false),
            ("http://169.254.169.254/latest/meta-data", false, false),
            ("http://0x7f000001/", false, false),
            ("http://2130706433/", false, false),
            ("http://localhost/", false, true),
            ("ftp://hooks.example.com/", false, false),
            ("file:///etc/passwd", false, false),
            ("https://user:pw@hooks.example.com/", false, false),
            ("https://hooks.example.com/#frag", false, false),
            ("/relative", false, false),
            ("", false, false),
        ] {
            assert_eq!(endpoint_url(raw, allow_private).is_ok(), ok, "{raw}");
        }
        assert_eq!(
            endpoint_url("https://10.0.0.1/", false).unwrap_err().code,
            "private_address"
        );
    }
}
