//! Password hashing and verification: argon2id on a fixed pool of worker
//! threads, and the [`Password`] type that carries a secret to it.
//!
//! Design decisions:
//! - **A fixed pool, owned buffers, a bounded queue.** Each of a fixed number
//!   of OS threads (one per core by default) owns one argon2 memory buffer,
//!   allocated at its first job (so a server that has not hashed yet does
//!   not hold it: 19 MiB per worker at the default parameters) and reused
//!   for every hash after that. Jobs reach the workers through
//!   a bounded queue; when it is full, [`PasswordHasher::hash`] and
//!   [`PasswordHasher::verify`] fail at once with [`PasswordError::Busy`]
//!   (the HTTP layer answers 503 with `Retry-After`) instead of queueing
//!   without bound. Measured on a 2-core machine with 64 concurrent default
//!   verifications in rounds: the default argon2 API under `spawn_blocking`
//!   faults in a fresh 19 MiB buffer per call, costs 54–69 ms of CPU per hash
//!   and grew to 6.2 GiB of RSS in five rounds; this pool costs 16 ms per hash
//!   and stays flat at 42 MiB (two workers' buffers). Answers come back on tokio oneshot channels, so no async task
//!   ever blocks on a hash. A job whose caller went away (its future was
//!   dropped) is skipped by the worker instead of hashed.
//! - **No user enumeration by timing.** [`PasswordHasher::verify`] with no
//!   stored hash (unknown user, account without a password) still computes one
//!   full hash with the current parameters, against a dummy hash made at
//!   start-up, and answers [`Verified::Mismatch`]. Derived bytes are compared
//!   in constant time. Every mismatch waits for the mismatch floor (the
//!   longest check of an imported hash, [`PasswordHasher::calibrate`]), so
//!   imported accounts, whose foreign hashes cost what their own parameters
//!   say, do not stand out either.
//! - **Parameters can change.** A stored hash made with other parameters (or
//!   another argon2 variant or version) still verifies, and
//!   [`Verified::Match`] says `needs_rehash: true` so the caller stores a fresh
//!   hash on login: build [`Password::for_verification`] again from the same
//!   input (not [`Password::new`]: an old password may predate the policy)
//!   and call [`PasswordHasher::hash`]. A stored hash that needs more memory than a
//!   worker's buffer gets a temporary buffer for that call. Stored parameters
//!   are bounded (see [`MAX_M_COST_KIB`], [`MAX_T_COST`], [`MAX_WORK_KIB`],
//!   [`MAX_P_COST`]); beyond them a hash is [`PasswordError::MalformedHash`],
//!   so a corrupt row cannot make one login cost minutes or gigabytes.
//! - **Passwords per NIST SP 800-63B.** [`Password::new`] normalizes to NFKC,
//!   never truncates, and counts length in Unicode scalar values after
//!   normalization ([`LengthPolicy`], 8 to 1024 by default). Secrets are
//!   zeroed on drop and never printed.
//! - **PHC strings** are parsed here (a strict parser, about sixty lines) and
//!   written as `$argon2id$v=19$m=M,t=T,p=P$SALT$HASH` with a 16-byte random
//!   salt and a 32-byte output, base64 without padding (the PHC "B64").
//!
//! Workers survive a panic in a job (the caller gets
//! [`PasswordError::Internal`]). The pool shuts down when the last
//! [`PasswordHasher`] handle is dropped: the workers finish what is already
//! queued (skipping jobs nobody waits for) and exit; nobody joins them.

mod phc;
mod plain;
mod pool;
#[cfg(test)]
mod tests;

pub use phc::check_stored_hash;
pub use plain::{LengthPolicy, Password};
pub use pool::PasswordHasher;

/// Length of the random salt of every new hash, in bytes.
pub const SALT_LEN: usize = 16;

/// Length of the argon2 output of every new hash, in bytes.
pub const OUTPUT_LEN: usize = 32;

/// The most bytes of input a [`Password`] takes, before normalization.
///
/// It bounds the work an attacker can cause with a huge password (NFKC
/// normalization and argon2's initial hashing are linear in the input). Any
/// password [`Password::new`] accepts is within it: 1024 characters of at most
/// 4 bytes each.
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// The largest `max_chars` a [`LengthPolicy`] can have; a larger value is
/// treated as this one. 1024 characters of at most 4 bytes each fit in
/// [`MAX_PASSWORD_BYTES`], so every password that can be set can be verified.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The largest memory cost accepted, for new and stored hashes: 1 GiB.
pub const MAX_M_COST_KIB: u32 = 1 << 20;

/// The largest time cost (passes) accepted, for new and stored hashes.
pub const MAX_T_COST: u32 = 32;

/// The largest memory × passes accepted, in KiB: 4 GiB, as 1 GiB × 4
/// passes (libsodium's "sensitive" level). It bounds one verification to a
/// few seconds of CPU.
pub const MAX_WORK_KIB: u64 = 4 << 20;

/// The largest parallelism (lanes) accepted, for new and stored hashes.
pub const MAX_P_COST: u32 = 64;

/// The longest PHC string the parser looks at (well above any argon2 hash
/// within the limits above, which is under 200 bytes).
const MAX_PHC_LEN: usize = 512;

/// Salt lengths accepted in stored hashes (argon2 requires at least 8).
const STORED_SALT_LEN: std::ops::RangeInclusive<usize> = 8..=64;

/// Output lengths accepted in stored hashes (argon2 requires at least 4).
const STORED_OUTPUT_LEN: std::ops::RangeInclusive<usize> = 4..=64;

/// Bounds for the `Retry-After` estimate given with [`PasswordError::Busy`].
const RETRY_AFTER_SECS: std::ops::RangeInclusive<u64> = 1..=60;

/// argon2id cost parameters for new hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashParams {
    /// Memory cost in KiB (argon2 `m`).
    pub m_cost_kib: u32,
    /// Number of passes over memory (argon2 `t`).
    pub t_cost: u32,
    /// Degree of parallelism, in lanes (argon2 `p`).
    pub p_cost: u32,
}

impl Default for HashParams {
    /// OWASP's recommendation for argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        HashParams {
            m_cost_kib: 19_456,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

/// How the hashing pool is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Number of worker threads; 0 means one per core
    /// (`std::thread::available_parallelism`). Each owns a buffer of
    /// `params.m_cost_kib` KiB for the life of the pool.
    pub workers: usize,
    /// How many jobs may wait for a worker before calls fail with
    /// [`PasswordError::Busy`]; at least 1.
    pub queue_capacity: usize,
    /// Parameters of new hashes (and of the dummy hash for unknown users).
    pub params: HashParams,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            workers: 0,
            queue_capacity: 64,
            params: HashParams::default(),
        }
    }
}

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The password is right.
    Match {
        /// The stored hash was made with other parameters, another argon2
        /// variant or version, a shorter salt or another output length than
        /// new hashes get: store a fresh hash of this password.
        needs_rehash: bool,
    },
    /// The password is wrong, or there was no stored hash to check it against.
    Mismatch,
}

impl Verified {
    /// Whether the password matched.
    pub fn is_match(&self) -> bool {
        matches!(self, Verified::Match { .. })
    }
}

/// Why hashing or verification failed. No message ever contains password
/// material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Every worker is busy and the queue is full; try again later. The HTTP
    /// layer answers 503 with this `Retry-After`.
    #[error("password hashing is saturated; retry after {retry_after_secs} s")]
    Busy {
        /// An estimate of when the queue will have drained, in seconds (1–60).
        retry_after_secs: u32,
    },
    /// A stored hash is not an argon2 PHC string within this module's limits
    /// (corrupt data, or a hash from another scheme).
    #[error("stored password hash is malformed or unsupported")]
    MalformedHash,
    /// The pool configuration is invalid (only from [`PasswordHasher::new`]).
    #[error("invalid password hashing configuration: {0}")]
    InvalidConfig(String),
    /// A bug or a resource failure: a panicking job, a failed allocation, no
    /// randomness from the OS. Logged, never shown.
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// Why a new password was refused; the message says what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Fewer characters than the policy's minimum.
    #[error("the password must be at least {min} characters long")]
    TooShort {
        /// The minimum, in characters.
        min: usize,
    },
    /// More characters than the policy's maximum.
    #[error("the password must be at most {max} characters long")]
    TooLong {
        /// The maximum, in characters.
        max: usize,
    },
}
