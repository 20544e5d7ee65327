//! The application, assembled in one place: the account service, the rate
//! limiter and guard, the background job runner and the HTTP state. The
//! server (`latchkey serve`) and the tests (`testkit::TestApp`) both build
//! it here, from settings; they differ only in where the settings come from
//! (the validated configuration, or a test's options).

use std::sync::Arc;

use axum::Router;
use latchkey_core::abuse::limiter::{CounterBackend, Limiter};
use latchkey_core::abuse::{Guard, GuardConfig};
use latchkey_core::auth::{AuthConfig, Context, Keyring, LifecycleConfig, Protection};
use latchkey_core::jobs::{Jobs, JobsConfig};
use latchkey_core::mail::MailTransport;
use latchkey_core::password::{PasswordError, PasswordHasher, PoolConfig};
use latchkey_core::services::Services;
use latchkey_core::{Clock, Store};

use crate::abuse::Network;
use crate::pages::Pages;
use crate::state::{AppState, CookieSettings, Limits};

/// What the account service is made of.
pub struct AuthParts {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The clock everything runs on.
    pub clock: Arc<dyn Clock>,
    /// The signing keys, loaded.
    pub keys: Arc<Keyring>,
    /// The password hashing pool.
    pub passwords: PoolConfig,
    /// Issuer, audience, lifetimes, password length.
    pub config: AuthConfig,
    /// Sign-in defences and password rules.
    pub protection: Protection,
    /// Verification, reset, deletion, mail theme.
    pub lifecycle: LifecycleConfig,
}

/// The slice services over one context (the command line needs no more).
pub fn auth(parts: AuthParts, master_key: &[u8; 32]) -> Result<Arc<Services>, PasswordError> {
    let hasher = PasswordHasher::new(parts.passwords)?;
    Ok(Arc::new(Services::new(
        Context::new(
            parts.store,
            parts.clock,
            hasher,
            parts.keys,
            master_key,
            parts.config,
        )
        .with_protection(parts.protection)
        .with_lifecycle(parts.lifecycle),
    )))
}

/// Everything the application is made of.
pub struct AppSettings {
    /// The account service's parts.
    pub auth: AuthParts,
    /// Rate-limit counters shared between nodes (Redis); local without.
    pub shared_counters: Option<Arc<dyn CounterBackend>>,
    /// The most rate-limit keys kept in memory.
    pub max_keys: usize,
    /// Rate limits and challenges.
    pub guard: GuardConfig,
    /// Proxies, IP lists, CORS, HSTS.
    pub network: Network,
    /// Request limits.
    pub limits: Limits,
    /// Session cookies.
    pub cookies: CookieSettings,
    /// Where mail goes.
    pub mail: Arc<dyn MailTransport>,
    /// The job runner's tuning.
    pub jobs: JobsConfig,
    /// The hosted pages' templates and settings.
    pub pages: Pages,
    /// The upstream providers (issue 17).
    pub federation: latchkey_core::federation::FederationConfig,
    /// Where webhook deliveries go ([`crate::webhook_transport::HttpWebhooks`]).
    pub webhooks: Arc<dyn latchkey_core::webhooks::WebhookTransport>,
}

/// The assembled application.
pub struct App {
    /// What every handler reaches.
    pub state: AppState,
    /// The account service.
    pub auth: Arc<Services>,
    /// Rate limits and challenges.
    pub guard: Arc<Guard>,
    /// The background job runner (the server loops it; tests run it).
    pub jobs: Jobs,
}

impl App {
    /// The whole HTTP application: every route inside the request pipeline.
    pub fn router(&self) -> Router {
        crate::routes::router(self.state.clone())
    }
}

/// Assembles the application from its settings.
pub fn app(settings: AppSettings, master_key: &[u8; 32]) -> Result<App, PasswordError> {
    let clock = settings.auth.clock.clone();
    let auth = auth(settings.auth, master_key)?;
    let limiter = match settings.shared_counters {
        Some(shared) => Limiter::shared(shared, clock.clone(), settings.max_keys),
        None => Limiter::local(clock.clone(), settings.max_keys),
    };
    let guard = Arc::new(Guard::new(
        Arc::new(limiter),
        settings.guard,
        master_key,
        clock,
    ));
    let jobs =
        Jobs::new(auth.clone(), settings.mail, settings.jobs).with_webhooks(settings.webhooks);
    let state = AppState::new(auth.clone(), settings.limits, settings.cookies)
        .with_protection(crate::abuse::Protection {
            network: settings.network,
            guard: guard.clone(),
        })
        .with_pages(settings.pages)
        .with_federation(settings.federation);
    Ok(App {
        state,
        auth,
        guard,
        jobs,
    })
}
