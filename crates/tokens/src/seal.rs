//! Sealing secrets at rest (signing keys, upstream client secrets, TOTP
//! seeds) under the server's master key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use zeroize::Zeroizing;

use crate::TokenError;
use crate::primitives::random_bytes;

/// The format version written as the first byte of every sealed value.
const VERSION: u8 = 1;
/// HKDF salt: fixed, for domain separation from any other use of the master
/// key (the master key itself is uniformly random, so no secret salt is needed).
const HKDF_SALT: &[u8] = b"latchkey-tokens/sealer/v1";
const TAG_LEN: usize = 16;

/// Authenticated encryption of small secrets with AES-256-GCM.
///
/// The key is derived from the 32-byte master key with HKDF-SHA256 and a
/// `purpose` string (for example `"signing-keys"`), so every use gets its own
/// key: a value sealed for one purpose cannot be opened as another.
///
/// A sealed value is `version (1 byte) || nonce (12 random bytes) ||
/// ciphertext || tag (16 bytes)`. The version byte and the caller's associated
/// data (`aad`, e.g. the row id the secret belongs to) are authenticated, so a
/// sealed value moved to another row does not open. Nonces are random: keep
/// the number of values sealed under one master key and purpose well below
/// 2³² (secrets at rest are nowhere near that).
pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    /// Derives the sealing key for `purpose` from `master_key`.
    #[must_use]
    pub fn new(master_key: &[u8; 32], purpose: &str) -> Sealer {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(master_key);
        let info = [purpose.as_bytes()];
        // expand() fails only when the requested length exceeds 255 hash
        // lengths; 32 bytes never does.
        let okm = prk
            .expand(&info, &AES_256_GCM)
            .expect("HKDF-SHA256 can produce 32 bytes");
        Sealer {
            key: LessSafeKey::new(UnboundKey::from(okm)),
        }
    }

    /// Encrypts and authenticates `plaintext`, binding it to `aad`.
    ///
    /// # Panics
    ///
    /// If the system random source fails, or the plaintext is larger than
    /// AES-GCM allows (64 GiB); neither happens in practice.
    #[must_use]
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(full_aad(aad)),
                &mut out[1 + NONCE_LEN..],
            )
            .expect("AES-GCM seals any plaintext under 64 GiB");
        out.extend_from_slice(tag.as_ref());
        out
    }

    /// Authenticates and decrypts a value made by [`seal`](Self::seal) with
    /// the same master key, purpose and `aad`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Unseal`] if anything differs or was altered.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(TokenError::Unseal);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..=NONCE_LEN])
            .map_err(|_| TokenError::Unseal)?;
        let mut buf = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(full_aad(aad)), &mut buf)
            .map_err(|_| TokenError::Unseal)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// The authenticated data: the version byte, then the caller's data.
fn full_aad(aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(1 + aad.len());
    full.push(VERSION);
    full.extend_from_slice(aad);
    full
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer { key: <redacted> }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: [u8; 32] = [7u8; 32];

    #[test]
    fn round_trip_and_shape() {
        let s = Sealer::new(&MASTER, "signing-keys");
        for plaintext in [&b""[..], b"x", &[0xAB; 5000]] {
            let sealed = s.seal(plaintext, b"key-1");
            assert_eq!(sealed.len(), 1 + 12 + plaintext.len() + 16);
            assert_eq!(sealed[0], 1);
            assert_eq!(&s.open(&sealed, b"key-1").unwrap()[..], plaintext);
        }
    }

    #[test]
    fn same_plaintext_seals_differently() {
        let s = Sealer::new(&MASTER, "p");
        let (a, b) = (s.seal(b"secret", b""), s.seal(b"secret", b""));
        assert_ne!(a, b);
        assert_ne!(a[1..13], b[1..13], "nonces must differ");
    }

    #[test]
    fn refuses_anything_else() {
        let s = Sealer::new(&MASTER, "signing-keys");
        let sealed = s.seal(b"the secret", b"key-1");
        let mut other_master = MASTER;
        other_master[0] ^= 1;
        let cases: Vec<(&str, Sealer, Vec<u8>, &[u8])> = vec![
            (
                "wrong aad",
                Sealer::new(&MASTER, "signing-keys"),
                sealed.clone(),
                b"key-2",
            ),
            (
                "empty aad",
                Sealer::new(&MASTER, "signing-keys"),
                sealed.clone(),
                b"",
            ),
            (
                "wrong purpose",
                Sealer::new(&MASTER, "totp-seeds"),
                sealed.clone(),
                b"key-1",
            ),
            (
                "wrong master key",
                Sealer::new(&other_master, "signing-keys"),
                sealed.clone(),
                b"key-1",
            ),
            (
                "truncated",
                Sealer::new(&MASTER, "signing-keys"),
                sealed[..sealed.len() - 1].to_vec(),
                b"key-1",
            ),
            (
                "too short",
                Sealer::new(&MASTER, "signing-keys"),
                sealed[..28].to_vec(),
                b"key-1",
            ),
            (
                "empty",
                Sealer::new(&MASTER, "signing-keys"),
                Vec::new(),
                b"key-1",
            ),
        ];
        for (name, sealer, data, aad) in cases {
            assert_eq!(sealer.open(&data, aad), Err(TokenError::Unseal), "{name}");
        }
        // Every single flipped bit, in every position (version, nonce, body, tag).
        for i in 0..sealed.len() {
            for bit in [0x01u8, 0x80] {
                let mut t = sealed.clone();
                t[i] ^= bit;
                assert_eq!(s.open(&t, b"key-1"), Err(TokenError::Unseal), "byte {i}");
            }
        }
        assert_eq!(format!("{s:?}"), "Sealer { key: <redacted> }");
    }
}
