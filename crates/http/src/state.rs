//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::abuse::limiter::Limiter;
use latchkey_core::abuse::{Guard, GuardConfig};
use latchkey_core::accounts::Accounts;
use latchkey_core::admin::Admin;
use latchkey_core::federation::{Federation, FederationConfig};
use latchkey_core::passkeys::{Passkeys, RelyingParty};
use latchkey_core::recovery::Recovery;
use latchkey_core::roles::Roles;
use latchkey_core::services::Services;
use latchkey_core::sessions::Sessions;
use latchkey_core::{Store, SystemClock};

use crate::abuse::{Network, Protection};
use crate::pages::Pages;

/// Per-request limits enforced by the middleware and extractors.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (413 beyond).
    pub max_body_bytes: usize,
    /// Largest total size of request headers (431 beyond).
    pub max_header_bytes: usize,
    /// Longest a request may run (503 beyond).
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024,
            max_header_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// How session cookies are set.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    /// `Secure` attribute and the `__Host-` prefix; off only for plain-http
    /// development URLs (browsers refuse `__Host-` cookies without `Secure`).
    pub secure: bool,
    /// The origin (`scheme://host[:port]`) that cookie-authenticated unsafe
    /// requests must come from.
    pub origin: String,
}

impl CookieSettings {
    /// The session cookie's name.
    pub fn name(&self) -> &'static str {
        if self.secure {
            "__Host-latchkey_session"
        } else {
            "latchkey_session"
        }
    }

    /// The name of the CSRF cookie of page forms before sign-in (see
    /// `pages::csrf`).
    pub fn csrf_name(&self) -> &'static str {
        if self.secure {
            "__Host-latchkey_csrf"
        } else {
            "latchkey_csrf"
        }
    }

    /// The name of the pages' one-shot notice cookie (what the last form
    /// did, shown once after its redirect; see `routes::account_center`).
    pub fn flash_name(&self) -> &'static str {
        if self.secure {
            "__Host-latchkey_flash"
        } else {
            "latchkey_flash"
        }
    }

    /// The name of the cookie binding an `mfa_token` to the browser that
    /// got it (cookie mode; see `latchkey_core::mfa`).
    pub fn mfa_name(&self) -> &'static str {
        if self.secure {
            "__Host-latchkey_mfa"
        } else {
            "latchkey_mfa"
        }
    }

    /// The name of the cookie remembering the language `?lang=` chose
    /// (see `pages::lang`).
    pub fn lang_name(&self) -> &'static str {
        if self.secure {
            "__Host-latchkey_lang"
        } else {
            "latchkey_lang"
        }
    }

    /// The cookie binding a passkey sign-in to the browser that started it.
    pub fn passkey_name(&self) -> &'static str {
        if self.secure {
            "__Host-latchkey_passkey"
        } else {
            "latchkey_passkey"
        }
    }

    /// The name of the cookie binding a federation flow's `state` to the
    /// browser that started it (see `latchkey_core::federation`).
    pub fn federation_name(&self) -> &'static str {
        if self.secure {
            "__Host-latchkey_fed"
        } else {
            "latchkey_fed"
        }
    }

    /// The device cookie's name (see `latchkey_core::abuse::device`).
    pub fn device_name(&self) -> &'static str {
        if self.secure {
            "__Host-latchkey_device"
        } else {
            "latchkey_device"
        }
    }
}

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    auth: Arc<Services>,
    limits: Limits,
    cookies: CookieSettings,
    protection: Protection,
    pages: Arc<Pages>,
    passkeys: latchkey_core::passkeys::Passkeys,
    federation: Federation,
    /// Fetches `private_key_jwt` clients' `jwks_uri` (a cache of its own).
    client_jwks: Arc<crate::upstream::HttpUpstream>,
}

impl AppState {
    /// State over the account service with the given limits, without rate
    /// limits, challenges or network rules until [`AppState::with_protection`].
    pub fn new(auth: Arc<Services>, limits: Limits, cookies: CookieSettings) -> Self {
        let clock = Arc::new(SystemClock);
        let guard = Guard::with_random_key(
            Arc::new(Limiter::local(clock.clone(), 10_000)),
            GuardConfig::off(),
            clock,
        );
        let passkeys = Passkeys::new(
            auth.context().clone(),
            relying_party_of(&cookies.origin, None, &[]),
        );
        AppState {
            inner: Arc::new(Inner {
                limits,
                cookies,
                protection: Protection {
                    network: Network::default(),
                    guard: Arc::new(guard),
                },
                pages: Arc::new(Pages::builtin()),
                passkeys,
                federation: Federation::new(
                    auth.context().clone(),
                    FederationConfig::default(),
                    Arc::new(crate::upstream::HttpUpstream::new(Duration::from_secs(10))),
                ),
                client_jwks: Arc::new(crate::upstream::HttpUpstream::new(Duration::from_secs(10))),
                auth,
            }),
        }
    }

    /// Sets the abuse protection; call before the state is shared.
    pub fn with_protection(mut self, protection: Protection) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("protection is set before the state is cloned")
            .protection = protection;
        self
    }

    /// Sets the page templates (a theme); call before the state is shared.
    pub fn with_pages(mut self, pages: Pages) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("pages are set before the state is cloned")
            .pages = Arc::new(pages);
        self
    }

    /// Sets the passkeys' relying party (from `[passkeys]`; by default the
    /// RP ID is the public URL's host and its origin the only one).
    pub fn with_relying_party(mut self, rp: RelyingParty) -> Self {
        let inner = Arc::get_mut(&mut self.inner)
            .expect("the relying party is set before the state is cloned");
        inner.passkeys = Passkeys::new(inner.auth.context().clone(), rp);
        self
    }

    /// Passkeys: registration, sign-in, rename and delete.
    pub fn passkeys(&self) -> &Passkeys {
        &self.inner.passkeys
    }

    /// Sets the upstream providers; call before the state is shared.
    pub fn with_federation(mut self, config: FederationConfig) -> Self {
        let inner = Arc::get_mut(&mut self.inner).expect("federation is set before sharing");
        let upstream = crate::upstream::HttpUpstream::new(config.upstream_timeout);
        inner.federation =
            Federation::new(inner.auth.context().clone(), config, Arc::new(upstream));
        self
    }

    /// Signing in with upstream providers.
    pub fn federation(&self) -> &Federation {
        &self.inner.federation
    }

    /// The page templates.
    pub fn pages(&self) -> &Pages {
        &self.inner.pages
    }

    /// Rate limits, challenges and network rules.
    pub fn protection(&self) -> &Protection {
        &self.inner.protection
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.inner.auth.store()
    }

    /// The slice services and their shared context.
    pub fn auth(&self) -> &Services {
        &self.inner.auth
    }

    /// Registration, profile and the account's own activity.
    pub fn accounts(&self) -> &Accounts {
        self.inner.auth.accounts()
    }

    /// Sign-in, tokens, session cookies, session ends, OAuth clients.
    pub fn sessions(&self) -> &Sessions {
        self.inner.auth.sessions()
    }

    /// Verification, reset, password and address changes, deletion.
    pub fn recovery(&self) -> &Recovery {
        self.inner.auth.recovery()
    }

    /// Second factors: enrolment, the second step of sign-in, step-up.
    pub fn mfa(&self) -> &latchkey_core::mfa::Mfa {
        self.inner.auth.mfa()
    }

    /// Magic links and email codes.
    pub fn passwordless(&self) -> &latchkey_core::passwordless::Passwordless {
        self.inner.auth.passwordless()
    }

    /// Administration by an actor: users, audit, import.
    pub fn admin(&self) -> &Admin {
        self.inner.auth.admin()
    }

    /// Role administration by an actor.
    pub fn roles(&self) -> &Roles {
        self.inner.auth.roles()
    }

    /// The OAuth 2.0 / OpenID Connect provider.
    pub fn oauth(&self) -> &latchkey_core::oauth::OAuth {
        self.inner.auth.oauth()
    }

    /// The client of `private_key_jwt` clients' `jwks_uri`s (bounded
    /// calls, a JWKS cache per URL).
    pub fn client_jwks(&self) -> &dyn latchkey_core::federation::Upstream {
        self.inner.client_jwks.as_ref()
    }

    /// Webhook endpoints and their deliveries.
    pub fn webhooks(&self) -> &latchkey_core::webhooks::Webhooks {
        self.inner.auth.webhooks()
    }

    /// Cookie settings.
    pub fn cookies(&self) -> &CookieSettings {
        &self.inner.cookies
    }

    /// The request limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
}

/// The relying party of latchkey at `origin` (its public URL's origin): the
/// RP ID is `rp_id` or the origin's host; the origins are `origin` and
/// `extra_origins`.
pub fn relying_party_of(
    origin: &str,
    rp_id: Option<&str>,
    extra_origins: &[String],
) -> RelyingParty {
    let host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    let mut origins = vec![origin.to_owned()];
    origins.extend(extra_origins.iter().filter(|o| *o != origin).cloned());
    RelyingParty {
        id: rp_id.unwrap_or(host).to_owned(),
        name: String::new(),
        origins,
    }
}
