//! argon2 PHC strings: a strict parser, and the parameters within the
//! module's cost limits.

use argon2::{Algorithm, Params, Version};
use base64ct::{Base64Unpadded, Encoding};

use super::*;

impl HashParams {
    /// Checks these parameters against argon2's rules and this module's
    /// limits; the error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        argon2_params(self.m_cost_kib, self.t_cost, self.p_cost, OUTPUT_LEN).map(|_| ())
    }
}

/// argon2 parameters within this module's limits, or why not.
pub(super) fn argon2_params(m: u32, t: u32, p: u32, output_len: usize) -> Result<Params, String> {
    if m > MAX_M_COST_KIB {
        return Err(format!(
            "memory cost {m} KiB is above the limit of {MAX_M_COST_KIB} KiB"
        ));
    }
    if t > MAX_T_COST {
        return Err(format!("time cost {t} is above the limit of {MAX_T_COST}"));
    }
    if u64::from(m) * u64::from(t) > MAX_WORK_KIB {
        return Err(format!(
            "memory cost × time cost ({m} KiB × {t}) is above the limit of {MAX_WORK_KIB} KiB"
        ));
    }
    // Checked before argon2 sees it: `Params::new` multiplies p by 8.
    if p > MAX_P_COST {
        return Err(format!(
            "parallelism {p} is above the limit of {MAX_P_COST}"
        ));
    }
    Params::new(m, t, p, Some(output_len))
        .map_err(|e| format!("argon2 refuses m={m}, t={t}, p={p}: {e}"))
}

/// Checks, without hashing anything, that `phc` is a hash
/// [`PasswordHasher::verify`] accepts: an argon2 PHC string within this
/// module's cost limits. An import checks this before it stores a hash, so
/// that no stored hash can stall the pool. The message says what is
/// expected, never the hash.
pub fn check_stored_hash(phc: &str) -> Result<(), String> {
    match StoredHash::parse_inner(phc) {
        Some(_) => Ok(()),
        None if phc.starts_with("$argon2") => Err(format!(
            "not a valid argon2 PHC string within the limits (memory at most {MAX_M_COST_KIB} KiB, \
             time at most {MAX_T_COST}, memory × time at most {MAX_WORK_KIB} KiB, \
             parallelism at most {MAX_P_COST})"
        )),
        None => Err(
            "not an argon2 PHC string ($argon2id$…, $argon2i$… or $argon2d$…); \
                     other formats go through crate::legacy_hashes::canonical"
                .into(),
        ),
    }
}

/// A parsed argon2 PHC string.
pub(super) struct StoredHash {
    pub(super) algorithm: Algorithm,
    pub(super) version: Version,
    pub(super) params: Params,
    pub(super) salt: Vec<u8>,
    pub(super) hash: Vec<u8>,
}

impl StoredHash {
    /// Parses `$argon2{id,i,d}[$v=16|19]$m=M,t=T,p=P$SALT$HASH` strictly:
    /// the three parameters once each in any order and nothing else (no
    /// `keyid`, no `data`), decimal without sign or leading zero, canonical
    /// unpadded standard base64. A missing version means 0x10, as in the
    /// reference implementation.
    pub(super) fn parse(phc: &str) -> Result<StoredHash, PasswordError> {
        Self::parse_inner(phc).ok_or(PasswordError::MalformedHash)
    }

    pub(super) fn parse_inner(phc: &str) -> Option<StoredHash> {
        if phc.len() > MAX_PHC_LEN {
            return None;
        }
        let mut fields = phc.strip_prefix('$')?.split('$');
        let algorithm = match fields.next()? {
            "argon2id" => Algorithm::Argon2id,
            "argon2i" => Algorithm::Argon2i,
            "argon2d" => Algorithm::Argon2d,
            _ => return None,
        };
        let mut field = fields.next()?;
        let version = match field.strip_prefix("v=") {
            Some(v) => {
                field = fields.next()?;
                match decimal(v)? {
                    0x13 => Version::V0x13,
                    0x10 => Version::V0x10,
                    _ => return None,
                }
            }
            None => Version::V0x10,
        };
        let (mut m, mut t, mut p) = (None, None, None);
        for pair in field.split(',') {
            let (key, value) = pair.split_once('=')?;
            let slot = match key {
                "m" => &mut m,
                "t" => &mut t,
                "p" => &mut p,
                _ => return None,
            };
            if slot.replace(decimal(value)?).is_some() {
                return None;
            }
        }
        let salt = Base64Unpadded::decode_vec(fields.next()?).ok()?;
        let hash = Base64Unpadded::decode_vec(fields.next()?).ok()?;
        if fields.next().is_some()
            || !STORED_SALT_LEN.contains(&salt.len())
            || !STORED_OUTPUT_LEN.contains(&hash.len())
        {
            return None;
        }
        let params = argon2_params(m?, t?, p?, hash.len()).ok()?;
        Some(StoredHash {
            algorithm,
            version,
            params,
            salt,
            hash,
        })
    }

    pub(super) fn needs_rehash(&self, current: &Params) -> bool {
        self.algorithm != Algorithm::Argon2id
            || self.version != Version::V0x13
            || self.params.m_cost() != current.m_cost()
            || self.params.t_cost() != current.t_cost()
            || self.params.p_cost() != current.p_cost()
            || self.hash.len() != OUTPUT_LEN
            || self.salt.len() < SALT_LEN
    }
}

/// A PHC decimal: 1 to 10 ASCII digits, no sign, no leading zero.
fn decimal(s: &str) -> Option<u32> {
    let valid = !s.is_empty()
        && s.len() <= 10
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if valid { s.parse().ok() } else { None }
}
