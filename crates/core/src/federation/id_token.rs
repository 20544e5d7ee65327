//! ID token validation (OpenID Connect Core §3.1.3.7, RFC 8725): the
//! signature with the provider's key (EdDSA, ES256 or RS256 bound to the
//! key: never `none`, never HMAC), `iss` exactly, `aud`, `azp`, `exp`,
//! `nonce`; and the person described by the claims.

use latchkey_tokens::{
    Validation, VerifyError, VerifyingKey, b64url_decode, constant_time_eq, sha256_hex,
    verify_jwt_typ_optional,
};
use serde_json::{Map, Value};

use super::FederationError;
use super::model::{ClaimMapping, TenantIssuer, Upstreamer};
use super::presets::CONSUMERS_TENANT;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: i64 = 60;

/// What an ID token must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The provider's issuers: the configured one first, then the
    /// spellings its tokens also carry; `iss` must be one, exactly.
    pub issuers: &'a [&'a str],
    /// Our client id there first, then (native apps) the other client ids
    /// a platform SDK's token may be issued to: `aud` must hold one, and
    /// `azp`, when present, must be one.
    pub audiences: &'a [&'a str],
    /// The nonce the token must carry.
    pub nonce: Nonce<'a>,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// How the `nonce` claim must match.
#[derive(Debug, Clone, Copy)]
pub enum Nonce<'a> {
    /// Exactly this value (the authorization request's nonce).
    Exact(&'a str),
    /// This value, or the lowercase hex SHA-256 of it: platform SDKs
    /// (Sign in with Apple on iOS) take the hash of the app's nonce.
    ExactOrSha256(&'a str),
}

impl Nonce<'_> {
    fn accepts(self, claim: &str) -> bool {
        let eq = |a: &str, b: &str| constant_time_eq(a.as_bytes(), b.as_bytes());
        match self {
            Nonce::Exact(n) => eq(claim, n),
            Nonce::ExactOrSha256(n) => eq(claim, n) | eq(claim, &sha256_hex(n.as_bytes())),
        }
    }
}

/// The claims of `token` before any check: only to pick which of the
/// expected issuers and audiences it names (the check then runs on them,
/// signature first) and a multi-tenant issuer's `tid`.
pub fn unverified_claims(token: &str) -> Map<String, Value> {
    token
        .split('.')
        .nth(1)
        .and_then(|p| b64url_decode(p).ok())
        .and_then(|p| serde_json::from_slice(&p).ok())
        .unwrap_or_default()
}

/// The issuer a multi-tenant provider's token must carry: the template
/// filled with the token's own `tid` (a tenant id, never the personal
/// tenant under `organizations`).
pub fn tenant_issuer(
    t: &TenantIssuer,
    claims: &Map<String, Value>,
) -> Result<String, FederationError> {
    let tid = claims
        .get("tid")
        .and_then(Value::as_str)
        .filter(|tid| tid.len() == 36 && tid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
        .ok_or(FederationError::InvalidIdToken("tid"))?;
    if t.organizations_only && tid.eq_ignore_ascii_case(CONSUMERS_TENANT) {
        return Err(FederationError::InvalidIdToken("tid"));
    }
    Ok(t.template.replace("{tenantid}", tid))
}

/// Validates `token` signed by `key` (the key its `kid` names, looked up by
/// the caller) and returns its claims.
pub fn validate(
    token: &str,
    key: Option<VerifyingKey>,
    e: &Expected,
) -> Result<Map<String, Value>, FederationError> {
    let seen = unverified_claims(token);
    let iss = seen.get("iss").and_then(Value::as_str).unwrap_or_default();
    let issuer = e
        .issuers
        .iter()
        .find(|i| **i == iss)
        .or(e.issuers.first())
        .copied()
        .unwrap_or_default();
    let token_auds: Vec<&str> = match seen.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let audience = e
        .audiences
        .iter()
        .find(|a| token_auds.contains(a))
        .or(e.audiences.first())
        .copied()
        .unwrap_or_default();
    let v = Validation {
        issuer,
        audience,
        typ: "JWT",
        now: e.now,
        leeway_secs: LEEWAY_SECS,
    };
    let claims: Map<String, Value> =
        verify_jwt_typ_optional(token, |kid| key.clone().filter(|k| k.kid() == kid), &v)
            .map_err(|err| FederationError::InvalidIdToken(reason(&err)))?;
    let nonce_ok = claims
        .get("nonce")
        .and_then(Value::as_str)
        .is_some_and(|n| e.nonce.accepts(n));
    if !nonce_ok {
        return Err(FederationError::InvalidIdToken("nonce"));
    }
    let several_audiences = token_auds.len() > 1;
    match claims.get("azp") {
        Some(Value::String(azp)) if e.audiences.contains(&azp.as_str()) => {}
        None if !several_audiences => {}
        _ => return Err(FederationError::InvalidIdToken("azp")),
    }
    Ok(claims)
}

fn reason(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Algorithm => "alg",
        VerifyError::UnknownKey => "unknown kid",
        VerifyError::Signature => "signature",
        VerifyError::Expired => "expired",
        VerifyError::NotYetValid => "not yet valid",
        VerifyError::Issuer => "iss",
        VerifyError::Audience => "aud",
        VerifyError::Type => "typ",
        _ => "malformed",
    }
}

/// The person the claims describe, through the provider's mapping. The
/// subject may be a string or a number (GitHub's `id`); it must not be
/// empty.
pub fn upstreamer(
    claims: &Map<String, Value>,
    map: &ClaimMapping,
) -> Result<Upstreamer, FederationError> {
    let subject = match claims.get(&map.subject) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(FederationError::InvalidIdToken("sub")),
    };
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let email_verified = match claims.get(&map.email_verified) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(Upstreamer {
        subject,
        email: text(&map.email),
        email_verified,
        name: text(&map.name),
    })
}

#[cfg(test)]
mod tests {
    use latchkey_tokens::{Alg, SigningKey, b64url_encode};
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuers: &["https://idp.example"],
            audiences: &["latchkey"],
            nonce: Nonce::Exact("n-0S6_WzA2Mj"),
            now: NOW,
        }
    }

    fn good_claims() -> Value {
        json!({
            "iss": "https://idp.example", "aud": "latchkey", "sub": "alice",
            "exp": NOW + 300, "iat": NOW, "nonce": "n-0S6_WzA2Mj",
            "email": "alice@example.com", "email_verified": true,
        })
    }

    fn with(changes: Value) -> Value {
        let mut c = good_claims();
        for (k, v) in changes.as_object().expect("object") {
            if v.is_null() {
                c.as_object_mut().expect("object").remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    fn unsigned(header: &Value, claims: &Value, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(claims.to_string().as_bytes()),
            b64url_encode(signature)
        )
    }

    #[test]
    fn a_good_token_passes_and_every_attack_is_refused() {
        let (key, _) = SigningKey::generate(Alg::ES256, "k1".into()).expect("key");
        let (other, _) = SigningKey::generate(Alg::ES256, "k1".into()).expect("key");
        let public = Some(key.verifying_key());
        let sign = |c: &Value| key.sign_jwt("JWT", c).expect("sign");
        assert!(validate(&sign(&good_claims()), public.clone(), &expected()).is_ok());
        let hs256 = {
            // HS256 "signed" with the public key's bytes, the classic confusion
            let header = json!({"alg": "HS256", "typ": "JWT", "kid": "k1"});
            unsigned(&header, &good_claims(), b"whatever-mac")
        };
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "alg none",
                unsigned(&json!({"alg": "none", "kid": "k1"}), &good_claims(), b""),
                "alg",
            ),
            ("HS256 with the public key", hs256, "alg"),
            (
                "another key's signature",
                other.sign_jwt("JWT", &good_claims()).expect("sign"),
                "signature",
            ),
            (
                "iss of another provider",
                sign(&with(json!({"iss": "https://evil.example"}))),
                "iss",
            ),
            (
                "wrong aud",
                sign(&with(json!({"aud": "someone-else"}))),
                "aud",
            ),
            ("expired", sign(&with(json!({"exp": NOW - 120}))), "expired"),
            (
                "nonce mismatch",
                sign(&with(json!({"nonce": "another"}))),
                "nonce",
            ),
            (
                "nonce missing",
                sign(&with(json!({"nonce": null}))),
                "nonce",
            ),
            (
                "several audiences, no azp",
                sign(&with(json!({"aud": ["latchkey", "x"]}))),
                "azp",
            ),
            (
                "azp of another client",
                sign(&with(json!({"azp": "x"}))),
                "azp",
            ),
            (
                "typ of an access token",
                key.sign_jwt("at+jwt", &good_claims()).expect("sign"),
                "typ",
            ),
        ];
        for (name, token, why) in cases {
            match validate(&token, public.clone(), &expected()) {
                Err(FederationError::InvalidIdToken(r)) => assert_eq!(r, why, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let azp_ok = sign(&with(json!({"aud": ["latchkey", "x"], "azp": "latchkey"})));
        assert!(validate(&azp_ok, public, &expected()).is_ok());
    }

    #[test]
    fn claims_map_to_the_person() {
        let map = ClaimMapping {
            subject: "id".into(),
            ..ClaimMapping::default()
        };
        let claims = json!({"id": 42, "email": "a@b.c", "email_verified": "true", "name": "A"});
        let p = upstreamer(claims.as_object().expect("object"), &map).expect("person");
        assert_eq!(
            (p.subject.as_str(), p.email.as_deref(), p.email_verified),
            ("42", Some("a@b.c"), true)
        );
        let unverified = json!({"sub": "s", "email": "a@b.c"});
        let p = upstreamer(
            unverified.as_object().expect("object"),
            &ClaimMapping::default(),
        )
        .expect("person");
        assert!(!p.email_verified);
        let no_sub = json!({"sub": ""});
        assert!(
            upstreamer(
                no_sub.as_object().expect("object"),
                &ClaimMapping::default()
            )
            .is_err()
        );
    }
}
