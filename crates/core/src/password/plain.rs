//! A password as typed: NFKC-normalized, held in zeroized memory, checked
//! against the length rules, never shown.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use super::*;

/// Length rules for new passwords, in characters: Unicode scalar values after
/// NFKC normalization (so an emoji is one character, and a flag or a family
/// emoji made of several code points counts as several).
///
/// NIST SP 800-63B asks for at least 8 characters and for at least 64 to be
/// allowed. The maximum exists only to bound hashing cost and is clamped to
/// [`MAX_PASSWORD_CHARS`]; passwords are never truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthPolicy {
    /// The fewest characters accepted.
    pub min_chars: usize,
    /// The most characters accepted (at most [`MAX_PASSWORD_CHARS`]).
    pub max_chars: usize,
}

impl Default for LengthPolicy {
    fn default() -> Self {
        LengthPolicy {
            min_chars: 8,
            max_chars: MAX_PASSWORD_CHARS,
        }
    }
}

impl LengthPolicy {
    /// The maximum actually enforced: `max_chars`, clamped to
    /// [`MAX_PASSWORD_CHARS`].
    pub fn effective_max_chars(&self) -> usize {
        self.max_chars.min(MAX_PASSWORD_CHARS)
    }
}

/// A password on its way to the hasher: NFKC-normalized, never truncated,
/// zeroed when dropped, and never printed (no `Display`; `Debug` shows
/// `Password(***)`).
pub struct Password {
    /// The NFKC form as UTF-8; empty when `over_long`.
    pub(super) normalized: Zeroizing<String>,
    /// The input exceeded [`MAX_PASSWORD_BYTES`]: it can never match.
    pub(super) over_long: bool,
}

impl Password {
    /// A new password (registration, change, reset), checked against the
    /// length policy after NFKC normalization.
    ///
    /// An input longer than [`MAX_PASSWORD_BYTES`] is refused as
    /// [`PasswordPolicyError::TooLong`] before it is normalized (only
    /// possible within the character limit for unusual decomposed input).
    pub fn new(raw: &str, policy: &LengthPolicy) -> Result<Password, PasswordPolicyError> {
        let max = policy.effective_max_chars();
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordPolicyError::TooLong { max });
        }
        let normalized = nfkc(raw);
        let chars = normalized.chars().count();
        if chars < policy.min_chars {
            return Err(PasswordPolicyError::TooShort {
                min: policy.min_chars,
            });
        }
        if chars > max {
            return Err(PasswordPolicyError::TooLong { max });
        }
        Ok(Password {
            normalized,
            over_long: false,
        })
    }

    /// A password to check against a stored hash (login, re-authentication):
    /// normalized like [`Password::new`] but without the length policy, since
    /// existing passwords are verified as they were set.
    ///
    /// An input longer than [`MAX_PASSWORD_BYTES`] is not normalized nor
    /// kept: it cannot have been set, so verifying it spends one hash with
    /// the stored hash's parameters (the same time as any wrong password) and
    /// answers [`Verified::Mismatch`]. [`PasswordHasher::hash`] refuses it.
    pub fn for_verification(raw: &str) -> Password {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Password {
                normalized: Zeroizing::new(String::new()),
                over_long: true,
            };
        }
        Password {
            normalized: nfkc(raw),
            over_long: false,
        }
    }

    /// The bytes that are hashed.
    pub(super) fn secret(&self) -> &[u8] {
        self.normalized.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// NFKC into a zeroize-on-drop string, growing it by hand so that no
/// reallocation leaves a copy of the secret behind in freed memory.
fn nfkc(raw: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(raw.len() + raw.len() / 2 + 16));
    for c in raw.nfkc() {
        if out.len() + c.len_utf8() > out.capacity() {
            let mut bigger = Zeroizing::new(String::with_capacity(out.capacity() * 2));
            bigger.push_str(&out);
            out = bigger; // the old buffer is zeroed as it drops
        }
        out.push(c);
    }
    out
}
