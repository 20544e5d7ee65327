//! Password hashes brought in from other systems (`latchkey user import`):
//! bcrypt, scrypt (PHC and Firebase's modified scrypt) and PBKDF2 with
//! SHA-1, SHA-256 or SHA-512, in the string forms the systems people leave
//! write (passlib and RustCrypto PHC strings, Django, Werkzeug, better-auth,
//! Keycloak realm exports, Auth0 and fastapi-users' bcrypt).
//!
//! Design decisions:
//! - **One stored form per scheme.** [`canonical`] turns every accepted input
//!   into one of a few self-describing strings, each `$scheme$…`, so that the
//!   sign-in path parses one strict grammar per scheme, and the store can
//!   count what is left by the text between the first two `$`:
//!   `$2a$`/`$2b$`/`$2y$` bcrypt as written; `$scrypt$ln=L,r=R,p=P$SALT$HASH`;
//!   `$firebase-scrypt$ln=L,r=R$SIGNER_KEY$SALT_SEPARATOR$SALT$HASH`;
//!   `$pbkdf2-sha1|sha256|sha512$i=I,l=L$SALT$HASH` — salt and hash in
//!   standard base64 without padding. A salt that another system used as
//!   text (Django, Werkzeug, better-auth) is stored as the bytes of that
//!   text. `user export --with-hashes` writes these forms and import reads
//!   them back.
//! - **Cost caps at import.** An imported hash is checked before anything is
//!   stored ([`canonical`] refuses it with the limit in the message): bcrypt
//!   cost at most [`MAX_BCRYPT_COST`], PBKDF2 at most
//!   [`MAX_PBKDF2_ITERATIONS`], scrypt at most [`MAX_SCRYPT_MEMORY`] bytes and
//!   [`MAX_SCRYPT_WORK`] bytes × p, so no imported row can stall the bounded
//!   hash pool; [`LegacyHash::parse`] applies the same limits at sign-in, so
//!   a row written some other way is refused as malformed, never computed.
//! - **Verified on the pool, replaced at the first sign-in.**
//!   [`crate::password::PasswordHasher::verify`] runs [`LegacyHash::verify`]
//!   on its workers and answers a match with `needs_rehash`, so sign-in
//!   stores argon2id with the current parameters (compare-and-set, as for any
//!   outdated hash). A mismatch also spends one argon2id hash with the
//!   current parameters, so a wrong password is never faster than an
//!   unknown account.
//! - **What is hashed** is the password after NFKC normalization (the
//!   [`crate::password::Password`] the pool gets); for ASCII, and for
//!   better-auth, which normalizes to NFKC itself, that is what the other
//!   system hashed. A non-ASCII password that another system hashed without
//!   normalizing, and that NFKC changes, does not match: that user resets.

mod error;
mod store;

pub use error::LegacyHashError;
pub use store::LegacyHashStore;

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::pbkdf2;
use base64ct::{Base64, Base64Unpadded, Encoding};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::password::check_stored_hash;

/// The highest bcrypt cost imported (2^16 rounds: seconds per check).
pub const MAX_BCRYPT_COST: u32 = 16;
/// The most PBKDF2 iterations imported (10 million: seconds per check).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// The most memory one scrypt check may take (128 × N × r bytes): 1 GiB,
/// argon2's limit too.
pub const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// The most work one scrypt check may take (128 × N × r × p bytes mixed):
/// 4 GiB, argon2's memory × time limit too.
pub const MAX_SCRYPT_WORK: u64 = 4 << 30;

/// Longest stored form accepted (a Firebase signer key is 64 bytes).
const MAX_LEN: usize = 512;
/// Salts and outputs of 1 to 128 bytes.
const MAX_PART_BYTES: usize = 128;

/// A scheme of imported hash, as the metric names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegacyFormat {
    /// bcrypt (`$2a$`, `$2b$`, `$2y$`).
    Bcrypt,
    /// scrypt (PHC, Werkzeug, better-auth).
    Scrypt,
    /// Firebase's modified scrypt.
    FirebaseScrypt,
    /// PBKDF2-HMAC-SHA1.
    Pbkdf2Sha1,
    /// PBKDF2-HMAC-SHA256.
    Pbkdf2Sha256,
    /// PBKDF2-HMAC-SHA512.
    Pbkdf2Sha512,
    /// argon2i or argon2d (argon2id is latchkey's own and not counted).
    Argon2Other,
}

impl LegacyFormat {
    /// Every scheme, for a gauge that shows zeros too.
    pub const ALL: [LegacyFormat; 7] = [
        LegacyFormat::Bcrypt,
        LegacyFormat::Scrypt,
        LegacyFormat::FirebaseScrypt,
        LegacyFormat::Pbkdf2Sha1,
        LegacyFormat::Pbkdf2Sha256,
        LegacyFormat::Pbkdf2Sha512,
        LegacyFormat::Argon2Other,
    ];

    /// The `format` label of `latchkey_legacy_password_hashes`.
    pub fn label(self) -> &'static str {
        match self {
            LegacyFormat::Bcrypt => "bcrypt",
            LegacyFormat::Scrypt => "scrypt",
            LegacyFormat::FirebaseScrypt => "firebase-scrypt",
            LegacyFormat::Pbkdf2Sha1 => "pbkdf2-sha1",
            LegacyFormat::Pbkdf2Sha256 => "pbkdf2-sha256",
            LegacyFormat::Pbkdf2Sha512 => "pbkdf2-sha512",
            LegacyFormat::Argon2Other => "argon2i-argon2d",
        }
    }

    /// The scheme of a stored hash from its scheme id (the text between the
    /// first two `$`); `None` for argon2id and for anything unknown.
    pub fn of_scheme(scheme: &str) -> Option<LegacyFormat> {
        Some(match scheme {
            "2a" | "2b" | "2y" => LegacyFormat::Bcrypt,
            "scrypt" => LegacyFormat::Scrypt,
            "firebase-scrypt" => LegacyFormat::FirebaseScrypt,
            "pbkdf2-sha1" => LegacyFormat::Pbkdf2Sha1,
            "pbkdf2-sha256" => LegacyFormat::Pbkdf2Sha256,
            "pbkdf2-sha512" => LegacyFormat::Pbkdf2Sha512,
            "argon2i" | "argon2d" => LegacyFormat::Argon2Other,
            _ => return None,
        })
    }

    /// Counts per scheme from counts per scheme id (what
    /// [`LegacyHashStore::password_hash_schemes`] answers), every scheme
    /// present, zeros included.
    pub fn tally(by_scheme: &[(String, u64)]) -> Vec<(LegacyFormat, u64)> {
        let mut out: Vec<(LegacyFormat, u64)> = LegacyFormat::ALL.iter().map(|f| (*f, 0)).collect();
        for (scheme, n) in by_scheme {
            if let Some(f) = LegacyFormat::of_scheme(scheme)
                && let Some(slot) = out.iter_mut().find(|(g, _)| *g == f)
            {
                slot.1 += n;
            }
        }
        out
    }
}

/// Sets `latchkey_legacy_password_hashes{format}` from one count of the
/// stored hashes by scheme: what is left to replace at sign-in.
pub async fn record_gauge(store: &dyn LegacyHashStore) -> Result<(), crate::store::StoreError> {
    let counts = LegacyFormat::tally(&store.password_hash_schemes().await?);
    for (format, n) in counts {
        metrics::gauge!("latchkey_legacy_password_hashes", "format" => format.label())
            .set(n as f64);
    }
    Ok(())
}

/// Whether a stored hash is one of this module's schemes (not argon2).
pub fn is_legacy(stored: &str) -> bool {
    scheme_id(stored)
        .is_some_and(|s| !s.starts_with("argon2") && LegacyFormat::of_scheme(s).is_some())
}

/// The text between the first two `$`.
fn scheme_id(stored: &str) -> Option<&str> {
    stored.strip_prefix('$')?.split('$').next()
}

/// The HMAC of a PBKDF2 hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Digest {
    Sha1,
    Sha256,
    Sha512,
}

impl Digest {
    fn from_name(name: &str) -> Option<Digest> {
        match name {
            "sha1" => Some(Digest::Sha1),
            "sha256" => Some(Digest::Sha256),
            "sha512" => Some(Digest::Sha512),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
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
enum Kind {
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

fn scrypt_derive(
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
fn aes256_ctr_zero_iv(key: &[u8], plain: &[u8]) -> Result<Vec<u8>, LegacyHashError> {
    let fail = |_| LegacyHashError::Malformed("AES-256-CTR failed");
    let key = UnboundCipherKey::new(&AES_256, key).map_err(fail)?;
    let key = EncryptingKey::ctr(key).map_err(fail)?;
    let mut data = plain.to_vec();
    key.less_safe_encrypt(&mut data, EncryptionContext::Iv128([0u8; 16].into()))
        .map_err(fail)?;
    Ok(data)
}

/// `k=v` parameters in a fixed order, decimal.
struct Params(Vec<u64>);

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
fn decimal(s: &str) -> Result<u64, LegacyHashError> {
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
fn b64_part(field: Option<&str>) -> Result<Vec<u8>, LegacyHashError> {
    let bytes = b64_part_or_empty(field)?;
    if bytes.is_empty() {
        return Err(LegacyHashError::Malformed("an empty salt or hash"));
    }
    Ok(bytes)
}

fn b64_part_or_empty(field: Option<&str>) -> Result<Vec<u8>, LegacyHashError> {
    let field = field.ok_or(LegacyHashError::Malformed("fields missing"))?;
    let bytes = Base64Unpadded::decode_vec(field)
        .map_err(|_| LegacyHashError::Malformed("not unpadded base64"))?;
    if bytes.len() > MAX_PART_BYTES {
        return Err(LegacyHashError::Malformed("a salt or hash over 128 bytes"));
    }
    Ok(bytes)
}

/// The cost of a bcrypt string, within the cap.
fn bcrypt_cost(stored: &str) -> Result<u32, LegacyHashError> {
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
fn scrypt_cost(log_n: u32, r: u32, p: u32) -> Result<u8, LegacyHashError> {
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
fn iterations(text: &str) -> Result<u32, LegacyHashError> {
    let n = decimal(text)?;
    if n > u64::from(MAX_PBKDF2_ITERATIONS) {
        return Err(LegacyHashError::OverCap(format!(
            "PBKDF2 iterations {n} are above the limit of {MAX_PBKDF2_ITERATIONS}"
        )));
    }
    Ok(pbkdf2_cost(u32::try_from(n).unwrap_or(u32::MAX))?.get())
}

fn pbkdf2_cost(iterations: u32) -> Result<NonZeroU32, LegacyHashError> {
    if iterations > MAX_PBKDF2_ITERATIONS {
        return Err(LegacyHashError::OverCap(format!(
            "PBKDF2 iterations {iterations} are above the limit of {MAX_PBKDF2_ITERATIONS}"
        )));
    }
    NonZeroU32::new(iterations).ok_or(LegacyHashError::Malformed("PBKDF2 with 0 iterations"))
}

/// Standard or passlib's adapted base64 (`.` for `+`), padded or not.
fn lenient_b64(text: &str) -> Result<Vec<u8>, LegacyHashError> {
    let text = text.trim_end_matches('=').replace('.', "+");
    Base64Unpadded::decode_vec(&text).map_err(|_| LegacyHashError::Malformed("not base64"))
}

fn hex(text: &str) -> Result<Vec<u8>, LegacyHashError> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LegacyHashError::Malformed("not hexadecimal"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| LegacyHashError::Malformed("not hexadecimal"))
}

fn enc(bytes: &[u8]) -> String {
    Base64Unpadded::encode_string(bytes)
}

fn pbkdf2_form(digest: Digest, iterations: u32, salt: &[u8], hash: &[u8]) -> String {
    format!(
        "$pbkdf2-{}$i={iterations},l={}${}${}",
        digest.name(),
        hash.len(),
        enc(salt),
        enc(hash)
    )
}

fn scrypt_form(
    n: u64,
    r: u32,
    p: u32,
    salt: &[u8],
    hash: &[u8],
) -> Result<String, LegacyHashError> {
    if !n.is_power_of_two() || n < 2 {
        return Err(LegacyHashError::Malformed("scrypt N is not a power of two"));
    }
    Ok(format!(
        "$scrypt$ln={},r={r},p={p}${}${}",
        n.trailing_zeros(),
        enc(salt),
        enc(hash)
    ))
}

/// Turns an imported hash in any accepted form into the form stored, or
/// says why not (the message names the limit, never the hash). argon2 PHC
/// strings are kept as they are (checked by [`check_stored_hash`]).
///
/// Accepted: argon2 PHC (also Django's `argon2$argon2id$…`); bcrypt
/// `$2a$`/`$2b$`/`$2y$`; scrypt PHC `$scrypt$ln=,r=,p=$…`; the Firebase form
/// `$firebase-scrypt$ln=MEM_COST,r=ROUNDS$SIGNER_KEY$SALT_SEPARATOR$SALT$HASH`
/// (base64 as Firebase shows it); passlib's `$pbkdf2$`, `$pbkdf2-sha256$` and
/// `$pbkdf2-sha512$` (`ROUNDS$SALT$HASH` in adapted base64) and the PHC form
/// `$pbkdf2-sha256$i=I,l=L$…`; Django `pbkdf2_sha256$I$SALT$HASH` and
/// `pbkdf2_sha1$…`; Werkzeug `pbkdf2:sha256:I$SALT$HEX` and
/// `scrypt:N:R:P$SALT$HEX`; better-auth `SALTHEX:KEYHEX` (scrypt N=16384,
/// r=16, p=1, 64 bytes).
pub fn canonical(input: &str) -> Result<String, LegacyHashError> {
    if input.len() > MAX_LEN {
        return Err(LegacyHashError::Malformed("longer than any supported hash"));
    }
    let stored = to_stored(input)?;
    if stored.starts_with("$argon2") {
        check_stored_hash(&stored).map_err(LegacyHashError::Argon2)?;
    } else {
        LegacyHash::parse(&stored)?;
    }
    Ok(stored)
}

fn to_stored(input: &str) -> Result<String, LegacyHashError> {
    // Django's argon2 hasher prefixes the PHC string with its name.
    if let Some(phc) = input.strip_prefix("argon2$") {
        return Ok(phc.to_owned());
    }
    if input.starts_with("$argon2") {
        return Ok(input.to_owned());
    }
    if let Some(rest) = input.strip_prefix("pbkdf2_") {
        return django_pbkdf2(rest);
    }
    if let Some(rest) = input.strip_prefix("pbkdf2:") {
        return werkzeug_pbkdf2(rest);
    }
    if let Some(rest) = input.strip_prefix("scrypt:") {
        return werkzeug_scrypt(rest);
    }
    if let Some((salt, key)) = input.split_once(':')
        && salt.len() == 32
        && key.len() == 128
    {
        // better-auth: the salt's hex text is the salt.
        return scrypt_form(16384, 16, 1, salt.as_bytes(), &hex(key)?);
    }
    match scheme_id(input) {
        Some("pbkdf2" | "pbkdf2-sha1" | "pbkdf2-sha256" | "pbkdf2-sha512") => passlib_pbkdf2(input),
        Some("firebase-scrypt") => firebase(input),
        Some(_) => Ok(input.to_owned()),
        None => Err(LegacyHashError::Unsupported),
    }
}

/// passlib's `$pbkdf2[-sha256|-sha512]$ROUNDS$SALT$HASH` (adapted base64), or
/// a PHC `i=,l=` string kept as it is.
fn passlib_pbkdf2(input: &str) -> Result<String, LegacyHashError> {
    let mut fields = input[1..].split('$');
    let scheme = fields.next().unwrap_or_default();
    let digest = match scheme {
        "pbkdf2" | "pbkdf2-sha1" => Digest::Sha1,
        "pbkdf2-sha256" => Digest::Sha256,
        _ => Digest::Sha512,
    };
    let rounds = fields
        .next()
        .ok_or(LegacyHashError::Malformed("fields missing"))?;
    if rounds.starts_with("i=") {
        return Ok(input.to_owned());
    }
    let iterations = iterations(rounds)?;
    let salt = lenient_b64(fields.next().ok_or(LegacyHashError::Malformed("no salt"))?)?;
    let hash = lenient_b64(fields.next().ok_or(LegacyHashError::Malformed("no hash"))?)?;
    if fields.next().is_some() {
        return Err(LegacyHashError::Malformed(
            "more fields than the scheme has",
        ));
    }
    Ok(pbkdf2_form(digest, iterations, &salt, &hash))
}

/// Django: `pbkdf2_sha256$ITERATIONS$SALT$BASE64` (the salt is text).
fn django_pbkdf2(rest: &str) -> Result<String, LegacyHashError> {
    let mut fields = rest.split('$');
    let digest = fields
        .next()
        .and_then(Digest::from_name)
        .ok_or(LegacyHashError::Unsupported)?;
    let (Some(iterations), Some(salt), Some(hash), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(LegacyHashError::Malformed(
            "Django's form is pbkdf2_sha256$ITERATIONS$SALT$HASH",
        ));
    };
    let iterations = self::iterations(iterations)?;
    let hash = Base64::decode_vec(hash).map_err(|_| LegacyHashError::Malformed("not base64"))?;
    Ok(pbkdf2_form(digest, iterations, salt.as_bytes(), &hash))
}

/// Werkzeug: `pbkdf2:sha256:ITERATIONS$SALT$HEX` (the salt is text).
fn werkzeug_pbkdf2(rest: &str) -> Result<String, LegacyHashError> {
    let (method, salt, hash) = werkzeug_parts(rest)?;
    let mut args = method.split(':');
    let digest = args
        .next()
        .and_then(Digest::from_name)
        .ok_or(LegacyHashError::Unsupported)?;
    // Werkzeug's default before 2.3 was 260,000 iterations with no number given.
    let iterations = match args.next() {
        Some(i) => iterations(i)?,
        None => 260_000,
    };
    Ok(pbkdf2_form(
        digest,
        iterations,
        salt.as_bytes(),
        &hex(hash)?,
    ))
}

/// Werkzeug: `scrypt:N:R:P$SALT$HEX` (the salt is text).
fn werkzeug_scrypt(rest: &str) -> Result<String, LegacyHashError> {
    let (method, salt, hash) = werkzeug_parts(rest)?;
    let numbers: Vec<u64> = method.split(':').map(decimal).collect::<Result<_, _>>()?;
    let [n, r, p] = numbers[..] else {
        return Err(LegacyHashError::Malformed(
            "Werkzeug's form is scrypt:N:R:P$SALT$HEX",
        ));
    };
    let small = |v: u64| u32::try_from(v).map_err(|_| LegacyHashError::Malformed("out of range"));
    scrypt_form(n, small(r)?, small(p)?, salt.as_bytes(), &hex(hash)?)
}

fn werkzeug_parts(rest: &str) -> Result<(&str, &str, &str), LegacyHashError> {
    let mut fields = rest.split('$');
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(m), Some(s), Some(h), None) if !s.is_empty() => Ok((m, s, h)),
        _ => Err(LegacyHashError::Malformed(
            "Werkzeug's form is METHOD$SALT$HEX",
        )),
    }
}

/// The Firebase form with base64 as Firebase shows it (padded) made canonical.
fn firebase(input: &str) -> Result<String, LegacyHashError> {
    let mut fields = input[1..].split('$');
    let _ = fields.next();
    let params = fields
        .next()
        .ok_or(LegacyHashError::Malformed("no parameters"))?;
    let parts: Vec<String> = fields
        .map(|f| {
            Ok(enc(&Base64::decode_vec(&pad(f))
                .map_err(|_| LegacyHashError::Malformed("not base64"))?))
        })
        .collect::<Result<_, LegacyHashError>>()?;
    Ok(format!("$firebase-scrypt${params}${}", parts.join("$")))
}

fn pad(text: &str) -> String {
    let mut t = text.to_owned();
    while !t.len().is_multiple_of(4) {
        t.push('=');
    }
    t
}

/// A Keycloak realm export's password credential (its `secretData` and
/// `credentialData` JSON strings) in the stored form: PBKDF2 (`pbkdf2`,
/// `pbkdf2-sha256`, `pbkdf2-sha512`) or argon2 with its parameters.
pub fn keycloak_credential(
    secret_data: &str,
    credential_data: &str,
) -> Result<String, LegacyHashError> {
    use serde_json::Value;
    let bad = |what: &'static str| LegacyHashError::Malformed(what);
    let secret: Value =
        serde_json::from_str(secret_data).map_err(|_| bad("secretData is not JSON"))?;
    let data: Value =
        serde_json::from_str(credential_data).map_err(|_| bad("credentialData is not JSON"))?;
    let b64 = |v: &Value| {
        v.as_str()
            .ok_or(bad("a base64 string missing"))
            .and_then(|s| Base64::decode_vec(s).map_err(|_| bad("not base64")))
    };
    let value = b64(&secret["value"])?;
    let salt = b64(&secret["salt"])?;
    let iterations = data["hashIterations"]
        .as_u64()
        .and_then(|i| u32::try_from(i).ok())
        .ok_or(bad("hashIterations missing"))?;
    let stored = match data["algorithm"].as_str() {
        Some("pbkdf2") => pbkdf2_form(Digest::Sha1, iterations, &salt, &value),
        Some("pbkdf2-sha256") => pbkdf2_form(Digest::Sha256, iterations, &salt, &value),
        Some("pbkdf2-sha512") => pbkdf2_form(Digest::Sha512, iterations, &salt, &value),
        Some("argon2") => {
            let extra = &data["additionalParameters"];
            let param = |k: &str| extra[k][0].as_str().map(str::to_owned);
            let variant = match param("type").as_deref() {
                None | Some("id") => "argon2id",
                Some("i") => "argon2i",
                Some("d") => "argon2d",
                Some(_) => return Err(bad("unknown argon2 type")),
            };
            let version = match param("version").as_deref() {
                None | Some("1.3") => 19,
                Some("1.0") => 16,
                Some(_) => return Err(bad("unknown argon2 version")),
            };
            let number = |k: &str, default: u32| match param(k) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .map_err(|_| bad("argon2 parameter not a number")),
            };
            format!(
                "${variant}$v={version}$m={},t={iterations},p={}${}${}",
                number("memory", 7168)?,
                number("parallelism", 1)?,
                enc(&salt),
                enc(&value)
            )
        }
        _ => return Err(LegacyHashError::Unsupported),
    };
    canonical(&stored)
}

#[cfg(test)]
mod tests;
