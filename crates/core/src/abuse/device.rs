//! Device cookies: proof that a browser or app signed in to an account
//! before, so that an attacker hammering the account cannot lock its owner
//! out (OWASP's "device cookie" defence).
//!
//! After a successful password sign-in the server hands the client a cookie
//! `v1.<user>.<device>.<issued>.<mac>`: the user id and a random device id
//! (both base64url), the issue time (Unix seconds) and an HMAC-SHA-256 under
//! a key derived from the master key. A sign-in that presents a valid cookie
//! for the account it names is counted against that device's own failure
//! budget instead of the account's, and is not held up by the account's
//! delays or lockout. Nothing is stored for a device until it fails.

use std::fmt;

use latchkey_tokens::{b64url_decode, b64url_encode, constant_time_eq, hmac_sha256, random_bytes};
use time::{Duration, OffsetDateTime};

/// A verified device cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    /// The account it signed in to.
    pub user_id: String,
    /// The device's random id.
    pub device_id: String,
    /// When the cookie was issued.
    pub issued_at: OffsetDateTime,
}

/// Issues and verifies device cookies.
#[derive(Clone)]
pub struct DeviceCookies {
    key: [u8; 32],
    max_age: Duration,
}

impl fmt::Debug for DeviceCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCookies")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// The longest cookie value looked at.
const MAX_LEN: usize = 400;

impl DeviceCookies {
    /// Cookies under a key derived from the master key, valid for `max_age`.
    pub fn new(master_key: &[u8; 32], max_age: Duration) -> DeviceCookies {
        DeviceCookies {
            key: hmac_sha256(master_key, b"latchkey/device-cookie/v1"),
            max_age,
        }
    }

    /// How long a cookie is valid.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// A cookie for `user_id`, keeping `device_id` when the device had one.
    pub fn issue(&self, user_id: &str, device_id: Option<&str>, now: OffsetDateTime) -> String {
        let device = device_id
            .map(str::to_owned)
            .unwrap_or_else(|| b64url_encode(&random_bytes::<16>()));
        let body = format!(
            "v1.{}.{device}.{}",
            b64url_encode(user_id.as_bytes()),
            now.unix_timestamp()
        );
        let mac = b64url_encode(&hmac_sha256(&self.key, body.as_bytes()));
        format!("{body}.{mac}")
    }

    /// The device a cookie stands for, if it is genuine and not too old.
    pub fn verify(&self, value: &str, now: OffsetDateTime) -> Option<KnownDevice> {
        if value.len() > MAX_LEN {
            return None;
        }
        let (body, mac) = value.rsplit_once('.')?;
        let mac = b64url_decode(mac).ok()?;
        if !constant_time_eq(&mac, &hmac_sha256(&self.key, body.as_bytes())) {
            return None;
        }
        let mut parts = body.split('.');
        let (Some("v1"), Some(user), Some(device), Some(issued), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let issued_at = OffsetDateTime::from_unix_timestamp(issued.parse().ok()?).ok()?;
        if now >= issued_at + self.max_age || issued_at > now + Duration::minutes(5) {
            return None;
        }
        Some(KnownDevice {
            user_id: String::from_utf8(b64url_decode(user).ok()?).ok()?,
            device_id: device.to_owned(),
            issued_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_verify_only_when_genuine_and_fresh() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let d = DeviceCookies::new(&[1; 32], Duration::days(30));
        let cookie = d.issue("user-1", None, now);
        let known = d.verify(&cookie, now + Duration::days(29)).unwrap();
        assert_eq!(known.user_id, "user-1");
        assert_eq!(known.issued_at, now);
        // the device keeps its id when the cookie is renewed
        let renewed = d.issue("user-1", Some(&known.device_id), now + Duration::days(1));
        assert_eq!(
            d.verify(&renewed, now + Duration::days(1))
                .unwrap()
                .device_id,
            known.device_id
        );
        assert_ne!(renewed, cookie);

        assert_eq!(d.verify(&cookie, now + Duration::days(30)), None, "expired");
        let other = DeviceCookies::new(&[2; 32], Duration::days(30));
        assert_eq!(other.verify(&cookie, now), None, "another key");
        let (body, mac) = cookie.rsplit_once('.').unwrap();
        let forged_user = body.replacen(&b64url_encode(b"user-1"), &b64url_encode(b"user-2"), 1);
        for bad in [
            format!("{forged_user}.{mac}"),
            body.to_owned(),
            String::new(),
            "v1.a.b.c.d".to_owned(),
            "x".repeat(500),
        ] {
            assert_eq!(d.verify(&bad, now), None, "{bad}");
        }
    }
}
