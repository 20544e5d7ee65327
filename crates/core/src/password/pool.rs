//! The fixed pool of hashing threads behind a bounded queue.

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
use zeroize::Zeroizing;

use super::phc::{StoredHash, argon2_params};
use super::*;
use crate::legacy_hashes::LegacyHash;

/// Hashes and verifies passwords on a fixed pool of worker threads.
///
/// Cheap to clone: clones share the pool, which stops when the last one is
/// dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    sender: SyncSender<Queued>,
    pub(super) shared: Arc<Shared>,
    pub(super) params: HashParams,
    pub(super) workers: usize,
    pub(super) queue_capacity: usize,
    /// A real hash of a random password, with the current parameters, for
    /// verifications that have no stored hash.
    pub(super) dummy: Arc<StoredHash>,
}

/// State shared by the handles and the workers.
pub(super) struct Shared {
    /// Jobs accepted and not yet taken by a worker.
    pub(super) queued: AtomicUsize,
    /// A moving average of the time a job takes, in nanoseconds.
    pub(super) avg_job_nanos: AtomicU64,
    /// The least time a [`Verified::Mismatch`] takes, counted from the start
    /// of its job, in nanoseconds: the longest imported-hash check seen since
    /// the last [`PasswordHasher::calibrate`] (see [`Check`]).
    pub(super) mismatch_floor_nanos: AtomicU64,
    /// Hashes computed (tests check that unknown users cost a hash).
    #[cfg(test)]
    pub(super) hashes: AtomicUsize,
    /// Worker threads still running (tests check the shutdown).
    #[cfg(test)]
    pub(super) live_workers: AtomicUsize,
}

impl Shared {
    /// Raises the mismatch floor to an imported-hash check that took
    /// `worked`.
    fn raise_floor(&self, worked: Duration) {
        self.mismatch_floor_nanos
            .fetch_max(nanos(worked), Ordering::Relaxed);
    }

    fn mismatch_floor(&self) -> Duration {
        Duration::from_nanos(self.mismatch_floor_nanos.load(Ordering::Relaxed))
    }

    fn record(&self, elapsed: Duration) {
        let sample = nanos(elapsed);
        let old = self.avg_job_nanos.load(Ordering::Relaxed);
        // Races between workers only lose a sample; it is an estimate.
        let new = old.saturating_mul(7).saturating_add(sample) / 8;
        self.avg_job_nanos.store(new, Ordering::Relaxed);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

type Reply<T> = oneshot::Sender<Result<T, PasswordError>>;

/// A verification's answer and how long its job computed.
type Checked = (Verified, Duration);

/// What a verification is checked against, as far as its cost goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// No stored hash (unknown account, or no password): the dummy hash.
    Nothing,
    /// An argon2 hash; `outdated` when it was made with other parameters
    /// (or variant, version, salt or output length) than new hashes get.
    Argon2 { outdated: bool },
    /// A hash imported from another system ([`crate::legacy_hashes`]).
    Imported,
}

/// One computation a verification job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// argon2 against the dummy hash (current parameters).
    Dummy,
    /// argon2 against the stored hash, with its own parameters.
    StoredArgon2,
    /// The imported scheme against the stored hash.
    Imported,
    /// One argon2id hash with the current parameters, thrown away.
    Filler,
}

impl Check {
    /// What a wrong password costs, in hashes. Every mismatch costs at
    /// least one hash with the current parameters' price or an imported
    /// check, never both: an imported check (bcrypt, scrypt, PBKDF2) costs
    /// what its own parameters say, which no extra argon2id would equalize;
    /// it is the floor instead ([`pad`]): every mismatch answer waits until
    /// the longest imported check seen, so a wrong password on an imported
    /// account, on an argon2id account and an unknown address take the same
    /// time, and the waiting costs no worker.
    pub(super) fn mismatch_steps(self) -> &'static [Step] {
        match self {
            Check::Nothing => &[Step::Dummy],
            Check::Argon2 { outdated: false } => &[Step::StoredArgon2],
            // older (cheaper or dearer) parameters still pay today's price
            Check::Argon2 { outdated: true } => &[Step::StoredArgon2, Step::Filler],
            Check::Imported => &[Step::Imported],
        }
    }

    fn needs_filler(self) -> bool {
        self.mismatch_steps().contains(&Step::Filler)
    }
}

/// How long a mismatch whose job computed for `worked` still waits before
/// it is answered, to reach `floor`.
pub(super) fn pad(floor: Duration, worked: Duration) -> Duration {
    floor.saturating_sub(worked)
}

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
        reply: Reply<Checked>,
    },
    /// A hash imported from another system (`crate::legacy_hashes`).
    VerifyLegacy {
        password: Password,
        stored: Box<LegacyHash>,
        reply: Reply<Checked>,
    },
    /// Arbitrary work on a worker (tests: a panic, a blocked worker).
    #[cfg(test)]
    Test {
        work: Box<dyn FnOnce() + Send>,
        reply: Reply<()>,
    },
}

/// A job with its trace spans: the caller's span, the parent of the
/// `hash` span the worker runs it in, and `hash.queue_wait`, which ends
/// when a worker takes the job.
struct Queued {
    job: Job,
    parent: tracing::Span,
    waiting: tracing::Span,
}

impl Job {
    fn kind(&self) -> &'static str {
        match self {
            Job::Hash { .. } => "hash",
            Job::Verify { .. } => "verify",
            Job::VerifyLegacy { .. } => "verify_imported",
            #[cfg(test)]
            Job::Test { .. } => "test",
        }
    }
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
            mismatch_floor_nanos: AtomicU64::new(0),
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
    ///
    /// A mismatch is answered no sooner than the mismatch floor after its
    /// job started (see [`PasswordHasher::calibrate`]); the wait holds no
    /// worker.
    pub async fn verify(
        &self,
        password: Password,
        phc: Option<&str>,
    ) -> Result<Verified, PasswordError> {
        let (verdict, worked) = self.check(password, phc).await?;
        if verdict == Verified::Mismatch {
            let rest = pad(self.inner.shared.mismatch_floor(), worked);
            if !rest.is_zero() {
                tokio::time::sleep(rest).await;
            }
        }
        Ok(verdict)
    }

    /// Sets the mismatch floor from the imported hashes still stored (one
    /// sample per scheme, e.g. [`crate::legacy_hashes::LegacyHashStore::legacy_hash_samples`]):
    /// the longest check of a random password against one of them or
    /// against the dummy hash (an imported hash may be cheaper than
    /// argon2id, and must not answer sooner either). Imported checks made
    /// later raise it when they take longer (load), until the next
    /// calibration. Without imported hashes the floor is zero: argon2id
    /// accounts and unknown ones cost the same hash. Samples that are not
    /// imported hashes within the caps are skipped. Returns the floor.
    pub async fn calibrate(&self, samples: &[String]) -> Result<Duration, PasswordError> {
        let mut floor = Duration::ZERO;
        let imported = samples
            .iter()
            .filter(|s| crate::legacy_hashes::is_legacy(s) && LegacyHash::parse(s).is_ok());
        for stored in imported.map(Some).chain([None]) {
            if stored.is_none() && floor.is_zero() {
                break;
            }
            let mut random = [0u8; 24];
            getrandom::fill(&mut random)
                .map_err(|e| PasswordError::Internal(format!("no randomness: {e}")))?;
            let probe = Password::for_verification(&Base64Unpadded::encode_string(&random));
            let (_, worked) = self.check(probe, stored.map(String::as_str)).await?;
            floor = floor.max(worked);
        }
        self.inner
            .shared
            .mismatch_floor_nanos
            .store(nanos(floor), Ordering::Relaxed);
        Ok(floor)
    }

    /// The mismatch floor now (see [`PasswordHasher::calibrate`]).
    pub fn mismatch_floor(&self) -> Duration {
        self.inner.shared.mismatch_floor()
    }

    /// Runs one verification job: its answer and how long it computed.
    async fn check(&self, password: Password, phc: Option<&str>) -> Result<Checked, PasswordError> {
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
        let queued = Queued {
            waiting: tracing::info_span!(target: crate::SPAN_TARGET, "hash.queue_wait"),
            parent: tracing::Span::current(),
            job,
        };
        match self.inner.sender.try_send(queued) {
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
    pub(super) fn hashes_computed(&self) -> usize {
        self.inner.shared.hashes.load(Ordering::SeqCst)
    }

    /// Queues `work` for a worker; the receiver answers when it has run.
    #[cfg(test)]
    pub(super) fn run_on_worker(
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
fn worker(receiver: &Mutex<Receiver<Queued>>, shared: &Shared, params: &Params) {
    // Allocated, and its pages touched, at the first job. Should that fail,
    // `derive` uses a temporary buffer per call and the next job tries again.
    let mut memory = Vec::new();
    loop {
        // The lock is held only while waiting for a job, never while hashing.
        let job = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(Queued {
            job,
            parent,
            waiting,
        }) = job
        else {
            break;
        };
        drop(waiting);
        shared.queued.fetch_sub(1, Ordering::Relaxed);
        let span = tracing::info_span!(target: crate::SPAN_TARGET, parent: &parent, "hash", job = job.kind());
        let _entered = span.enter();
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
) -> Result<Checked, PasswordError> {
    let started = Instant::now();
    let check = if force_mismatch {
        Check::Nothing
    } else {
        Check::Argon2 {
            outdated: stored.needs_rehash(current),
        }
    };
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
        let verdict = Verified::Match {
            needs_rehash: stored.needs_rehash(current),
        };
        return Ok((verdict, started.elapsed()));
    }
    // A wrong password for an account still hashed with older parameters
    // must not answer faster than an unknown identifier (which costs one
    // hash with the current ones): spend that hash too. A right password
    // pays it as the rehash instead.
    if check.needs_filler() {
        filler_hash(password, current, memory, shared)?;
    }
    Ok((Verified::Mismatch, started.elapsed()))
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

/// A foreign hash: a match needs a rehash (into argon2id) unless it proved
/// less than the whole password ([`LegacyHash::proves_whole`]). A
/// mismatch spends nothing more ([`Check::mismatch_steps`]): the time of
/// the check raises the floor every mismatch waits for instead.
fn legacy_verify_job(
    password: &Password,
    stored: &LegacyHash,
    current: &Params,
    memory: &mut [Block],
    shared: &Shared,
) -> Result<Checked, PasswordError> {
    let started = Instant::now();
    // An over-long candidate is checked as the empty string, for the time.
    let equal = stored
        .verify(password.secret())
        .map_err(|_| PasswordError::MalformedHash)?;
    let worked = started.elapsed();
    shared.raise_floor(worked);
    if equal && !password.over_long {
        // a bcrypt match of a longer password proved only its first 72 bytes
        let needs_rehash = stored.proves_whole(password.secret());
        return Ok((Verified::Match { needs_rehash }, worked));
    }
    if Check::Imported.needs_filler() {
        filler_hash(password, current, memory, shared)?;
    }
    Ok((Verified::Mismatch, started.elapsed()))
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
