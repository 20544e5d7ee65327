//! Verification of latchkey access tokens for Rust resource servers.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use latchkey_verify::{Config, RequireScope, ScopeName, Verified, Verifier};
//!
//! struct ReadPosts;
//! impl ScopeName for ReadPosts {
//!     const NAME: &'static str = "posts:read";
//! }
//!
//! async fn me(Verified(claims): Verified) -> String {
//!     claims.sub.clone()
//! }
//! async fn posts(_: RequireScope<ReadPosts>) -> &'static str {
//!     "[]"
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::new(Config::new("https://id.example", "https://id.example")?);
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route("/posts", get(posts))
//!     .with_state(verifier);
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! **The server's rules, the server's code.** Tokens are checked by
//! `latchkey_tokens::verify_jwt`, the function latchkey itself uses: the
//! algorithm is bound to the key named by `kid`, `typ` must be `at+jwt`,
//! `iss` and `aud` must match exactly, `exp`/`nbf` are checked with a
//! leeway, and `jku`/`x5u`/`jwk` headers are ignored. This crate adds only
//! where the keys come from and what is cached.
//!
//! **Keys.** The JWKS is fetched on first use and kept for the `max-age` of
//! its `Cache-Control` (clamped between `min_refresh_interval` and
//! `max_key_age`). A token naming an unknown `kid` (a key rotated in since
//! the last fetch) triggers a refetch, at most once per
//! `min_refresh_interval`, so a stream of forged `kid`s cannot make the
//! resource server hammer latchkey. A failed fetch keeps the old keys.
//!
//! **Verified tokens are cached.** A signature check costs tens of
//! microseconds; a resource server sees the same token many times in its
//! 15 minutes. A verified token's claims are kept (keyed by the whole token,
//! compared exactly) until its `exp` passes, so a repeated check is a hash
//! lookup (`examples/cached_check.rs` measures it). The cache is bounded:
//! when full, expired entries are dropped, and if none are, all of them.
//!
//! **Revocation.** A JWT stays valid until it expires. With
//! [`Introspection`] configured, a token is also checked at latchkey's
//! RFC 7662 endpoint, and an "active" answer is believed for `cache_secs`:
//! a logout takes effect within that time. With a [`RevocationStream`]
//! configured, a background task follows latchkey's Server-Sent Events
//! stream of ended sessions (reconnecting with `Last-Event-ID`) and every
//! check refuses a token of an ended session, cached or not, within about a
//! second of the logout and without a call to latchkey per request.
//!
//! **Refusals** are [`Rejection`] values; as axum responses they are
//! problem+json bodies with RFC 6750 `WWW-Authenticate` challenges, and a
//! failed [`RequireAal`] is the RFC 9470 step-up challenge. Nothing from
//! the token is ever put in an error or a log line.

mod fetch;
mod introspect;
mod jwks;
mod layer;
mod rejection;
mod require;
mod revocations;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use latchkey_proto::token::AccessClaims;
use latchkey_tokens::{Jwks, Validation, VerifyError, verify_jwt};
use url::Url;

pub use fetch::{FetchError, Fetched, Http};
pub use introspect::Introspection;
pub use jwks::JwksCache;
pub use layer::{VerifyLayer, VerifyService};
pub use rejection::Rejection;
pub use require::{
    Aal2, AalLevel, RequireAal, RequireRole, RequireScope, RoleName, ScopeName, Verified,
    bearer_token, check_aal, check_role, check_scope,
};
pub use revocations::RevocationStream;

/// The header `typ` of latchkey access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// What a [`Verifier`] checks and where it gets its keys.
#[derive(Clone, Debug)]
pub struct Config {
    /// latchkey's issuer (its public URL), compared exactly with `iss`.
    pub issuer: String,
    /// The audience tokens must carry (latchkey's `tokens.audience`).
    pub audience: String,
    /// Where the JWKS is published (default: `<issuer>/.well-known/jwks.json`).
    pub jwks_url: Url,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (default 30, as
    /// the server).
    pub leeway_secs: i64,
    /// The shortest time between two JWKS fetches (default 10 s): bounds
    /// the refetches an unknown `kid` can cause.
    pub min_refresh_interval: Duration,
    /// How long keys are kept when the answer has no `max-age` (default 5 min).
    pub default_key_age: Duration,
    /// The longest a fetched set is kept, whatever `max-age` says (default 1 day).
    pub max_key_age: Duration,
    /// At most this many verified tokens are cached (default 10,000).
    pub cache_capacity: usize,
    /// Timeout of one fetch or introspection call (default 5 s).
    pub timeout: Duration,
    /// Introspect tokens at latchkey (off by default).
    pub introspection: Option<Introspection>,
    /// Latchkey's revocation stream, followed by a background task (started
    /// by [`Verifier::new`] on the Tokio runtime it is called on): tokens of
    /// a session it reports ended are refused at once (default: none).
    pub revocation_stream: Option<RevocationStream>,
}

impl Config {
    /// The defaults for `issuer` and `audience`.
    ///
    /// # Errors
    ///
    /// When `issuer` is not a URL.
    pub fn new(issuer: &str, audience: &str) -> Result<Config, url::ParseError> {
        let jwks_url = Url::parse(&format!(
            "{}/.well-known/jwks.json",
            issuer.trim_end_matches('/')
        ))?;
        Ok(Config {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks_url,
            leeway_secs: 30,
            min_refresh_interval: Duration::from_secs(10),
            default_key_age: Duration::from_secs(300),
            max_key_age: Duration::from_secs(86_400),
            cache_capacity: 10_000,
            timeout: Duration::from_secs(5),
            introspection: None,
            revocation_stream: None,
        })
    }
}

/// A verified token in the cache.
struct Cached {
    claims: Arc<AccessClaims>,
    /// Checked again (signature skipped only if still cached) after this
    /// Unix time: its `exp` plus leeway, or sooner when introspection's
    /// answer runs out.
    good_until: i64,
}

struct Inner {
    config: Config,
    http: fetch::Http,
    jwks: Arc<jwks::JwksCache>,
    verified: RwLock<HashMap<Box<str>, Cached>>,
    revoked: Arc<revocations::Revoked>,
}

/// Verifies latchkey access tokens. Cheap to clone (one `Arc`); share one
/// per process so that the key and token caches are shared.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Verifier {
    /// A verifier fetching keys from `config.jwks_url` (on first use).
    #[must_use]
    pub fn new(config: Config) -> Verifier {
        let http = fetch::Http::new(config.timeout);
        let jwks = jwks::JwksCache::new(
            Some(config.jwks_url.clone()),
            http.clone(),
            config.min_refresh_interval,
            config.default_key_age,
            config.max_key_age,
        );
        Self::with(config, http, jwks)
    }

    /// A verifier over fixed keys: it never fetches a JWKS.
    #[must_use]
    pub fn with_keys(config: Config, jwks: &Jwks) -> Verifier {
        let http = fetch::Http::new(config.timeout);
        Self::with(config, http, jwks::JwksCache::fixed(jwks))
    }

    fn with(config: Config, http: fetch::Http, jwks: jwks::JwksCache) -> Verifier {
        let revoked = Arc::new(revocations::Revoked::default());
        let jwks = Arc::new(jwks);
        if let Some(stream) = &config.revocation_stream {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(revocations::follow(
                        stream.clone(),
                        http.clone(),
                        Arc::downgrade(&revoked),
                        Arc::downgrade(&jwks),
                    ));
                }
                Err(_) => tracing::error!(
                    "latchkey-verify: a revocation stream needs a Tokio runtime; not following it"
                ),
            }
        }
        Verifier {
            inner: Arc::new(Inner {
                config,
                http,
                jwks,
                verified: RwLock::new(HashMap::new()),
                revoked,
            }),
        }
    }

    /// Whether the revocation stream is connected right now.
    #[must_use]
    pub fn revocation_stream_connected(&self) -> bool {
        self.inner.revoked.connected()
    }

    /// Whether the revocation stream reported the token's session (or
    /// user) ended; two hash lookups, and none when no stream is followed.
    fn refused(&self, claims: &AccessClaims) -> bool {
        self.inner.config.revocation_stream.is_some()
            && self
                .inner
                .revoked
                .refuses(&claims.sid, &claims.sub, claims.iat)
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The claims of `token` if it was verified before and is still good:
    /// no signature check, no call.
    fn cached(&self, token: &str, now: i64) -> Option<Arc<AccessClaims>> {
        let cache = self.inner.verified.read().expect("cache lock");
        let hit = cache.get(token)?;
        (now < hit.good_until).then(|| hit.claims.clone())
    }

    fn remember(&self, token: &str, claims: Arc<AccessClaims>, good_until: i64, now: i64) {
        let mut cache = self.inner.verified.write().expect("cache lock");
        if cache.len() >= self.inner.config.cache_capacity {
            cache.retain(|_, c| now < c.good_until);
            if cache.len() >= self.inner.config.cache_capacity {
                cache.clear();
            }
        }
        if self.inner.config.cache_capacity > 0 {
            cache.insert(token.into(), Cached { claims, good_until });
        }
    }

    fn check(&self, token: &str, now: i64) -> Result<AccessClaims, VerifyError> {
        let config = &self.inner.config;
        let validation = Validation {
            issuer: &config.issuer,
            audience: &config.audience,
            typ: ACCESS_TOKEN_TYP,
            now,
            leeway_secs: config.leeway_secs,
        };
        verify_jwt(token, |kid| self.inner.jwks.key(kid), &validation)
    }

    /// Verifies an access token and returns its claims.
    ///
    /// # Errors
    ///
    /// [`Rejection::Invalid`] for a token that fails a check,
    /// [`Rejection::Inactive`] when introspection says its session ended,
    /// [`Rejection::Unavailable`] when no keys (or no introspection answer)
    /// could be had.
    pub async fn verify(&self, token: &str) -> Result<Arc<AccessClaims>, Rejection> {
        let now = unix_now();
        if let Some(claims) = self.cached(token, now) {
            if self.refused(&claims) {
                return Err(Rejection::Inactive);
            }
            return Ok(claims);
        }
        self.inner.jwks.ensure_fresh().await;
        let claims = match self.check(token, now) {
            Err(VerifyError::UnknownKey) if self.inner.jwks.refresh_for_unknown_kid().await => {
                self.check(token, now)
            }
            other => other,
        };
        let claims = match claims {
            Ok(c) => c,
            Err(VerifyError::UnknownKey) if !self.inner.jwks.has_keys() => {
                return Err(Rejection::Unavailable);
            }
            Err(e) => return Err(Rejection::Invalid(e)),
        };
        if self.refused(&claims) {
            return Err(Rejection::Inactive);
        }
        let mut good_until = claims
            .exp
            .saturating_add(self.inner.config.leeway_secs.max(0));
        if let Some(introspection) = &self.inner.config.introspection {
            match introspection.is_active(&self.inner.http, token).await {
                Ok(true) => {
                    good_until =
                        good_until.min(now.saturating_add(introspection.cache_secs.max(0)));
                }
                Ok(false) => return Err(Rejection::Inactive),
                Err(e) => {
                    tracing::warn!(error = %e, "latchkey-verify: introspection failed");
                    return Err(Rejection::Unavailable);
                }
            }
        }
        let claims = Arc::new(claims);
        self.remember(token, claims.clone(), good_until, now);
        Ok(claims)
    }
}

#[cfg(test)]
mod tests;
