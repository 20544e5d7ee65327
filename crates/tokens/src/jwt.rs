//! JWS compact serialization of JWTs: signing and strict verification.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::primitives::b64url_encode;
use crate::{Alg, SigningKey, TokenError, VerifyError, VerifyingKey};

/// Tokens longer than this are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Longest `kid` accepted in a header, in characters.
pub const MAX_KID_LEN: usize = 128;

/// What a token must satisfy besides its signature.
#[derive(Clone, Copy, Debug)]
pub struct Validation<'a> {
    /// The exact expected `iss`.
    pub issuer: &'a str,
    /// The audience that must appear in `aud` (a string, or an array of them).
    pub audience: &'a str,
    /// The expected header `typ`, e.g. `"at+jwt"` (RFC 9068). Compared
    /// case-insensitively; `"application/at+jwt"` is accepted for `"at+jwt"`.
    pub typ: &'a str,
    /// The current time, in seconds since the Unix epoch.
    pub now: i64,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (negative
    /// values count as zero).
    pub leeway_secs: i64,
}

/// The protected header of a token, as [`decode_header_unverified`] reads it.
///
/// Only the parameters this crate acts on are kept. `jku`, `x5u`, `jwk`,
/// `x5c` and all others are ignored: keys come only from the verifier's own
/// key lookup, never from the token.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Header {
    /// The algorithm the token claims to be signed with.
    pub alg: String,
    /// The key id the token claims to be signed by.
    #[serde(default, deserialize_with = "present")]
    pub kid: Option<String>,
    /// The token type, e.g. `"at+jwt"`.
    #[serde(default, deserialize_with = "present")]
    pub typ: Option<String>,
    /// Whether a `crit` parameter is present (such tokens are always refused:
    /// this crate understands no extension).
    #[serde(rename = "crit", default, deserialize_with = "is_present")]
    pub has_crit: bool,
}

/// Deserializes a member that, when present, must have a value of type `T`
/// (so `null` is an error rather than "absent").
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn is_present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

#[derive(Serialize)]
struct SignHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

impl SigningKey {
    /// Signs `claims` as a compact JWS with the header exactly
    /// `{"alg":…,"typ":…,"kid":…}`.
    ///
    /// `claims` must serialize to a JSON object. Setting `iss`, `aud`, `exp`
    /// and the rest is the caller's job; this signs what it is given.
    ///
    /// # Errors
    ///
    /// [`TokenError::Serialization`] if `claims` is not a JSON object,
    /// [`TokenError::Crypto`] if signing fails.
    pub fn sign_jwt<C: Serialize>(&self, typ: &str, claims: &C) -> Result<String, TokenError> {
        let header = serde_json::to_vec(&SignHeader {
            alg: self.alg().as_str(),
            typ,
            kid: self.kid(),
        })
        .map_err(|_| TokenError::Serialization("header"))?;
        let payload = serde_json::to_vec(claims)
            .map_err(|_| TokenError::Serialization("claims cannot be serialized"))?;
        if payload.first() != Some(&b'{') {
            return Err(TokenError::Serialization("claims must be a JSON object"));
        }
        let mut token = b64url_encode(&header);
        token.push('.');
        token.push_str(&b64url_encode(&payload));
        let signature = self.sign_raw(token.as_bytes())?;
        token.push('.');
        token.push_str(&b64url_encode(&signature));
        Ok(token)
    }
}

/// The three segments of a compact JWS, checked for shape only.
struct Segments<'t> {
    header: &'t str,
    payload: &'t str,
    signature: &'t str,
}

fn split(token: &str) -> Result<Segments<'_>, VerifyError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(VerifyError::Malformed("token too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("not three segments"));
    };
    Ok(Segments {
        header,
        payload,
        signature,
    })
}

fn decode(segment: &str, what: &'static str) -> Result<Vec<u8>, VerifyError> {
    crate::b64url_decode(segment).map_err(|_| VerifyError::Malformed(what))
}

/// True if the JSON text is an object (so a struct is never filled from an
/// array, which serde would otherwise accept positionally).
fn is_json_object(json: &[u8]) -> bool {
    json.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        == Some(&b'{')
}

fn parse_header(segment: &str) -> Result<Header, VerifyError> {
    let json = decode(segment, "header is not base64url")?;
    if !is_json_object(&json) {
        return Err(VerifyError::Malformed("header is not a JSON object"));
    }
    serde_json::from_slice(&json).map_err(|_| VerifyError::Malformed("invalid header"))
}

/// Reads a token's header **without verifying anything**.
///
/// For diagnostics and logging only: an attacker controls every byte of it,
/// so nothing in it may be trusted or acted on. Use [`verify_jwt`].
///
/// # Errors
///
/// [`VerifyError::Malformed`] if the token is not three segments or the
/// header is not a JSON object with a string `alg`.
pub fn decode_header_unverified(token: &str) -> Result<Header, VerifyError> {
    parse_header(split(token)?.header)
}

/// `typ` matches if equal ignoring ASCII case, with an optional
/// `application/` prefix on either side (RFC 7515 §4.1.9, RFC 9068 §4). An
/// empty expected type matches nothing.
fn typ_matches(actual: &str, expected: &str) -> bool {
    fn short(t: &str) -> &str {
        const PREFIX: &str = "application/";
        match t.get(..PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(PREFIX) => &t[PREFIX.len()..],
            _ => t,
        }
    }
    let expected = short(expected);
    !expected.is_empty() && short(actual).eq_ignore_ascii_case(expected)
}

/// The registered claims checked here. Other members are ignored.
#[derive(Deserialize)]
struct Registered {
    #[serde(default, deserialize_with = "present")]
    exp: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    nbf: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    iat: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    iss: Option<String>,
    #[serde(default, deserialize_with = "present")]
    aud: Option<Audience>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Verifies a compact JWS JWT and returns its claims.
///
/// Checks, in order (the first failure is returned):
/// 1. at most [`MAX_TOKEN_LEN`] bytes, exactly three segments, each strict
///    base64url (no padding, canonical);
/// 2. the header is a JSON object without duplicate or mistyped members;
/// 3. `alg` is EdDSA, ES256 or RS256, exactly ([`VerifyError::Algorithm`]);
/// 4. `typ` equals `v.typ` ([`VerifyError::Type`]);
/// 5. no `crit` ([`VerifyError::Malformed`]);
/// 6. `kid` is a string of 1 to [`MAX_KID_LEN`] characters and
///    `key_for_kid` knows it ([`VerifyError::UnknownKey`]); `kid` is only
///    ever passed to `key_for_kid`;
/// 7. `alg` is the algorithm bound to that key ([`VerifyError::Algorithm`]);
/// 8. the signature verifies ([`VerifyError::Signature`]);
/// 9. the payload is a JSON object with a numeric `exp` later than
///    `now - leeway` ([`VerifyError::Expired`]), `nbf` and `iat` if present
///    no later than `now + leeway` ([`VerifyError::NotYetValid`]), `iss`
///    equal to `v.issuer` ([`VerifyError::Issuer`]), and `aud` equal to, or
///    an array containing, `v.audience` ([`VerifyError::Audience`]);
/// 10. the payload deserializes into `C` ([`VerifyError::Claims`]).
///
/// `jku`, `x5u`, `jwk` and `x5c` headers are ignored: the key always comes
/// from `key_for_kid`. Never panics, whatever the input.
///
/// # Errors
///
/// The [`VerifyError`] of the first check that fails.
pub fn verify_jwt<C: DeserializeOwned>(
    token: &str,
    key_for_kid: impl Fn(&str) -> Option<VerifyingKey>,
    v: &Validation,
) -> Result<C, VerifyError> {
    verify_typed(token, key_for_kid, v, true, |typ| {
        typ.is_some_and(|t| typ_matches(t, v.typ))
    })
}

/// [`verify_jwt`] for Security Event Tokens (RFC 8417), which carry no
/// `exp` (a SET states a fact, it grants nothing: RFC 8417 §4.1): a missing
/// `exp` is accepted, a present one is checked. Every other check is the
/// same, the explicit `typ` (`secevent+jwt`) included.
///
/// # Errors
///
/// The [`VerifyError`] of the first check that fails.
pub fn verify_set<C: DeserializeOwned>(
    token: &str,
    key_for_kid: impl Fn(&str) -> Option<VerifyingKey>,
    v: &Validation,
) -> Result<C, VerifyError> {
    verify_typed(token, key_for_kid, v, false, |typ| {
        typ.is_some_and(|t| typ_matches(t, v.typ))
    })
}

/// [`verify_jwt`] for tokens whose issuers may leave `typ` out, such as
/// OpenID Connect ID tokens (OpenID Connect Core does not require it): a
/// missing `typ` is accepted, a present one must equal `v.typ`. Every other
/// check is the same.
///
/// # Errors
///
/// The [`VerifyError`] of the first check that fails.
pub fn verify_jwt_typ_optional<C: DeserializeOwned>(
    token: &str,
    key_for_kid: impl Fn(&str) -> Option<VerifyingKey>,
    v: &Validation,
) -> Result<C, VerifyError> {
    verify_typed(token, key_for_kid, v, true, |typ| {
        typ.is_none_or(|t| typ_matches(t, v.typ))
    })
}

fn verify_typed<C: DeserializeOwned>(
    token: &str,
    key_for_kid: impl Fn(&str) -> Option<VerifyingKey>,
    v: &Validation,
    require_exp: bool,
    typ_ok: impl Fn(Option<&str>) -> bool,
) -> Result<C, VerifyError> {
    let segments = split(token)?;
    let header = parse_header(segments.header)?;
    let payload = decode(segments.payload, "payload is not base64url")?;
    let signature = decode(segments.signature, "signature is not base64url")?;

    let alg: Alg = header.alg.parse().map_err(|_| VerifyError::Algorithm)?;
    if !typ_ok(header.typ.as_deref()) {
        return Err(VerifyError::Type);
    }
    if header.has_crit {
        return Err(VerifyError::Malformed("crit header is not supported"));
    }
    let kid = header
        .kid
        .as_deref()
        .filter(|k| !k.is_empty() && k.chars().count() <= MAX_KID_LEN)
        .ok_or(VerifyError::UnknownKey)?;
    let key = key_for_kid(kid).ok_or(VerifyError::UnknownKey)?;
    if key.alg() != alg {
        return Err(VerifyError::Algorithm);
    }
    // The signing input is the first two segments exactly as received.
    let signing_input = &token[..segments.header.len() + 1 + segments.payload.len()];
    if !key.verify_raw(signing_input.as_bytes(), &signature) {
        return Err(VerifyError::Signature);
    }

    check_claims(&payload, v, require_exp)?;
    serde_json::from_slice(&payload)
        .map_err(|_| VerifyError::Claims("claims do not match the expected type"))
}

fn check_claims(payload: &[u8], v: &Validation, require_exp: bool) -> Result<(), VerifyError> {
    if !is_json_object(payload) {
        return Err(VerifyError::Claims("claims are not a JSON object"));
    }
    let claims: Registered = serde_json::from_slice(payload)
        .map_err(|_| VerifyError::Claims("a registered claim is duplicated or mistyped"))?;
    let leeway = v.leeway_secs.max(0);
    #[allow(clippy::cast_precision_loss)] // exact for any plausible time
    let (earliest, latest) = (
        v.now.saturating_sub(leeway) as f64,
        v.now.saturating_add(leeway) as f64,
    );
    match claims.exp {
        None if require_exp => return Err(VerifyError::Claims("exp is missing")),
        Some(exp) if exp <= earliest => return Err(VerifyError::Expired),
        _ => {}
    }
    if claims.nbf.is_some_and(|nbf| nbf > latest) || claims.iat.is_some_and(|iat| iat > latest) {
        return Err(VerifyError::NotYetValid);
    }
    if claims.iss.as_deref() != Some(v.issuer) {
        return Err(VerifyError::Issuer);
    }
    let audience_ok = match &claims.aud {
        Some(Audience::One(aud)) => aud == v.audience,
        Some(Audience::Many(auds)) => auds.iter().any(|a| a == v.audience),
        None => false,
    };
    if !audience_ok {
        return Err(VerifyError::Audience);
    }
    Ok(())
}
