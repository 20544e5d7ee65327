//! RFC 6238 codes on the `totp-rs` crate, with the parameters every
//! authenticator app reads: SHA-1, 6 digits, 30-second steps, and one step of
//! skew either way when checking.

use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Digits of a code.
pub const DIGITS: u8 = 6;
/// Seconds of a time step.
pub const STEP_SECS: u64 = 30;
/// Steps of clock skew accepted either way.
pub const SKEW: u16 = 1;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;

/// A secret and the account it is for.
pub struct Generator {
    totp: Totp,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator").finish_non_exhaustive()
    }
}

/// A secret that is not usable (too short).
#[derive(Debug, thiserror::Error)]
#[error("unusable TOTP secret: {0}")]
pub struct SecretError(String);

impl Generator {
    /// A generator for `secret`, labelled `issuer:account` in the otpauth URI.
    pub fn new(secret: &[u8], issuer: &str, account: &str) -> Result<Generator, SecretError> {
        Self::with_digits(secret, issuer, account, DIGITS)
    }

    /// As [`Generator::new`] with another number of digits (the RFC's own
    /// test vectors use 8).
    pub fn with_digits(
        secret: &[u8],
        issuer: &str,
        account: &str,
        digits: u8,
    ) -> Result<Generator, SecretError> {
        // A colon would split the otpauth label; neither part needs one.
        let clean = |s: &str| s.replace(':', " ");
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(digits)
            .with_skew(SKEW)
            .with_step_duration(STEP_SECS)
            .with_secret(Secret::from(secret.to_vec()))
            .with_issuer(Some(clean(issuer)))
            .with_account_name(clean(account))
            .build()
            .map_err(|e| SecretError(e.to_string()))?;
        Ok(Generator { totp })
    }

    /// A generator for a secret shown in base32 (what an authenticator app
    /// reads from the enrolment answer).
    pub fn from_base32(
        secret: &str,
        issuer: &str,
        account: &str,
    ) -> Result<Generator, SecretError> {
        let bytes = Secret::try_from_base32(secret).map_err(|e| SecretError(format!("{e:?}")))?;
        Self::new(bytes.as_ref(), issuer, account)
    }

    /// The code of the step that `unix_secs` falls in.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.totp.generate(unix_secs).to_string()
    }

    /// The step of `code` within one step of `unix_secs`, if it matches one.
    /// Whether that step may still be used is the store's decision.
    pub fn matching_step(&self, code: &str, unix_secs: u64) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != usize::from(self.totp.digits())
            || !code.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        self.totp
            .check(&code, unix_secs)
            .and_then(|step| i64::try_from(step).ok())
    }

    /// The secret in base32 (what a user types when a QR code cannot be read).
    pub fn secret_base32(&self) -> String {
        self.totp.secret().to_base32()
    }

    /// The `otpauth://totp/...` URI an authenticator app scans.
    pub fn otpauth_uri(&self) -> String {
        self.totp.to_url().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1: the 20-byte ASCII secret, 8 digits.
    #[test]
    fn rfc6238_sha1_vectors() {
        let g = Generator::with_digits(b"12345678901234567890", "latchkey", "test", 8).unwrap();
        for (t, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(g.code_at(t), code, "T = {t}");
            assert_eq!(g.matching_step(code, t), Some((t / 30) as i64), "T = {t}");
        }
    }

    #[test]
    fn skew_is_one_step_either_way() {
        let g = Generator::new(&[7u8; SECRET_LEN], "latchkey", "a@example.com").unwrap();
        let t = 1_700_000_000u64;
        let step = (t / STEP_SECS) as i64;
        let code = g.code_at(t);
        for (offset, want) in [
            (-60i64, None),
            (-30, Some(step)),
            (0, Some(step)),
            (30, Some(step)),
            (60, None),
        ] {
            let at = (t as i64 + offset) as u64;
            assert_eq!(g.matching_step(&code, at), want, "offset {offset}");
        }
        for bad in ["", "12345", "1234567", "abcdef", "12 34 5x"] {
            assert_eq!(g.matching_step(bad, t), None, "{bad:?}");
        }
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(g.matching_step(&spaced, t), Some(step));
    }

    #[test]
    fn otpauth_uri_names_the_parameters() {
        let g = Generator::new(&[7u8; SECRET_LEN], "latchkey", "ada@example.com").unwrap();
        let uri = g.otpauth_uri();
        assert!(
            uri.starts_with("otpauth://totp/latchkey:ada%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", g.secret_base32())),
            "{uri}"
        );
        assert!(uri.contains("issuer=latchkey"), "{uri}");
        let short = Generator::new(&[7u8; 10], "latchkey", "a");
        assert!(short.is_err(), "80-bit secrets are refused");
    }
}
