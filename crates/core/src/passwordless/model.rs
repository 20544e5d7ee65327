//! The stored shape of a mailed link or code, its settings, and the rule
//! every backend executes when it is tried or used.

use time::{Duration, OffsetDateTime};

/// Attempts at a code (an email code, or the code of a link opened in
/// another browser) before it dies, even for the right code.
pub const MAX_ATTEMPTS: u32 = 5;

/// A link or a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A magic link (a 256-bit token in the URL, and a 6-character code in
    /// the mail for another browser).
    Link,
    /// A 6-digit email code.
    Code,
}

impl Kind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Link => "link",
            Kind::Code => "code",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "link" => Some(Kind::Link),
            "code" => Some(Kind::Code),
            _ => None,
        }
    }
}

/// A mailed link or code, stored only as hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordlessToken {
    /// Identifier (UUIDv7).
    pub id: String,
    /// Link or code.
    pub kind: Kind,
    /// A link's token, SHA-256 hex; `None` for a code (found by address).
    pub token_hash: Option<String>,
    /// The normalized address it was mailed to.
    pub email: String,
    /// The account; `None`: an unknown address with sign-up on the way
    /// (`accounts.passwordless_signup`), created when it is used.
    pub user_id: Option<String>,
    /// Keyed hash of the code (the 6 digits, or a link's 6 characters).
    pub code_hash: String,
    /// SHA-256 hex of the nonce the requesting browser holds in a cookie.
    pub browser_hash: Option<String>,
    /// PKCE S256 challenge of a native app (API mode).
    pub code_challenge: Option<String>,
    /// Where the link's page goes after signing in (checked when asked for).
    pub redirect_to: Option<String>,
    /// Code attempts so far.
    pub attempts: u32,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// When it was used, superseded or voided.
    pub used_at: Option<OffsetDateTime>,
}

/// What is being done with a token inside the backend's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Reserving one attempt at its code (counted before the comparison).
    Attempt,
    /// Using it (marking it used), after the proof was checked.
    Use,
}

/// Why a token cannot be tried or used. The caller answers the same
/// whatever the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Used, superseded by a newer one, or voided by an account change.
    Used,
    /// Its lifetime is over.
    Expired,
    /// Its code was tried [`MAX_ATTEMPTS`] times.
    Exhausted,
}

impl PasswordlessToken {
    /// The rule, decided once for every backend (which reads the row
    /// locked, calls this, and writes the step only on `Ok`): unused,
    /// unexpired, and for an attempt fewer than [`MAX_ATTEMPTS`] so far;
    /// a use after the last allowed attempt is still allowed (that attempt
    /// was counted when it was reserved).
    pub fn decide(&self, step: Step, now: OffsetDateTime) -> Result<(), Refusal> {
        if self.used_at.is_some() {
            return Err(Refusal::Used);
        }
        if self.expires_at <= now {
            return Err(Refusal::Expired);
        }
        let exhausted = match step {
            Step::Attempt => self.attempts >= MAX_ATTEMPTS,
            Step::Use => self.attempts > MAX_ATTEMPTS,
        };
        if exhausted {
            return Err(Refusal::Exhausted);
        }
        Ok(())
    }
}

/// Which token an attempt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptTarget<'a> {
    /// A link, by id (its code typed in another browser).
    Link(&'a str),
    /// The newest email code mailed to this normalized address.
    Code(&'a str),
}

/// The `[passwordless]` settings and `accounts.passwordless_signup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordlessConfig {
    /// Magic links are offered and accepted.
    pub magic_link: bool,
    /// Email codes are offered and accepted.
    pub email_code: bool,
    /// Lifetime of a magic link.
    pub magic_link_ttl: Duration,
    /// Lifetime of an email code.
    pub email_code_ttl: Duration,
    /// A link or code for an unknown address creates the account when used.
    pub signup: bool,
}

impl Default for PasswordlessConfig {
    fn default() -> Self {
        PasswordlessConfig {
            magic_link: true,
            email_code: true,
            magic_link_ttl: Duration::minutes(15),
            email_code_ttl: Duration::minutes(10),
            signup: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(attempts: u32, used: bool, expires_in: i64) -> PasswordlessToken {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        PasswordlessToken {
            id: "t".into(),
            kind: Kind::Code,
            token_hash: None,
            email: "a@example.com".into(),
            user_id: None,
            code_hash: "h".into(),
            browser_hash: None,
            code_challenge: None,
            redirect_to: None,
            attempts,
            created_at: now,
            expires_at: now + Duration::seconds(expires_in),
            used_at: used.then_some(now),
        }
    }

    #[test]
    fn attempts_and_uses_follow_one_rule() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let cases = [
            // (attempts, used, expires in s, step, expected)
            (0, false, 60, Step::Attempt, Ok(())),
            (4, false, 60, Step::Attempt, Ok(())),
            (5, false, 60, Step::Attempt, Err(Refusal::Exhausted)),
            (5, false, 60, Step::Use, Ok(())),
            (6, false, 60, Step::Use, Err(Refusal::Exhausted)),
            (0, true, 60, Step::Attempt, Err(Refusal::Used)),
            (0, true, 60, Step::Use, Err(Refusal::Used)),
            (0, false, 0, Step::Use, Err(Refusal::Expired)),
            (0, false, -1, Step::Attempt, Err(Refusal::Expired)),
        ];
        for (attempts, used, expires, step, expected) in cases {
            assert_eq!(
                token(attempts, used, expires).decide(step, now),
                expected,
                "{attempts} attempts, used {used}, expires in {expires}s, {step:?}"
            );
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in [Kind::Link, Kind::Code] {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("other"), None);
    }
}
