//! Signing keys and OAuth clients as stored.

use time::OffsetDateTime;

/// A token-signing key. The private half is stored sealed under the master
/// key; the public half as a JWK for `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// Key id (the JWS `kid`).
    pub kid: String,
    /// `EdDSA`, `ES256` or `RS256`.
    pub alg: String,
    /// PKCS#8 DER of the private key, sealed (AES-256-GCM) under the master key.
    pub private_sealed: Vec<u8>,
    /// The public JWK as JSON.
    pub public_jwk: String,
    /// When the key was made (and began signing).
    pub created_at: OffsetDateTime,
    /// When it stopped signing; `None` for the active key.
    pub retired_at: Option<OffsetDateTime>,
    /// Until when a retired key stays published: past the expiry of the last
    /// token it signed.
    pub publish_until: Option<OffsetDateTime>,
}

/// An OAuth client (a resource server calling introspection, for now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The `client_id`.
    pub id: String,
    /// A human name.
    pub name: String,
    /// SHA-256 (hex) of the client secret (256 random bits, so a fast hash suffices).
    pub secret_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}
