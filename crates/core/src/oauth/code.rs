//! Authorization codes (RFC 6749 §4.1) and PKCE (RFC 7636): what a code is
//! bound to, and the pure rule deciding whether a presented one may be
//! exchanged. The store only takes a code (marks it used, atomically, at
//! its first presentation, right or wrong); the decision is made here.

use latchkey_tokens::{b64url_encode, constant_time_eq, sha256};
use time::{Duration, OffsetDateTime};

/// How long a code lives (RFC 6749 §4.1.2 recommends at most 10 minutes;
/// a client redeems its code at once).
pub const CODE_TTL: Duration = Duration::seconds(60);

/// An authorization code as stored: only its hash, and what it is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// SHA-256 (hex) of the code.
    pub code_hash: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The person who authorized it.
    pub user_id: String,
    /// Their browser session (the tokens' `sid`; ending it ends them).
    pub session_id: String,
    /// The redirect URI of the authorization request, exactly.
    pub redirect_uri: String,
    /// The granted scopes.
    pub scope: Vec<String>,
    /// The OpenID Connect `nonce`, for the ID token.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge; `None` when the client sent none.
    pub code_challenge: Option<String>,
    /// The RFC 8707 resource the tokens are for, if one was named.
    pub resource: Option<String>,
    /// When the person last signed in (the ID token's `auth_time`).
    pub auth_time: OffsetDateTime,
    /// How (RFC 8176 values, the ID token's `amr`).
    pub amr: Vec<String>,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops being redeemable.
    pub expires_at: OffsetDateTime,
    /// When it was first presented; `None` while unused.
    pub used_at: Option<OffsetDateTime>,
}

/// What taking a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeTaken {
    /// It was unused: now it is used, and this is it as it was.
    Taken(AuthorizationCode),
    /// It had been presented before.
    AlreadyUsed(AuthorizationCode),
    /// No such code.
    Unknown,
}

/// The token request's side of an exchange.
#[derive(Debug, Clone, Copy)]
pub struct CodeExchange<'a> {
    /// The authenticated (or, for public clients, identified) client.
    pub client_id: &'a str,
    /// The `redirect_uri` parameter.
    pub redirect_uri: Option<&'a str>,
    /// The PKCE `code_verifier`.
    pub code_verifier: Option<&'a str>,
    /// Now.
    pub now: OffsetDateTime,
}

/// The decision on a presented code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redemption {
    /// Issue tokens.
    Issue,
    /// A second presentation by its own client: refuse, and revoke
    /// everything issued from the code (RFC 6749 §4.1.2).
    Replay,
    /// Refuse with `invalid_grant`, saying why (for the log and the
    /// description; no secret in it).
    Invalid(&'static str),
}

/// The PKCE S256 challenge of `verifier`: BASE64URL(SHA256(verifier)).
pub fn s256(verifier: &str) -> String {
    b64url_encode(&sha256(verifier.as_bytes()))
}

/// Whether `s` has the form of a PKCE verifier or challenge: 43 to 128
/// unreserved characters (RFC 7636 §4.1).
pub fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl CodeTaken {
    /// Decides an exchange (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §2.1.1).
    pub fn decide(&self, ex: &CodeExchange<'_>) -> Redemption {
        let code = match self {
            CodeTaken::Unknown => return Redemption::Invalid("unknown code"),
            CodeTaken::AlreadyUsed(c) if c.client_id == ex.client_id => {
                return Redemption::Replay;
            }
            CodeTaken::AlreadyUsed(_) => return Redemption::Invalid("unknown code"),
            CodeTaken::Taken(c) => c,
        };
        if code.client_id != ex.client_id {
            return Redemption::Invalid("the code was issued to another client");
        }
        if ex.now >= code.expires_at {
            return Redemption::Invalid("the code has expired");
        }
        if ex.redirect_uri != Some(code.redirect_uri.as_str()) {
            return Redemption::Invalid("redirect_uri differs from the authorization request");
        }
        match (&code.code_challenge, ex.code_verifier) {
            (Some(challenge), Some(verifier)) => {
                if !is_pkce_value(verifier)
                    || !constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes())
                {
                    return Redemption::Invalid("code_verifier does not match the challenge");
                }
            }
            (Some(_), None) => return Redemption::Invalid("code_verifier is required"),
            // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade
            (None, Some(_)) => {
                return Redemption::Invalid("code_verifier sent, but the request had no challenge");
            }
            (None, None) => {}
        }
        Redemption::Issue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    // RFC 7636 Appendix B
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_matches_the_rfc_example() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
        assert!(is_pkce_value(VERIFIER) && is_pkce_value(CHALLENGE));
        assert!(!is_pkce_value("short"));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", &VERIFIER[1..])));
    }

    fn code(challenge: Option<&str>, used: bool) -> CodeTaken {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let c = AuthorizationCode {
            code_hash: "h".into(),
            client_id: "app".into(),
            user_id: "u".into(),
            session_id: "s".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: vec!["openid".into()],
            nonce: None,
            code_challenge: challenge.map(str::to_owned),
            resource: None,
            auth_time: now,
            amr: vec!["pwd".into()],
            created_at: now,
            expires_at: now + CODE_TTL,
            used_at: used.then_some(now),
        };
        if used {
            CodeTaken::AlreadyUsed(c)
        } else {
            CodeTaken::Taken(c)
        }
    }

    #[test]
    fn exchanges_are_decided_by_binding_expiry_and_pkce() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let ex = |client, redirect, verifier, secs| CodeExchange {
            client_id: client,
            redirect_uri: redirect,
            code_verifier: verifier,
            now: t0 + Duration::seconds(secs),
        };
        let cb = Some("https://app.example/cb");
        let pkce = Some(CHALLENGE);
        for (taken, exchange, expected) in [
            (
                code(pkce, false),
                ex("app", cb, Some(VERIFIER), 1),
                Redemption::Issue,
            ),
            (
                code(None, false),
                ex("app", cb, None, 59),
                Redemption::Issue,
            ),
            (
                code(pkce, false),
                ex("app", cb, Some(VERIFIER), 60),
                Redemption::Invalid("the code has expired"),
            ),
            (
                code(pkce, false),
                ex("other", cb, Some(VERIFIER), 1),
                Redemption::Invalid("the code was issued to another client"),
            ),
            (
                code(pkce, false),
                ex("app", Some("https://app.example/cb/"), Some(VERIFIER), 1),
                Redemption::Invalid("redirect_uri differs from the authorization request"),
            ),
            (
                code(pkce, false),
                ex("app", None, Some(VERIFIER), 1),
                Redemption::Invalid("redirect_uri differs from the authorization request"),
            ),
            (
                code(pkce, false),
                ex("app", cb, None, 1),
                Redemption::Invalid("code_verifier is required"),
            ),
            (
                code(pkce, false),
                ex("app", cb, Some(&VERIFIER[..42]), 1),
                Redemption::Invalid("code_verifier does not match the challenge"),
            ),
            // `plain`: the challenge itself presented as the verifier
            (
                code(pkce, false),
                ex("app", cb, Some(CHALLENGE), 1),
                Redemption::Invalid("code_verifier does not match the challenge"),
            ),
            (
                code(None, false),
                ex("app", cb, Some(VERIFIER), 1),
                Redemption::Invalid("code_verifier sent, but the request had no challenge"),
            ),
            (
                code(pkce, true),
                ex("app", cb, Some(VERIFIER), 1),
                Redemption::Replay,
            ),
            (
                code(pkce, true),
                ex("other", cb, Some(VERIFIER), 1),
                Redemption::Invalid("unknown code"),
            ),
            (
                CodeTaken::Unknown,
                ex("app", cb, Some(VERIFIER), 1),
                Redemption::Invalid("unknown code"),
            ),
        ] {
            assert_eq!(taken.decide(&exchange), expected, "{exchange:?}");
        }
    }
}
