//! Online guessing of passwords: per-account failure counters with growing
//! delays and a lockout, kept in the store so that every node sees them.
//!
//! Design decisions:
//! - **Charge first, refund on success.** Each password check is counted as
//!   a failure *before* the hash is computed (a compare-and-set on the stored
//!   count) and the count is cleared when the password is right. However many
//!   requests race, no more than the threshold of checks can ever run between
//!   two successes: the 101st guess is refused without a hash.
//! - **Delays before the lockout.** The first [`BruteForcePolicy::free_attempts`]
//!   failures cost nothing; after that each failure makes the next check wait
//!   1 s, 2 s, 4 s … up to [`BruteForcePolicy::max_delay`]. At
//!   [`BruteForcePolicy::lockout_threshold`] consecutive failures (at most
//!   100, per NIST SP 800-63B) the account is locked: no further password is
//!   checked from an unknown device until the owner signs in from a known
//!   device, resets the password, or an administrator unlocks it.
//! - **The owner is not locked out by the attacker**: a sign-in with a valid
//!   device cookie for the account is counted against that device's own small
//!   budget ([`BruteForcePolicy::device_attempts`]) and ignores the account's
//!   delays and lock; its success clears the account's counter too.
//! - **No enumeration.** Unknown identifiers get counters of their own (keyed
//!   by a hash of the normalized identifier) and behave exactly like accounts.
//! - **Forgetting.** A counter that is not locked starts again from zero once
//!   its last failure is older than [`BruteForcePolicy::reset_after`]; such
//!   rows are purged by a background job. Locked rows stay until cleared.

use std::time::Duration;

use time::OffsetDateTime;

use crate::store::{LoginFailureStore, StoreError};

/// The rules for password guessing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BruteForcePolicy {
    /// Off: no counting at all (tests of other features only).
    pub enabled: bool,
    /// Consecutive failures allowed before delays start.
    pub free_attempts: u32,
    /// The longest delay between two checks.
    pub max_delay: Duration,
    /// Consecutive failures that lock the account (1 to 100).
    pub lockout_threshold: u32,
    /// An unlocked counter whose last failure is older starts again from
    /// zero (zero: never).
    pub reset_after: Duration,
    /// Failures allowed from one known device before its cookie stops
    /// helping.
    pub device_attempts: u32,
}

impl Default for BruteForcePolicy {
    fn default() -> Self {
        BruteForcePolicy {
            enabled: true,
            free_attempts: 5,
            max_delay: Duration::from_secs(15 * 60),
            lockout_threshold: 100,
            reset_after: Duration::from_secs(24 * 3600),
            device_attempts: 10,
        }
    }
}

impl BruteForcePolicy {
    /// The wait imposed after `failures` consecutive failures.
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures <= self.free_attempts {
            return Duration::ZERO;
        }
        let exp = (failures - self.free_attempts - 1).min(30);
        Duration::from_secs(1u64 << exp).min(self.max_delay)
    }
}

pub use super::failures::LoginFailures;

/// The outcome of charging one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// The password may be checked; this is failure number `failures` if it
    /// turns out wrong, and `locks` says whether that locks the key.
    Allowed {
        /// The count after this attempt.
        failures: u32,
        /// Whether this attempt reached the threshold.
        locks: bool,
    },
    /// Too soon after the last failure.
    Throttled {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The threshold has been reached.
    Locked,
}

/// Compare-and-set retries before giving up under contention.
const CAS_ATTEMPTS: usize = 16;

/// Charges one attempt against `key`, allowing at most `limit` consecutive
/// failures, with delays when `with_delays`.
pub async fn charge(
    store: &dyn LoginFailureStore,
    key: &str,
    policy: &BruteForcePolicy,
    limit: u32,
    with_delays: bool,
    now: OffsetDateTime,
) -> Result<Charge, StoreError> {
    for _ in 0..CAS_ATTEMPTS {
        let current = store.login_failures(key).await?;
        let expected = current.as_ref().map_or(0, |r| r.failures);
        let mut failures = expected;
        if let Some(r) = &current {
            if r.locked_at.is_some() || r.failures >= limit {
                return Ok(Charge::Locked);
            }
            let forgotten = !policy.reset_after.is_zero()
                && now - r.last_failure_at
                    >= time::Duration::try_from(policy.reset_after).unwrap_or(time::Duration::MAX);
            if forgotten {
                failures = 0;
            } else if with_delays && now < r.next_attempt_at {
                let wait = r.next_attempt_at - now;
                return Ok(Charge::Throttled {
                    retry_after: Duration::try_from(wait).unwrap_or(Duration::from_secs(1)),
                });
            }
        }
        let failures = failures + 1;
        let delay = if with_delays {
            policy.delay_after(failures)
        } else {
            Duration::ZERO
        };
        let locks = failures >= limit;
        let row = LoginFailures {
            key: key.to_owned(),
            failures,
            last_failure_at: now,
            next_attempt_at: now + time::Duration::try_from(delay).unwrap_or(time::Duration::MAX),
            locked_at: locks.then_some(now),
        };
        if store.swap_login_failures(key, expected, &row).await? {
            return Ok(Charge::Allowed { failures, locks });
        }
    }
    // Many attempts racing on one key: an attack; refuse this one.
    Ok(Charge::Throttled {
        retry_after: Duration::from_secs(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap() {
        let p = BruteForcePolicy::default();
        let secs: Vec<u64> = (0..=20).map(|f| p.delay_after(f).as_secs()).collect();
        assert_eq!(
            secs,
            [
                0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900, 900
            ]
        );
        assert_eq!(p.delay_after(u32::MAX), Duration::from_secs(900));
    }
}
