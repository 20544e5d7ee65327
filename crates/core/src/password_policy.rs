//! What a new password must be, beyond its length: not one of the commonly
//! used passwords, not in a configured breach corpus, not the account's own
//! email or username, and (optionally) not too easy to guess.
//!
//! Design decisions (NIST SP 800-63B: no composition rules, a blocklist):
//! - **A bundled list**: the 8,354 passwords of at least 8 characters among
//!   the 20,000 most common of the Pwned Passwords corpus (Django's list; see
//!   `crates/core/data/README.md`), 48 KiB front-coded inside the binary and
//!   decoded once into a sorted table. Candidates are compared after NFKC
//!   normalization, trimmed and lowercased, so `Password123` is as refused
//!   as `password123`. Refusal code: `password_too_common`.
//! - **A breach corpus of any size** through configuration: a Bloom filter
//!   file keyed by SHA-1 digests, so it can be built straight from the
//!   published Pwned Passwords hash lists (`latchkey passwords build-filter`).
//!   Small filters are read into memory; large ones are probed with
//!   positional reads (k reads per check, on the blocking pool), so a 2 GiB
//!   filter costs no memory. Refusal code: `password_breached`. A Bloom
//!   filter can wrongly refuse a password at its false-positive rate, never
//!   wrongly accept one.
//! - **A strength estimate** (0 to 4), off unless `passwords.min_strength`
//!   is set: an entropy estimate that discounts repeats and runs. It is a
//!   rough guide, not zxcvbn; the blocklists are what NIST asks for.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use latchkey_tokens::sha1_for_compatibility;
use unicode_normalization::UnicodeNormalization;

use crate::password::{LengthPolicy, Password, PasswordPolicyError};

const BUNDLED: &[u8] = include_bytes!("../data/common-passwords.lkcp");

/// A sorted list of common passwords (lowercased).
#[derive(Debug)]
pub struct CommonPasswords {
    sorted: Vec<Box<str>>,
}

impl CommonPasswords {
    /// The list bundled into the binary, decoded on first use.
    pub fn bundled() -> &'static CommonPasswords {
        static LIST: OnceLock<CommonPasswords> = OnceLock::new();
        LIST.get_or_init(|| {
            CommonPasswords::decode(BUNDLED).expect("the bundled common-password list decodes")
        })
    }

    /// Decodes the front-coded format of `scripts/passwords/common-list.py`.
    pub fn decode(bytes: &[u8]) -> Result<CommonPasswords, String> {
        let header_end = bytes
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("no header line")?;
        let header = std::str::from_utf8(&bytes[..header_end]).map_err(|_| "bad header")?;
        let count: usize = header
            .strip_prefix("LKCP1 ")
            .and_then(|n| n.parse().ok())
            .ok_or("not an LKCP1 list")?;
        let mut sorted: Vec<Box<str>> = Vec::with_capacity(count);
        let mut prev: Vec<u8> = Vec::new();
        let mut i = header_end + 1;
        while i < bytes.len() {
            let shared = usize::from(bytes[i]);
            let end = bytes[i + 1..]
                .iter()
                .position(|b| *b == b'\n')
                .map(|p| i + 1 + p)
                .ok_or("an entry is not terminated")?;
            if shared > prev.len() {
                return Err("an entry shares more than the previous one has".into());
            }
            let mut word = prev[..shared].to_vec();
            word.extend_from_slice(&bytes[i + 1..end]);
            let text = std::str::from_utf8(&word).map_err(|_| "an entry is not UTF-8")?;
            if sorted
                .last()
                .is_some_and(|last| last.as_bytes() >= word.as_slice())
            {
                return Err("entries are not sorted".into());
            }
            sorted.push(text.into());
            prev = word;
            i = end + 1;
        }
        if sorted.len() != count {
            return Err(format!("{} entries, the header says {count}", sorted.len()));
        }
        Ok(CommonPasswords { sorted })
    }

    /// How many passwords the list holds.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Whether `password`, folded as the list is, is on it.
    pub fn contains(&self, password: &str) -> bool {
        let folded = fold(password);
        self.sorted
            .binary_search_by(|w| w.as_ref().cmp(folded.as_str()))
            .is_ok()
    }
}

/// NFKC, trimmed, lowercased: how candidates are compared with lists.
fn fold(password: &str) -> String {
    password.nfkc().collect::<String>().trim().to_lowercase()
}

/// The magic bytes opening a breach filter file.
pub const FILTER_MAGIC: &[u8; 8] = b"LKBLOOM1";

/// Header: magic, bits (u64 LE), hash count (u32 LE), items (u64 LE).
const FILTER_HEADER: u64 = 8 + 8 + 4 + 8;

/// Filters up to this size are read into memory; larger ones are probed on disk.
const IN_MEMORY_MAX: u64 = 64 << 20;

/// A Bloom filter of SHA-1 password digests (see the module docs).
#[derive(Debug)]
pub struct BreachFilter {
    bits: u64,
    hashes: u32,
    items: u64,
    store: FilterBits,
}

#[derive(Debug)]
enum FilterBits {
    Memory(Vec<u8>),
    File(File),
}

impl BreachFilter {
    /// Opens a filter file, checking its header and size.
    pub fn open(path: &Path) -> Result<BreachFilter, String> {
        let mut file =
            File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let len = file
            .metadata()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .len();
        let mut header = [0u8; FILTER_HEADER as usize];
        file.read_exact(&mut header).map_err(|_| {
            format!(
                "{} is not a latchkey breach filter (too short)",
                path.display()
            )
        })?;
        let (bits, hashes, items) = parse_header(&header)
            .ok_or_else(|| format!("{} is not a latchkey breach filter (build one with `latchkey passwords build-filter`)", path.display()))?;
        if len != FILTER_HEADER + bits.div_ceil(8) {
            return Err(format!(
                "{} is truncated or has trailing data",
                path.display()
            ));
        }
        let store = if len <= IN_MEMORY_MAX || !cfg!(unix) {
            let mut bytes = Vec::with_capacity(usize::try_from(len - FILTER_HEADER).unwrap_or(0));
            file.read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            FilterBits::Memory(bytes)
        } else {
            FilterBits::File(file)
        };
        Ok(BreachFilter {
            bits,
            hashes,
            items,
            store,
        })
    }

    /// Items the filter was built from.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// Whether the filter is read from disk at each check.
    pub fn on_disk(&self) -> bool {
        matches!(self.store, FilterBits::File(_))
    }

    /// Whether a SHA-1 digest is (probably) in the filter.
    pub fn contains_digest(&self, digest: &[u8; 20]) -> std::io::Result<bool> {
        for bit in bit_indexes(digest, self.bits, self.hashes) {
            let byte = match &self.store {
                FilterBits::Memory(bytes) => bytes[(bit / 8) as usize],
                FilterBits::File(file) => read_byte_at(file, FILTER_HEADER + bit / 8)?,
            };
            if byte & (1 << (bit % 8)) == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether a password, as typed or NFKC-normalized, is (probably) in the filter.
    pub fn contains_password(&self, password: &str) -> std::io::Result<bool> {
        if self.contains_digest(&sha1_for_compatibility(password.as_bytes()))? {
            return Ok(true);
        }
        let nfkc: String = password.nfkc().collect();
        Ok(nfkc != password && self.contains_digest(&sha1_for_compatibility(nfkc.as_bytes()))?)
    }
}

#[cfg(unix)]
fn read_byte_at(file: &File, offset: u64) -> std::io::Result<u8> {
    use std::os::unix::fs::FileExt;
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, offset)?;
    Ok(b[0])
}

#[cfg(not(unix))]
fn read_byte_at(_: &File, _: u64) -> std::io::Result<u8> {
    unreachable!("filters are always read into memory off Unix")
}

fn parse_header(h: &[u8; FILTER_HEADER as usize]) -> Option<(u64, u32, u64)> {
    if &h[..8] != FILTER_MAGIC {
        return None;
    }
    let bits = u64::from_le_bytes(h[8..16].try_into().ok()?);
    let hashes = u32::from_le_bytes(h[16..20].try_into().ok()?);
    let items = u64::from_le_bytes(h[20..28].try_into().ok()?);
    (bits >= 8 && (1..=64).contains(&hashes)).then_some((bits, hashes, items))
}

/// The k bit positions of a digest (Kirsch–Mitzenmacher double hashing on
/// the digest's first 16 bytes, which are already uniform).
fn bit_indexes(digest: &[u8; 20], bits: u64, hashes: u32) -> impl Iterator<Item = u64> {
    let h1 = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    let h2 = u64::from_le_bytes(digest[8..16].try_into().expect("8 bytes")) | 1;
    (0..u64::from(hashes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % bits)
}

/// Builds a breach filter in memory.
#[derive(Debug)]
pub struct FilterBuilder {
    bits: u64,
    hashes: u32,
    items: u64,
    bytes: Vec<u8>,
}

impl FilterBuilder {
    /// A filter sized for `expected` items at `false_positive_rate`.
    pub fn new(expected: u64, false_positive_rate: f64) -> FilterBuilder {
        let n = expected.max(1) as f64;
        let p = false_positive_rate.clamp(1e-12, 0.5);
        let ln2 = std::f64::consts::LN_2;
        let bits = ((-n * p.ln()) / (ln2 * ln2)).ceil().max(64.0) as u64;
        let hashes = ((bits as f64 / n) * ln2).round().clamp(1.0, 30.0) as u32;
        FilterBuilder {
            bits,
            hashes,
            items: 0,
            bytes: vec![0; bits.div_ceil(8) as usize],
        }
    }

    /// Adds a SHA-1 digest.
    pub fn insert_digest(&mut self, digest: &[u8; 20]) {
        for bit in bit_indexes(digest, self.bits, self.hashes) {
            self.bytes[(bit / 8) as usize] |= 1 << (bit % 8);
        }
        self.items += 1;
    }

    /// Adds a password as typed.
    pub fn insert_password(&mut self, password: &str) {
        self.insert_digest(&sha1_for_compatibility(password.as_bytes()));
    }

    /// Items added so far.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// The file's bytes.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FILTER_HEADER as usize + self.bytes.len());
        out.extend_from_slice(FILTER_MAGIC);
        out.extend_from_slice(&self.bits.to_le_bytes());
        out.extend_from_slice(&self.hashes.to_le_bytes());
        out.extend_from_slice(&self.items.to_le_bytes());
        out.extend_from_slice(&self.bytes);
        out
    }
}

/// A rough strength score from 0 (trivial) to 4 (strong); see the module docs.
pub fn strength(password: &str) -> u8 {
    let chars: Vec<char> = password.nfkc().collect();
    if chars.is_empty() || CommonPasswords::bundled().contains(password) {
        return 0;
    }
    let (mut lower, mut upper, mut digit, mut symbol, mut other) =
        (false, false, false, false, false);
    for c in &chars {
        match c {
            'a'..='z' => lower = true,
            'A'..='Z' => upper = true,
            '0'..='9' => digit = true,
            c if c.is_ascii() => symbol = true,
            _ => other = true,
        }
    }
    let pool = [
        (lower, 26),
        (upper, 26),
        (digit, 10),
        (symbol, 33),
        (other, 100),
    ]
    .iter()
    .filter(|(used, _)| *used)
    .map(|(_, n)| n)
    .sum::<u32>();
    let mut effective = 0.0;
    for (i, c) in chars.iter().enumerate() {
        let step = i
            .checked_sub(1)
            .map(|j| i64::from(u32::from(*c)) - i64::from(u32::from(chars[j])));
        effective += match step {
            Some(0) => 0.25,     // a repeat
            Some(-1 | 1) => 0.5, // a run: abc, 321
            _ => 1.0,
        };
    }
    let bits = effective * f64::from(pool.max(2)).log2();
    match bits {
        b if b < 28.0 => 0,
        b if b < 36.0 => 1,
        b if b < 60.0 => 2,
        b if b < 80.0 => 3,
        _ => 4,
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefusal {
    /// Too short or too long.
    #[error(transparent)]
    Length(#[from] PasswordPolicyError),
    /// On the list of commonly used passwords.
    #[error(
        "this password is one of the most commonly used passwords; choose another (a few unrelated words make a good one)"
    )]
    TooCommon,
    /// In the configured breach corpus.
    #[error(
        "this password has appeared in a data breach, so attackers try it first; choose another"
    )]
    Breached,
    /// The account's own email address or username.
    #[error("the password must not be your email address or username")]
    LikeIdentity,
    /// Below the configured strength.
    #[error(
        "this password is too easy to guess (strength {score} of 4, at least {min} required); make it longer or less predictable"
    )]
    TooWeak {
        /// The estimate.
        score: u8,
        /// The minimum.
        min: u8,
    },
}

impl PasswordRefusal {
    /// The stable code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordRefusal::Length(PasswordPolicyError::TooShort { .. }) => "password_too_short",
            PasswordRefusal::Length(PasswordPolicyError::TooLong { .. }) => "password_too_long",
            PasswordRefusal::TooCommon => "password_too_common",
            PasswordRefusal::Breached => "password_breached",
            PasswordRefusal::LikeIdentity => "password_like_identity",
            PasswordRefusal::TooWeak { .. } => "password_too_weak",
        }
    }
}

/// Everything a new password is checked against.
#[derive(Debug, Clone)]
pub struct PasswordRules {
    /// Length, in characters after normalization.
    pub length: LengthPolicy,
    /// Refuse the bundled common passwords.
    pub reject_common: bool,
    /// A breach corpus, if configured.
    pub breached: Option<Arc<BreachFilter>>,
    /// The lowest strength score accepted (0: no estimate).
    pub min_strength: u8,
}

impl Default for PasswordRules {
    fn default() -> Self {
        PasswordRules {
            length: LengthPolicy::default(),
            reject_common: true,
            breached: None,
            min_strength: 0,
        }
    }
}

impl PasswordRules {
    /// Checks a new password for an account known by `identity` (its email
    /// address and username); returns it ready for hashing.
    pub async fn check(&self, raw: &str, identity: &[&str]) -> Result<Password, PasswordRefusal> {
        let password = Password::new(raw, &self.length)?;
        if self.reject_common && CommonPasswords::bundled().contains(raw) {
            return Err(PasswordRefusal::TooCommon);
        }
        let folded = fold(raw);
        let like_identity = identity.iter().any(|id| {
            let id = fold(id);
            !id.is_empty()
                && (folded == id || id.split_once('@').is_some_and(|(local, _)| folded == local))
        });
        if like_identity {
            return Err(PasswordRefusal::LikeIdentity);
        }
        if let Some(filter) = &self.breached {
            let found = if filter.on_disk() {
                let filter = Arc::clone(filter);
                let raw = zeroize::Zeroizing::new(raw.to_owned());
                tokio::task::spawn_blocking(move || filter.contains_password(&raw))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
            } else {
                filter.contains_password(raw)
            };
            match found {
                Ok(true) => return Err(PasswordRefusal::Breached),
                Ok(false) => {}
                // A broken disk must not make every password acceptable
                // silently, nor every registration fail: log and go on.
                Err(e) => tracing::error!(error = %e, "the breach filter could not be read"),
            }
        }
        if self.min_strength > 0 {
            let score = strength(raw);
            if score < self.min_strength {
                return Err(PasswordRefusal::TooWeak {
                    score,
                    min: self.min_strength,
                });
            }
        }
        Ok(password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_list_decodes_and_matches_folded_input() {
        let list = CommonPasswords::bundled();
        assert_eq!(list.len(), 8354);
        for (candidate, common) in [
            ("password", true),
            ("PASSWORD", true),
            ("  Password1 ", true),
            ("qwertyuiop", true),
            ("iloveyou", true),
            ("correct horse battery staple", false),
            ("xk2#Lp9!vQ", false),
            ("", false),
        ] {
            assert_eq!(list.contains(candidate), common, "{candidate:?}");
        }
        // NFKC: fullwidth letters fold to ASCII
        assert!(list.contains("ｐａｓｓｗｏｒｄ"));
    }

    #[test]
    fn malformed_lists_are_refused() {
        for bad in [
            &b""[..],
            b"LKCP1 1\n\x00abc",
            b"LKCP1 2\n\x00abc\n",
            b"LKCP1 2\n\x00abd\n\x00abc\n",
            b"LKCP1 1\n\x05abc\n",
            b"NOPE 1\n\x00abc\n",
        ] {
            assert!(CommonPasswords::decode(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            CommonPasswords::decode(b"LKCP1 2\n\x00abc\n\x02d\n")
                .unwrap()
                .sorted
                .len(),
            2
        );
    }

    #[test]
    fn breach_filters_round_trip_in_memory_and_on_disk() {
        let mut b = FilterBuilder::new(1000, 1e-6);
        for i in 0..1000 {
            b.insert_password(&format!("breached-{i}"));
        }
        let bytes = b.finish();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.lkbloom");
        std::fs::write(&path, &bytes).unwrap();
        let mem = BreachFilter::open(&path).unwrap();
        assert!(!mem.on_disk());
        assert_eq!(mem.items(), 1000);
        let file = BreachFilter {
            bits: mem.bits,
            hashes: mem.hashes,
            items: mem.items,
            store: FilterBits::File(File::open(&path).unwrap()),
        };
        for f in [&mem, &file] {
            for i in 0..1000 {
                assert!(f.contains_password(&format!("breached-{i}")).unwrap());
            }
            let false_hits = (0..10_000)
                .filter(|i| f.contains_password(&format!("fine-{i}")).unwrap())
                .count();
            assert!(false_hits <= 2, "{false_hits} false positives at 1e-6");
        }
        // HIBP-style: a digest inserted directly matches the password
        let mut b = FilterBuilder::new(10, 1e-3);
        b.insert_digest(&sha1_for_compatibility(b"hunter2hunter2"));
        std::fs::write(&path, b.finish()).unwrap();
        assert!(
            BreachFilter::open(&path)
                .unwrap()
                .contains_password("hunter2hunter2")
                .unwrap()
        );

        std::fs::write(&path, &bytes[..100]).unwrap();
        assert!(BreachFilter::open(&path).unwrap_err().contains("truncated"));
        std::fs::write(&path, b"not a filter at all, really not").unwrap();
        assert!(
            BreachFilter::open(&path)
                .unwrap_err()
                .contains("not a latchkey breach filter")
        );
    }

    #[test]
    fn strength_grows_with_length_and_variety() {
        for (password, score) in [
            ("password", 0),
            ("aaaaaaaaaaaa", 0),
            ("abcdefghijkl", 1),
            ("kdhwnxbq", 2),
            ("kd8#W!xq2Lp", 3),
            ("correct horse battery staple", 4),
        ] {
            assert_eq!(strength(password), score, "{password}");
        }
    }

    #[tokio::test]
    async fn rules_refuse_with_reasons() {
        let mut b = FilterBuilder::new(10, 1e-6);
        b.insert_password("Tr0ub4dor&3-leaked");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b.finish()).unwrap();
        let rules = PasswordRules {
            breached: Some(Arc::new(BreachFilter::open(&path).unwrap())),
            min_strength: 2,
            ..PasswordRules::default()
        };
        let ids = ["Ada.Lovelace@example.com", "ada"];
        for (raw, code) in [
            ("short", Some("password_too_short")),
            ("Password1", Some("password_too_common")),
            ("ada.lovelace", Some("password_like_identity")),
            ("ADA.LOVELACE@EXAMPLE.COM", Some("password_like_identity")),
            ("Tr0ub4dor&3-leaked", Some("password_breached")),
            ("abcdefghijkl", Some("password_too_weak")),
            ("correct horse battery staple", None),
        ] {
            let got = rules.check(raw, &ids).await;
            assert_eq!(got.as_ref().err().map(PasswordRefusal::code), code, "{raw}");
        }
        let off = PasswordRules {
            reject_common: false,
            ..PasswordRules::default()
        };
        assert!(off.check("password123", &[]).await.is_ok());
        assert!(
            PasswordRefusal::TooCommon
                .to_string()
                .contains("commonly used")
        );
    }
}
