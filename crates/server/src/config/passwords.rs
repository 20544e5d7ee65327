//! `[passwords]`: length, argon2id cost, the hashing pool, and the rules
//! beyond length (common list, breach filter, strength estimate).

use std::path::PathBuf;

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[passwords]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::int(
        "passwords.min_length",
        "LATCHKEY_PASSWORDS_MIN_LENGTH",
        8,
        8,
        64,
        "shortest password accepted for new passwords, in characters",
    ),
    Setting::int(
        "passwords.argon2_memory_kib",
        "LATCHKEY_PASSWORDS_ARGON2_MEMORY_KIB",
        19_456,
        8_192,
        1_048_576,
        "argon2id memory cost (OWASP: 19456 KiB with 2 iterations)",
    ),
    Setting::int(
        "passwords.argon2_iterations",
        "LATCHKEY_PASSWORDS_ARGON2_ITERATIONS",
        2,
        1,
        20,
        "argon2id time cost",
    ),
    Setting::int(
        "passwords.argon2_parallelism",
        "LATCHKEY_PASSWORDS_ARGON2_PARALLELISM",
        1,
        1,
        16,
        "argon2id lanes",
    ),
    Setting::int(
        "passwords.hash_workers",
        "LATCHKEY_PASSWORDS_HASH_WORKERS",
        0,
        0,
        256,
        "password hashing threads (0: one per core)",
    ),
    Setting::int(
        "passwords.hash_queue",
        "LATCHKEY_PASSWORDS_HASH_QUEUE",
        64,
        1,
        100_000,
        "hashes waiting beyond the busy workers before answering 503 busy",
    ),
    Setting::flag(
        "passwords.reject_common",
        "LATCHKEY_PASSWORDS_REJECT_COMMON",
        true,
        "refuse the bundled list of commonly used passwords (password_too_common)",
    ),
    Setting::text(
        "passwords.breached_filter",
        "LATCHKEY_PASSWORDS_BREACHED_FILTER",
        "",
        "a breach-corpus Bloom filter file from `latchkey passwords build-filter` (password_breached)",
    ),
    Setting::int(
        "passwords.min_strength",
        "LATCHKEY_PASSWORDS_MIN_STRENGTH",
        0,
        0,
        4,
        "lowest strength estimate accepted, 0 to 4 (0: no estimate)",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    min_length: Option<u64>,
    argon2_memory_kib: Option<u64>,
    argon2_iterations: Option<u64>,
    argon2_parallelism: Option<u64>,
    hash_workers: Option<u64>,
    hash_queue: Option<u64>,
    reject_common: Option<bool>,
    breached_filter: Option<String>,
    min_strength: Option<u64>,
}

/// Password settings.
#[derive(Debug, Clone)]
pub struct PasswordConfig {
    /// Minimum length of new passwords (characters).
    pub min_length: usize,
    /// argon2id memory (KiB).
    pub memory_kib: u32,
    /// argon2id iterations.
    pub iterations: u32,
    /// argon2id lanes.
    pub parallelism: u32,
    /// Hash worker threads (0: one per core).
    pub workers: usize,
    /// Bounded queue length.
    pub queue: usize,
    /// Refuse the bundled common passwords.
    pub reject_common: bool,
    /// A breach-corpus Bloom filter.
    pub breached_filter: Option<PathBuf>,
    /// Lowest strength score accepted (0: no estimate).
    pub min_strength: u8,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> PasswordConfig {
        PasswordConfig {
            min_length: c.int("passwords.min_length", self.min_length) as usize,
            memory_kib: c.int("passwords.argon2_memory_kib", self.argon2_memory_kib) as u32,
            iterations: c.int("passwords.argon2_iterations", self.argon2_iterations) as u32,
            parallelism: c.int("passwords.argon2_parallelism", self.argon2_parallelism) as u32,
            workers: c.int("passwords.hash_workers", self.hash_workers) as usize,
            queue: c.int("passwords.hash_queue", self.hash_queue) as usize,
            reject_common: c.flag("passwords.reject_common", self.reject_common),
            breached_filter: c
                .optional("passwords.breached_filter", self.breached_filter)
                .map(PathBuf::from),
            min_strength: c.int("passwords.min_strength", self.min_strength) as u8,
        }
    }
}
