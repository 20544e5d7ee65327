//! Rate limits: GCRA buckets, sliding-window counters and single-use
//! claims, kept in process and optionally shared through a
//! [`CounterBackend`] (Redis) so that several nodes enforce one limit.
//!
//! Design decisions:
//! - **GCRA** (the generic cell rate algorithm) for rates: one integer per
//!   key (the "theoretical arrival time"), exact, burst-friendly, and cheap
//!   to update atomically in a Redis script. A quota of `q` per `w` lets `q`
//!   requests through at once and then one every `w / q`.
//! - **Sliding-window counters** for pressure (how many failures an IP or the
//!   whole server saw recently): two fixed windows weighted by overlap.
//! - **Bounded memory.** The local store is sharded; when a shard is full,
//!   expired entries are swept, and if it is still full, arbitrary entries are
//!   dropped. A flood of distinct keys can therefore forget some limits, but
//!   never grow memory without bound.
//! - **Never no limits.** The local counters are always updated, even while a
//!   shared backend answers; the stricter of the two verdicts wins. When the
//!   shared backend fails, the node carries on with its local counters (warm,
//!   since they were kept all along), retries the backend after a short pause
//!   measured on the [`Clock`], and goes back to it when it answers.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::Clock;

/// How many requests are allowed per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests allowed in one period (also the largest burst).
    pub limit: u32,
    /// The period.
    pub period: Duration,
}

impl Quota {
    /// `limit` per `period`.
    pub const fn new(limit: u32, period: Duration) -> Quota {
        Quota { limit, period }
    }

    /// The period in milliseconds (at least 1).
    pub fn period_ms(&self) -> i64 {
        i64::try_from(self.period.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// The time one request "costs": the period divided by the limit.
    pub fn emission_ms(&self) -> i64 {
        (self.period_ms() / i64::from(self.limit.max(1))).max(1)
    }

    /// The window in whole seconds, as the RateLimit-Policy header shows it.
    pub fn window_secs(&self) -> u64 {
        self.period.as_secs().max(1)
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.period.as_secs();
        let (n, unit) = match secs {
            s if s % 86_400 == 0 => (s / 86_400, "day"),
            s if s % 3_600 == 0 => (s / 3_600, "hour"),
            s if s % 60 == 0 => (s / 60, "min"),
            s => (s, "s"),
        };
        if n == 1 {
            write!(f, "{}/{unit}", self.limit)
        } else {
            write!(f, "{}/{n}{unit}", self.limit)
        }
    }
}

impl std::str::FromStr for Quota {
    type Err = String;

    /// `N/unit` or `N/Kunit`, where unit is `s`, `min`, `hour` or `day`
    /// (also `second`, `m`, `minute`, `h`, `d`): `20/min`, `10/hour`, `100/15min`.
    fn from_str(s: &str) -> Result<Quota, String> {
        let expected =
            "expected N/unit such as 20/min, 10/hour or 100/15min (units: s, min, hour, day)";
        let (n, per) = s.trim().split_once('/').ok_or(expected)?;
        let limit: u32 = n.trim().parse().map_err(|_| expected.to_owned())?;
        if limit == 0 {
            return Err(
                "the limit must be at least 1 (leave the dimension out for no limit)".into(),
            );
        }
        let per = per.trim();
        let digits = per.bytes().take_while(u8::is_ascii_digit).count();
        let count: u64 = if digits == 0 {
            1
        } else {
            per[..digits].parse().map_err(|_| expected.to_owned())?
        };
        let unit_secs = match &per[digits..] {
            "s" | "sec" | "second" | "seconds" => 1,
            "m" | "min" | "minute" | "minutes" => 60,
            "h" | "hour" | "hours" => 3_600,
            "d" | "day" | "days" => 86_400,
            _ => return Err(expected.to_owned()),
        };
        let secs = count * unit_secs;
        if secs == 0 || secs > 7 * 86_400 {
            return Err("the period must be from 1 second to 7 days".into());
        }
        Ok(Quota::new(limit, Duration::from_secs(secs)))
    }
}

/// The verdict on one request against one quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The quota it was measured against.
    pub quota: Quota,
    /// Requests still allowed right now after this one.
    pub remaining: u32,
    /// Milliseconds until the whole quota is available again.
    pub reset_ms: i64,
    /// When refused: milliseconds until one request will be allowed.
    pub retry_after_ms: i64,
}

impl Decision {
    /// `Retry-After` in whole seconds (at least 1).
    pub fn retry_after_secs(&self) -> u32 {
        ceil_secs(self.retry_after_ms)
    }

    /// Seconds until the quota is whole again (the `t` of the RateLimit header).
    pub fn reset_secs(&self) -> u32 {
        ceil_secs(self.reset_ms).max(u32::from(self.reset_ms > 0))
    }

    /// The stricter of two verdicts on the same quota.
    pub fn stricter(self, other: Decision) -> Decision {
        match (self.allowed, other.allowed) {
            (true, false) => other,
            (false, true) => self,
            (false, false) if other.retry_after_ms > self.retry_after_ms => other,
            (true, true) if other.remaining < self.remaining => other,
            _ => self,
        }
    }
}

fn ceil_secs(ms: i64) -> u32 {
    u32::try_from((ms.max(0) + 999) / 1000)
        .unwrap_or(u32::MAX)
        .max(1)
}

/// One GCRA step: given the stored arrival time (or none), returns the
/// verdict and, when allowed, the arrival time to store.
pub fn gcra(stored_tat: Option<i64>, quota: &Quota, now_ms: i64) -> (Decision, Option<i64>) {
    let t = quota.emission_ms();
    let period = t * i64::from(quota.limit.max(1));
    let tat = stored_tat.unwrap_or(now_ms).max(now_ms);
    let new_tat = tat + t;
    if new_tat - now_ms > period {
        let d = Decision {
            allowed: false,
            quota: *quota,
            remaining: 0,
            reset_ms: tat - now_ms,
            retry_after_ms: new_tat - now_ms - period,
        };
        return (d, None);
    }
    (from_reset(quota, new_tat - now_ms), Some(new_tat))
}

/// An allowed verdict from the time until the quota is whole again.
pub fn from_reset(quota: &Quota, reset_ms: i64) -> Decision {
    let t = quota.emission_ms();
    let period = t * i64::from(quota.limit.max(1));
    Decision {
        allowed: true,
        quota: *quota,
        remaining: u32::try_from(((period - reset_ms) / t).max(0)).unwrap_or(0),
        reset_ms,
        retry_after_ms: 0,
    }
}

/// The sliding-window estimate from the current and previous fixed windows.
pub fn window_estimate(current: u64, previous: u64, now_ms: i64, window_ms: i64) -> f64 {
    let into = now_ms.rem_euclid(window_ms) as f64 / window_ms as f64;
    previous as f64 * (1.0 - into) + current as f64
}

/// Why a shared backend could not answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("counter backend unavailable: {0}")]
pub struct CounterError(pub String);

/// Where counters live: in process ([`LocalCounters`]) or shared between
/// nodes (Redis, in `latchkey-redis`). Every operation is atomic per key.
#[async_trait]
pub trait CounterBackend: Send + Sync + 'static {
    /// A short name for logs (`"redis"`).
    fn name(&self) -> &'static str;

    /// One GCRA step on `key` (see [`gcra`]).
    async fn gcra(&self, key: &str, quota: &Quota, now_ms: i64) -> Result<Decision, CounterError>;

    /// Adds `add` to the fixed window of `window_ms` containing `now_ms` and
    /// returns (this window's count, the previous window's count).
    async fn window_add(
        &self,
        key: &str,
        window_ms: i64,
        add: u64,
        now_ms: i64,
    ) -> Result<(u64, u64), CounterError>;

    /// Claims `key` for `ttl_ms`: true the first time, false while claimed.
    async fn claim(&self, key: &str, ttl_ms: i64, now_ms: i64) -> Result<bool, CounterError>;
}

const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    /// GCRA arrival times (ms).
    tats: HashMap<String, i64>,
    /// Window counters: (window index, current, previous).
    windows: HashMap<String, (i64, u64, u64)>,
    /// Claims: expiry (ms).
    claims: HashMap<String, i64>,
}

impl Shard {
    fn len(&self) -> usize {
        self.tats.len() + self.windows.len() + self.claims.len()
    }

    /// Makes room for one more entry: sweeps what has expired, then drops
    /// arbitrary entries if the shard is still full.
    fn make_room(&mut self, capacity: usize, now_ms: i64, evictions: &mut u64) {
        if self.len() < capacity {
            return;
        }
        self.tats.retain(|_, tat| *tat > now_ms);
        self.claims.retain(|_, until| *until > now_ms);
        // a window entry older than its previous window counts for nothing;
        // its window length is not stored, so keep those touched recently
        // and let the size check below handle the rest.
        let target = capacity * 9 / 10;
        while self.len() > target {
            let victim = self
                .windows
                .keys()
                .next()
                .cloned()
                .map(|k| (0, k))
                .or_else(|| self.tats.keys().next().cloned().map(|k| (1, k)))
                .or_else(|| self.claims.keys().next().cloned().map(|k| (2, k)));
            match victim {
                Some((0, k)) => {
                    self.windows.remove(&k);
                }
                Some((1, k)) => {
                    self.tats.remove(&k);
                }
                Some((_, k)) => {
                    self.claims.remove(&k);
                }
                None => break,
            }
            *evictions += 1;
        }
    }
}

/// Counters in this process, in bounded memory.
pub struct LocalCounters {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
}

impl fmt::Debug for LocalCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCounters")
            .field("capacity", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

impl LocalCounters {
    /// Room for about `capacity` keys in all (at least 16 per shard).
    pub fn new(capacity: usize) -> LocalCounters {
        LocalCounters {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: (capacity / SHARDS).max(16),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(key) as usize) % SHARDS;
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Keys held right now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One GCRA step.
    pub fn gcra_now(&self, key: &str, quota: &Quota, now_ms: i64) -> Decision {
        let mut shard = self.shard(key);
        let stored = shard.tats.get(key).copied();
        let (decision, new_tat) = gcra(stored, quota, now_ms);
        if let Some(tat) = new_tat {
            if stored.is_none() {
                let mut evicted = 0;
                shard.make_room(self.per_shard, now_ms, &mut evicted);
                record_evictions(evicted);
            }
            shard.tats.insert(key.to_owned(), tat);
        }
        decision
    }

    /// Adds to a window counter; returns (current, previous).
    pub fn window_add_now(&self, key: &str, window_ms: i64, add: u64, now_ms: i64) -> (u64, u64) {
        let index = now_ms.div_euclid(window_ms.max(1));
        let mut shard = self.shard(key);
        if !shard.windows.contains_key(key) {
            if add == 0 {
                return (0, 0);
            }
            let mut evicted = 0;
            shard.make_room(self.per_shard, now_ms, &mut evicted);
            record_evictions(evicted);
        }
        let entry = shard.windows.entry(key.to_owned()).or_insert((index, 0, 0));
        if entry.0 != index {
            let previous = if entry.0 == index - 1 { entry.1 } else { 0 };
            *entry = (index, 0, previous);
        }
        entry.1 = entry.1.saturating_add(add);
        (entry.1, entry.2)
    }

    /// Claims a key until `now + ttl`.
    pub fn claim_now(&self, key: &str, ttl_ms: i64, now_ms: i64) -> bool {
        let mut shard = self.shard(key);
        if shard.claims.get(key).is_some_and(|until| *until > now_ms) {
            return false;
        }
        let mut evicted = 0;
        shard.make_room(self.per_shard, now_ms, &mut evicted);
        record_evictions(evicted);
        shard.claims.insert(key.to_owned(), now_ms + ttl_ms.max(1));
        true
    }
}

fn record_evictions(n: u64) {
    if n > 0 {
        metrics::counter!("latchkey_rate_limit_evictions_total").increment(n);
    }
}

#[async_trait]
impl CounterBackend for LocalCounters {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn gcra(&self, key: &str, quota: &Quota, now_ms: i64) -> Result<Decision, CounterError> {
        Ok(self.gcra_now(key, quota, now_ms))
    }

    async fn window_add(
        &self,
        key: &str,
        window_ms: i64,
        add: u64,
        now_ms: i64,
    ) -> Result<(u64, u64), CounterError> {
        Ok(self.window_add_now(key, window_ms, add, now_ms))
    }

    async fn claim(&self, key: &str, ttl_ms: i64, now_ms: i64) -> Result<bool, CounterError> {
        Ok(self.claim_now(key, ttl_ms, now_ms))
    }
}

/// Where the limiter's verdicts come from right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// No shared backend is configured: this node's counters only.
    LocalOnly,
    /// The shared backend answers.
    Shared,
    /// The shared backend failed; this node's counters hold until it answers.
    Degraded,
}

/// The limiter every check goes through: local counters, plus a shared
/// backend when one is configured (see the module docs).
pub struct Limiter {
    local: LocalCounters,
    shared: Option<Arc<dyn CounterBackend>>,
    clock: Arc<dyn Clock>,
    /// While the shared backend is considered down: until this instant (ms).
    down_until: AtomicI64,
    down: AtomicBool,
    retry_ms: i64,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("shared", &self.shared.as_ref().map(|s| s.name()))
            .field("sharing", &self.sharing())
            .finish_non_exhaustive()
    }
}

/// How long the limiter keeps to its local counters after the shared
/// backend failed, before trying it again.
pub const SHARED_RETRY: Duration = Duration::from_secs(2);

impl Limiter {
    /// A limiter on this node's counters only.
    pub fn local(clock: Arc<dyn Clock>, capacity: usize) -> Limiter {
        Limiter {
            local: LocalCounters::new(capacity),
            shared: None,
            clock,
            down_until: AtomicI64::new(0),
            down: AtomicBool::new(false),
            retry_ms: SHARED_RETRY.as_millis() as i64,
        }
    }

    /// A limiter shared through `backend`, falling back to local counters.
    pub fn shared(
        backend: Arc<dyn CounterBackend>,
        clock: Arc<dyn Clock>,
        capacity: usize,
    ) -> Limiter {
        let mut l = Limiter::local(clock, capacity);
        l.shared = Some(backend);
        metrics::gauge!("latchkey_rate_limit_shared").set(1.0);
        l
    }

    /// The local counters.
    pub fn local_counters(&self) -> &LocalCounters {
        &self.local
    }

    /// The current instant in milliseconds, from the limiter's clock.
    pub fn now_ms(&self) -> i64 {
        (self.clock.now().unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// Where verdicts come from right now.
    pub fn sharing(&self) -> Sharing {
        match (&self.shared, self.down.load(Ordering::Relaxed)) {
            (None, _) => Sharing::LocalOnly,
            (Some(_), false) => Sharing::Shared,
            (Some(_), true) => Sharing::Degraded,
        }
    }

    /// The shared backend, unless it failed less than [`SHARED_RETRY`] ago.
    fn usable_shared(&self, now_ms: i64) -> Option<&Arc<dyn CounterBackend>> {
        let shared = self.shared.as_ref()?;
        (now_ms >= self.down_until.load(Ordering::Relaxed)).then_some(shared)
    }

    fn shared_failed(&self, backend: &str, error: &CounterError, now_ms: i64) {
        self.down_until
            .store(now_ms + self.retry_ms, Ordering::Relaxed);
        metrics::counter!("latchkey_rate_limit_backend_errors_total").increment(1);
        if !self.down.swap(true, Ordering::Relaxed) {
            metrics::gauge!("latchkey_rate_limit_shared").set(0.0);
            tracing::warn!(
                event = "rate_limit.shared_unavailable",
                backend,
                error = %error,
                "shared rate-limit counters unreachable: enforcing this node's local limits until they answer"
            );
        }
    }

    fn shared_answered(&self, backend: &str) {
        if self.down.swap(false, Ordering::Relaxed) {
            metrics::gauge!("latchkey_rate_limit_shared").set(1.0);
            tracing::info!(
                event = "rate_limit.shared_restored",
                backend,
                "shared rate-limit counters answer again: limits are shared between nodes again"
            );
        }
    }

    /// Counts one request against `quota` under `key`.
    pub async fn hit(&self, key: &str, quota: &Quota) -> Decision {
        let now = self.now_ms();
        let local = self.local.gcra_now(key, quota, now);
        let Some(shared) = self.usable_shared(now) else {
            return local;
        };
        match shared.gcra(key, quota, now).await {
            Ok(d) => {
                self.shared_answered(shared.name());
                d.stricter(local)
            }
            Err(e) => {
                self.shared_failed(shared.name(), &e, now);
                local
            }
        }
    }

    /// Adds `add` events to the sliding window `key` and returns the
    /// estimated number of events in the last `window`.
    pub async fn count(&self, key: &str, window: Duration, add: u64) -> f64 {
        let now = self.now_ms();
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
        let (c, p) = self.local.window_add_now(key, window_ms, add, now);
        let local = window_estimate(c, p, now, window_ms);
        let Some(shared) = self.usable_shared(now) else {
            return local;
        };
        match shared.window_add(key, window_ms, add, now).await {
            Ok((c, p)) => {
                self.shared_answered(shared.name());
                window_estimate(c, p, now, window_ms).max(local)
            }
            Err(e) => {
                self.shared_failed(shared.name(), &e, now);
                local
            }
        }
    }

    /// Claims `key` for `ttl`: true only the first time (on every node, when
    /// shared).
    pub async fn claim(&self, key: &str, ttl: Duration) -> bool {
        let now = self.now_ms();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        let local = self.local.claim_now(key, ttl_ms, now);
        let Some(shared) = self.usable_shared(now) else {
            return local;
        };
        match shared.claim(key, ttl_ms, now).await {
            Ok(first) => {
                self.shared_answered(shared.name());
                first && local
            }
            Err(e) => {
                self.shared_failed(shared.name(), &e, now);
                local
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock as FixedClock;

    fn q(s: &str) -> Quota {
        s.parse().unwrap()
    }

    #[test]
    fn quotas_parse_and_print() {
        for (text, limit, secs, shown) in [
            ("20/min", 20, 60, "20/min"),
            ("10/hour", 10, 3_600, "10/hour"),
            ("5/s", 5, 1, "5/s"),
            ("100/15min", 100, 900, "100/15min"),
            (" 3 / day ", 3, 86_400, "3/day"),
            ("7/2h", 7, 7_200, "7/2hour"),
        ] {
            let quota = q(text);
            assert_eq!(
                (quota.limit, quota.period.as_secs()),
                (limit, secs),
                "{text}"
            );
            assert_eq!(quota.to_string(), shown);
            assert_eq!(q(shown), quota);
        }
        for bad in [
            "",
            "20",
            "0/min",
            "x/min",
            "20/fortnight",
            "20/0s",
            "20/8day",
            "-1/min",
        ] {
            assert!(bad.parse::<Quota>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn gcra_allows_a_burst_then_one_per_interval() {
        let quota = q("4/min"); // one every 15 s, burst 4
        let mut tat = None;
        let mut now = 1_000_000;
        for i in 0..4 {
            let (d, new) = gcra(tat, &quota, now);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 3 - i);
            tat = new;
        }
        let (d, new) = gcra(tat, &quota, now);
        assert!(!d.allowed);
        assert_eq!(new, None, "a refusal stores nothing");
        assert_eq!(d.retry_after_ms, 15_000);
        assert_eq!(d.retry_after_secs(), 15);
        assert_eq!(d.reset_ms, 60_000);
        now += 14_999;
        assert!(!gcra(tat, &quota, now).0.allowed);
        now += 1;
        let (d, new) = gcra(tat, &quota, now);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        tat = new;
        // after a full period of silence the whole burst is back
        now += 60_000;
        let (d, _) = gcra(tat, &quota, now);
        assert_eq!(d.remaining, 3);
    }

    #[test]
    fn window_estimates_weigh_the_previous_window() {
        assert_eq!(window_estimate(0, 10, 0, 1000), 10.0);
        assert_eq!(window_estimate(4, 10, 500, 1000), 9.0);
        assert_eq!(window_estimate(4, 10, 999, 1000), 4.0 + 10.0 * 0.001);
    }

    #[test]
    fn local_counters_stay_bounded() {
        let c = LocalCounters::new(16 * 16);
        let quota = q("1/hour");
        for i in 0..10_000 {
            c.gcra_now(&format!("k{i}"), &quota, 0);
            c.window_add_now(&format!("w{i}"), 1000, 1, 0);
            c.claim_now(&format!("c{i}"), 1000, 0);
        }
        assert!(c.len() <= 16 * 16, "{} entries", c.len());
        // a key just limited stays limited while there is room
        let c = LocalCounters::new(1000);
        assert!(c.gcra_now("x", &quota, 0).allowed);
        assert!(!c.gcra_now("x", &quota, 0).allowed);
    }

    #[test]
    fn claims_are_single_use_until_they_expire() {
        let c = LocalCounters::new(100);
        assert!(c.claim_now("n", 1000, 0));
        assert!(!c.claim_now("n", 1000, 999));
        assert!(c.claim_now("n", 1000, 1000));
    }

    /// A backend that can be switched off, counting calls.
    struct Flaky {
        inner: LocalCounters,
        up: AtomicBool,
    }

    #[async_trait]
    impl CounterBackend for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }
        async fn gcra(&self, key: &str, quota: &Quota, now: i64) -> Result<Decision, CounterError> {
            if !self.up.load(Ordering::SeqCst) {
                return Err(CounterError("down".into()));
            }
            self.inner.gcra(key, quota, now).await
        }
        async fn window_add(
            &self,
            key: &str,
            w: i64,
            add: u64,
            now: i64,
        ) -> Result<(u64, u64), CounterError> {
            if !self.up.load(Ordering::SeqCst) {
                return Err(CounterError("down".into()));
            }
            self.inner.window_add(key, w, add, now).await
        }
        async fn claim(&self, key: &str, ttl: i64, now: i64) -> Result<bool, CounterError> {
            if !self.up.load(Ordering::SeqCst) {
                return Err(CounterError("down".into()));
            }
            self.inner.claim(key, ttl, now).await
        }
    }

    #[tokio::test]
    async fn two_nodes_share_falls_back_locally_and_recover() {
        let clock = Arc::new(FixedClock::at_unix(1_800_000_000));
        let backend = Arc::new(Flaky {
            inner: LocalCounters::new(1000),
            up: AtomicBool::new(true),
        });
        let a = Limiter::shared(backend.clone(), clock.clone(), 1000);
        let b = Limiter::shared(backend.clone(), clock.clone(), 1000);
        let quota = q("4/min");
        // shared: two on each node use up the quota of four
        for node in [&a, &b, &a, &b] {
            assert!(node.hit("ip:1", &quota).await.allowed);
        }
        assert!(!a.hit("ip:1", &quota).await.allowed);
        assert!(!b.hit("ip:1", &quota).await.allowed);
        assert_eq!(a.sharing(), Sharing::Shared);

        // the backend goes away: each node still limits on its own
        backend.up.store(false, Ordering::SeqCst);
        for _ in 0..4 {
            assert!(a.hit("ip:2", &quota).await.allowed);
        }
        assert!(!a.hit("ip:2", &quota).await.allowed, "never no limits");
        assert_eq!(a.sharing(), Sharing::Degraded);
        // the node's own earlier requests still count for ip:1 (three of
        // them passed its local counters while shared)
        assert!(a.hit("ip:1", &quota).await.allowed);
        assert!(!a.hit("ip:1", &quota).await.allowed);

        // back: after the retry pause, shared again
        backend.up.store(true, Ordering::SeqCst);
        clock.advance(time::Duration::milliseconds(SHARED_RETRY.as_millis() as i64));
        for node in [&a, &b, &a, &b] {
            assert!(node.hit("ip:3", &quota).await.allowed);
        }
        assert!(!b.hit("ip:3", &quota).await.allowed);
        assert_eq!(a.sharing(), Sharing::Shared);
        assert_eq!(b.sharing(), Sharing::Shared);

        // claims are single-use across nodes
        assert!(a.claim("nonce", Duration::from_secs(60)).await);
        assert!(!b.claim("nonce", Duration::from_secs(60)).await);
        // and counts add up across nodes
        a.count("fail", Duration::from_secs(60), 3).await;
        assert_eq!(b.count("fail", Duration::from_secs(60), 2).await, 5.0);
    }
}
