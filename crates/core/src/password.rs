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
//!   in constant time.
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

use std::fmt;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64ct::{Base64Unpadded, Encoding};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::legacy_hashes::LegacyHash;

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

impl HashParams {
    /// Checks these parameters against argon2's rules and this module's
    /// limits; the error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        argon2_params(self.m_cost_kib, self.t_cost, self.p_cost, OUTPUT_LEN).map(|_| ())
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

/// Length rules for new passwords, in characters: Unicode scalar values after
/// NFKC normalization (so an emoji is one character, and a flag or a family
/// emoji made of several code points counts as several).
///
/// NIST SP 800-63B asks for at least 8 characters and for at least 64 to be
/// allowed. The maximum exists only to bound hashing cost and is clamped to
/// [`MAX_PASSWORD_CHARS`]; passwords are never truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthPolicy {
    /// The fewest characters accepted.
    pub min_chars: usize,
    /// The most characters accepted (at most [`MAX_PASSWORD_CHARS`]).
    pub max_chars: usize,
}

impl Default for LengthPolicy {
    fn default() -> Self {
        LengthPolicy {
            min_chars: 8,
            max_chars: MAX_PASSWORD_CHARS,
        }
    }
}

impl LengthPolicy {
    /// The maximum actually enforced: `max_chars`, clamped to
    /// [`MAX_PASSWORD_CHARS`].
    pub fn effective_max_chars(&self) -> usize {
        self.max_chars.min(MAX_PASSWORD_CHARS)
    }
}

/// A password on its way to the hasher: NFKC-normalized, never truncated,
/// zeroed when dropped, and never printed (no `Display`; `Debug` shows
/// `Password(***)`).
pub struct Password {
    /// The NFKC form as UTF-8; empty when `over_long`.
    normalized: Zeroizing<String>,
    /// The input exceeded [`MAX_PASSWORD_BYTES`]: it can never match.
    over_long: bool,
}

impl Password {
    /// A new password (registration, change, reset), checked against the
    /// length policy after NFKC normalization.
    ///
    /// An input longer than [`MAX_PASSWORD_BYTES`] is refused as
    /// [`PasswordPolicyError::TooLong`] before it is normalized (only
    /// possible within the character limit for unusual decomposed input).
    pub fn new(raw: &str, policy: &LengthPolicy) -> Result<Password, PasswordPolicyError> {
        let max = policy.effective_max_chars();
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordPolicyError::TooLong { max });
        }
        let normalized = nfkc(raw);
        let chars = normalized.chars().count();
        if chars < policy.min_chars {
            return Err(PasswordPolicyError::TooShort {
                min: policy.min_chars,
            });
        }
        if chars > max {
            return Err(PasswordPolicyError::TooLong { max });
        }
        Ok(Password {
            normalized,
            over_long: false,
        })
    }

    /// A password to check against a stored hash (login, re-authentication):
    /// normalized like [`Password::new`] but without the length policy, since
    /// existing passwords are verified as they were set.
    ///
    /// An input longer than [`MAX_PASSWORD_BYTES`] is not normalized nor
    /// kept: it cannot have been set, so verifying it spends one hash with
    /// the stored hash's parameters (the same time as any wrong password) and
    /// answers [`Verified::Mismatch`]. [`PasswordHasher::hash`] refuses it.
    pub fn for_verification(raw: &str) -> Password {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Password {
                normalized: Zeroizing::new(String::new()),
                over_long: true,
            };
        }
        Password {
            normalized: nfkc(raw),
            over_long: false,
        }
    }

    /// The bytes that are hashed.
    fn secret(&self) -> &[u8] {
        self.normalized.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// NFKC into a zeroize-on-drop string, growing it by hand so that no
/// reallocation leaves a copy of the secret behind in freed memory.
fn nfkc(raw: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(raw.len() + raw.len() / 2 + 16));
    for c in raw.nfkc() {
        if out.len() + c.len_utf8() > out.capacity() {
            let mut bigger = Zeroizing::new(String::with_capacity(out.capacity() * 2));
            bigger.push_str(&out);
            out = bigger; // the old buffer is zeroed as it drops
        }
        out.push(c);
    }
    out
}

/// Hashes and verifies passwords on a fixed pool of worker threads.
///
/// Cheap to clone: clones share the pool, which stops when the last one is
/// dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    sender: SyncSender<Job>,
    shared: Arc<Shared>,
    params: HashParams,
    workers: usize,
    queue_capacity: usize,
    /// A real hash of a random password, with the current parameters, for
    /// verifications that have no stored hash.
    dummy: Arc<StoredHash>,
}

/// State shared by the handles and the workers.
struct Shared {
    /// Jobs accepted and not yet taken by a worker.
    queued: AtomicUsize,
    /// A moving average of the time a job takes, in nanoseconds.
    avg_job_nanos: AtomicU64,
    /// Hashes computed (tests check that unknown users cost a hash).
    #[cfg(test)]
    hashes: AtomicUsize,
    /// Worker threads still running (tests check the shutdown).
    #[cfg(test)]
    live_workers: AtomicUsize,
}

impl Shared {
    fn record(&self, elapsed: Duration) {
        let sample = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let old = self.avg_job_nanos.load(Ordering::Relaxed);
        // Races between workers only lose a sample; it is an estimate.
        let new = old.saturating_mul(7).saturating_add(sample) / 8;
        self.avg_job_nanos.store(new, Ordering::Relaxed);
    }
}

type Reply<T> = oneshot::Sender<Result<T, PasswordError>>;

enum Job {
    Hash {
        password: Password,
        reply: Reply<String>,
    },
    Verify {
        password: Password,
        stored: Arc<StoredHash>,
        /// No stored hash: compute, compare, and answer `Mismatch` anyway.
        force_mismatch: bool,
        reply: Reply<Verified>,
    },
    /// A hash imported from another system (`crate::legacy_hashes`).
    VerifyLegacy {
        password: Password,
        stored: Box<LegacyHash>,
        reply: Reply<Verified>,
    },
    /// Arbitrary work on a worker (tests: a panic, a blocked worker).
    #[cfg(test)]
    Test {
        work: Box<dyn FnOnce() + Send>,
        reply: Reply<()>,
    },
}

impl PasswordHasher {
    /// Validates the parameters, computes the dummy hash (one hash, on the
    /// calling thread) and starts the workers. Call it once at start-up.
    pub fn new(config: PoolConfig) -> Result<Self, PasswordError> {
        let p = config.params;
        let params = argon2_params(p.m_cost_kib, p.t_cost, p.p_cost, OUTPUT_LEN)
            .map_err(PasswordError::InvalidConfig)?;
        if config.queue_capacity == 0 {
            return Err(PasswordError::InvalidConfig(
                "the hashing queue capacity must be at least 1".into(),
            ));
        }
        let workers = match config.workers {
            0 => thread::available_parallelism().map_or(1, NonZeroUsize::get),
            n => n,
        };

        let started = Instant::now();
        let dummy = Arc::new(dummy_hash(&params)?);
        let shared = Arc::new(Shared {
            queued: AtomicUsize::new(0),
            avg_job_nanos: AtomicU64::new(
                u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            ),
            #[cfg(test)]
            hashes: AtomicUsize::new(0),
            #[cfg(test)]
            live_workers: AtomicUsize::new(0),
        });

        let (sender, receiver) = sync_channel(config.queue_capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..workers {
            let receiver = Arc::clone(&receiver);
            let shared = Arc::clone(&shared);
            let params = params.clone();
            #[cfg(test)]
            shared.live_workers.fetch_add(1, Ordering::Relaxed);
            // On failure, `sender` drops with this function and the workers
            // already started exit.
            thread::Builder::new()
                .name(format!("latchkey-hash-{i}"))
                .spawn(move || worker(&receiver, &shared, &params))
                .map_err(|e| PasswordError::Internal(format!("cannot start a hash worker: {e}")))?;
        }

        Ok(PasswordHasher {
            inner: Arc::new(Inner {
                sender,
                shared,
                params: p,
                workers,
                queue_capacity: config.queue_capacity,
                dummy,
            }),
        })
    }

    /// Hashes a new password into a PHC string
    /// (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`) with a fresh 16-byte salt.
    ///
    /// Fails with [`PasswordError::Busy`] at once when the queue is full, and
    /// with [`PasswordError::Internal`] for a password from
    /// [`Password::for_verification`] that was over [`MAX_PASSWORD_BYTES`].
    pub async fn hash(&self, password: Password) -> Result<String, PasswordError> {
        if password.over_long {
            return Err(PasswordError::Internal(
                "refusing to hash an over-long verification candidate".into(),
            ));
        }
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password, reply })?;
        receive(answer).await
    }

    /// Checks a password against a stored PHC string, or against nothing
    /// (`None`: unknown user, or an account without a password), which costs
    /// the same hash and answers [`Verified::Mismatch`].
    ///
    /// Fails with [`PasswordError::MalformedHash`] (without queueing) when the
    /// stored string is not a supported argon2 hash nor an imported one
    /// within its caps ([`crate::legacy_hashes`]), and with
    /// [`PasswordError::Busy`] when the queue is full.
    pub async fn verify(
        &self,
        password: Password,
        phc: Option<&str>,
    ) -> Result<Verified, PasswordError> {
        let (stored, force_mismatch) = match phc {
            Some(phc) if crate::legacy_hashes::is_legacy(phc) => {
                let stored = LegacyHash::parse(phc).map_err(|_| PasswordError::MalformedHash)?;
                let (reply, answer) = oneshot::channel();
                self.submit(Job::VerifyLegacy {
                    password,
                    stored: Box::new(stored),
                    reply,
                })?;
                return receive(answer).await;
            }
            Some(phc) => (Arc::new(StoredHash::parse(phc)?), false),
            None => (Arc::clone(&self.inner.dummy), true),
        };
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            stored,
            force_mismatch,
            reply,
        })?;
        receive(answer).await
    }

    /// The parameters of new hashes.
    pub fn params(&self) -> HashParams {
        self.inner.params
    }

    /// How many jobs wait for a worker right now (approximate), for a gauge.
    pub fn queue_depth(&self) -> usize {
        self.inner.shared.queued.load(Ordering::Relaxed)
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.inner.workers
    }

    fn submit(&self, job: Job) -> Result<(), PasswordError> {
        let shared = &self.inner.shared;
        shared.queued.fetch_add(1, Ordering::Relaxed);
        match self.inner.sender.try_send(job) {
            Ok(()) => Ok(()),
            Err(e) => {
                shared.queued.fetch_sub(1, Ordering::Relaxed);
                match e {
                    TrySendError::Full(_) => Err(PasswordError::Busy {
                        retry_after_secs: self.retry_after_secs(),
                    }),
                    TrySendError::Disconnected(_) => Err(PasswordError::Internal(
                        "the hash workers have stopped".into(),
                    )),
                }
            }
        }
    }

    /// Time for a full queue to drain across the workers, from the average
    /// job time, rounded up and clamped to 1–60 s.
    fn retry_after_secs(&self) -> u32 {
        let inner = &self.inner;
        let per_job = u128::from(inner.shared.avg_job_nanos.load(Ordering::Relaxed));
        let backlog = (inner.queue_capacity + inner.workers) as u128;
        let nanos = per_job * backlog / inner.workers.max(1) as u128;
        let secs = u64::try_from(nanos.div_ceil(1_000_000_000)).unwrap_or(u64::MAX);
        let secs = secs.clamp(*RETRY_AFTER_SECS.start(), *RETRY_AFTER_SECS.end());
        u32::try_from(secs).unwrap_or(u32::MAX)
    }

    #[cfg(test)]
    fn hashes_computed(&self) -> usize {
        self.inner.shared.hashes.load(Ordering::SeqCst)
    }

    /// Queues `work` for a worker; the receiver answers when it has run.
    #[cfg(test)]
    fn run_on_worker(
        &self,
        work: impl FnOnce() + Send + 'static,
    ) -> oneshot::Receiver<Result<(), PasswordError>> {
        let (reply, answer) = oneshot::channel();
        let work = Box::new(work);
        self.submit(Job::Test { work, reply })
            .expect("room in the queue");
        answer
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .field("workers", &self.inner.workers)
            .field("queue_capacity", &self.inner.queue_capacity)
            .finish_non_exhaustive()
    }
}

async fn receive<T>(
    answer: oneshot::Receiver<Result<T, PasswordError>>,
) -> Result<T, PasswordError> {
    answer.await.unwrap_or_else(|_| {
        Err(PasswordError::Internal(
            "a hash worker dropped a job".into(),
        ))
    })
}

/// A worker: owns one buffer sized for the current parameters and runs jobs
/// until every handle is gone and the queue is empty.
fn worker(receiver: &Mutex<Receiver<Job>>, shared: &Shared, params: &Params) {
    // Allocated, and its pages touched, at the first job. Should that fail,
    // `derive` uses a temporary buffer per call and the next job tries again.
    let mut memory = Vec::new();
    loop {
        // The lock is held only while waiting for a job, never while hashing.
        let job = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(job) = job else { break };
        shared.queued.fetch_sub(1, Ordering::Relaxed);
        if memory.is_empty() {
            memory = allocate(params.block_count()).unwrap_or_default();
        }
        match job {
            Job::Hash { password, reply } => answer(reply, shared, || {
                hash_job(&password, params, &mut memory, shared)
            }),
            Job::Verify {
                password,
                stored,
                force_mismatch,
                reply,
            } => answer(reply, shared, || {
                verify_job(
                    &password,
                    &stored,
                    force_mismatch,
                    params,
                    &mut memory,
                    shared,
                )
            }),
            Job::VerifyLegacy {
                password,
                stored,
                reply,
            } => answer(reply, shared, || {
                legacy_verify_job(&password, &stored, params, &mut memory, shared)
            }),
            #[cfg(test)]
            Job::Test { work, reply } => answer(reply, shared, || {
                work();
                Ok(())
            }),
        }
    }
    #[cfg(test)]
    shared.live_workers.fetch_sub(1, Ordering::SeqCst);
}

/// Runs one job unless its caller is gone, containing a panic.
fn answer<T>(reply: Reply<T>, shared: &Shared, work: impl FnOnce() -> Result<T, PasswordError>) {
    if reply.is_closed() {
        return;
    }
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(work))
        .unwrap_or_else(|_| Err(PasswordError::Internal("a hash job panicked".into())));
    shared.record(started.elapsed());
    // The caller may have gone meanwhile; nothing to do then.
    let _ = reply.send(result);
}

fn hash_job(
    password: &Password,
    params: &Params,
    memory: &mut [Block],
    shared: &Shared,
) -> Result<String, PasswordError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt)
        .map_err(|e| PasswordError::Internal(format!("no randomness for a salt: {e}")))?;
    let mut out = [0u8; OUTPUT_LEN];
    derive(
        Algorithm::Argon2id,
        Version::V0x13,
        params,
        password.secret(),
        &salt,
        &mut out,
        memory,
        shared,
    )?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        Base64Unpadded::encode_string(&salt),
        Base64Unpadded::encode_string(&out),
    ))
}

fn verify_job(
    password: &Password,
    stored: &StoredHash,
    force_mismatch: bool,
    current: &Params,
    memory: &mut [Block],
    shared: &Shared,
) -> Result<Verified, PasswordError> {
    let mut out = Zeroizing::new([0u8; *STORED_OUTPUT_LEN.end()]);
    let out = &mut out[..stored.hash.len()];
    // An over-long candidate is hashed as the empty string, for the time.
    derive(
        stored.algorithm,
        stored.version,
        &stored.params,
        password.secret(),
        &stored.salt,
        out,
        memory,
        shared,
    )?;
    let equal = bool::from(out.ct_eq(&stored.hash[..]));
    if equal && !force_mismatch && !password.over_long {
        return Ok(Verified::Match {
            needs_rehash: stored.needs_rehash(current),
        });
    }
    // A wrong password for an account still hashed with older parameters
    // must not answer faster than an unknown identifier (which costs one
    // hash with the current ones): spend that hash too. A right password
    // pays it as the rehash instead.
    if stored.needs_rehash(current) {
        filler_hash(password, current, memory, shared)?;
    }
    Ok(Verified::Mismatch)
}

/// One argon2id hash with the current parameters, thrown away: the time a
/// mismatch must cost at least.
fn filler_hash(
    password: &Password,
    current: &Params,
    memory: &mut [Block],
    shared: &Shared,
) -> Result<(), PasswordError> {
    let mut filler = Zeroizing::new([0u8; OUTPUT_LEN]);
    derive(
        Algorithm::Argon2id,
        Version::V0x13,
        current,
        password.secret(),
        &[0u8; SALT_LEN],
        &mut filler[..],
        memory,
        shared,
    )
}

/// A foreign hash: a match always needs a rehash (into argon2id); a
/// mismatch also spends one current hash, like an outdated argon2 hash.
fn legacy_verify_job(
    password: &Password,
    stored: &LegacyHash,
    current: &Params,
    memory: &mut [Block],
    shared: &Shared,
) -> Result<Verified, PasswordError> {
    // An over-long candidate is checked as the empty string, for the time.
    let equal = stored
        .verify(password.secret())
        .map_err(|_| PasswordError::MalformedHash)?;
    if equal && !password.over_long {
        return Ok(Verified::Match { needs_rehash: true });
    }
    filler_hash(password, current, memory, shared)?;
    Ok(Verified::Mismatch)
}

/// One argon2 computation, in the worker's buffer when it is large enough,
/// else in a temporary one for this call.
#[allow(clippy::too_many_arguments)]
fn derive(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut [Block],
    #[allow(unused_variables)] shared: &Shared,
) -> Result<(), PasswordError> {
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let needed = params.block_count();
    let result = if needed <= memory.len() {
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..needed])
    } else {
        let mut temporary = allocate(needed)?;
        argon2.hash_password_into_with_memory(password, salt, out, &mut temporary)
    };
    result.map_err(|e| PasswordError::Internal(format!("argon2: {e}")))?;
    #[cfg(test)]
    shared.hashes.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// An argon2 buffer of `blocks` KiB, or an error instead of an abort when
/// the memory is not there.
fn allocate(blocks: usize) -> Result<Vec<Block>, PasswordError> {
    let mut memory = Vec::new();
    memory
        .try_reserve_exact(blocks)
        .map_err(|_| PasswordError::Internal(format!("cannot allocate {blocks} KiB for argon2")))?;
    memory.resize(blocks, Block::default());
    Ok(memory)
}

/// The dummy hash for verifications without a stored hash: a real hash of a
/// random password nobody knows, with the current parameters.
fn dummy_hash(params: &Params) -> Result<StoredHash, PasswordError> {
    let mut password = Zeroizing::new([0u8; 32]);
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut password[..])
        .and_then(|()| getrandom::fill(&mut salt))
        .map_err(|e| PasswordError::Internal(format!("no randomness for the dummy hash: {e}")))?;
    let mut hash = vec![0u8; OUTPUT_LEN];
    let mut memory = allocate(params.block_count())?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(&password[..], &salt, &mut hash, &mut memory)
        .map_err(|e| PasswordError::Internal(format!("argon2: {e}")))?;
    Ok(StoredHash {
        algorithm: Algorithm::Argon2id,
        version: Version::V0x13,
        params: params.clone(),
        salt: salt.to_vec(),
        hash,
    })
}

/// argon2 parameters within this module's limits, or why not.
fn argon2_params(m: u32, t: u32, p: u32, output_len: usize) -> Result<Params, String> {
    if m > MAX_M_COST_KIB {
        return Err(format!(
            "memory cost {m} KiB is above the limit of {MAX_M_COST_KIB} KiB"
        ));
    }
    if t > MAX_T_COST {
        return Err(format!("time cost {t} is above the limit of {MAX_T_COST}"));
    }
    if u64::from(m) * u64::from(t) > MAX_WORK_KIB {
        return Err(format!(
            "memory cost × time cost ({m} KiB × {t}) is above the limit of {MAX_WORK_KIB} KiB"
        ));
    }
    // Checked before argon2 sees it: `Params::new` multiplies p by 8.
    if p > MAX_P_COST {
        return Err(format!(
            "parallelism {p} is above the limit of {MAX_P_COST}"
        ));
    }
    Params::new(m, t, p, Some(output_len))
        .map_err(|e| format!("argon2 refuses m={m}, t={t}, p={p}: {e}"))
}

/// Checks, without hashing anything, that `phc` is a hash
/// [`PasswordHasher::verify`] accepts: an argon2 PHC string within this
/// module's cost limits. An import checks this before it stores a hash, so
/// that no stored hash can stall the pool. The message says what is
/// expected, never the hash.
pub fn check_stored_hash(phc: &str) -> Result<(), String> {
    match StoredHash::parse_inner(phc) {
        Some(_) => Ok(()),
        None if phc.starts_with("$argon2") => Err(format!(
            "not a valid argon2 PHC string within the limits (memory at most {MAX_M_COST_KIB} KiB, \
             time at most {MAX_T_COST}, memory × time at most {MAX_WORK_KIB} KiB, \
             parallelism at most {MAX_P_COST})"
        )),
        None => Err(
            "not an argon2 PHC string ($argon2id$…, $argon2i$… or $argon2d$…); \
                     other formats go through crate::legacy_hashes::canonical"
                .into(),
        ),
    }
}

/// A parsed argon2 PHC string.
struct StoredHash {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl StoredHash {
    /// Parses `$argon2{id,i,d}[$v=16|19]$m=M,t=T,p=P$SALT$HASH` strictly:
    /// the three parameters once each in any order and nothing else (no
    /// `keyid`, no `data`), decimal without sign or leading zero, canonical
    /// unpadded standard base64. A missing version means 0x10, as in the
    /// reference implementation.
    fn parse(phc: &str) -> Result<StoredHash, PasswordError> {
        Self::parse_inner(phc).ok_or(PasswordError::MalformedHash)
    }

    fn parse_inner(phc: &str) -> Option<StoredHash> {
        if phc.len() > MAX_PHC_LEN {
            return None;
        }
        let mut fields = phc.strip_prefix('$')?.split('$');
        let algorithm = match fields.next()? {
            "argon2id" => Algorithm::Argon2id,
            "argon2i" => Algorithm::Argon2i,
            "argon2d" => Algorithm::Argon2d,
            _ => return None,
        };
        let mut field = fields.next()?;
        let version = match field.strip_prefix("v=") {
            Some(v) => {
                field = fields.next()?;
                match decimal(v)? {
                    0x13 => Version::V0x13,
                    0x10 => Version::V0x10,
                    _ => return None,
                }
            }
            None => Version::V0x10,
        };
        let (mut m, mut t, mut p) = (None, None, None);
        for pair in field.split(',') {
            let (key, value) = pair.split_once('=')?;
            let slot = match key {
                "m" => &mut m,
                "t" => &mut t,
                "p" => &mut p,
                _ => return None,
            };
            if slot.replace(decimal(value)?).is_some() {
                return None;
            }
        }
        let salt = Base64Unpadded::decode_vec(fields.next()?).ok()?;
        let hash = Base64Unpadded::decode_vec(fields.next()?).ok()?;
        if fields.next().is_some()
            || !STORED_SALT_LEN.contains(&salt.len())
            || !STORED_OUTPUT_LEN.contains(&hash.len())
        {
            return None;
        }
        let params = argon2_params(m?, t?, p?, hash.len()).ok()?;
        Some(StoredHash {
            algorithm,
            version,
            params,
            salt,
            hash,
        })
    }

    fn needs_rehash(&self, current: &Params) -> bool {
        self.algorithm != Algorithm::Argon2id
            || self.version != Version::V0x13
            || self.params.m_cost() != current.m_cost()
            || self.params.t_cost() != current.t_cost()
            || self.params.p_cost() != current.p_cost()
            || self.hash.len() != OUTPUT_LEN
            || self.salt.len() < SALT_LEN
    }
}

/// A PHC decimal: 1 to 10 ASCII digits, no sign, no leading zero.
fn decimal(s: &str) -> Option<u32> {
    let valid = !s.is_empty()
        && s.len() <= 10
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if valid { s.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    use futures_util::FutureExt;
    use futures_util::future::join_all;

    /// Fast parameters for most tests.
    const SMALL: HashParams = HashParams {
        m_cost_kib: 1024,
        t_cost: 1,
        p_cost: 1,
    };

    fn pool(params: HashParams, workers: usize, queue_capacity: usize) -> PasswordHasher {
        PasswordHasher::new(PoolConfig {
            workers,
            queue_capacity,
            params,
        })
        .expect("valid pool configuration")
    }

    fn small_pool() -> PasswordHasher {
        pool(SMALL, 2, 16)
    }

    fn new_password(raw: &str) -> Password {
        Password::new(raw, &LengthPolicy::default()).expect("password within the policy")
    }

    fn candidate(raw: &str) -> Password {
        Password::for_verification(raw)
    }

    const NO_REHASH: Verified = Verified::Match {
        needs_rehash: false,
    };

    #[tokio::test]
    async fn hash_then_verify_matches_and_a_wrong_password_does_not() {
        let hasher = small_pool();
        let phc = hasher
            .hash(new_password("correct horse battery"))
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
        let fields: Vec<&str> = phc.split('$').collect();
        assert_eq!(
            Base64Unpadded::decode_vec(fields[4]).unwrap().len(),
            SALT_LEN
        );
        assert_eq!(
            Base64Unpadded::decode_vec(fields[5]).unwrap().len(),
            OUTPUT_LEN
        );

        for (attempt, expected) in [
            ("correct horse battery", NO_REHASH),
            ("correct horse batter", Verified::Mismatch),
            ("Correct horse battery", Verified::Mismatch),
            ("correct horse battery ", Verified::Mismatch),
            ("", Verified::Mismatch),
        ] {
            let got = hasher.verify(candidate(attempt), Some(&phc)).await.unwrap();
            assert_eq!(got, expected, "attempt {attempt:?}");
        }
    }

    #[tokio::test]
    async fn two_hashes_of_one_password_differ_by_salt() {
        let hasher = small_pool();
        let a = hasher.hash(new_password("same password")).await.unwrap();
        let b = hasher.hash(new_password("same password")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn nfkc_equivalent_passwords_verify_as_the_same() {
        let hasher = small_pool();
        for (set, typed) in [
            // U+FB01 LATIN SMALL LIGATURE FI against "fi".
            ("\u{FB01}nancial secret", "financial secret"),
            ("financial secret", "\u{FB01}nancial secret"),
            // Precomposed é against e + U+0301 COMBINING ACUTE ACCENT.
            ("caf\u{E9} au lait", "cafe\u{301} au lait"),
            ("cafe\u{301} au lait", "caf\u{E9} au lait"),
            // Fullwidth letters against ASCII.
            ("\u{FF30}\u{FF41}\u{FF53}\u{FF53}word", "Password"),
        ] {
            let phc = hasher.hash(new_password(set)).await.unwrap();
            let got = hasher.verify(candidate(typed), Some(&phc)).await.unwrap();
            assert_eq!(got, NO_REHASH, "set {set:?}, typed {typed:?}");
        }
    }

    #[tokio::test]
    async fn hashes_from_the_reference_implementation_verify() {
        // Made with the reference `argon2` command-line tool (20171227).
        let hasher = small_pool();
        for (password, phc, needs_rehash) in [
            (
                "correct horse battery staple",
                "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
                false,
            ),
            (
                "correct horse battery staple",
                "$argon2i$v=19$m=1024,t=2,p=2$c29tZXNhbHRzb21lc2FsdA$KZ30SaseatUOjPx+rRgV2mG5lm3I/Cpv",
                true,
            ),
            (
                "correct horse battery staple",
                "$argon2d$v=16$m=512,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$NUsBCgP8eJAFDba++95mzZX/A+WuXiA3IBUFupI74AA",
                true,
            ),
            // Salt "pepperpepper" (12 bytes, shorter than ours): rehash.
            (
                "caf\u{E9} au lait",
                "$argon2id$v=19$m=1024,t=1,p=1$cGVwcGVycGVwcGVy$wx7P7pxt5ON5Qtv5E8oWTt7YBlGyQgy0qT5CTy81TCQ",
                true,
            ),
        ] {
            let got = hasher.verify(candidate(password), Some(phc)).await.unwrap();
            assert_eq!(got, Verified::Match { needs_rehash }, "{phc}");
            let wrong = hasher.verify(candidate("wrong"), Some(phc)).await.unwrap();
            assert_eq!(wrong, Verified::Mismatch, "{phc}");
        }
    }

    #[tokio::test]
    async fn a_hash_with_other_parameters_verifies_and_needs_a_rehash() {
        let current = small_pool();
        // Bigger than the current workers' buffers: a temporary one is used.
        for other in [
            HashParams {
                m_cost_kib: 2048,
                ..SMALL
            },
            HashParams { t_cost: 2, ..SMALL },
            HashParams {
                m_cost_kib: 1024,
                t_cost: 1,
                p_cost: 2,
            },
            HashParams {
                m_cost_kib: 512,
                ..SMALL
            },
        ] {
            let old = pool(other, 1, 4);
            let phc = old.hash(new_password("an older password")).await.unwrap();
            let got = current
                .verify(candidate("an older password"), Some(&phc))
                .await
                .unwrap();
            assert_eq!(got, Verified::Match { needs_rehash: true }, "{other:?}");
            let got = old
                .verify(candidate("an older password"), Some(&phc))
                .await
                .unwrap();
            assert_eq!(got, NO_REHASH, "{other:?}");
            let before = current.hashes_computed();
            let got = current
                .verify(candidate("an older passwore"), Some(&phc))
                .await
                .unwrap();
            assert_eq!(got, Verified::Mismatch, "{other:?}");
            // a wrong password on a legacy hash also pays the current cost,
            // so it answers no faster than an unknown identifier
            assert_eq!(current.hashes_computed(), before + 2, "{other:?}");
        }
    }

    #[tokio::test]
    async fn no_stored_hash_costs_one_hash_and_never_matches() {
        let hasher = small_pool();
        for attempt in ["", "anything at all", "correct horse battery"] {
            let before = hasher.hashes_computed();
            let got = hasher.verify(candidate(attempt), None).await.unwrap();
            assert_eq!(got, Verified::Mismatch);
            assert_eq!(
                hasher.hashes_computed(),
                before + 1,
                "one full hash was spent"
            );
        }
        // The dummy hash has the current parameters, so the cost is the same.
        assert_eq!(hasher.inner.dummy.params.m_cost(), SMALL.m_cost_kib);
        assert_eq!(hasher.inner.dummy.params.t_cost(), SMALL.t_cost);
        assert_eq!(hasher.inner.dummy.params.p_cost(), SMALL.p_cost);
        assert!(!hasher.inner.dummy.needs_rehash(&hasher.inner.dummy.params));
    }

    #[tokio::test]
    async fn an_over_long_candidate_costs_one_hash_and_never_matches() {
        let hasher = small_pool();
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        let phc = hasher
            .hash(new_password("a normal password"))
            .await
            .unwrap();
        let before = hasher.hashes_computed();
        let got = hasher.verify(candidate(&long), Some(&phc)).await.unwrap();
        assert_eq!(got, Verified::Mismatch);
        assert_eq!(hasher.hashes_computed(), before + 1);
        assert!(
            candidate(&long).secret().is_empty(),
            "the input is not kept"
        );
        // Even against a hash of the empty string, it is a mismatch.
        let empty = hasher.hash(candidate("")).await.unwrap();
        let got = hasher.verify(candidate(&long), Some(&empty)).await.unwrap();
        assert_eq!(got, Verified::Mismatch);
        assert!(matches!(
            hasher.hash(candidate(&long)).await,
            Err(PasswordError::Internal(_))
        ));
        // At the limit it is an ordinary password.
        let limit = "y".repeat(MAX_PASSWORD_BYTES);
        let phc = hasher.hash(candidate(&limit)).await.unwrap();
        assert_eq!(
            hasher.verify(candidate(&limit), Some(&phc)).await.unwrap(),
            NO_REHASH
        );
    }

    #[tokio::test]
    async fn an_imported_hash_verifies_on_the_pool_and_always_needs_a_rehash() {
        let hasher = small_pool();
        // pyca bcrypt (scripts/import-fixtures/generate.py)
        let bcrypt = "$2b$05$x7jQp7pReLT5qhGKLAkHseMmcNy8KUboKpgj1lFL.eWfpwXMRU26a";
        let right = "bcrypt 2b pw";
        let before = hasher.hashes_computed();
        assert_eq!(
            hasher.verify(candidate(right), Some(bcrypt)).await,
            Ok(Verified::Match { needs_rehash: true })
        );
        assert_eq!(
            hasher.hashes_computed(),
            before,
            "a match pays the rehash instead"
        );
        assert_eq!(
            hasher.verify(candidate("wrong"), Some(bcrypt)).await,
            Ok(Verified::Mismatch)
        );
        assert_eq!(
            hasher.hashes_computed(),
            before + 1,
            "a mismatch costs a current hash too, as an unknown account does"
        );
        let over_long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(
            hasher.verify(candidate(&over_long), Some(bcrypt)).await,
            Ok(Verified::Mismatch)
        );
    }

    #[tokio::test]
    async fn malformed_stored_hashes_are_refused_without_panic() {
        let hasher = small_pool();
        let good = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70";
        let long = format!("{good}{}", "A".repeat(600));
        let malformed = [
            "",
            "$",
            "$argon2id$",
            "$argon2id$v=19$",
            "$argon2id$v=19$m=1024,t=1,p=1",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$",
            "argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            // Wrong base64: bad characters, padding, the URL-safe alphabet,
            // non-canonical trailing bits.
            "$argon2id$v=19$m=1024,t=1,p=1$!!!!notbase64!!!!$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA==$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN_7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdB$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            // Parameters out of bounds or not decimal.
            "$argon2id$v=19$m=999999999,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1048577,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1048576,t=5,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=33,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=0,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1,p=0$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1,p=4294967295$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=16,t=1,p=4$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=99999999999,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=01024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=+1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=-1,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1,p=1,keyid=AAAA$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1,p=1,$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=１０２４,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            // Versions, algorithms and lengths.
            "$argon2id$v=18$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$ARGON2ID$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZQ$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70$",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70$extra",
            // Other schemes, and imported ones in a form that is not stored
            // (import converts passlib's PBKDF2) or past their caps.
            "$2b$31$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "$2x$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "$pbkdf2-sha256$29000$N2YuJCHgxKJ2YkaBWYTUqg$AJfN7aq0G0UCmHuR4NzrKxxqoN4ZvRkeYV7FhJv1C3U",
            "$pbkdf2-sha256$i=1000000000,l=32$N2YuJCHgxKJ2YkaBWYTUqg$AJfN7aq0G0UCmHuR4NzrKxxqoN4ZvRkeYV7FhJv1C3U",
            "$scrypt$ln=24,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            "$5$rounds=5000$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF6E5BVM",
            "pbkdf2_sha256$10000$ZGPnXQqHzfHFUrbRGCvQTJ$AsYhARL4g9D1e+jWvs6OsR0uyWd437UFstPl/ILk3Ro=",
            "plaintext",
            &long,
        ];
        for phc in malformed {
            let got = hasher
                .verify(candidate("correct horse battery staple"), Some(phc))
                .await;
            assert_eq!(got, Err(PasswordError::MalformedHash), "{phc:?}");
        }
        assert_eq!(
            hasher
                .verify(candidate("correct horse battery staple"), Some(good))
                .await,
            Ok(NO_REHASH),
            "the control case parses"
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_and_every_other_answer_is_right() {
        let heavy = HashParams {
            m_cost_kib: 4096,
            t_cost: 2,
            p_cost: 1,
        };
        let hasher = pool(heavy, 1, 1);
        let phc = hasher.hash(new_password("the right one")).await.unwrap();

        let verifications = (0..24).map(|i| {
            let hasher = hasher.clone();
            let phc = phc.clone();
            async move {
                let (attempt, expected) = if i % 2 == 0 {
                    ("the right one", NO_REHASH)
                } else {
                    ("the wrong one", Verified::Mismatch)
                };
                (
                    hasher.verify(candidate(attempt), Some(&phc)).await,
                    expected,
                )
            }
        });
        let hashes = (0..8).map(|_| hasher.hash(new_password("a new password")));
        let (verified, hashed) = tokio::join!(join_all(verifications), join_all(hashes));

        let mut busy = 0;
        for (got, expected) in verified {
            match got {
                Err(PasswordError::Busy { retry_after_secs }) => {
                    assert!((1..=60).contains(&retry_after_secs));
                    busy += 1;
                }
                got => assert_eq!(got, Ok(expected)),
            }
        }
        for got in hashed {
            match got {
                Err(PasswordError::Busy { .. }) => busy += 1,
                Ok(phc) => {
                    let got = hasher.verify(candidate("a new password"), Some(&phc)).await;
                    assert_eq!(got, Ok(NO_REHASH));
                }
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        assert!(busy > 0, "a queue of one must overflow with 32 callers");
        assert_eq!(hasher.queue_depth(), 0);
    }

    #[tokio::test]
    async fn a_job_whose_caller_went_away_is_skipped() {
        let hasher = pool(SMALL, 1, 8);
        // Hold the only worker until the abandoned jobs are queued behind it.
        let (started, running) = std::sync::mpsc::channel::<()>();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let blocker = hasher.run_on_worker(move || {
            started.send(()).unwrap();
            let _ = wait.recv();
        });
        running.recv().unwrap();
        let before = hasher.hashes_computed();
        for _ in 0..4 {
            // Polled once (queued), then dropped.
            assert!(
                hasher
                    .verify(candidate("gone"), None)
                    .now_or_never()
                    .is_none()
            );
        }
        assert_eq!(hasher.queue_depth(), 4);
        release.send(()).unwrap();
        assert_eq!(blocker.await.unwrap(), Ok(()));
        assert_eq!(
            hasher.verify(candidate("here"), None).await,
            Ok(Verified::Mismatch)
        );
        assert_eq!(
            hasher.hashes_computed(),
            before + 1,
            "only the live job was hashed"
        );
        assert_eq!(hasher.queue_depth(), 0);
    }

    #[tokio::test]
    async fn a_worker_survives_a_panicking_job() {
        let hasher = pool(SMALL, 1, 4);
        let got = hasher
            .run_on_worker(|| panic!("injected panic"))
            .await
            .unwrap();
        assert!(matches!(got, Err(PasswordError::Internal(_))), "{got:?}");
        let phc = hasher.hash(new_password("after the panic")).await.unwrap();
        let got = hasher
            .verify(candidate("after the panic"), Some(&phc))
            .await;
        assert_eq!(got, Ok(NO_REHASH));
    }

    #[tokio::test]
    async fn the_pool_stops_when_the_last_handle_is_dropped() {
        let hasher = pool(SMALL, 3, 4);
        let shared = Arc::clone(&hasher.inner.shared);
        let clone = hasher.clone();
        drop(hasher);
        assert_eq!(
            clone.verify(candidate("still up"), None).await,
            Ok(Verified::Mismatch)
        );
        assert_eq!(shared.live_workers.load(Ordering::SeqCst), 3);
        drop(clone);
        // Waits for the exit (a liveness bound, not a timing assertion).
        let deadline = Instant::now() + Duration::from_secs(30);
        while shared.live_workers.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < deadline, "workers did not stop");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[tokio::test]
    async fn default_parameters_hash_and_verify() {
        let hasher = pool(HashParams::default(), 1, 4);
        assert_eq!(
            hasher.params(),
            HashParams {
                m_cost_kib: 19_456,
                t_cost: 2,
                p_cost: 1
            }
        );
        let phc = hasher
            .hash(new_password("correct horse battery staple"))
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let got = hasher
            .verify(candidate("correct horse battery staple"), Some(&phc))
            .await;
        assert_eq!(got, Ok(NO_REHASH));
        let got = hasher
            .verify(candidate("correct horse battery stapler"), Some(&phc))
            .await;
        assert_eq!(got, Ok(Verified::Mismatch));
    }

    #[test]
    fn invalid_configurations_are_refused() {
        for (params, queue_capacity) in [
            (
                HashParams {
                    m_cost_kib: 4,
                    ..SMALL
                },
                4,
            ),
            (HashParams { t_cost: 0, ..SMALL }, 4),
            (HashParams { p_cost: 0, ..SMALL }, 4),
            (
                HashParams {
                    p_cost: u32::MAX,
                    ..SMALL
                },
                4,
            ),
            (
                HashParams {
                    m_cost_kib: MAX_M_COST_KIB + 1,
                    ..SMALL
                },
                4,
            ),
            (
                HashParams {
                    t_cost: MAX_T_COST + 1,
                    ..SMALL
                },
                4,
            ),
            (
                HashParams {
                    m_cost_kib: MAX_M_COST_KIB,
                    t_cost: 5,
                    p_cost: 1,
                },
                4,
            ),
            (SMALL, 0),
        ] {
            let got = PasswordHasher::new(PoolConfig {
                workers: 1,
                queue_capacity,
                params,
            });
            assert!(
                matches!(got, Err(PasswordError::InvalidConfig(_))),
                "{params:?} {queue_capacity}"
            );
        }
        assert_eq!(HashParams::default().validate(), Ok(()));
        assert_eq!(PoolConfig::default().queue_capacity, 64);
        assert_eq!(PoolConfig::default().workers, 0);
        let per_core = pool(SMALL, 0, 1);
        assert!(per_core.workers() >= 1);
    }

    #[test]
    fn the_length_policy_counts_characters_after_normalization() {
        let policy = LengthPolicy::default();
        assert_eq!(
            policy,
            LengthPolicy {
                min_chars: 8,
                max_chars: 1024
            }
        );
        let short = Err(PasswordPolicyError::TooShort { min: 8 });
        let long = Err(PasswordPolicyError::TooLong { max: 1024 });
        for (raw, expected) in [
            ("a".repeat(7), short.clone()),
            ("a".repeat(8), Ok(())),
            ("a".repeat(64), Ok(())),
            ("a".repeat(1024), Ok(())),
            ("a".repeat(1025), long.clone()),
            (String::new(), short.clone()),
            // One scalar value each, 4 bytes each.
            ("\u{1F600}".repeat(7), short.clone()),
            ("\u{1F600}".repeat(8), Ok(())),
            ("\u{1F600}".repeat(1024), Ok(())),
            ("\u{1F600}".repeat(1025), long.clone()),
            // "ﬁ" becomes "fi": 4 ligatures are 8 characters.
            ("\u{FB01}".repeat(4), Ok(())),
            // e + combining acute becomes one é: 7 characters.
            ("e\u{301}".repeat(7), short.clone()),
            // Over the byte limit before normalization.
            ("a".repeat(MAX_PASSWORD_BYTES + 1), long.clone()),
        ] {
            let got = Password::new(&raw, &policy).map(|_| ());
            assert_eq!(got, expected, "{} bytes", raw.len());
        }
        let lenient = LengthPolicy {
            min_chars: 1,
            max_chars: 10_000,
        };
        assert_eq!(
            Password::new(&"a".repeat(1025), &lenient).map(|_| ()),
            Err(PasswordPolicyError::TooLong {
                max: MAX_PASSWORD_CHARS
            }),
            "the maximum is clamped"
        );
        assert_eq!(
            PasswordPolicyError::TooShort { min: 8 }.to_string(),
            "the password must be at least 8 characters long"
        );
        assert_eq!(
            PasswordPolicyError::TooLong { max: 1024 }.to_string(),
            "the password must be at most 1024 characters long"
        );
    }

    #[tokio::test]
    async fn passwords_are_never_truncated() {
        let hasher = small_pool();
        let a = format!("{}a", "p".repeat(99));
        let b = format!("{}b", "p".repeat(99));
        let phc = hasher.hash(new_password(&a)).await.unwrap();
        assert_eq!(
            hasher.verify(candidate(&b), Some(&phc)).await,
            Ok(Verified::Mismatch)
        );
        assert_eq!(
            hasher.verify(candidate(&a), Some(&phc)).await,
            Ok(NO_REHASH)
        );
        let long_a = format!("{}a", "p".repeat(1023));
        let long_b = format!("{}b", "p".repeat(1023));
        let phc = hasher.hash(new_password(&long_a)).await.unwrap();
        assert_eq!(
            hasher.verify(candidate(&long_b), Some(&phc)).await,
            Ok(Verified::Mismatch)
        );
        assert_eq!(
            hasher.verify(candidate(&long_a), Some(&phc)).await,
            Ok(NO_REHASH)
        );
    }

    #[test]
    fn debug_never_shows_the_password() {
        let secret = "hunter2-hunter2";
        for password in [new_password(secret), candidate(secret)] {
            let shown = format!("{password:?} {password:#?}");
            assert!(!shown.contains("hunter"), "{shown}");
            assert_eq!(format!("{password:?}"), "Password(***)");
        }
        let hasher = small_pool();
        assert!(format!("{hasher:?}").starts_with("PasswordHasher {"));
    }

    #[test]
    fn normalization_keeps_the_whole_input() {
        // Expansions longer than the first capacity guess (U+FDFA is 18
        // characters in NFKC) go through the zeroizing growth path.
        let raw = "\u{FDFA}".repeat(100);
        let expected: String = raw.nfkc().collect();
        assert_eq!(candidate(&raw).secret(), expected.as_bytes());
        assert_eq!(candidate("").secret(), b"");
    }
}
