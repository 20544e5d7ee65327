//! Proof-of-work challenges: a puzzle the server hands out under pressure
//! and checks in microseconds, which costs a client about `2^difficulty`
//! SHA-256 computations to solve. No third party, no tracking, no images.
//!
//! The protocol (also in the OpenAPI document, under `GET /v1/auth/challenge`):
//! 1. The server issues a token `v1.<action>.<difficulty>.<expires>.<nonce>.<mac>`:
//!    the action it is good for (`login` or `register`), the number of leading
//!    zero bits required, its expiry (Unix seconds), 128 random bits, and an
//!    HMAC-SHA-256 over the rest under a key derived from the master key. The
//!    server keeps no state for issued tokens.
//! 2. The client finds a decimal counter `n` such that
//!    `SHA-256("<token>:<n>")` starts with `difficulty` zero bits, and sends
//!    `<token>:<n>` as the solution.
//! 3. The server checks the MAC, the action, the expiry, that the difficulty
//!    is not below what it requires now (less a little slack, so a client that
//!    fetched a puzzle just before the pressure rose is not sent back), the
//!    hash, and finally claims the nonce so that a solution works once.

use std::fmt;

use latchkey_tokens::{
    b64url_decode, b64url_encode, constant_time_eq, hmac_sha256, random_bytes, sha256,
};
use time::OffsetDateTime;

/// What a challenge unlocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeAction {
    /// `POST /v1/auth/login` (and the other password checks).
    Login,
    /// `POST /v1/auth/register`.
    Register,
}

impl ChallengeAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeAction::Login => "login",
            ChallengeAction::Register => "register",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<ChallengeAction> {
        match s {
            "login" => Some(ChallengeAction::Login),
            "register" => Some(ChallengeAction::Register),
            _ => None,
        }
    }
}

impl fmt::Display for ChallengeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An issued puzzle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The token to solve.
    pub token: String,
    /// Leading zero bits required.
    pub difficulty: u8,
    /// What it unlocks.
    pub action: ChallengeAction,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// Why a solution was refused. The message is safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// No solution was sent.
    #[error("a solved challenge is required")]
    Missing,
    /// Not `<token>:<counter>` from this server.
    #[error("the solution is malformed or was not issued by this server")]
    Malformed,
    /// Issued for another action.
    #[error("the challenge was issued for another action")]
    WrongAction,
    /// Past its expiry.
    #[error("the challenge has expired; fetch a new one")]
    Expired,
    /// Easier than what is required now.
    #[error("the challenge is easier than what is required now; fetch a new one")]
    TooEasy,
    /// The hash does not have enough leading zero bits.
    #[error("the solution does not solve the challenge")]
    WrongSolution,
    /// Already used once.
    #[error("the challenge has been used already; fetch a new one")]
    Reused,
}

/// A solution that passed every check but the single-use claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSolution {
    /// The token's nonce, to claim.
    pub nonce: String,
    /// The token's expiry: the claim must last until then.
    pub expires_at: OffsetDateTime,
}

/// Issues and checks challenges under one key.
#[derive(Clone)]
pub struct Challenges {
    key: [u8; 32],
}

impl fmt::Debug for Challenges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Challenges(<key>)")
    }
}

/// The most difficulty bits a token may claim (a bound on client work).
pub const MAX_DIFFICULTY: u8 = 32;

/// The longest solution looked at.
const MAX_SOLUTION_LEN: usize = 256;

impl Challenges {
    /// Challenges under a key derived from the master key.
    pub fn new(master_key: &[u8; 32]) -> Challenges {
        Challenges {
            key: hmac_sha256(master_key, b"latchkey/pow-challenge/v1"),
        }
    }

    /// A new puzzle.
    pub fn issue(
        &self,
        action: ChallengeAction,
        difficulty: u8,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> Challenge {
        let difficulty = difficulty.min(MAX_DIFFICULTY);
        let expires_at = now + ttl;
        let nonce = b64url_encode(&random_bytes::<16>());
        let body = format!(
            "v1.{}.{difficulty}.{}.{nonce}",
            action.as_str(),
            expires_at.unix_timestamp()
        );
        let mac = b64url_encode(&hmac_sha256(&self.key, body.as_bytes()));
        Challenge {
            token: format!("{body}.{mac}"),
            difficulty,
            action,
            expires_at: OffsetDateTime::from_unix_timestamp(expires_at.unix_timestamp())
                .unwrap_or(expires_at),
        }
    }

    /// Checks a solution `<token>:<counter>` for `action` against the
    /// difficulty `required` now (see the module docs). Does not claim it.
    pub fn check(
        &self,
        solution: &str,
        action: ChallengeAction,
        required: u8,
        now: OffsetDateTime,
    ) -> Result<CheckedSolution, ChallengeError> {
        let solution = solution.trim();
        if solution.is_empty() {
            return Err(ChallengeError::Missing);
        }
        if solution.len() > MAX_SOLUTION_LEN {
            return Err(ChallengeError::Malformed);
        }
        let (token, counter) = solution.rsplit_once(':').ok_or(ChallengeError::Malformed)?;
        if counter.is_empty() || counter.len() > 20 || !counter.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ChallengeError::Malformed);
        }
        let (body, mac) = token.rsplit_once('.').ok_or(ChallengeError::Malformed)?;
        let mac = b64url_decode(mac).map_err(|_| ChallengeError::Malformed)?;
        let expected = hmac_sha256(&self.key, body.as_bytes());
        if !constant_time_eq(&mac, &expected) {
            return Err(ChallengeError::Malformed);
        }
        let mut parts = body.split('.');
        let (Some("v1"), Some(act), Some(diff), Some(exp), Some(nonce), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(ChallengeError::Malformed);
        };
        if ChallengeAction::parse(act) != Some(action) {
            return Err(ChallengeError::WrongAction);
        }
        let difficulty: u8 = diff.parse().map_err(|_| ChallengeError::Malformed)?;
        let expires: i64 = exp.parse().map_err(|_| ChallengeError::Malformed)?;
        let expires_at =
            OffsetDateTime::from_unix_timestamp(expires).map_err(|_| ChallengeError::Malformed)?;
        if now >= expires_at {
            return Err(ChallengeError::Expired);
        }
        if difficulty.saturating_add(DIFFICULTY_SLACK) < required {
            return Err(ChallengeError::TooEasy);
        }
        if leading_zero_bits(&sha256(solution.as_bytes())) < u32::from(difficulty) {
            return Err(ChallengeError::WrongSolution);
        }
        Ok(CheckedSolution {
            nonce: nonce.to_owned(),
            expires_at,
        })
    }
}

/// How many bits below the current requirement a token may be and still be
/// accepted (pressure can rise while a client solves).
pub const DIFFICULTY_SLACK: u8 = 2;

/// Leading zero bits of a hash.
pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for b in hash {
        if *b == 0 {
            bits += 8;
        } else {
            return bits + b.leading_zeros();
        }
    }
    bits
}

/// Solves a challenge by brute force (what the served script does): for
/// tests and command-line clients.
pub fn solve(token: &str, difficulty: u8) -> String {
    let mut n: u64 = 0;
    loop {
        let candidate = format!("{token}:{n}");
        if leading_zero_bits(&sha256(candidate.as_bytes())) >= u32::from(difficulty) {
            return candidate;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn leading_zero_bits_are_counted() {
        for (bytes, bits) in [
            (&[0x80u8, 0][..], 0),
            (&[0x01, 0xff][..], 7),
            (&[0, 0x10][..], 11),
            (&[0, 0][..], 16),
        ] {
            assert_eq!(leading_zero_bits(bytes), bits, "{bytes:?}");
        }
    }

    #[test]
    fn a_right_solution_passes_and_wrong_ones_say_why() {
        let c = Challenges::new(&[7; 32]);
        let ch = c.issue(ChallengeAction::Login, 10, now(), Duration::minutes(5));
        assert_eq!(ch.difficulty, 10);
        let good = solve(&ch.token, 10);
        let ok = c.check(&good, ChallengeAction::Login, 10, now()).unwrap();
        assert!(!ok.nonce.is_empty());
        assert_eq!(ok.expires_at, ch.expires_at);

        // a counter that does not solve it
        let mut n = 0u64;
        let wrong = loop {
            let s = format!("{}:{n}", ch.token);
            if leading_zero_bits(&sha256(s.as_bytes())) < 10 {
                break s;
            }
            n += 1;
        };
        let other = Challenges::new(&[8; 32]);
        let tampered = good.replacen("v1.login.10.", "v1.login.1.", 1);
        let register = c.issue(ChallengeAction::Register, 4, now(), Duration::minutes(5));
        for (solution, required, at, expected) in [
            (wrong.as_str(), 10, now(), ChallengeError::WrongSolution),
            ("", 10, now(), ChallengeError::Missing),
            ("garbage", 10, now(), ChallengeError::Malformed),
            (&ch.token, 10, now(), ChallengeError::Malformed),
            (
                &format!("{}:-1", ch.token),
                10,
                now(),
                ChallengeError::Malformed,
            ),
            (&tampered, 10, now(), ChallengeError::Malformed),
            (
                &solve(&register.token, 4),
                4,
                now(),
                ChallengeError::WrongAction,
            ),
            (
                &good,
                10,
                now() + Duration::minutes(5),
                ChallengeError::Expired,
            ),
            (&good, 13, now(), ChallengeError::TooEasy),
        ] {
            assert_eq!(
                c.check(solution, ChallengeAction::Login, required, at),
                Err(expected),
                "{solution}"
            );
        }
        // within the slack
        assert!(c.check(&good, ChallengeAction::Login, 12, now()).is_ok());
        // another server's key
        assert_eq!(
            other.check(&good, ChallengeAction::Login, 10, now()),
            Err(ChallengeError::Malformed)
        );
    }
}
