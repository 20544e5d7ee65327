//! The stored forms: [`LegacyHash::parse`] (one strict grammar per scheme,
//! the cost caps applied again) and [`LegacyHash::verify`], which the hash
//! pool runs.

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::pbkdf2;
use base64ct::{Base64Unpadded, Encoding};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::*;

/// The HMAC of a PBKDF2 hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Digest {
    Sha1,
    Sha256,
    Sha512,
}

impl Digest {
    pub(super) fn from_name(name: &str) -> Option<Digest> {
        match name {
            "sha1" => Some(Digest::Sha1),
            "sha256" => Some(Digest::Sha256),
            "sha512" => Some(Digest::Sha512),
            _ => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Digest::Sha1 => "sha1",
            Digest::Sha256 => "sha256",
            Digest::Sha512 => "sha512",
        }
    }

    fn algorithm(self) -> pbkdf2::Algorithm {
        match self {
            Digest::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            Digest::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Digest::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }
}

/// A parsed stored hash of one of this module's schemes, within the caps.
#[derive(Clone, PartialEq, Eq)]
pub struct LegacyHash {
    kind: Kind,
}

#[derive(Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// The whole `$2?$NN$…` string (the bcrypt crate parses it).
    Bcrypt(String),
    Scrypt {
        log_n: u8,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Firebase {
        log_n: u8,
        r: u32,
        signer_key: Vec<u8>,
        separator: Vec<u8>,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Pbkdf2 {
        digest: Digest,
        iterations: NonZeroU32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

impl std::fmt::Debug for LegacyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LegacyHash(***)")
    }
}

impl LegacyHash {
    /// Parses a stored form (see the module's documentation) strictly and
    /// within the caps.
    pub fn parse(stored: &str) -> Result<LegacyHash, LegacyHashError> {
        if stored.len() > MAX_LEN {
            return Err(LegacyHashError::Malformed("longer than any supported hash"));
        }
        let scheme = scheme_id(stored).ok_or(LegacyHashError::Unsupported)?;
        if matches!(scheme, "2a" | "2b" | "2y") {
            bcrypt_cost(stored)?;
            return Ok(LegacyHash {
                kind: Kind::Bcrypt(stored.to_owned()),
            });
        }
        let mut fields = stored
            .get(scheme.len() + 2..)
            .unwrap_or_default()
            .split('$');
        let kind = match scheme {
            "scrypt" => {
                let params = Params::parse(fields.next(), &["ln", "r", "p"])?;
                let (log_n, r, p) = (params.get(0)?, params.get(1)?, params.get(2)?);
                let log_n = scrypt_cost(log_n, r, p)?;
                Kind::Scrypt {
                    log_n,
                    r,
                    p,
                    salt: b64_part(fields.next())?,
                    hash: b64_part(fields.next())?,
                }
            }
            "firebase-scrypt" => {
                let params = Params::parse(fields.next(), &["ln", "r"])?;
                let (log_n, r) = (params.get(0)?, params.get(1)?);
                let log_n = scrypt_cost(log_n, r, 1)?;
                Kind::Firebase {
                    log_n,
                    r,
                    signer_key: b64_part(fields.next())?,
                    separator: b64_part_or_empty(fields.next())?,
                    salt: b64_part(fields.next())?,
                    hash: b64_part(fields.next())?,
                }
            }
            _ => {
                let digest = scheme
                    .strip_prefix("pbkdf2-")
                    .and_then(Digest::from_name)
                    .ok_or(LegacyHashError::Unsupported)?;
                let params = Params::parse(fields.next(), &["i", "l"])?;
                let iterations = pbkdf2_cost(params.get(0)?)?;
                let salt = b64_part(fields.next())?;
                let hash = b64_part(fields.next())?;
                if params.get(1)? as usize != hash.len() {
                    return Err(LegacyHashError::Malformed("l is not the hash's length"));
                }
                Kind::Pbkdf2 {
                    digest,
                    iterations,
                    salt,
                    hash,
                }
            }
        };
        if fields.next().is_some() {
            return Err(LegacyHashError::Malformed(
                "more fields than the scheme has",
            ));
        }
        Ok(LegacyHash { kind })
    }

    /// The scheme, for the metric.
    pub fn format(&self) -> LegacyFormat {
        match &self.kind {
            Kind::Bcrypt(_) => LegacyFormat::Bcrypt,
            Kind::Scrypt { .. } => LegacyFormat::Scrypt,
            Kind::Firebase { .. } => LegacyFormat::FirebaseScrypt,
            Kind::Pbkdf2 { digest, .. } => match digest {
                Digest::Sha1 => LegacyFormat::Pbkdf2Sha1,
                Digest::Sha256 => LegacyFormat::Pbkdf2Sha256,
                Digest::Sha512 => LegacyFormat::Pbkdf2Sha512,
            },
        }
    }

    /// Whether a match of `secret` proves all of it, so that it may replace
    /// this hash. Only bcrypt proves less: it reads the first
    /// [`BCRYPT_MAX_BYTES`] bytes, so a longer secret that matches may differ
    /// from the owner's in its tail, and an argon2id hash of what was typed
    /// would lock the owner's real password out. A secret of exactly 72
    /// bytes is no proof either: it leaves no room for the NUL bcrypt appends
    /// to shorter ones, so it matches every longer password that starts with
    /// it. Such a hash is kept (a sign-in still checks the first 72 bytes, as
    /// the old system did) until the password changes or a secret of at most
    /// 71 bytes matches.
    pub fn proves_whole(&self, secret: &[u8]) -> bool {
        match &self.kind {
            Kind::Bcrypt(_) => secret.len() < BCRYPT_MAX_BYTES,
            _ => true,
        }
    }

    /// Whether `secret` is the password; compares in constant time. Costs
    /// what the stored parameters say (bounded by the caps): run it on the
    /// hash pool only.
    pub fn verify(&self, secret: &[u8]) -> Result<bool, LegacyHashError> {
        match &self.kind {
            Kind::Bcrypt(stored) => bcrypt::verify(secret, stored)
                .map_err(|_| LegacyHashError::Malformed("not a bcrypt hash")),
            Kind::Scrypt {
                log_n,
                r,
                p,
                salt,
                hash,
            } => {
                let out = scrypt_derive(secret, salt, *log_n, *r, *p, hash.len())?;
                Ok(bool::from(out.ct_eq(hash)))
            }
            Kind::Firebase {
                log_n,
                r,
                signer_key,
                separator,
                salt,
                hash,
            } => {
                let mut salted = salt.clone();
                salted.extend_from_slice(separator);
                let key = scrypt_derive(secret, &salted, *log_n, *r, 1, 32)?;
                let out = aes256_ctr_zero_iv(&key, signer_key)?;
                Ok(bool::from(out.ct_eq(hash)))
            }
            Kind::Pbkdf2 {
                digest,
                iterations,
                salt,
                hash,
            } => Ok(pbkdf2::verify(digest.algorithm(), *iterations, salt, secret, hash).is_ok()),
        }
    }
}

pub(super) fn scrypt_derive(
    secret: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, LegacyHashError> {
    let params = scrypt::Params::new(log_n, r, p)
        .map_err(|_| LegacyHashError::Malformed("scrypt refuses these parameters"))?;
    let mut out = Zeroizing::new(vec![0u8; len]);
    scrypt::scrypt(secret, salt, &params, &mut out)
        .map_err(|_| LegacyHashError::Malformed("scrypt refuses this output length"))?;
    Ok(out)
}

/// Firebase's last step: the signer key encrypted with AES-256-CTR under the
/// derived key, with a zero IV.
pub(super) fn aes256_ctr_zero_iv(key: &[u8], plain: &[u8]) -> Result<Vec<u8>, LegacyHashError> {
    let fail = |_| LegacyHashError::Malformed("AES-256-CTR failed");
    let key = UnboundCipherKey::new(&AES_256, key).map_err(fail)?;
    let key = EncryptingKey::ctr(key).map_err(fail)?;
    let mut data = plain.to_vec();
    key.less_safe_encrypt(&mut data, EncryptionContext::Iv128([0u8; 16].into()))
        .map_err(fail)?;
    Ok(data)
}

/// `k=v` parameters in a fixed order, decimal.
pub(super) struct Params(Vec<u64>);

impl Params {
    fn parse(field: Option<&str>, keys: &[&str]) -> Result<Params, LegacyHashError> {
        let field = field.ok_or(LegacyHashError::Malformed("no parameters"))?;
        let mut values = Vec::with_capacity(keys.len());
        let mut pairs = field.split(',');
        for key in keys {
            let (k, v) = pairs
                .next()
                .and_then(|p| p.split_once('='))
                .ok_or(LegacyHashError::Malformed("parameters missing"))?;
            if k != *key {
                return Err(LegacyHashError::Malformed("unexpected parameter"));
            }
            values.push(decimal(v)?);
        }
        if pairs.next().is_some() {
            return Err(LegacyHashError::Malformed("unexpected parameter"));
        }
        Ok(Params(values))
    }

    fn get(&self, i: usize) -> Result<u32, LegacyHashError> {
        u32::try_from(self.0[i]).map_err(|_| LegacyHashError::Malformed("parameter out of range"))
    }
}

/// 1 to 10 ASCII digits, no sign, no leading zero.
pub(super) fn decimal(s: &str) -> Result<u64, LegacyHashError> {
    let valid = !s.is_empty()
        && s.len() <= 10
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if !valid {
        return Err(LegacyHashError::Malformed(
            "a parameter is not a decimal number",
        ));
    }
    s.parse()
        .map_err(|_| LegacyHashError::Malformed("a parameter is not a decimal number"))
}

/// A stored salt or hash: canonical unpadded standard base64, 1 to 128 bytes.
pub(super) fn b64_part(field: Option<&str>) -> Result<Vec<u8>, LegacyHashError> {
    let bytes = b64_part_or_empty(field)?;
    if bytes.is_empty() {
        return Err(LegacyHashError::Malformed("an empty salt or hash"));
    }
    Ok(bytes)
}

pub(super) fn b64_part_or_empty(field: Option<&str>) -> Result<Vec<u8>, LegacyHashError> {
    let field = field.ok_or(LegacyHashError::Malformed("fields missing"))?;
    let bytes = Base64Unpadded::decode_vec(field)
        .map_err(|_| LegacyHashError::Malformed("not unpadded base64"))?;
    if bytes.len() > MAX_PART_BYTES {
        return Err(LegacyHashError::Malformed("a salt or hash over 128 bytes"));
    }
    Ok(bytes)
}

/// The cost of a bcrypt string, within the cap.
pub(super) fn bcrypt_cost(stored: &str) -> Result<u32, LegacyHashError> {
    let b = stored.as_bytes();
    let shape = stored.len() == 60
        && stored.is_ascii()
        && b[3] == b'$'
        && b[6] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && stored[7..]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'/');
    if !shape {
        return Err(LegacyHashError::Malformed(
            "a bcrypt hash is $2a$, $2b$ or $2y$, two cost digits, $ and 53 characters",
        ));
    }
    let cost = u32::from(b[4] - b'0') * 10 + u32::from(b[5] - b'0');
    if !(4..=31).contains(&cost) {
        return Err(LegacyHashError::Malformed(
            "bcrypt cost is between 04 and 31",
        ));
    }
    if cost > MAX_BCRYPT_COST {
        return Err(LegacyHashError::OverCap(format!(
            "bcrypt cost {cost} is above the limit of {MAX_BCRYPT_COST}"
        )));
    }
    Ok(cost)
}

/// log₂ N of scrypt parameters within the caps.
pub(super) fn scrypt_cost(log_n: u32, r: u32, p: u32) -> Result<u8, LegacyHashError> {
    if log_n == 0 || log_n >= 64 || r == 0 || p == 0 {
        return Err(LegacyHashError::Malformed("scrypt parameters out of range"));
    }
    let memory = 128u128 << log_n;
    let memory = memory * u128::from(r);
    if memory > u128::from(MAX_SCRYPT_MEMORY) {
        return Err(LegacyHashError::OverCap(format!(
            "scrypt memory (128 × N × r = {memory} bytes) is above the limit of {MAX_SCRYPT_MEMORY}"
        )));
    }
    if memory * u128::from(p) > u128::from(MAX_SCRYPT_WORK) {
        return Err(LegacyHashError::OverCap(format!(
            "scrypt work (128 × N × r × p) is above the limit of {MAX_SCRYPT_WORK} bytes"
        )));
    }
    u8::try_from(log_n).map_err(|_| LegacyHashError::Malformed("scrypt N out of range"))
}

/// A PBKDF2 iteration count in decimal, within the cap.
pub(super) fn iterations(text: &str) -> Result<u32, LegacyHashError> {
    let n = decimal(text)?;
    if n > u64::from(MAX_PBKDF2_ITERATIONS) {
        return Err(LegacyHashError::OverCap(format!(
            "PBKDF2 iterations {n} are above the limit of {MAX_PBKDF2_ITERATIONS}"
        )));
    }
    Ok(pbkdf2_cost(u32::try_from(n).unwrap_or(u32::MAX))?.get())
}

pub(super) fn pbkdf2_cost(iterations: u32) -> Result<NonZeroU32, LegacyHashError> {
    if iterations > MAX_PBKDF2_ITERATIONS {
        return Err(LegacyHashError::OverCap(format!(
            "PBKDF2 iterations {iterations} are above the limit of {MAX_PBKDF2_ITERATIONS}"
        )));
    }
    NonZeroU32::new(iterations).ok_or(LegacyHashError::Malformed("PBKDF2 with 0 iterations"))
}

/// Standard or passlib's adapted base64 (`.` for `+`), padded or not.
pub(super) fn lenient_b64(text: &str) -> Result<Vec<u8>, LegacyHashError> {
    let text = text.trim_end_matches('=').replace('.', "+");
    Base64Unpadded::decode_vec(&text).map_err(|_| LegacyHashError::Malformed("not base64"))
}

pub(super) fn hex(text: &str) -> Result<Vec<u8>, LegacyHashError> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LegacyHashError::Malformed("not hexadecimal"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| LegacyHashError::Malformed("not hexadecimal"))
}
