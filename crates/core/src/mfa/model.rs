//! The stored shapes of the mfa slice and the rules the backends execute.

use time::{Duration, OffsetDateTime};

use crate::session::SessionKind;

/// How long an `mfa_token` lasts.
pub const MFA_TOKEN_TTL: Duration = Duration::minutes(5);

/// Codes checked against one `mfa_token`: each reserves an attempt in the
/// store before the check (the fifth may still be the right one); after five
/// wrong codes it is dead.
pub const MAX_CHALLENGE_FAILURES: u32 = 5;

/// `mfa.required_for_roles`: accounts holding one of these roles (assigned
/// or inherited) must have a second factor. Without one, a session reaches
/// only enrolment and sign-out (`EnrolmentRequired`), and administration
/// answers `mfa_required`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaPolicy {
    /// The role names; empty: no account must.
    pub required_for_roles: Vec<String>,
}

impl MfaPolicy {
    /// Whether an account holding `roles` must have a second factor.
    pub fn applies_to<'a>(&self, roles: impl IntoIterator<Item = &'a String>) -> bool {
        roles
            .into_iter()
            .any(|r| self.required_for_roles.iter().any(|w| w == r))
    }
}

/// A user's TOTP factor, pending until confirmed with a first code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// The account.
    pub user_id: String,
    /// The secret, sealed under the master key.
    pub secret_sealed: Vec<u8>,
    /// When enrolment started.
    pub created_at: OffsetDateTime,
    /// When the first code confirmed it; `None` while pending.
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last time step accepted (a code is good once per account, ever).
    pub last_step: Option<i64>,
}

/// What a user has enrolled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaStatus {
    /// The TOTP factor, pending or confirmed.
    pub totp: Option<TotpFactor>,
    /// Unused backup codes.
    pub backup_codes_left: u32,
}

impl MfaStatus {
    /// Whether sign-in needs a second factor.
    pub fn enabled(&self) -> bool {
        self.totp.as_ref().is_some_and(|t| t.confirmed_at.is_some())
    }

    /// The methods a second step accepts, in the wire form.
    pub fn methods(&self) -> Vec<Method> {
        let mut methods = Vec::new();
        if self.enabled() {
            methods.push(Method::Totp);
            if self.backup_codes_left > 0 {
                methods.push(Method::BackupCode);
            }
        }
        methods
    }
}

/// A second-factor method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A code from an authenticator app.
    Totp,
    /// One of the ten backup codes.
    BackupCode,
    /// A passkey of the account, as the second factor after a password,
    /// link or code (any registered passkey counts; its assertion is
    /// checked by the passkeys slice, never as a typed code).
    Webauthn,
}

impl Method {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::BackupCode => "backup_code",
            Method::Webauthn => "webauthn",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "totp" => Some(Method::Totp),
            "backup_code" => Some(Method::BackupCode),
            "webauthn" => Some(Method::Webauthn),
            _ => None,
        }
    }

    /// The RFC 8176 `amr` value a session gets besides `mfa` for a code
    /// method (a passkey's is its own: `hwk` or `swk`, see
    /// [`crate::passkeys::Passkey::amr`]).
    pub fn amr(self) -> &'static str {
        match self {
            Method::Totp | Method::BackupCode => "otp",
            Method::Webauthn => "hwk",
        }
    }
}

/// Whether an `amr` list includes a second factor (then `acr` is `aal2`).
pub fn has_second_factor(amr: &[String]) -> bool {
    amr.iter().any(|m| m == "mfa")
}

/// The second step of a sign-in, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    /// SHA-256 of the `mfa_token`.
    pub token_hash: String,
    /// The account the first step proved.
    pub user_id: String,
    /// The session the second step makes.
    pub kind: SessionKind,
    /// SHA-256 of the binding cookie (cookie mode), which must come back.
    pub binding_hash: Option<String>,
    /// What the first step proved (`pwd`), carried into the session.
    pub amr: Vec<String>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// Attempts reserved so far (codes checked; a right one uses the
    /// challenge, so every attempt after it counts as wrong).
    pub failures: u32,
    /// When it was used; it works once.
    pub used_at: Option<OffsetDateTime>,
}

/// Whether a presented `mfa_token` may still be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeVerdict {
    /// Check the code.
    Open,
    /// Used, expired, tried too often, or presented without its cookie.
    Refused,
}

impl MfaChallenge {
    /// The rule: unused, unexpired, fewer than [`MAX_CHALLENGE_FAILURES`]
    /// wrong codes, and (when bound) presented with its cookie, whose hash is
    /// `binding`.
    pub fn decide(&self, now: OffsetDateTime, binding: Option<&str>) -> ChallengeVerdict {
        let bound_ok = match (&self.binding_hash, binding) {
            (None, _) => true,
            (Some(want), Some(got)) => {
                latchkey_tokens::constant_time_eq(want.as_bytes(), got.as_bytes())
            }
            (Some(_), None) => false,
        };
        if self.used_at.is_none()
            && now < self.expires_at
            && self.failures < MAX_CHALLENGE_FAILURES
            && bound_ok
        {
            ChallengeVerdict::Open
        } else {
            ChallengeVerdict::Refused
        }
    }
}

/// A sign-in that needs its second step: what the first step answers.
#[derive(Debug, Clone)]
pub struct MfaRequired {
    /// The `mfa_token` (shown once; stored as a hash).
    pub mfa_token: String,
    /// The methods the account can use.
    pub methods: Vec<Method>,
    /// Cookie mode: the value of the binding cookie to set.
    pub binding_cookie: Option<String>,
    /// The account (for the audit log and quotas; never sent).
    pub user_id: String,
    /// When the token stops working.
    pub expires_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(binding: Option<&str>) -> MfaChallenge {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        MfaChallenge {
            token_hash: "t".into(),
            user_id: "u".into(),
            kind: SessionKind::Bearer,
            binding_hash: binding.map(str::to_owned),
            amr: vec!["pwd".into()],
            created_at: now,
            expires_at: now + MFA_TOKEN_TTL,
            failures: 0,
            used_at: None,
        }
    }

    #[test]
    fn challenge_rule_table() {
        let base = challenge(None);
        let t0 = base.created_at;
        let used = MfaChallenge {
            used_at: Some(t0),
            ..base.clone()
        };
        let tried = MfaChallenge {
            failures: MAX_CHALLENGE_FAILURES,
            ..base.clone()
        };
        let four = MfaChallenge {
            failures: MAX_CHALLENGE_FAILURES - 1,
            ..base.clone()
        };
        let bound = challenge(Some("cookiehash"));
        use ChallengeVerdict::*;
        for (name, c, now, binding, want) in [
            ("fresh", &base, t0, None, Open),
            ("unbound ignores a cookie", &base, t0, Some("x"), Open),
            (
                "last second",
                &base,
                t0 + MFA_TOKEN_TTL - Duration::seconds(1),
                None,
                Open,
            ),
            ("expired", &base, t0 + MFA_TOKEN_TTL, None, Refused),
            ("used", &used, t0, None, Refused),
            ("four wrong codes", &four, t0, None, Open),
            ("five wrong codes", &tried, t0, None, Refused),
            ("bound, its cookie", &bound, t0, Some("cookiehash"), Open),
            ("bound, no cookie", &bound, t0, None, Refused),
            ("bound, another cookie", &bound, t0, Some("other"), Refused),
        ] {
            assert_eq!(c.decide(now, binding), want, "{name}");
        }
    }

    #[test]
    fn the_policy_names_roles() {
        let policy = MfaPolicy {
            required_for_roles: vec!["admin".into(), "ops".into()],
        };
        let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for (held, want) in [
            (roles(&["user"]), false),
            (roles(&["user", "admin"]), true),
            (roles(&["ops"]), true),
            (roles(&["administrator"]), false),
            (roles(&[]), false),
        ] {
            assert_eq!(policy.applies_to(&held), want, "{held:?}");
        }
        assert!(!MfaPolicy::default().applies_to(&roles(&["admin"])));
    }

    #[test]
    fn methods_follow_what_is_enrolled() {
        let pending = TotpFactor {
            user_id: "u".into(),
            secret_sealed: vec![1],
            created_at: OffsetDateTime::UNIX_EPOCH,
            confirmed_at: None,
            last_step: None,
        };
        let confirmed = TotpFactor {
            confirmed_at: Some(OffsetDateTime::UNIX_EPOCH),
            ..pending.clone()
        };
        for (totp, left, want) in [
            (None, 0, vec![]),
            (Some(pending.clone()), 10, vec![]),
            (Some(confirmed.clone()), 0, vec![Method::Totp]),
            (
                Some(confirmed.clone()),
                3,
                vec![Method::Totp, Method::BackupCode],
            ),
        ] {
            let status = MfaStatus {
                totp,
                backup_codes_left: left,
            };
            assert_eq!(status.methods(), want);
        }
    }
}
