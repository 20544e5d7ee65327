//! Shared rate-limit counters on Redis, so that several latchkey nodes
//! enforce one limit.
//!
//! Design decisions:
//! - **A small client of our own.** latchkey needs three commands (`EVAL`,
//!   `SET … NX PX`, `PING`, plus `AUTH`/`SELECT` at connect). The `redis`
//!   crate with its tokio support brings combine, tokio-util, futures and
//!   more for that; this crate is a few hundred lines of RESP2 over tokio's
//!   `TcpStream` (readiness plus `try_read`/`try_write`, so it needs no extra
//!   tokio features) and builds in seconds.
//! - **Atomic by script.** The GCRA step and the sliding-window count are
//!   short Lua scripts run with `EVAL` (Redis caches them by digest), so each
//!   check is one round trip and atomic across nodes. Time comes from the
//!   caller (the node's clock), which keeps tests deterministic; nodes' clocks
//!   only need to agree to within a fraction of the shortest quota interval.
//! - **Fail fast.** Every operation has a timeout (connect included); any
//!   error drops the connection and is reported to the core `Limiter`, which
//!   then enforces local limits and tries Redis again a little later. Idle
//!   connections are pooled (up to [`MAX_IDLE`]).
//! - Not supported: TLS (`rediss://`), Redis Cluster and Sentinel.

mod resp;

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::abuse::limiter::{CounterBackend, CounterError, Decision, Quota, from_reset};
use tokio::net::TcpStream;

use resp::{Reply, read_reply, write_command};

/// Idle connections kept for reuse.
pub const MAX_IDLE: usize = 16;

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

/// Where and how to reach Redis.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `host:port`.
    pub address: String,
    /// `AUTH` user (Redis 6 ACLs), if any.
    pub username: Option<String>,
    /// `AUTH` password, if any.
    pub password: Option<String>,
    /// Database number (`SELECT`).
    pub database: u32,
    /// Prepended to every key.
    pub key_prefix: String,
    /// Limit on connecting and on each command.
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisConfig {
    /// Parses `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`.
    pub fn from_url(url: &str, key_prefix: &str, timeout: Duration) -> Result<RedisConfig, String> {
        let url = url.trim();
        if url.starts_with("rediss://") {
            return Err(
                "TLS (rediss://) is not supported; use redis:// on a trusted network".into(),
            );
        }
        let rest = url
            .strip_prefix("redis://")
            .ok_or("expected a URL such as redis://127.0.0.1:6379/0")?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (
                    (!user.is_empty()).then(|| user.to_owned()),
                    Some(pass.to_owned()),
                ),
                None => (None, Some(u.to_owned())),
            },
        };
        let address = if hostport.starts_with('[') {
            match hostport.rsplit_once("]:") {
                Some((h, p)) => format!("{h}]:{p}"),
                None => format!("{hostport}:6379"),
            }
        } else if hostport.contains(':') {
            hostport.to_owned()
        } else {
            format!("{hostport}:6379")
        };
        if hostport.is_empty() || hostport.starts_with(':') {
            return Err("the Redis URL has no host".into());
        }
        let port_ok = address
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok_and(|p| p > 0));
        if !port_ok {
            return Err("the Redis URL has an invalid port".into());
        }
        let db = path.trim_end_matches('/');
        let database = if db.is_empty() {
            0
        } else {
            db.parse()
                .map_err(|_| format!("`{db}` is not a database number"))?
        };
        Ok(RedisConfig {
            address,
            username,
            password,
            database,
            key_prefix: key_prefix.to_owned(),
            timeout,
        })
    }
}

/// The counters on one Redis server.
pub struct RedisCounters {
    config: RedisConfig,
    idle: Mutex<Vec<TcpStream>>,
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
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// A round trip (`PING`).
    pub async fn ping(&self) -> Result<(), CounterError> {
        match self.call(&[b"PING"]).await? {
            Reply::Simple(s) if s == "PONG" => Ok(()),
            other => Err(err(format!("unexpected answer to PING: {other:?}"))),
        }
    }

    async fn connect(&self) -> Result<TcpStream, CounterError> {
        let mut stream = TcpStream::connect(&self.config.address)
            .await
            .map_err(|e| err(format!("cannot connect to {}: {e}", self.config.address)))?;
        let _ = stream.set_nodelay(true);
        if let Some(password) = &self.config.password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &self.config.username {
                args.push(user.as_bytes());
            }
            args.push(password.as_bytes());
            expect_ok(round_trip(&mut stream, &args).await?, "AUTH")?;
        }
        if self.config.database != 0 {
            let db = self.config.database.to_string();
            expect_ok(
                round_trip(&mut stream, &[b"SELECT", db.as_bytes()]).await?,
                "SELECT",
            )?;
        }
        Ok(stream)
    }

    /// Runs one command on a pooled (or new) connection within the timeout.
    async fn call(&self, args: &[&[u8]]) -> Result<Reply, CounterError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let work = async {
            let mut stream = match pooled {
                Some(s) => s,
                None => self.connect().await?,
            };
            let reply = round_trip(&mut stream, args).await?;
            Ok::<_, CounterError>((stream, reply))
        };
        let (stream, reply) = tokio::time::timeout(self.config.timeout, work)
            .await
            .map_err(|_| {
                err(format!(
                    "no answer from {} within {:?}",
                    self.config.address, self.config.timeout
                ))
            })??;
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(stream);
        }
        drop(idle);
        match reply {
            Reply::Error(e) => Err(err(format!("Redis refused the command: {e}"))),
            other => Ok(other),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.config.key_prefix)
    }
}

fn expect_ok(reply: Reply, what: &str) -> Result<(), CounterError> {
    match reply {
        Reply::Simple(s) if s == "OK" => Ok(()),
        Reply::Error(e) => Err(err(format!("{what} refused: {e}"))),
        other => Err(err(format!("unexpected answer to {what}: {other:?}"))),
    }
}

async fn round_trip(stream: &mut TcpStream, args: &[&[u8]]) -> Result<Reply, CounterError> {
    write_command(stream, args)
        .await
        .map_err(|e| err(format!("write failed: {e}")))?;
    read_reply(stream)
        .await
        .map_err(|e| err(format!("read failed: {e}")))
}

fn ints(reply: Reply, n: usize) -> Result<Vec<i64>, CounterError> {
    match reply {
        Reply::Array(Some(items)) if items.len() == n => items
            .into_iter()
            .map(|r| match r {
                Reply::Int(i) => Ok(i),
                other => Err(err(format!("unexpected script answer: {other:?}"))),
            })
            .collect(),
        other => Err(err(format!("unexpected script answer: {other:?}"))),
    }
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
        let (now, t_s, period_s) = (now_ms.to_string(), t.to_string(), period.to_string());
        let reply = self
            .call(&[
                b"EVAL",
                GCRA.as_bytes(),
                b"1",
                key.as_bytes(),
                now.as_bytes(),
                t_s.as_bytes(),
                period_s.as_bytes(),
            ])
            .await?;
        let v = ints(reply, 3)?;
        if v[0] == 1 {
            Ok(from_reset(quota, v[1]))
        } else {
            Ok(Decision {
                allowed: false,
                quota: *quota,
                remaining: 0,
                reset_ms: v[1],
                retry_after_ms: v[2],
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
        let (add_s, ttl_s) = (add.to_string(), (window_ms * 2).to_string());
        let reply = self
            .call(&[
                b"EVAL",
                WINDOW.as_bytes(),
                b"2",
                current.as_bytes(),
                previous.as_bytes(),
                add_s.as_bytes(),
                ttl_s.as_bytes(),
            ])
            .await?;
        let v = ints(reply, 2)?;
        Ok((v[0].max(0) as u64, v[1].max(0) as u64))
    }

    async fn claim(&self, key: &str, ttl_ms: i64, _now_ms: i64) -> Result<bool, CounterError> {
        let key = self.key(key);
        let ttl = ttl_ms.max(1).to_string();
        match self
            .call(&[b"SET", key.as_bytes(), b"1", b"NX", b"PX", ttl.as_bytes()])
            .await?
        {
            Reply::Simple(s) if s == "OK" => Ok(true),
            Reply::Bulk(None) => Ok(false),
            other => Err(err(format!("unexpected answer to SET NX: {other:?}"))),
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
            assert_eq!(c.address, address, "{url}");
            assert_eq!(c.username.as_deref(), user, "{url}");
            assert_eq!(c.password.as_deref(), pass, "{url}");
            assert_eq!(c.database, db, "{url}");
        }
        for bad in [
            "rediss://h",
            "http://h",
            "redis://",
            "redis://h:0",
            "redis://h:99999",
            "redis://h/x",
        ] {
            assert!(RedisConfig::from_url(bad, "", t).is_err(), "{bad}");
        }
        let c = RedisConfig::from_url("redis://:topsecret@h", "", t).unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
