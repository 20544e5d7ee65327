//! Algorithms and JSON Web Keys (RFC 7517, RFC 7518, RFC 8037).

use serde::{Deserialize, Serialize};

use crate::TokenError;

/// A JWS signature algorithm: the whole allowlist.
///
/// Each key is bound to exactly one of these (RFC 8725 §3.1); there is no
/// `none`, no HMAC and no RSA-PSS.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    /// Ed25519 signatures (RFC 8037). The default choice: fast to sign and
    /// small keys and signatures.
    EdDSA,
    /// ECDSA with P-256 and SHA-256, signature as fixed-width `r || s`.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits. For relying
    /// parties that accept nothing else; signing is ~25× slower than EdDSA.
    RS256,
}

impl Alg {
    /// The JOSE name: `"EdDSA"`, `"ES256"` or `"RS256"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Alg::EdDSA => "EdDSA",
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
        }
    }
}

impl std::str::FromStr for Alg {
    type Err = TokenError;

    /// Parses the exact, case-sensitive JOSE name.
    fn from_str(s: &str) -> Result<Alg, TokenError> {
        match s {
            "EdDSA" => Ok(Alg::EdDSA),
            "ES256" => Ok(Alg::ES256),
            "RS256" => Ok(Alg::RS256),
            _ => Err(TokenError::UnsupportedAlgorithm),
        }
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A public JSON Web Key, as published in a JWKS document.
///
/// Only the members this crate uses are modelled; others (`x5c`, `key_ops`,
/// ...) are ignored when reading. Binary members are base64url without
/// padding. Private members (`d`, ...) are never produced.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    /// Key type: `"OKP"` (Ed25519), `"EC"` (P-256) or `"RSA"`.
    pub kty: String,
    /// Curve: `"Ed25519"` for OKP, `"P-256"` for EC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// OKP public key, or EC x coordinate (32 bytes for P-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate (32 bytes for P-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus, big-endian without leading zeros.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, big-endian without leading zeros (`"AQAB"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Key id, the name tokens use to say which key signed them. Read as
    /// empty when absent (such a key can never be selected), so one odd key
    /// does not make a whole JWKS unreadable.
    #[serde(default)]
    pub kid: String,
    /// The one algorithm this key is used with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use; `"sig"` for every key this crate publishes.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

/// A JWK Set: the document served at the JWKS URI.
#[derive(Clone, Debug, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Jwks {
    /// The keys, current and recently retired, so tokens signed just before
    /// a rotation still verify.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The key named `kid`, if any.
    #[must_use]
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}
