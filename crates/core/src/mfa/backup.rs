//! Backup codes: ten single-use codes, shown once, stored as keyed hashes.

use latchkey_tokens::{hmac_sha256, random_bytes};

/// How many codes a set has.
pub const BACKUP_CODE_COUNT: usize = 10;

/// The alphabet of codes: Crockford's base32 (no I, L, O, U), so what is
/// read aloud or copied by hand comes out right.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Characters of a code (12 × 5 = 60 random bits), shown as `xxxx-xxxx-xxxx`.
const CODE_CHARS: usize = 12;

/// Makes and hashes backup codes with a key derived from the master key.
#[derive(Clone)]
pub struct BackupCodes {
    key: [u8; 32],
}

impl std::fmt::Debug for BackupCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupCodes").finish_non_exhaustive()
    }
}

impl BackupCodes {
    /// The hasher for `master_key`.
    pub fn new(master_key: &[u8; 32]) -> BackupCodes {
        BackupCodes {
            key: hmac_sha256(master_key, b"latchkey/backup-codes/v1"),
        }
    }

    /// A new set: the codes to show once, and their hashes to store.
    pub fn generate(&self, user_id: &str) -> (Vec<String>, Vec<String>) {
        let codes: Vec<String> = (0..BACKUP_CODE_COUNT).map(|_| new_code()).collect();
        let hashes = codes.iter().map(|c| self.hash(user_id, c)).collect();
        (codes, hashes)
    }

    /// The stored form of a code as typed (case, dashes and spaces do not
    /// matter). The user id is part of the input, so one code hash says
    /// nothing about another account's.
    pub fn hash(&self, user_id: &str, typed: &str) -> String {
        let normalized = normalize(typed);
        let mac = hmac_sha256(&self.key, format!("{user_id}\n{normalized}").as_bytes());
        mac.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `typed` has the shape of a backup code at all.
    pub fn well_formed(typed: &str) -> bool {
        let n = normalize(typed);
        n.len() == CODE_CHARS && n.bytes().all(|b| ALPHABET.contains(&b))
    }
}

fn normalize(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn new_code() -> String {
    let bytes: [u8; CODE_CHARS] = random_bytes();
    let chars: Vec<u8> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)])
        .collect();
    let s = String::from_utf8(chars).unwrap_or_default();
    format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_well_formed_and_hash_by_user() {
        let b = BackupCodes::new(&[9u8; 32]);
        let (codes, hashes) = b.generate("user-1");
        assert_eq!(codes.len(), BACKUP_CODE_COUNT);
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), BACKUP_CODE_COUNT);
        for (code, hash) in codes.iter().zip(&hashes) {
            assert!(BackupCodes::well_formed(code), "{code}");
            assert_eq!(&b.hash("user-1", code), hash);
            assert_eq!(
                &b.hash("user-1", &code.to_uppercase().replace('-', " ")),
                hash
            );
            assert_ne!(&b.hash("user-2", code), hash, "bound to the account");
            assert_ne!(
                &BackupCodes::new(&[8u8; 32]).hash("user-1", code),
                hash,
                "keyed"
            );
        }
        for bad in ["", "abcd-efgh-ijk", "abcd-efgh-ijkl", "abcd-efgh-jkmnp"] {
            assert!(!BackupCodes::well_formed(bad), "{bad}");
        }
    }
}
