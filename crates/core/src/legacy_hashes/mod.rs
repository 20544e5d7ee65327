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
//!   on its workers and answers a match with `needs_rehash` (except a bcrypt
//!   match of 72 bytes or more, which proved only the first 72:
//!   [`LegacyHash::proves_whole`]), so sign-in
//!   stores argon2id with the current parameters (compare-and-set, as for any
//!   outdated hash). A mismatch spends nothing more: an extra argon2id made
//!   a wrong password on an imported account cost the foreign check plus
//!   the argon2id an unknown account costs, so timing told which addresses
//!   were imported. Instead every mismatch (unknown account, argon2id,
//!   imported) is answered no sooner than the *mismatch floor*, the longest
//!   imported check seen (or the argon2id one, when that is longer): the server sets it from one sample per scheme
//!   ([`LegacyHashStore::legacy_hash_samples`],
//!   [`crate::password::PasswordHasher::calibrate`]) at start and every five
//!   minutes, and slower checks under load raise it. The wait is a timer,
//!   not work on the pool. `bench/legacy-timing.sh` prints the three
//!   timings.
//! - **What is hashed** is the password after NFKC normalization (the
//!   [`crate::password::Password`] the pool gets); for ASCII, and for
//!   better-auth, which normalizes to NFKC itself, that is what the other
//!   system hashed. A non-ASCII password that another system hashed without
//!   normalizing, and that NFKC changes, does not match: that user resets.

mod error;
mod forms;
mod store;
mod stored;

pub use error::LegacyHashError;
pub use forms::{canonical, keycloak_credential};
pub use store::{LegacyHashStore, calibrate_floor, record_gauge};
pub use stored::LegacyHash;

use stored::*;

/// The bytes of a password bcrypt reads; the rest is ignored.
pub const BCRYPT_MAX_BYTES: usize = 72;

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

/// Whether a stored hash is one of this module's schemes (not argon2).
pub fn is_legacy(stored: &str) -> bool {
    scheme_id(stored)
        .is_some_and(|s| !s.starts_with("argon2") && LegacyFormat::of_scheme(s).is_some())
}

/// The text between the first two `$`.
fn scheme_id(stored: &str) -> Option<&str> {
    stored.strip_prefix('$')?.split('$').next()
}

#[cfg(test)]
mod tests;
