//! Signing keys (private, parsed once) and verifying keys (public, bound to
//! one algorithm).

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use zeroize::Zeroizing;

use crate::primitives::{b64url_decode, b64url_encode};
use crate::{Alg, Jwk, TokenError};

/// RSA moduli accepted, in bits (RFC 8725 and NIST: at least 2048).
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

enum Pair {
    Ed(Ed25519KeyPair),
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private signing key with its `kid` and its one algorithm.
///
/// The key pair is parsed once, when the `SigningKey` is made: keep it (for
/// example in an `Arc`) and sign many tokens with it; re-parsing PKCS#8 per
/// token doubles the cost of signing. Its public half (JWK and
/// [`VerifyingKey`]) is computed at the same time.
///
/// `Debug` shows the `kid` and algorithm only, never key material.
pub struct SigningKey {
    kid: String,
    alg: Alg,
    pair: Pair,
    jwk: Jwk,
    verifying: VerifyingKey,
}

impl SigningKey {
    /// Generates a new key for `alg` (Ed25519, P-256, or RSA 3072-bit).
    ///
    /// Returns the key and its PKCS#8 DER encoding, which is what to store
    /// (sealed with [`Sealer`](crate::Sealer)) and later load with
    /// [`from_pkcs8`](Self::from_pkcs8). The DER is wiped from memory when
    /// dropped.
    ///
    /// # Errors
    ///
    /// [`TokenError::Crypto`] if generation fails, [`TokenError::InvalidKey`]
    /// for an empty or over-long `kid`.
    pub fn generate(alg: Alg, kid: String) -> Result<(SigningKey, Zeroizing<Vec<u8>>), TokenError> {
        let rng = SystemRandom::new();
        let der = Zeroizing::new(match alg {
            Alg::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| TokenError::Crypto)?
                .as_ref()
                .to_vec(),
            Alg::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| TokenError::Crypto)?
                .as_ref()
                .to_vec(),
            Alg::RS256 => {
                let pair =
                    RsaKeyPair::generate(KeySize::Rsa3072).map_err(|_| TokenError::Crypto)?;
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> =
                    pair.as_der().map_err(|_| TokenError::Crypto)?;
                der.as_ref().to_vec()
            }
        });
        let key = SigningKey::from_pkcs8(alg, kid, &der)?;
        Ok((key, der))
    }

    /// Loads a key from unencrypted PKCS#8 DER (v1 or v2), for use with `alg`.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidKey`] if the DER is not a key of the type `alg`
    /// needs (Ed25519, P-256, RSA of 2048–8192 bits) or is inconsistent, or
    /// if `kid` is empty or longer than [`MAX_KID_LEN`](crate::MAX_KID_LEN)
    /// characters (such tokens could never be verified).
    pub fn from_pkcs8(alg: Alg, kid: String, der: &[u8]) -> Result<SigningKey, TokenError> {
        // A kid the verifier would refuse would make every token unverifiable.
        if kid.is_empty() || kid.chars().count() > crate::MAX_KID_LEN {
            return Err(TokenError::InvalidKey("kid must be 1 to 128 characters"));
        }
        let (pair, public) = match alg {
            Alg::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der)
                    .map_err(|_| TokenError::InvalidKey("not an Ed25519 PKCS#8 key"))?;
                let x = pair.public_key().as_ref().to_vec();
                (Pair::Ed(pair), PublicParts::Okp { x })
            }
            Alg::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| TokenError::InvalidKey("not a P-256 PKCS#8 key"))?;
                let point = pair.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                if point.len() != 65 || point[0] != 4 {
                    return Err(TokenError::InvalidKey(
                        "unexpected P-256 public key encoding",
                    ));
                }
                let (x, y) = (point[1..33].to_vec(), point[33..].to_vec());
                (Pair::Ec(pair), PublicParts::Ec { x, y })
            }
            Alg::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der)
                    .map_err(|_| TokenError::InvalidKey("not an RSA PKCS#8 key"))?;
                let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let (n, e) = (components.n, components.e);
                (Pair::Rsa(pair), PublicParts::Rsa { n, e })
            }
        };
        let jwk = public.to_jwk(alg, &kid);
        let verifying = VerifyingKey::from_parts(alg, kid.clone(), &public)?;
        Ok(SigningKey {
            kid,
            alg,
            pair,
            jwk,
            verifying,
        })
    }

    /// The key id, put in the `kid` header of every token this key signs.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key signs with.
    #[must_use]
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The public key as a JWK with `kid`, `alg` and `use: "sig"`, ready for
    /// the JWKS document.
    #[must_use]
    pub fn public_jwk(&self) -> Jwk {
        self.jwk.clone()
    }

    /// The public half, for verifying this key's own tokens.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// Signs `message` (the JWS signing input) with this key's algorithm.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        match &self.pair {
            Pair::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::Ec(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| TokenError::Crypto),
            Pair::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .map_err(|_| TokenError::Crypto)?;
                Ok(sig)
            }
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Raw public key material, before it becomes a JWK or a parsed key.
enum PublicParts {
    Okp { x: Vec<u8> },
    Ec { x: Vec<u8>, y: Vec<u8> },
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl PublicParts {
    fn to_jwk(&self, alg: Alg, kid: &str) -> Jwk {
        let mut jwk = Jwk {
            kty: String::new(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            kid: kid.to_owned(),
            alg: Some(alg.as_str().to_owned()),
            use_: Some("sig".to_owned()),
        };
        match self {
            PublicParts::Okp { x } => {
                jwk.kty = "OKP".to_owned();
                jwk.crv = Some("Ed25519".to_owned());
                jwk.x = Some(b64url_encode(x));
            }
            PublicParts::Ec { x, y } => {
                jwk.kty = "EC".to_owned();
                jwk.crv = Some("P-256".to_owned());
                jwk.x = Some(b64url_encode(x));
                jwk.y = Some(b64url_encode(y));
            }
            PublicParts::Rsa { n, e } => {
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(b64url_encode(n));
                jwk.e = Some(b64url_encode(e));
            }
        }
        jwk
    }
}

/// A public key that verifies tokens of exactly one algorithm.
///
/// The algorithm is bound to the key when it is made (from the JWK's `alg`,
/// or its key type), and [`verify_jwt`](crate::verify_jwt) refuses a token
/// whose header names any other: a key is never used with an algorithm an
/// attacker picked (RFC 8725 §2.1, §3.1).
///
/// The key is parsed once; cloning is cheap (reference-counted), so a key
/// store can hand out clones per verification.
#[derive(Clone)]
pub struct VerifyingKey {
    inner: Arc<VerifyingInner>,
}

struct VerifyingInner {
    kid: String,
    alg: Alg,
    key: ParsedPublicKey,
}

impl VerifyingKey {
    /// Reads a public JWK: OKP/Ed25519, EC/P-256 or RSA (2048–8192 bits).
    ///
    /// If the JWK has `alg`, it must be EdDSA, ES256 or RS256 and agree with
    /// the key type; without it, the key type decides (each type has exactly
    /// one algorithm on the allowlist). If it has `use`, it must be `"sig"`.
    /// The point of an EC key is checked to be on the curve.
    ///
    /// # Errors
    ///
    /// [`TokenError::UnsupportedAlgorithm`] for an `alg` outside the
    /// allowlist, [`TokenError::InvalidKey`] for anything else wrong.
    pub fn from_jwk(jwk: &Jwk) -> Result<VerifyingKey, TokenError> {
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(TokenError::InvalidKey("JWK use is not \"sig\""));
        }
        let from_type = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => Alg::EdDSA,
            ("EC", Some("P-256")) => Alg::ES256,
            ("RSA", None) => Alg::RS256,
            _ => return Err(TokenError::InvalidKey("unsupported key type or curve")),
        };
        if let Some(alg) = &jwk.alg
            && alg.parse::<Alg>()? != from_type
        {
            return Err(TokenError::InvalidKey(
                "JWK alg does not match its key type",
            ));
        }
        let member = |value: &Option<String>, what: &'static str| -> Result<Vec<u8>, TokenError> {
            let text = value.as_deref().ok_or(TokenError::InvalidKey(what))?;
            b64url_decode(text).map_err(|_| TokenError::InvalidKey(what))
        };
        let parts = match from_type {
            Alg::EdDSA => {
                if jwk.y.is_some() || jwk.n.is_some() || jwk.e.is_some() {
                    return Err(TokenError::InvalidKey("unexpected members in an OKP key"));
                }
                PublicParts::Okp {
                    x: member(&jwk.x, "OKP key needs x")?,
                }
            }
            Alg::ES256 => {
                if jwk.n.is_some() || jwk.e.is_some() {
                    return Err(TokenError::InvalidKey("unexpected members in an EC key"));
                }
                PublicParts::Ec {
                    x: member(&jwk.x, "EC key needs x")?,
                    y: member(&jwk.y, "EC key needs y")?,
                }
            }
            Alg::RS256 => {
                if jwk.x.is_some() || jwk.y.is_some() {
                    return Err(TokenError::InvalidKey("unexpected members in an RSA key"));
                }
                PublicParts::Rsa {
                    n: member(&jwk.n, "RSA key needs n")?,
                    e: member(&jwk.e, "RSA key needs e")?,
                }
            }
        };
        VerifyingKey::from_parts(from_type, jwk.kid.clone(), &parts)
    }

    fn from_parts(alg: Alg, kid: String, parts: &PublicParts) -> Result<VerifyingKey, TokenError> {
        let key = match (alg, parts) {
            (Alg::EdDSA, PublicParts::Okp { x }) => {
                if x.len() != 32 {
                    return Err(TokenError::InvalidKey("Ed25519 key must be 32 bytes"));
                }
                ParsedPublicKey::new(&ED25519, x)
                    .map_err(|_| TokenError::InvalidKey("invalid Ed25519 key"))?
            }
            (Alg::ES256, PublicParts::Ec { x, y }) => {
                if x.len() != 32 || y.len() != 32 {
                    return Err(TokenError::InvalidKey("P-256 coordinates must be 32 bytes"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                    .map_err(|_| TokenError::InvalidKey("not a point on P-256"))?
            }
            (Alg::RS256, PublicParts::Rsa { n, e }) => {
                // RFC 7518 forbids leading zero octets, but some issuers emit
                // one; the integer is the same, so strip them.
                let n = strip_leading_zeros(n);
                let e = strip_leading_zeros(e);
                let bits = n.first().map_or(0, |&top| {
                    (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
                });
                if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                    return Err(TokenError::InvalidKey(
                        "RSA modulus must be 2048 to 8192 bits",
                    ));
                }
                if e.is_empty() || e.len() > 8 {
                    return Err(TokenError::InvalidKey("invalid RSA exponent"));
                }
                PublicKeyComponents { n, e }
                    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                    .map_err(|_| TokenError::InvalidKey("invalid RSA key"))?
            }
            _ => return Err(TokenError::InvalidKey("key type does not match algorithm")),
        };
        Ok(VerifyingKey {
            inner: Arc::new(VerifyingInner { kid, alg, key }),
        })
    }

    /// The key id this key is published under.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The one algorithm this key verifies.
    #[must_use]
    pub fn alg(&self) -> Alg {
        self.inner.alg
    }

    /// Checks `signature` over `message` with this key's own algorithm.
    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        self.inner.key.verify_sig(message, signature).is_ok()
    }

    /// Test helper: the encodings of this public key an attacker might use
    /// as an HMAC secret (the bytes it was parsed from, and SPKI DER).
    #[cfg(test)]
    pub(crate) fn public_key_encodings(&self) -> Vec<Vec<u8>> {
        use aws_lc_rs::encoding::PublicKeyX509Der;
        let spki: PublicKeyX509Der<'static> = self.inner.key.as_der().expect("SPKI");
        vec![self.inner.key.as_ref().to_vec(), spki.as_ref().to_vec()]
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.inner.kid)
            .field("alg", &self.inner.alg)
            .finish_non_exhaustive()
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
