//! Small primitives: hashing, randomness, constant-time comparison, HMAC and
//! strict base64url.

use aws_lc_rs::{constant_time, digest, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::TokenError;

/// SHA-256 of `data`.
///
/// This is how opaque tokens (refresh tokens, codes, reset links) are stored:
/// they carry at least 128 bits of randomness, so a fast unsalted hash is
/// enough to make a stolen table useless, and lookups stay an index probe.
#[must_use]
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-1 of `data`, for compatibility with published breach corpora (the
/// Pwned Passwords lists are SHA-1 digests). Never use it to protect anything.
#[must_use]
pub fn sha1_for_compatibility(data: &[u8]) -> [u8; 20] {
    let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of `data` as 64 lowercase hex digits.
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in sha256(data) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// `N` bytes from the operating system's secure random source.
///
/// # Panics
///
/// If the random source fails. There is no safe way to continue without
/// randomness, and the source does not fail on supported systems.
#[must_use]
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::fill(&mut out).expect("the system random source failed");
    out
}

/// A new opaque token: 32 random bytes (256 bits), base64url without padding
/// (43 characters of `A–Z a–z 0–9 - _`).
#[must_use]
pub fn random_token() -> String {
    b64url_encode(&random_bytes::<32>())
}

/// Compares two byte strings in time that depends only on their lengths, not
/// on where they differ. Slices of different lengths are unequal.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// HMAC-SHA256 of `data` under `key`.
#[must_use]
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// base64url without padding (RFC 4648 §5, as JOSE uses it).
#[must_use]
pub fn b64url_encode(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Strict base64url decoding: the URL-safe alphabet only, no padding, no
/// whitespace, and canonical (the unused low bits of the last character must
/// be zero, so every byte string has exactly one accepted encoding).
///
/// # Errors
///
/// [`TokenError::Encoding`] for anything else.
pub fn b64url_decode(text: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| TokenError::Encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_answers() {
        for (input, hex) in [
            (
                &b""[..],
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                &b"abc"[..],
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ] {
            assert_eq!(sha256_hex(input), hex);
            assert_eq!(b64url_encode(&sha256(input)).len(), 43);
        }
    }

    #[test]
    fn hmac_sha256_rfc4231_case_2() {
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn random_token_is_43_url_safe_chars_and_fresh() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..64 {
            let t = random_token();
            assert_eq!(t.len(), 43, "{t}");
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{t}"
            );
            assert_eq!(b64url_decode(&t).unwrap().len(), 32);
            assert!(seen.insert(t), "random_token repeated");
        }
        assert_ne!(random_bytes::<16>(), random_bytes::<16>());
    }

    #[test]
    fn constant_time_eq_cases() {
        for (a, b, equal) in [
            (&b""[..], &b""[..], true),
            (b"abc", b"abc", true),
            (b"abc", b"abd", false),
            (b"abc", b"ab", false),
            (b"", b"a", false),
        ] {
            assert_eq!(constant_time_eq(a, b), equal, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn b64url_decode_is_strict() {
        assert_eq!(b64url_decode("AQAB").unwrap(), vec![1, 0, 1]);
        assert_eq!(b64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        for bad in [
            "AQ==", // padding
            "AQ=",  // padding
            "+/8",  // standard alphabet
            "A",    // impossible length
            "AQ B", // whitespace
            "AR",   // non-canonical: low bits set ("AQ" is the encoding of [1])
            "ä",
        ] {
            assert_eq!(b64url_decode(bad), Err(TokenError::Encoding), "{bad:?}");
        }
    }
}
