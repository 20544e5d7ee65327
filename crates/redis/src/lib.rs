//! Shared rate-limit counters on Redis, so that several latchkey nodes
//! enforce one limit.
//!
//! Design decisions:
//! - **The maintained `redis` crate**, without its default features: the
//!   tokio client, its `ConnectionManager` (one multiplexed connection,
//!   replaced when it breaks), `Script` (`EVALSHA`, loading the script when
//!   the server does not know it), and `rediss://` on rustls with aws-lc-rs
//!   (the stack the SMTP transport uses) and the system's CA roots, or only
//!   the CAs of `redis.ca_file`. The crate parses the URL, so a user name or
//!   password with `@`, `:` or `%` is written percent-encoded and reaches
//!   Redis decoded (ACL users of managed Redis).
//! - **Atomic by script.** The GCRA step and the sliding-window count are
//!   short Lua scripts, so each check is one round trip and atomic across
//!   nodes. Time comes from the caller (the node's clock), which keeps tests
//!   deterministic; nodes' clocks only need to agree to within a fraction of
//!   the shortest quota interval.
//! - **Fail fast, decide elsewhere.** Every operation has a timeout (connect
//!   included) and the manager makes one connection attempt, no retries of
//!   its own: any error is reported to the core `Limiter`, which then
//!   enforces local limits and tries Redis again a little later. The manager
//!   connects lazily, so an unreachable server is reported by the first
//!   operation, not at start-up.
//! - Not supported: Redis Cluster and Sentinel, client certificates, and
//!   turning certificate checks off (`#insecure` is refused).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::abuse::limiter::{CounterBackend, CounterError, Decision, Quota, from_reset};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{
    Client, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, Script,
    TlsCertificates,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::OnceCell;

/// One GCRA step (see `latchkey_core::abuse::limiter::gcra`): returns
/// {allowed, reset_ms, retry_after_ms}.
const GCRA: &str = r"
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local new = tat + t
if new - now > period then
  return {0, tat - now, new - now - period}
end
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', string.format('%.0f', new - now))
return {1, new - now, 0}
";

/// Adds to the current fixed window (KEYS[1]) and reads the previous one
/// (KEYS[2]): returns {current, previous}.
const WINDOW: &str = r"
local add = tonumber(ARGV[1])
local c
if add > 0 then
  c = redis.call('INCRBY', KEYS[1], add)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  c = tonumber(redis.call('GET', KEYS[1]) or '0')
end
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
return {c, p}
";

/// Where and how to reach Redis: a URL parsed by the `redis` crate, checked
/// here, and the CAs to trust for `rediss://`.
#[derive(Clone)]
pub struct RedisConfig {
    info: ConnectionInfo,
    ca_pem: Option<Vec<u8>>,
    /// Prepended to every key.
    pub key_prefix: String,
    /// Limit on connecting and on each command.
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("address", &self.address())
            .field("tls", &self.tls())
            .field("username", &self.username())
            .field("password", &self.password().map(|_| "<redacted>"))
            .field("database", &self.database())
            .field("ca_file", &self.ca_pem.as_ref().map(|_| "<set>"))
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisConfig {
    /// Parses `redis[s]://[[USER]:PASSWORD@]HOST[:PORT][/DB]`; the user name
    /// and password are percent-decoded.
    pub fn from_url(url: &str, key_prefix: &str, timeout: Duration) -> Result<RedisConfig, String> {
        let url = url.trim();
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(
                "expected a URL such as redis://127.0.0.1:6379/0 or rediss://HOST:6380/0".into(),
            );
        }
        let info = url
            .into_connection_info()
            .map_err(|e| format!("not a Redis URL: {}", e.detail().unwrap_or("invalid")))?;
        let (host, port) = match info.addr() {
            ConnectionAddr::Tcp(host, port) => (host, *port),
            ConnectionAddr::TcpTls { insecure: true, .. } => {
                return Err("`#insecure` would turn off TLS certificate checks; latchkey always checks them (trust a private CA with redis.ca_file)".into());
            }
            ConnectionAddr::TcpTls { host, port, .. } => (host, *port),
            _ => return Err("expected a TCP address".into()),
        };
        if host.is_empty() {
            return Err("the Redis URL has no host".into());
        }
        if port == 0 {
            return Err("the Redis URL has an invalid port".into());
        }
        let db = info.redis_settings().db();
        if u32::try_from(db).is_err() {
            return Err(format!("`{db}` is not a database number"));
        }
        // no `CLIENT SETINFO` at connect: one command less an ACL must allow
        let redis = info.redis_settings().clone().set_skip_set_lib_name();
        Ok(RedisConfig {
            info: info.set_redis_settings(redis),
            ca_pem: None,
            key_prefix: key_prefix.to_owned(),
            timeout,
        })
    }

    /// Trusts the CA certificates of a PEM file for `rediss://`, instead of
    /// the system's roots.
    pub fn with_ca_file(mut self, path: &Path) -> Result<RedisConfig, String> {
        if !self.tls() {
            return Err("a CA file applies to rediss:// URLs only".into());
        }
        let pem = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not a PEM file of certificates: {e}"))?;
        if certificates.is_empty() {
            return Err("no certificate in it; expected a PEM file of CA certificates".into());
        }
        self.ca_pem = Some(pem);
        self.client()?;
        Ok(self)
    }

    /// `HOST:PORT` (`[V6]:PORT`), as in messages.
    pub fn address(&self) -> String {
        match self.info.addr() {
            ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. }
                if host.contains(':') =>
            {
                format!("[{host}]:{port}")
            }
            ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
                format!("{host}:{port}")
            }
            other => format!("{other:?}"),
        }
    }

    /// Whether the connection is TLS (`rediss://`).
    pub fn tls(&self) -> bool {
        matches!(self.info.addr(), ConnectionAddr::TcpTls { .. })
    }

    /// The ACL user name, if any.
    pub fn username(&self) -> Option<&str> {
        self.info.redis_settings().username()
    }

    /// The password, if any (never print it).
    pub fn password(&self) -> Option<&str> {
        self.info.redis_settings().password()
    }

    /// The database number (`SELECT`).
    pub fn database(&self) -> u32 {
        u32::try_from(self.info.redis_settings().db()).unwrap_or_default()
    }

    fn client(&self) -> Result<Client, String> {
        let client = match &self.ca_pem {
            Some(pem) => Client::build_with_tls(
                self.info.clone(),
                TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
            None => Client::open(self.info.clone()),
        };
        client.map_err(|e| format!("unusable Redis settings: {e}"))
    }
}

/// The counters on one Redis server.
pub struct RedisCounters {
    config: RedisConfig,
    manager: OnceCell<ConnectionManager>,
    gcra: Script,
    window: Script,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn err(what: impl std::fmt::Display) -> CounterError {
    CounterError(what.to_string())
}

impl RedisCounters {
    /// Counters on the configured server. Connects lazily: an unreachable
    /// server is reported by the first operation, not here.
    pub fn new(config: RedisConfig) -> RedisCounters {
        RedisCounters {
            config,
            manager: OnceCell::new(),
            gcra: Script::new(GCRA),
            window: Script::new(WINDOW),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// A round trip (`PING`).
    pub async fn ping(&self) -> Result<(), CounterError> {
        let pong: String = self
            .run(|mut c| async move { redis::cmd("PING").query_async(&mut c).await })
            .await?;
        match pong.as_str() {
            "PONG" => Ok(()),
            other => Err(err(format!("unexpected answer to PING: {other:?}"))),
        }
    }

    /// The connection manager, made on first use (it needs the runtime).
    async fn manager(&self) -> Result<ConnectionManager, CounterError> {
        self.manager
            .get_or_try_init(|| async {
                let settings = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.config.timeout))
                    .set_response_timeout(Some(self.config.timeout))
                    .set_number_of_retries(0);
                let client = self.config.client().map_err(err)?;
                ConnectionManager::new_lazy_with_config(client, settings)
                    .map_err(|e| self.describe(&e))
            })
            .await
            .cloned()
    }

    /// Runs one operation within the timeout. A refused connection means
    /// nothing was sent: the manager has started a fresh attempt, which the
    /// operation waits for once (a server back after an outage answers the
    /// first request, not the second).
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, CounterError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let work = async {
            let manager = self.manager().await?;
            match op(manager.clone()).await {
                Err(e) if e.is_connection_refusal() => op(manager).await,
                other => other,
            }
            .map_err(|e| self.describe(&e))
        };
        tokio::time::timeout(self.config.timeout, work)
            .await
            .map_err(|_| self.no_answer())?
    }

    fn no_answer(&self) -> CounterError {
        err(format!(
            "no answer from {} within {:?}",
            self.config.address(),
            self.config.timeout
        ))
    }

    fn describe(&self, e: &RedisError) -> CounterError {
        let address = self.config.address();
        if e.is_connection_refusal() {
            err(format!("cannot connect to {address}: {e}"))
        } else if e.kind() == ErrorKind::AuthenticationFailed {
            err(format!(
                "{address} refused the credentials (the user name and password of the URL): {e}"
            ))
        } else if e.is_timeout() {
            self.no_answer()
        } else if e.is_io_error() || e.is_unrecoverable_error() {
            err(format!("the connection to {address} failed: {e}"))
        } else {
            err(format!("Redis refused the command: {e}"))
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.config.key_prefix)
    }
}

fn ints<const N: usize>(reply: Vec<i64>) -> Result<[i64; N], CounterError> {
    <[i64; N]>::try_from(reply).map_err(|v| err(format!("unexpected script answer: {v:?}")))
}

#[async_trait]
impl CounterBackend for RedisCounters {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn gcra(&self, key: &str, quota: &Quota, now_ms: i64) -> Result<Decision, CounterError> {
        let key = self.key(key);
        let t = quota.emission_ms();
        let period = t * i64::from(quota.limit.max(1));
        let reply = self
            .run(|mut c| {
                let mut call = self.gcra.key(&key);
                call.arg(now_ms).arg(t).arg(period);
                async move { call.invoke_async(&mut c).await }
            })
            .await?;
        let [allowed, reset_ms, retry_after_ms] = ints(reply)?;
        if allowed == 1 {
            Ok(from_reset(quota, reset_ms))
        } else {
            Ok(Decision {
                allowed: false,
                quota: *quota,
                remaining: 0,
                reset_ms,
                retry_after_ms,
            })
        }
    }

    async fn window_add(
        &self,
        key: &str,
        window_ms: i64,
        add: u64,
        now_ms: i64,
    ) -> Result<(u64, u64), CounterError> {
        let index = now_ms.div_euclid(window_ms.max(1));
        let current = self.key(&format!("{key}:{index}"));
        let previous = self.key(&format!("{key}:{}", index - 1));
        let reply = self
            .run(|mut c| {
                let mut call = self.window.key(&current);
                call.key(&previous).arg(add).arg(window_ms * 2);
                async move { call.invoke_async(&mut c).await }
            })
            .await?;
        let [c, p] = ints(reply)?;
        Ok((c.max(0) as u64, p.max(0) as u64))
    }

    async fn claim(&self, key: &str, ttl_ms: i64, _now_ms: i64) -> Result<bool, CounterError> {
        let key = self.key(key);
        let ttl = ttl_ms.max(1);
        // `SET … NX` answers OK when it set the key, nil when it existed
        let set: Option<String> = self
            .run(|mut c| {
                let mut cmd = redis::cmd("SET");
                cmd.arg(&key).arg(1).arg("NX").arg("PX").arg(ttl);
                async move { cmd.query_async(&mut c).await }
            })
            .await?;
        match set.as_deref() {
            Some("OK") => Ok(true),
            None => Ok(false),
            Some(other) => Err(err(format!("unexpected answer to SET NX: {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let t = Duration::from_millis(250);
        for (url, address, user, pass, db) in [
            ("redis://127.0.0.1:6380/2", "127.0.0.1:6380", None, None, 2),
            (
                "redis://cache.internal",
                "cache.internal:6379",
                None,
                None,
                0,
            ),
            (
                "redis://:s3cret@10.0.0.5/",
                "10.0.0.5:6379",
                None,
                Some("s3cret"),
                0,
            ),
            (
                "redis://app:pw@[::1]:7000/1",
                "[::1]:7000",
                Some("app"),
                Some("pw"),
                1,
            ),
            ("redis://[::1]", "[::1]:6379", None, None, 0),
        ] {
            let c = RedisConfig::from_url(url, "lk:", t).unwrap();
            assert_eq!(c.address(), address, "{url}");
            assert_eq!(c.username(), user, "{url}");
            assert_eq!(c.password(), pass, "{url}");
            assert_eq!(c.database(), db, "{url}");
        }
        for bad in [
            "rediss://h/#insecure",
            "http://h",
            "redis://",
            "redis://h:0",
            "redis://h:99999",
            "redis://h/x",
            "redis://h/-1",
            "valkey://h",
            "redis+unix:///tmp/redis.sock",
        ] {
            assert!(RedisConfig::from_url(bad, "", t).is_err(), "{bad}");
        }
        let c = RedisConfig::from_url("redis://:topsecret@h", "", t).unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
    }

    #[test]
    fn credentials_are_percent_decoded_and_tls_is_read_from_the_scheme() {
        let t = Duration::from_millis(250);
        for (url, user, pass, tls) in [
            ("redis://user:p%40ss@host", "user", "p@ss", false),
            (
                "rediss://app%3Arw:pa%40ss%25word@cache:6380/3",
                "app:rw",
                "pa@ss%word",
                true,
            ),
            // an unencoded `@` in the password: the last `@` ends the user info
            ("rediss://u:a@b@h", "u", "a@b", true),
        ] {
            let c = RedisConfig::from_url(url, "", t).unwrap();
            assert_eq!(
                (c.username(), c.password(), c.tls()),
                (Some(user), Some(pass), tls),
                "{url}"
            );
            assert!(!format!("{c:?}").contains(pass), "{url}");
        }
    }

    #[test]
    fn a_ca_file_must_hold_certificates_and_needs_rediss() {
        let t = Duration::from_millis(250);
        let dir = std::env::temp_dir().join(format!("lk-redis-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let tls = RedisConfig::from_url("rediss://h", "", t).unwrap();
        for (config, path, words) in [
            (tls.clone(), dir.join("missing.pem"), "cannot read"),
            (tls, garbage.clone(), "no certificate"),
            (
                RedisConfig::from_url("redis://h", "", t).unwrap(),
                garbage,
                "rediss://",
            ),
        ] {
            let e = config.with_ca_file(&path).unwrap_err();
            assert!(e.contains(words), "{path:?}: {e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
