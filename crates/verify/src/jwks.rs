//! The JWKS cache: keys parsed once, kept for the `max-age` the server
//! sends, refreshed when a token names a `kid` it does not know, at most
//! once per `min_refresh_interval`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::Request;
use hyper::body::Bytes;
use latchkey_tokens::{Jwks, VerifyingKey};
use url::Url;

use crate::fetch::{FetchError, Http};

/// The parsed keys and how long they are good for.
struct Keys {
    by_kid: HashMap<String, VerifyingKey>,
    fresh_until: Instant,
}

/// A JWKS cache over one URL (public for latchkey's federation, which
/// verifies upstream ID tokens with it).
pub struct JwksCache {
    url: Option<Url>,
    http: Http,
    keys: RwLock<Arc<Keys>>,
    /// When the last fetch was attempted (successful or not): no fetch
    /// starts sooner than `min_refresh` after it.
    last_fetch: Mutex<Option<Instant>>,
    /// One fetch at a time; others wait for it and use its result.
    fetching: tokio::sync::Mutex<()>,
    min_refresh: Duration,
    default_max_age: Duration,
    max_max_age: Duration,
}

/// Parses the keys of a JWKS, skipping those that are not signature keys
/// this crate can use (an unknown key type must not make the set unusable).
fn parse(jwks: &Jwks) -> HashMap<String, VerifyingKey> {
    jwks.keys
        .iter()
        .filter(|k| !k.kid.is_empty() && k.use_.as_deref().is_none_or(|u| u == "sig"))
        .filter_map(|k| VerifyingKey::from_jwk(k).ok())
        .map(|k| (k.kid().to_owned(), k))
        .collect()
}

/// The `max-age` of a `Cache-Control` value; `no-cache`/`no-store` count
/// as zero. `None` when the header says nothing about freshness.
pub(crate) fn max_age(cache_control: &str) -> Option<Duration> {
    let mut age = None;
    for directive in cache_control.split(',').map(str::trim) {
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "no-cache" | "no-store" => return Some(Duration::ZERO),
            "max-age" => {
                age = value
                    .trim()
                    .trim_matches('"')
                    .parse::<u64>()
                    .ok()
                    .map(Duration::from_secs);
            }
            _ => {}
        }
    }
    age
}

impl JwksCache {
    /// A cache of the JWKS at `url`: refetched after its `max-age`
    /// (`default_max_age` without one, clamped to `max_max_age`), and on an
    /// unknown `kid`, never sooner than `min_refresh` after the last fetch.
    pub fn new(
        url: Option<Url>,
        http: Http,
        min_refresh: Duration,
        default_max_age: Duration,
        max_max_age: Duration,
    ) -> JwksCache {
        let now = Instant::now();
        JwksCache {
            url,
            http,
            keys: RwLock::new(Arc::new(Keys {
                by_kid: HashMap::new(),
                fresh_until: now,
            })),
            last_fetch: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            min_refresh,
            default_max_age,
            max_max_age,
        }
    }

    /// A cache over fixed keys that never fetches (for tests and for
    /// deployments that pin keys).
    pub fn fixed(jwks: &Jwks) -> JwksCache {
        let cache = JwksCache::new(
            None,
            Http::new(Duration::from_secs(1)),
            Duration::MAX,
            Duration::MAX,
            Duration::MAX,
        );
        *cache.keys.write().expect("keys lock") = Arc::new(Keys {
            by_kid: parse(jwks),
            fresh_until: Instant::now() + Duration::from_secs(100 * 365 * 86_400),
        });
        cache
    }

    fn snapshot(&self) -> Arc<Keys> {
        self.keys.read().expect("keys lock").clone()
    }

    /// The key named `kid` in the current set.
    pub fn key(&self, kid: &str) -> Option<VerifyingKey> {
        self.snapshot().by_kid.get(kid).cloned()
    }

    /// Whether any key was ever loaded.
    pub fn has_keys(&self) -> bool {
        !self.snapshot().by_kid.is_empty()
    }

    /// Refreshes the set if its `max-age` has passed (and the rate allows).
    /// A failed refresh keeps the old keys.
    pub async fn ensure_fresh(&self) {
        if Instant::now() >= self.snapshot().fresh_until {
            self.refresh().await;
        }
    }

    /// Refetches because a token named an unknown `kid`; false when the
    /// rate limit allowed no fetch (or the fetch failed).
    pub async fn refresh_for_unknown_kid(&self) -> bool {
        self.refresh().await
    }

    /// latchkey announced a new key (`keys.rotated` on the revocation
    /// stream): fetches until the set lists `kid`, so that the first tokens
    /// it signs are not refused while `min_refresh` holds fetches back. The
    /// stream asked, not a token, so the rate limit does not apply; the node
    /// answering may not have loaded the key yet, so it tries a few times,
    /// doubling the pause (about 15 s in all).
    pub async fn learn(&self, kid: &str) {
        let mut pause = Duration::from_millis(250);
        for _ in 0..6 {
            if self.key(kid).is_some() {
                return;
            }
            *self.last_fetch.lock().expect("fetch lock") = None;
            self.refresh().await;
            if self.key(kid).is_some() {
                return;
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        tracing::warn!(kid, "latchkey-verify: a rotated key is not in the JWKS yet");
    }

    fn may_fetch(&self) -> bool {
        let last = *self.last_fetch.lock().expect("fetch lock");
        last.is_none_or(|t| t.elapsed() >= self.min_refresh)
    }

    async fn refresh(&self) -> bool {
        let Some(url) = &self.url else {
            return false;
        };
        if !self.may_fetch() {
            return false;
        }
        let _one = self.fetching.lock().await;
        // Another task may have fetched while this one waited.
        if !self.may_fetch() {
            return true;
        }
        *self.last_fetch.lock().expect("fetch lock") = Some(Instant::now());
        match self.fetch(url).await {
            Ok((by_kid, max_age)) => {
                let max_age = max_age
                    .unwrap_or(self.default_max_age)
                    .clamp(self.min_refresh.min(self.max_max_age), self.max_max_age);
                *self.keys.write().expect("keys lock") = Arc::new(Keys {
                    by_kid,
                    fresh_until: Instant::now() + max_age,
                });
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "latchkey-verify: JWKS fetch failed; keeping the old keys");
                false
            }
        }
    }

    async fn fetch(
        &self,
        url: &Url,
    ) -> Result<(HashMap<String, VerifyingKey>, Option<Duration>), FetchError> {
        let request = Request::get("/")
            .header(hyper::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|_| FetchError::Url)?;
        let fetched = self.http.send(url, request).await?;
        let jwks: Jwks = serde_json::from_slice(&fetched.body).map_err(|_| FetchError::Body)?;
        let age = fetched
            .headers
            .get(hyper::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        Ok((parse(&jwks), age))
    }
}
