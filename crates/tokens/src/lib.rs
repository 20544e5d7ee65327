//! The cryptographic token primitives of latchkey: JWTs as compact JWS
//! (signing and strict verification), JWK and JWKS, signing-key generation,
//! sealing secrets at rest, and hashing of opaque tokens.
//!
//! # Design
//!
//! **Hand-written JWS on aws-lc-rs, not a JWT library.** An identity server
//! is judged by what it refuses, and most JWT vulnerabilities live in the
//! flexibility of general-purpose libraries: `alg: none`, HMAC verification
//! with a public key, keys fetched from `jku`/`jwk` headers, algorithm lists
//! chosen per call rather than per key. The compact form is three base64url
//! segments and one signature check, small enough to own completely, so each
//! rule below is ours, written once and tested. aws-lc-rs gives the fastest
//! signatures measured here (Ed25519 sign/verify ≈ 10/38 µs, ES256 16/53 µs,
//! RS256 250/19 µs) and also provides AES-GCM, HKDF, HMAC, SHA-256 and the
//! random source, so this crate has one cryptographic dependency.
//! `examples/sign_verify_cost.rs` measures the whole `sign_jwt` /
//! `verify_jwt` path per algorithm.
//!
//! **Keys are parsed once.** A [`SigningKey`] holds the parsed key pair, its
//! public JWK and its [`VerifyingKey`]; a `VerifyingKey` holds a parsed
//! public key behind an `Arc`. Re-parsing per token would double the cost of
//! signing.
//!
//! **One algorithm per key** (RFC 8725 §3.1). The allowlist is [`Alg`]:
//! EdDSA (Ed25519), ES256 (P-256) and RS256 (RSA ≥ 2048 bits). A
//! `VerifyingKey` is bound to one of them when it is made, and a token is
//! verified only with the algorithm bound to the key its `kid` names.
//!
//! # Example
//!
//! ```
//! use latchkey_tokens::{Alg, SigningKey, Validation, VerifyingKey, verify_jwt};
//! use serde_json::{Value, json};
//!
//! let (key, pkcs8_der) = SigningKey::generate(Alg::EdDSA, "2025-01".into())?;
//! // Store `pkcs8_der` sealed; publish `key.public_jwk()` in the JWKS.
//! let token = key.sign_jwt(
//!     "at+jwt",
//!     &json!({"iss": "https://id.example", "aud": "api", "sub": "u1", "exp": 1_700_000_900}),
//! )?;
//!
//! let public = VerifyingKey::from_jwk(&key.public_jwk())?;
//! let lookup = |kid: &str| (kid == public.kid()).then(|| public.clone());
//! let v = Validation {
//!     issuer: "https://id.example",
//!     audience: "api",
//!     typ: "at+jwt",
//!     now: 1_700_000_000,
//!     leeway_secs: 30,
//! };
//! let claims: Value = verify_jwt(&token, lookup, &v)?;
//! assert_eq!(claims["sub"], "u1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Verification rules ([`verify_jwt`])
//!
//! - Tokens over 16 KiB are refused before any decoding.
//! - Exactly three segments, each strict base64url: URL-safe alphabet, no
//!   `=` padding, canonical trailing bits.
//! - The header is a JSON object; duplicate members are refused.
//! - `alg` is exactly `EdDSA`, `ES256` or `RS256`: `none` in any case,
//!   `HS256`/`HS384`/`HS512`, `RS512`, `ES384`, `PS256` and the rest are
//!   refused, so an HMAC "signed" with a public key never verifies.
//! - `typ` is required and must be the expected type (case-insensitive,
//!   `application/` prefix allowed), so an ID token is never accepted as an
//!   access token and vice versa (RFC 8725 §3.11, RFC 9068).
//! - `crit` is refused: no extension is understood.
//! - `kid` is required, at most 128 characters, and is only a lookup key
//!   handed to the caller's closure, never a path, URL or query.
//! - `jku`, `x5u`, `jwk` and `x5c` are ignored: keys come only from the
//!   caller, never from the token.
//! - The header `alg` must equal the algorithm bound to the key.
//! - The signature is checked over the segments exactly as received.
//! - Only then the claims: a JSON object with a numeric `exp` after
//!   `now - leeway`, `nbf` and `iat` (when present) not after
//!   `now + leeway`, `iss` exactly the issuer, `aud` the audience or an array
//!   containing it; then the claims are deserialized into the caller's type.
//!
//! Refusals are [`VerifyError`] variants with static details: nothing from
//! the token ends up in an error message. No input makes verification panic.
//!
//! # Other primitives
//!
//! - [`Sealer`]: AES-256-GCM under a key derived from the master key with
//!   HKDF-SHA256 and a purpose string, for secrets at rest (private keys).
//! - [`random_token`] (256 bits, base64url) and [`sha256`] for opaque tokens,
//!   which are stored only as hashes and compared with [`constant_time_eq`].

mod error;
mod jwk;
mod jwt;
mod keys;
mod primitives;
mod seal;

#[cfg(test)]
mod tests;

pub use error::{TokenError, VerifyError};
pub use jwk::{Alg, Jwk, Jwks};
pub use jwt::{
    Header, MAX_KID_LEN, MAX_TOKEN_LEN, Validation, decode_header_unverified, verify_jwt,
    verify_jwt_typ_optional, verify_set,
};
pub use keys::{SigningKey, VerifyingKey};
pub use primitives::{
    b64url_decode, b64url_encode, constant_time_eq, hmac_sha256, random_bytes, random_token,
    sha1_for_compatibility, sha256, sha256_hex,
};
pub use seal::Sealer;
