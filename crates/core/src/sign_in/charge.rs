//! Charging a check of a password the user knows to the failure counters
//! (sign-in, re-authentication, password change): before the hash, so a
//! throttled or locked account costs an attacker nothing but a refusal.

use time::OffsetDateTime;

use super::SignInError;
use crate::abuse::brute_force::{self, Charge};
use crate::abuse::device::KnownDevice;
use crate::audit::{AuditEvent, EventType};
use crate::auth::Context;
use crate::client_info::ClientInfo;
use crate::password::Password;
use crate::store::StoreError;

impl Context {
    /// Charges an attempt to the known device (if it still has budget) or
    /// else to the account; `None` when brute-force protection is off.
    pub(crate) async fn charge_attempt(
        &self,
        account_key: &str,
        device: Option<&KnownDevice>,
        now: OffsetDateTime,
    ) -> Result<Option<Charged>, SignInError> {
        let policy = &self.protection.brute_force;
        if !policy.enabled {
            return Ok(None);
        }
        let store = self.store.as_ref();
        if let Some(d) = device {
            let key = format!("device:{}", d.device_id);
            match brute_force::charge(store, &key, policy, policy.device_attempts, false, now)
                .await?
            {
                Charge::Allowed { failures, locks } => {
                    return Ok(Some(Charged {
                        key,
                        failures,
                        locks,
                        now,
                    }));
                }
                _ => tracing::info!(
                    event = "device.exhausted",
                    user_id = %d.user_id,
                    "a known device used up its failed sign-ins: treated as unknown"
                ),
            }
        }
        match brute_force::charge(
            store,
            account_key,
            policy,
            policy.lockout_threshold,
            true,
            now,
        )
        .await?
        {
            Charge::Allowed { failures, locks } => Ok(Some(Charged {
                key: account_key.to_owned(),
                failures,
                locks,
                now,
            })),
            Charge::Throttled { retry_after } => {
                metrics::counter!("latchkey_login_throttled_total").increment(1);
                tracing::warn!(
                    event = "login.throttled",
                    user_id = account_key.strip_prefix("user:"),
                    retry_after_secs = retry_after.as_secs(),
                    "sign-in refused without a check: too soon after the last failures"
                );
                Err(SignInError::Throttled {
                    retry_after_secs: u32::try_from(retry_after.as_secs().max(1))
                        .unwrap_or(u32::MAX)
                        .saturating_add(u32::from(retry_after.subsec_nanos() > 0)),
                })
            }
            Charge::Locked => {
                metrics::counter!("latchkey_login_locked_refusals_total").increment(1);
                tracing::warn!(
                    event = "login.locked",
                    user_id = account_key.strip_prefix("user:"),
                    "sign-in refused without a check: the account is locked"
                );
                Err(SignInError::AccountLocked)
            }
        }
    }

    /// Takes back a charge whose password could not be checked (a full
    /// hashing queue), if nothing else happened to the counter since.
    pub(crate) async fn refund(&self, c: &Charged) {
        let Ok(Some(row)) = self.store.login_failures(&c.key).await else {
            return;
        };
        if row.failures != c.failures || row.last_failure_at != c.now {
            return;
        }
        let result = if c.failures <= 1 {
            self.store.clear_login_failures(&c.key).await.map(|_| ())
        } else {
            let back = brute_force::LoginFailures {
                failures: c.failures - 1,
                locked_at: None,
                next_attempt_at: c.now,
                ..row
            };
            self.store
                .swap_login_failures(&c.key, c.failures, &back)
                .await
                .map(|_| ())
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not take back a failed-sign-in charge");
        }
    }

    /// Stores `password` hashed under today's parameters in place of
    /// `verified`, the hash it was checked against, unless the password
    /// changed meanwhile (a reset that raced this sign-in wins).
    pub(crate) async fn rehash(&self, user_id: &str, verified: &str, password: &str) {
        // the stored password may predate the current policy: rehash it as it is
        match self.hasher.hash(Password::for_verification(password)).await {
            Ok(hash) => match self
                .store
                .set_password_hash(user_id, verified, &hash, self.now())
                .await
            {
                Ok(()) => {}
                Err(StoreError::NotFound) => {
                    tracing::info!(user_id, "the password changed during sign-in: not rehashed");
                }
                Err(e) => tracing::warn!(error = %e, "could not store the rehashed password"),
            },
            Err(e) => tracing::warn!(error = %e, "could not rehash the password"),
        }
    }
}

/// An attempt charged against a failure counter.
#[derive(Debug)]
pub(crate) struct Charged {
    pub(crate) key: String,
    pub(crate) failures: u32,
    pub(crate) locks: bool,
    pub(crate) now: OffsetDateTime,
}

impl Charged {
    /// Logs and counts the lock when this failed attempt reached the threshold.
    pub(crate) fn note_lock(&self) {
        if !self.locks {
            return;
        }
        metrics::counter!("latchkey_lockouts_total", "scope" => self.scope()).increment(1);
        tracing::warn!(
            event = "account.locked",
            scope = self.scope(),
            user_id = self.key.strip_prefix("user:"),
            failures = self.failures,
            "consecutive failed sign-ins reached the threshold: no more passwords are checked for it until it is cleared"
        );
    }

    pub(crate) fn scope(&self) -> &'static str {
        match self.key.split_once(':').map(|(k, _)| k) {
            Some("device") => "device",
            Some("ident") => "unknown_identifier",
            _ => "account",
        }
    }
}

/// A `login.failed` audit event; the subject is recorded only for an
/// existing account, never the identifier typed for an unknown one.
pub(crate) fn login_failed(
    now: OffsetDateTime,
    client: &ClientInfo,
    subject: Option<&str>,
    reason: &str,
) -> AuditEvent {
    let mut e = AuditEvent::new(EventType::LoginFailed, now, client).reason(reason);
    if let Some(id) = subject {
        e = e.subject(id);
    }
    e
}
