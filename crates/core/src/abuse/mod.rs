//! Protection against abuse: rate limits, password-guessing defences,
//! proof-of-work challenges and device cookies. HTTP-free: the `http`
//! crate decides where each check applies and how a refusal looks.
//!
//! - [`limiter`]: GCRA rate limits and sliding-window counters, local or
//!   shared (Redis), never falling back to no limits.
//! - [`brute_force`]: per-account failure counters in the store, with
//!   growing delays and a lockout at most 100 failures deep.
//! - [`device`]: signed device cookies that let an account's owner through
//!   while the account is under attack.
//! - [`challenge`]: stateless, single-use proof-of-work puzzles.
//! - [`Guard`]: the limits per class of route and dimension (client IP,
//!   account, the pair), and when challenges are required.
//!
//! Every refusal is logged as a structured event with a stable `event` field
//! (`rate_limit.hit`, `login.throttled`, `account.locked`,
//! `challenge.required`, `challenge.failed`, …) and counted in a metric; the
//! audit log can subscribe to these events.

pub mod brute_force;
pub mod challenge;
pub mod device;
pub mod failures;
pub mod limiter;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use latchkey_tokens::sha256_hex;

use crate::clock::Clock;
use challenge::{Challenge, ChallengeAction, ChallengeError, Challenges};
use limiter::{Decision, Limiter, Quota};

/// The classes of route that get limits of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    /// Endpoints that check a password or a code: login, re-authentication, MFA.
    Login,
    /// Sign-up.
    Register,
    /// Endpoints that send mail: password reset, verification, magic links.
    Mail,
    /// Token endpoints: refresh, OAuth token, introspection, revocation.
    Token,
    /// Everything else under the API.
    Api,
}

impl RouteClass {
    /// Every class.
    pub const ALL: [RouteClass; 5] = [
        RouteClass::Login,
        RouteClass::Register,
        RouteClass::Mail,
        RouteClass::Token,
        RouteClass::Api,
    ];

    /// The name used in keys, headers, logs and settings.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Login => "login",
            RouteClass::Register => "register",
            RouteClass::Mail => "mail",
            RouteClass::Token => "token",
            RouteClass::Api => "api",
        }
    }
}

/// What a limit is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The client IP (IPv6 by /64).
    Ip,
    /// The account (the normalized identifier or email given).
    Account,
    /// The client IP and the account together.
    IpAccount,
}

impl Dimension {
    /// The name used in settings and headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Ip => "ip",
            Dimension::Account => "account",
            Dimension::IpAccount => "ip_account",
        }
    }
}

/// The quotas of one class; a missing one means no limit on that dimension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassLimits {
    /// Per client IP.
    pub ip: Option<Quota>,
    /// Per account.
    pub account: Option<Quota>,
    /// Per client IP and account.
    pub ip_account: Option<Quota>,
}

impl ClassLimits {
    /// The quota of a dimension.
    pub fn get(&self, dimension: Dimension) -> Option<Quota> {
        match dimension {
            Dimension::Ip => self.ip,
            Dimension::Account => self.account,
            Dimension::IpAccount => self.ip_account,
        }
    }
}

impl fmt::Display for ClassLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = [Dimension::Ip, Dimension::Account, Dimension::IpAccount]
            .into_iter()
            .filter_map(|d| self.get(d).map(|q| format!("{}={q}", d.as_str())))
            .collect();
        if parts.is_empty() {
            f.write_str("off")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

impl std::str::FromStr for ClassLimits {
    type Err = String;

    /// `ip=20/min, account=30/min, ip_account=10/min` (any subset), or `off`.
    fn from_str(s: &str) -> Result<ClassLimits, String> {
        let mut limits = ClassLimits::default();
        let s = s.trim();
        if s.is_empty() || s == "off" {
            return Ok(limits);
        }
        for part in s.split(',') {
            let (dim, quota) = part.split_once('=').ok_or_else(|| {
                format!(
                    "`{}`: expected DIMENSION=N/unit, e.g. ip=20/min",
                    part.trim()
                )
            })?;
            let quota: Quota = quota
                .parse()
                .map_err(|e| format!("`{}`: {e}", part.trim()))?;
            let slot = match dim.trim() {
                "ip" => &mut limits.ip,
                "account" => &mut limits.account,
                "ip_account" => &mut limits.ip_account,
                other => {
                    return Err(format!(
                        "unknown dimension `{other}`; expected ip, account or ip_account"
                    ));
                }
            };
            if slot.replace(quota).is_some() {
                return Err(format!("dimension `{}` is given twice", dim.trim()));
            }
        }
        Ok(limits)
    }
}

/// When proof-of-work challenges are required, and how hard they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengePolicy {
    /// Off: never required (the endpoint still issues puzzles).
    pub enabled: bool,
    /// Failed sign-ins plus sign-ups from one IP within [`IP_PRESSURE_WINDOW`]
    /// at which that IP must solve challenges.
    pub ip_threshold: u32,
    /// Failed sign-ins plus sign-ups on the whole server within
    /// [`GLOBAL_PRESSURE_WINDOW`] at which everyone must.
    pub global_threshold: u32,
    /// Leading zero bits at the threshold; one more for each doubling of the
    /// pressure beyond it.
    pub base_difficulty: u8,
    /// The most bits ever required.
    pub max_difficulty: u8,
    /// How long a puzzle may be solved for.
    pub ttl: Duration,
}

impl Default for ChallengePolicy {
    fn default() -> Self {
        ChallengePolicy {
            enabled: true,
            ip_threshold: 10,
            global_threshold: 300,
            base_difficulty: 16,
            max_difficulty: 22,
            ttl: Duration::from_secs(300),
        }
    }
}

/// The window over which one IP's failures and sign-ups are counted.
pub const IP_PRESSURE_WINDOW: Duration = Duration::from_secs(600);
/// The window over which the whole server's are counted.
pub const GLOBAL_PRESSURE_WINDOW: Duration = Duration::from_secs(60);

/// The rate limits of every class, and the challenge policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardConfig {
    /// Off: no rate limits at all.
    pub rate_limits: bool,
    /// Login-class quotas.
    pub login: ClassLimits,
    /// Register-class quotas.
    pub register: ClassLimits,
    /// Mail-class quotas.
    pub mail: ClassLimits,
    /// Token-class quotas.
    pub token: ClassLimits,
    /// Everything else.
    pub api: ClassLimits,
    /// Challenges.
    pub challenge: ChallengePolicy,
}

impl Default for GuardConfig {
    fn default() -> Self {
        let q = |s: &str| s.parse::<ClassLimits>().expect("valid default limits");
        GuardConfig {
            rate_limits: true,
            login: q(DEFAULT_LOGIN),
            register: q(DEFAULT_REGISTER),
            mail: q(DEFAULT_MAIL),
            token: q(DEFAULT_TOKEN),
            api: q(DEFAULT_API),
            challenge: ChallengePolicy::default(),
        }
    }
}

impl GuardConfig {
    /// No rate limits and no challenges (for tests of other features).
    pub fn off() -> GuardConfig {
        GuardConfig {
            rate_limits: false,
            challenge: ChallengePolicy {
                enabled: false,
                ..ChallengePolicy::default()
            },
            ..GuardConfig::default()
        }
    }

    /// The quotas of a class.
    pub fn limits(&self, class: RouteClass) -> &ClassLimits {
        match class {
            RouteClass::Login => &self.login,
            RouteClass::Register => &self.register,
            RouteClass::Mail => &self.mail,
            RouteClass::Token => &self.token,
            RouteClass::Api => &self.api,
        }
    }
}

/// Default login-class quotas.
pub const DEFAULT_LOGIN: &str = "ip=30/min, ip_account=10/min";
/// Default register-class quotas.
pub const DEFAULT_REGISTER: &str = "ip=20/hour, account=10/hour";
/// Default mail-class quotas.
pub const DEFAULT_MAIL: &str = "ip=20/hour, account=5/hour";
/// Default token-class quotas.
pub const DEFAULT_TOKEN: &str = "ip=300/min";
/// Default quotas of everything else.
pub const DEFAULT_API: &str = "ip=1200/min";

/// A refusal (or the state) of one limit, with what it was keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// The class.
    pub class: RouteClass,
    /// The dimension.
    pub dimension: Dimension,
    /// The verdict.
    pub decision: Decision,
}

impl Limited {
    /// The policy name in RateLimit headers: `<class>_<dimension>`.
    pub fn policy_name(&self) -> String {
        format!("{}_{}", self.class.as_str(), self.dimension.as_str())
    }
}

/// Why a request must (still) solve a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeDemand {
    /// What was wrong with the solution sent (`Missing` if none).
    pub error: ChallengeError,
    /// A fresh puzzle to solve.
    pub challenge: Challenge,
}

/// The limits and challenges in force (see the module docs).
pub struct Guard {
    limiter: Arc<Limiter>,
    config: GuardConfig,
    challenges: Challenges,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("config", &self.config)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// The key of a client IP: IPv4 addresses as they are, IPv6 by their /64
/// (one subscriber usually holds a whole /64), IPv4-mapped IPv6 as IPv4.
pub fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The key of an account identifier: a hash, so that shared counters never
/// hold email addresses.
fn account_key(account: &str) -> String {
    sha256_hex(account.trim().to_lowercase().as_bytes())[..32].to_owned()
}

impl Guard {
    /// The guard over `limiter`; challenge keys derive from the master key.
    pub fn new(
        limiter: Arc<Limiter>,
        config: GuardConfig,
        master_key: &[u8; 32],
        clock: Arc<dyn Clock>,
    ) -> Guard {
        Guard {
            limiter,
            config,
            challenges: Challenges::new(master_key),
            clock,
        }
    }

    /// A guard whose challenges are signed with a random key (puzzles do not
    /// survive a restart nor work across nodes): for tests and tools.
    pub fn with_random_key(
        limiter: Arc<Limiter>,
        config: GuardConfig,
        clock: Arc<dyn Clock>,
    ) -> Guard {
        Guard::new(
            limiter,
            config,
            &latchkey_tokens::random_bytes::<32>(),
            clock,
        )
    }

    /// The configuration.
    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// The limiter.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// Counts one request of `class` on `dimension`; `None` when that
    /// dimension has no quota (or rate limits are off). A refusal is logged
    /// and counted.
    pub async fn check(
        &self,
        class: RouteClass,
        dimension: Dimension,
        ip: Option<IpAddr>,
        account: Option<&str>,
    ) -> Option<Limited> {
        if !self.config.rate_limits {
            return None;
        }
        let quota = self.config.limits(class).get(dimension)?;
        let key = match (dimension, ip, account) {
            (Dimension::Ip, Some(ip), _) => format!("rl:{}:ip:{}", class.as_str(), ip_key(ip)),
            (Dimension::Account, _, Some(a)) => {
                format!("rl:{}:acct:{}", class.as_str(), account_key(a))
            }
            (Dimension::IpAccount, Some(ip), Some(a)) => format!(
                "rl:{}:pair:{}:{}",
                class.as_str(),
                ip_key(ip),
                account_key(a)
            ),
            _ => return None,
        };
        let decision = self.limiter.hit(&key, &quota).await;
        let limited = Limited {
            class,
            dimension,
            decision,
        };
        if !decision.allowed {
            metrics::counter!("latchkey_rate_limited_total", "class" => class.as_str(), "dimension" => dimension.as_str()).increment(1);
            tracing::warn!(
                event = "rate_limit.hit",
                class = class.as_str(),
                dimension = dimension.as_str(),
                client_ip = ip.map(ip_key).as_deref(),
                quota = %quota,
                retry_after_secs = decision.retry_after_secs(),
                "rate limit reached"
            );
        }
        Some(limited)
    }

    /// Records failed sign-ins or sign-ups from `ip`: the pressure that
    /// makes challenges required.
    pub async fn record_pressure(&self, ip: Option<IpAddr>, events: u64) {
        if let Some(ip) = ip {
            self.limiter
                .count(&format!("p:ip:{}", ip_key(ip)), IP_PRESSURE_WINDOW, events)
                .await;
        }
        self.limiter
            .count("p:all", GLOBAL_PRESSURE_WINDOW, events)
            .await;
    }

    /// The leading zero bits a request from `ip` must solve now (0: none).
    pub async fn required_difficulty(&self, ip: Option<IpAddr>) -> u8 {
        let policy = &self.config.challenge;
        if !policy.enabled {
            return 0;
        }
        let ip_ratio = match ip {
            Some(ip) => {
                self.limiter
                    .count(&format!("p:ip:{}", ip_key(ip)), IP_PRESSURE_WINDOW, 0)
                    .await
                    / f64::from(policy.ip_threshold.max(1))
            }
            None => 0.0,
        };
        let global = self.limiter.count("p:all", GLOBAL_PRESSURE_WINDOW, 0).await
            / f64::from(policy.global_threshold.max(1));
        difficulty_for(ip_ratio.max(global), policy)
    }

    /// A puzzle for `action` at `difficulty` (at least the base difficulty).
    pub fn issue_challenge(&self, action: ChallengeAction, difficulty: u8) -> Challenge {
        let policy = &self.config.challenge;
        let difficulty = difficulty.max(policy.base_difficulty);
        metrics::counter!("latchkey_challenges_total", "outcome" => "issued").increment(1);
        self.challenges.issue(
            action,
            difficulty,
            self.clock.now(),
            time::Duration::try_from(policy.ttl).unwrap_or(time::Duration::minutes(5)),
        )
    }

    /// Lets a request from `ip` through when no challenge is required, or
    /// when `solution` solves one (once); otherwise says why and hands out
    /// a fresh puzzle.
    pub async fn demand_challenge(
        &self,
        action: ChallengeAction,
        ip: Option<IpAddr>,
        solution: Option<&str>,
    ) -> Result<(), Box<ChallengeDemand>> {
        let required = self.required_difficulty(ip).await;
        if required == 0 {
            return Ok(());
        }
        let client_ip = ip.map(ip_key);
        let result = match solution {
            None => Err(ChallengeError::Missing),
            Some(s) => match self.challenges.check(s, action, required, self.clock.now()) {
                Ok(checked) => {
                    let ttl = (checked.expires_at - self.clock.now()).max(time::Duration::SECOND);
                    let ttl = Duration::try_from(ttl).unwrap_or(Duration::from_secs(1));
                    if self
                        .limiter
                        .claim(&format!("pow:{}", checked.nonce), ttl)
                        .await
                    {
                        Ok(())
                    } else {
                        Err(ChallengeError::Reused)
                    }
                }
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(()) => {
                metrics::counter!("latchkey_challenges_total", "outcome" => "passed").increment(1);
                tracing::info!(
                    event = "challenge.passed",
                    action = action.as_str(),
                    client_ip = client_ip.as_deref(),
                    difficulty = required,
                    "challenge solved"
                );
                Ok(())
            }
            Err(error) => {
                let (outcome, event) = if error == ChallengeError::Missing {
                    ("required", "challenge.required")
                } else {
                    ("failed", "challenge.failed")
                };
                metrics::counter!("latchkey_challenges_total", "outcome" => outcome).increment(1);
                tracing::warn!(event, action = action.as_str(), client_ip = client_ip.as_deref(), difficulty = required, reason = %error, "proof-of-work challenge demanded");
                Err(Box::new(ChallengeDemand {
                    error,
                    challenge: self.issue_challenge(action, required),
                }))
            }
        }
    }
}

/// The bits required at a pressure `ratio` (events / threshold).
pub fn difficulty_for(ratio: f64, policy: &ChallengePolicy) -> u8 {
    if ratio.is_nan() || ratio < 1.0 {
        return 0;
    }
    let extra = ratio.log2().floor().min(64.0) as u8;
    policy
        .base_difficulty
        .saturating_add(extra)
        .min(policy.max_difficulty)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn class_limits_parse_and_print() {
        let l: ClassLimits = "ip=20/min, ip_account=10/min".parse().unwrap();
        assert_eq!(l.ip, Some("20/min".parse().unwrap()));
        assert_eq!(l.account, None);
        assert_eq!(l.to_string(), "ip=20/min, ip_account=10/min");
        assert_eq!(
            "off".parse::<ClassLimits>().unwrap(),
            ClassLimits::default()
        );
        assert_eq!(ClassLimits::default().to_string(), "off");
        for bad in ["ip", "ip=0/min", "host=1/min", "ip=1/min, ip=2/min"] {
            assert!(bad.parse::<ClassLimits>().is_err(), "{bad}");
        }
        for text in [
            DEFAULT_LOGIN,
            DEFAULT_REGISTER,
            DEFAULT_MAIL,
            DEFAULT_TOKEN,
            DEFAULT_API,
        ] {
            assert_eq!(text.parse::<ClassLimits>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        assert_ne!(ip_key(a), ip_key(c));
        assert_eq!(ip_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
    }

    #[test]
    fn difficulty_grows_with_pressure() {
        let p = ChallengePolicy::default();
        for (ratio, bits) in [
            (0.0, 0),
            (0.99, 0),
            (1.0, 16),
            (1.9, 16),
            (2.0, 17),
            (8.0, 19),
            (1e9, 22),
            (f64::NAN, 0),
        ] {
            assert_eq!(difficulty_for(ratio, &p), bits, "{ratio}");
        }
    }

    #[tokio::test]
    async fn a_surge_from_one_ip_demands_challenges_of_it_only() {
        let clock = Arc::new(ManualClock::at_unix(1_800_000_000));
        let guard = Guard::new(
            Arc::new(Limiter::local(clock.clone(), 10_000)),
            GuardConfig {
                challenge: ChallengePolicy {
                    ip_threshold: 4,
                    base_difficulty: 6,
                    ..ChallengePolicy::default()
                },
                ..GuardConfig::default()
            },
            &[3; 32],
            clock.clone(),
        );
        let noisy: IpAddr = "198.51.100.1".parse().unwrap();
        let quiet: IpAddr = "198.51.100.2".parse().unwrap();
        assert!(
            guard
                .demand_challenge(ChallengeAction::Login, Some(noisy), None)
                .await
                .is_ok()
        );
        guard.record_pressure(Some(noisy), 4).await;
        assert_eq!(guard.required_difficulty(Some(noisy)).await, 6);
        assert_eq!(guard.required_difficulty(Some(quiet)).await, 0);
        let demand = guard
            .demand_challenge(ChallengeAction::Login, Some(noisy), None)
            .await
            .unwrap_err();
        assert_eq!(demand.error, ChallengeError::Missing);
        let solution = challenge::solve(&demand.challenge.token, demand.challenge.difficulty);
        assert!(
            guard
                .demand_challenge(ChallengeAction::Login, Some(noisy), Some(&solution))
                .await
                .is_ok()
        );
        let again = guard
            .demand_challenge(ChallengeAction::Login, Some(noisy), Some(&solution))
            .await
            .unwrap_err();
        assert_eq!(again.error, ChallengeError::Reused);
        // the pressure fades with the window
        clock.advance(time::Duration::minutes(21));
        assert_eq!(guard.required_difficulty(Some(noisy)).await, 0);
    }
}
