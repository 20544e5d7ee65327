//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): the
//! receiver checks `webhook-signature` (`v1,` and the base64 HMAC-SHA256,
//! under the endpoint's secret, of `{webhook-id}.{webhook-timestamp}.{body}`),
//! and refuses timestamps too far from its clock (replays).

use base64ct::{Base64, Encoding};
use latchkey_tokens::{constant_time_eq, hmac_sha256, random_bytes};

/// An endpoint's signing secret: the key bytes. Shown to the administrator
/// once, as `whsec_` and the key in base64; never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// A fresh secret: 256 random bits.
    #[must_use]
    pub fn generate() -> WebhookSecret {
        WebhookSecret(random_bytes::<32>().to_vec())
    }

    /// Reads `whsec_<base64>` (a key of 24 to 64 bytes, as the
    /// specification allows); `None` for anything else.
    #[must_use]
    pub fn parse(text: &str) -> Option<WebhookSecret> {
        let key = Base64::decode_vec(text.strip_prefix("whsec_")?).ok()?;
        (24..=64).contains(&key.len()).then_some(WebhookSecret(key))
    }

    /// A secret from its key bytes (as unsealed from storage); `None` for
    /// a length the specification does not allow.
    #[must_use]
    pub fn from_bytes(key: &[u8]) -> Option<WebhookSecret> {
        (24..=64)
            .contains(&key.len())
            .then(|| WebhookSecret(key.to_vec()))
    }

    /// The form shown to the administrator: `whsec_<base64>`.
    #[must_use]
    pub fn to_whsec(&self) -> String {
        format!("whsec_{}", Base64::encode_string(&self.0))
    }

    /// The key bytes (to seal for storage).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The `webhook-signature` value of a message: `v1,<base64>`.
    #[must_use]
    pub fn sign(&self, id: &str, timestamp: i64, payload: &[u8]) -> String {
        let mut signed = format!("{id}.{timestamp}.").into_bytes();
        signed.extend_from_slice(payload);
        format!(
            "v1,{}",
            Base64::encode_string(&hmac_sha256(&self.0, &signed))
        )
    }

    /// Whether `header` (space-separated signatures, as during a secret's
    /// rotation) holds a `v1` signature of the message under this secret;
    /// compared in constant time.
    #[must_use]
    pub fn verifies(&self, id: &str, timestamp: i64, payload: &[u8], header: &str) -> bool {
        let expected = self.sign(id, timestamp, payload);
        header
            .split(' ')
            .filter(|s| s.starts_with("v1,"))
            .any(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()))
    }
}

/// The three headers of a delivery, by the specification's names.
#[must_use]
pub fn headers(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    payload: &[u8],
) -> [(&'static str, String); 3] {
    [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", secret.sign(id, timestamp, payload)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference vector of the Standard Webhooks libraries' tests.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_as_the_reference_implementation() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(ID, TIMESTAMP, PAYLOAD), SIGNATURE);
        assert_eq!(secret.to_whsec(), SECRET);
        let [id, ts, sig] = headers(&secret, ID, TIMESTAMP, PAYLOAD);
        assert_eq!(id, ("webhook-id", ID.to_owned()));
        assert_eq!(ts, ("webhook-timestamp", TIMESTAMP.to_string()));
        assert_eq!(sig, ("webhook-signature", SIGNATURE.to_owned()));
    }

    #[test]
    fn verification_takes_any_v1_signature_and_nothing_altered() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let other = WebhookSecret::generate().sign(ID, TIMESTAMP, PAYLOAD);
        for (header, payload, timestamp, ok) in [
            (SIGNATURE.to_owned(), PAYLOAD, TIMESTAMP, true),
            (format!("{other} {SIGNATURE}"), PAYLOAD, TIMESTAMP, true),
            (other.clone(), PAYLOAD, TIMESTAMP, false),
            (
                SIGNATURE.to_owned(),
                &br#"{"test": 2432232315}"#[..],
                TIMESTAMP,
                false,
            ),
            (SIGNATURE.to_owned(), PAYLOAD, TIMESTAMP + 1, false),
            (SIGNATURE.replace("v1,", "v2,"), PAYLOAD, TIMESTAMP, false),
            (String::new(), PAYLOAD, TIMESTAMP, false),
        ] {
            assert_eq!(
                secret.verifies(ID, timestamp, payload, &header),
                ok,
                "{header}"
            );
        }
    }

    #[test]
    fn secrets_are_whsec_base64_of_a_sound_length_and_never_printed() {
        let fresh = WebhookSecret::generate();
        assert_eq!(WebhookSecret::parse(&fresh.to_whsec()), Some(fresh.clone()));
        assert_ne!(fresh, WebhookSecret::generate());
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_",
            "whsec_c2hvcnQ=",
            "whsec_not base64!",
            "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert_eq!(WebhookSecret::parse(bad), None, "{bad}");
        }
        assert!(!format!("{fresh:?}").contains(&fresh.to_whsec()[6..]));
    }
}
