//! Why an imported or stored foreign hash was refused. No message ever
//! contains hash or password material.

/// Why a foreign password hash was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyHashError {
    /// Not a form this module knows.
    #[error(
        "not a supported password hash (argon2, bcrypt $2a$/$2b$/$2y$, scrypt, Firebase scrypt, \
         PBKDF2-SHA1/SHA256/SHA512 as PHC, passlib, Django or Werkzeug strings, better-auth)"
    )]
    Unsupported,
    /// A known form, but not well formed.
    #[error("malformed password hash: {0}")]
    Malformed(&'static str),
    /// Well formed, but costlier than the hash pool accepts.
    #[error("password hash refused: {0}")]
    OverCap(String),
    /// An argon2 string outside the pool's limits.
    #[error("{0}")]
    Argon2(String),
}
