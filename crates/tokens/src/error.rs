//! The two error types: [`TokenError`] for everything this crate does with
//! keys and secrets, [`VerifyError`] for why a JWT was refused.
//!
//! Neither ever carries key material, token content or claim values: their
//! details are static strings, so they are safe to log.

/// A failure to create, load or use a key, to encode, or to open sealed data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The algorithm name is not one this crate supports (EdDSA, ES256, RS256).
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// Key material was rejected: malformed, of the wrong type or size, or not
    /// matching the algorithm it was given for.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The underlying cryptographic library failed (random source, signing).
    #[error("cryptographic operation failed")]
    Crypto,
    /// Input was not strict base64url (unpadded, canonical).
    #[error("invalid base64url")]
    Encoding,
    /// Claims or header could not be serialized as a JSON object.
    #[error("cannot serialize: {0}")]
    Serialization(&'static str),
    /// Sealed data could not be opened: wrong key, purpose or associated
    /// data, tampered, truncated, or an unknown format version.
    #[error("sealed data cannot be opened")]
    Unseal,
}

/// Why a JWT was refused by [`verify_jwt`](crate::verify_jwt).
///
/// Each variant is one class of refusal, so callers can count and log them
/// separately; all of them mean "invalid token" to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a well-formed compact JWS of our profile: too long, not three
    /// segments, not strict base64url, the header not a JSON object, a
    /// duplicated or mistyped header parameter, or a `crit` header.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header `alg` is not on the allowlist (EdDSA, ES256, RS256), or is
    /// not the algorithm bound to the key named by `kid`.
    #[error("algorithm not allowed")]
    Algorithm,
    /// No `kid`, an unusable `kid`, or no key known under it.
    #[error("unknown key")]
    UnknownKey,
    /// The header `typ` is missing or is not the expected type.
    #[error("wrong token type")]
    Type,
    /// The signature does not verify with the key.
    #[error("invalid signature")]
    Signature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is missing or is not the expected issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` is missing or does not contain the expected audience.
    #[error("wrong audience")]
    Audience,
    /// The claims are not a JSON object, a registered claim has the wrong
    /// type, `exp` is missing, or the claims do not fit the requested type.
    #[error("invalid claims: {0}")]
    Claims(&'static str),
}
