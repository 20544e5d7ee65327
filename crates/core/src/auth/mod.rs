//! Password accounts, sessions and tokens: the rules, free of HTTP and SQL.
//!
//! [`Context`] is what the slice services ([`crate::accounts`],
//! [`crate::sessions`], [`crate::recovery`], [`crate::admin`], bundled in
//! [`crate::services::Services`]) share, with the helpers more than one of
//! them calls. It owns no I/O of its own:
//! persistence goes through [`Store`], time through [`Clock`], password
//! hashing through the bounded [`PasswordHasher`] pool, and signing through
//! the [`Keyring`].
//!
//! Decisions worth knowing:
//! - An unknown identifier costs one full password hash and yields the same
//!   error as a wrong password (`InvalidCredentials`).
//! - Access tokens are short-lived JWTs naming their session (`sid`); every
//!   check made by latchkey itself also looks the session up, so logout,
//!   reuse detection and "end all sessions" take effect at once, not at expiry.
//! - Refresh tokens are 256-bit random strings stored as SHA-256 hashes and
//!   rotated on every use. The exchange is one atomic store operation: of
//!   concurrent exchanges of one token exactly one wins; retries within the
//!   grace window get the winner's response (kept sealed under the master
//!   key) while the winner's token is still unused; a replay after the
//!   window, or once that token was used, ends the whole session (the rule
//!   is [`crate::session::PresentedToken::decide`]).
//! - Password sign-ins go through [`crate::abuse::brute_force`]: each check
//!   is charged against the account (or a known device) before the hash is
//!   computed, so a locked account costs an attacker nothing but a refusal.
//!   New passwords go through [`PasswordRules`] (length, common and breached
//!   lists, identity, optional strength).

pub(crate) mod outbox;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use latchkey_tokens::{Sealer, b64url_encode, hmac_sha256};
use time::{Duration, OffsetDateTime};

use crate::abuse::brute_force::BruteForcePolicy;
use crate::abuse::device::DeviceCookies;
use crate::audit::AuditEvent;
use crate::clock::Clock;
use crate::error::SharedError;
use crate::id;
use crate::keys::Client;
use crate::password::{LengthPolicy, Password, PasswordHasher};
use crate::password_policy::PasswordRules;
use crate::roles::Access;
use crate::session::Session;
use crate::store::{Store, truncate_to_millis};
use crate::user::User;

pub use crate::client_info::ClientInfo;
pub use crate::keyring::{KeyError, Keyring};
pub(crate) use crate::validate;
pub use crate::validate::FieldProblem;
pub use outbox::LifecycleConfig;
pub(crate) use outbox::{JOB_MAIL, JOB_RESET};

/// Tuning of the account, session and token rules.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The `iss` of every token: latchkey's public URL.
    pub issuer: String,
    /// The `aud` of first-party access tokens.
    pub audience: String,
    /// The `client_id` of first-party access tokens.
    pub first_party_client_id: String,
    /// Scopes granted to first-party sessions.
    pub scope: String,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Absolute lifetime of a session.
    pub session_ttl: Duration,
    /// Idle lifetime of a session (and of each refresh token).
    pub session_idle_ttl: Duration,
    /// How long a used refresh token still returns its successor to a retry.
    pub refresh_grace: Duration,
    /// Password length rules for new passwords.
    pub password_policy: LengthPolicy,
    /// Whether access tokens carry a `permissions` claim besides `roles`.
    pub include_permissions: bool,
    /// The scope catalogue (`[oauth.scopes]`).
    pub scopes: crate::oauth::scopes::ScopeCatalogue,
}

/// Sign-in and new-password defences.
#[derive(Debug, Clone)]
pub struct Protection {
    /// Failure counters, delays and lockout.
    pub brute_force: BruteForcePolicy,
    /// What new passwords are checked against (its `length` is replaced by
    /// [`AuthConfig::password_policy`]).
    pub passwords: PasswordRules,
    /// How long a device cookie lets its device through.
    pub device_cookie_ttl: Duration,
}

impl Default for Protection {
    fn default() -> Self {
        Protection {
            brute_force: BruteForcePolicy::default(),
            passwords: PasswordRules::default(),
            device_cookie_ttl: Duration::days(180),
        }
    }
}

/// What every slice service shares: store, clock, hasher, keys, config,
/// defences, sealers.
pub struct Context {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) hasher: PasswordHasher,
    pub(crate) keys: Arc<Keyring>,
    pub(crate) grace_sealer: Arc<Sealer>,
    pub(crate) csrf_key: [u8; 32],
    pub(crate) config: Arc<AuthConfig>,
    pub(crate) lifecycle: LifecycleConfig,
    pub(crate) mail_sealer: Sealer,
    pub(crate) job_sealer: Sealer,
    pub(crate) webhook_sealer: Sealer,
    pub(crate) wakeup: Arc<tokio::sync::Notify>,
    pub(crate) protection: Protection,
    pub(crate) devices: DeviceCookies,
    pub(crate) device_key: [u8; 32],
    pub(crate) password_checks: AtomicU64,
    /// OAuth clients seen lately, with when each was read. A client can be
    /// changed, get a new secret or be deleted (`crate::oauth`): this node
    /// forgets it at once ([`Context::forget_client`]), other nodes once the
    /// entry is [`CLIENT_CACHE_TTL`] old. An id not in the cache is looked
    /// up in the store and kept when found.
    pub(crate) clients: RwLock<HashMap<String, (Client, std::time::Instant)>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Builds the service. `master_key` derives the keys that seal grace
    /// responses and sign CSRF tokens; the keyring must be initialized.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        hasher: PasswordHasher,
        keys: Arc<Keyring>,
        master_key: &[u8; 32],
        config: AuthConfig,
    ) -> Context {
        let csrf_key = hmac_sha256(master_key, b"latchkey/csrf/v1");
        let mut protection = Protection::default();
        protection.passwords.length = config.password_policy;
        Context {
            store,
            clock,
            hasher,
            keys,
            grace_sealer: Arc::new(Sealer::new(master_key, "latchkey/refresh-grace/v1")),
            csrf_key,
            config: Arc::new(config),
            lifecycle: LifecycleConfig::default(),
            mail_sealer: Sealer::new(master_key, "latchkey/mail-outbox/v1"),
            job_sealer: Sealer::new(master_key, "latchkey/job-payload/v1"),
            webhook_sealer: Sealer::new(master_key, "latchkey/webhook-secret/v1"),
            wakeup: Arc::new(tokio::sync::Notify::new()),
            devices: DeviceCookies::new(master_key, protection.device_cookie_ttl),
            device_key: *master_key,
            protection,
            password_checks: AtomicU64::new(0),
            clients: RwLock::default(),
        }
    }

    /// Replaces the sign-in and new-password defences (the defaults are on).
    pub fn with_protection(mut self, mut protection: Protection) -> Context {
        protection.passwords.length = self.config.password_policy;
        self.devices = DeviceCookies::new(&self.device_key, protection.device_cookie_ttl);
        self.protection = protection;
        self
    }

    /// The defences in force.
    pub fn protection(&self) -> &Protection {
        &self.protection
    }

    /// How many stored password hashes this service has checked a password
    /// against since it started (each costs one argon2 computation).
    pub fn password_checks(&self) -> u64 {
        self.password_checks.load(Ordering::Relaxed)
    }

    /// The device cookie verifier.
    pub fn device_cookies(&self) -> &DeviceCookies {
        &self.devices
    }

    /// Checks a new password (registration, change, reset) against every
    /// rule, for an account known by `identity` (email, username).
    pub async fn check_new_password(
        &self,
        raw: &str,
        identity: &[&str],
    ) -> Result<Password, FieldProblem> {
        self.protection
            .passwords
            .check(raw, identity)
            .await
            .map_err(|refusal| {
                metrics::counter!("latchkey_passwords_refused_total", "code" => refusal.code())
                    .increment(1);
                FieldProblem::new("password", refusal.code(), refusal.to_string())
            })
    }

    /// A new account from what was typed (sign-up or an administrator's
    /// creation): the address, username and name validated, the password
    /// checked against every rule of [`check_new_password`](Self::check_new_password)
    /// and hashed. Every way an account with a password is made goes through
    /// here, so they cannot differ in their rules. All problems are reported
    /// together as [`SharedError::Validation`]; nothing is stored.
    pub(crate) async fn new_account(
        &self,
        email: &str,
        username: Option<&str>,
        name: Option<&str>,
        password: &str,
        email_verified: bool,
    ) -> Result<User, SharedError> {
        let mut problems = Vec::new();
        let valid_email = validate::email(email, &mut problems);
        let username_ok = username.and_then(|u| validate::username(u, &mut problems));
        let name = name.and_then(|n| validate::name(n, &mut problems));
        let identity: Vec<&str> = [Some(email), username].into_iter().flatten().collect();
        let password = match self.check_new_password(password, &identity).await {
            Ok(p) => Some(p),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let (Some(email), Some(password), true) = (valid_email, password, problems.is_empty())
        else {
            return Err(SharedError::Validation(problems));
        };
        let hash = self.hasher.hash(password).await?;
        let now = self.now();
        Ok(User {
            id: id::new_id(),
            email_normalized: crate::user::normalize_email(&email),
            email,
            email_verified,
            username_normalized: username_ok.as_deref().map(crate::user::normalize_username),
            username: username_ok,
            name,
            password_hash: Some(hash),
            created_at: now,
            updated_at: now,
            suspension: None,
            locale: None,
        })
    }

    /// Lifts a lockout: clears the account's failure counter. Returns
    /// whether there was one.
    pub async fn unlock_account(&self, user_id: &str) -> Result<bool, SharedError> {
        let cleared = self
            .store
            .clear_login_failures(&format!("user:{user_id}"))
            .await?;
        if cleared {
            tracing::info!(
                event = "account.unlocked",
                user_id,
                "account failure counter cleared"
            );
        }
        Ok(cleared)
    }

    /// Sets the account lifecycle rules (verification, reset, re-authentication,
    /// deletion, mail theme); [`LifecycleConfig::default`] otherwise.
    pub fn with_lifecycle(mut self, lifecycle: LifecycleConfig) -> Context {
        self.lifecycle = lifecycle;
        self
    }

    /// The lifecycle rules.
    pub fn lifecycle(&self) -> &LifecycleConfig {
        &self.lifecycle
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The keyring.
    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    /// The password hashing pool.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The CSRF token bound to a cookie session.
    pub fn csrf_token(&self, session_id: &str) -> String {
        b64url_encode(&hmac_sha256(
            &self.csrf_key,
            format!("csrf:{session_id}").as_bytes(),
        ))
    }

    /// The configured locale for `wanted` (`de-AT` → `de`), if any: what
    /// an account stores as the language of its mail.
    pub(crate) fn configured_locale(&self, wanted: Option<&str>) -> Option<String> {
        wanted
            .and_then(|l| self.lifecycle.catalogue.supported(l))
            .map(str::to_owned)
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        truncate_to_millis(self.clock.now())
    }

    /// Appends an event to the audit log. A failure is logged, not
    /// returned: the change it records has happened already.
    pub async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.store.append_audit_event(&event).await {
            tracing::error!(error = %e, event = %event.event, "could not write the audit event");
        }
    }

    /// The user's roles and permissions, read from the store now.
    pub async fn access(&self, user_id: &str) -> Result<Access, SharedError> {
        let graph = self.store.user_role_graph(user_id).await?;
        Ok(Access::resolve(&graph.assigned, &graph.roles))
    }

    /// The user's active sessions, newest first.
    pub async fn user_sessions(&self, user_id: &str) -> Result<Vec<Session>, SharedError> {
        Ok(self
            .store
            .active_sessions_of_user(user_id, self.now())
            .await?)
    }

    /// The user's account.
    pub async fn account(&self, user_id: &str) -> Result<User, SharedError> {
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or(SharedError::NotFound)
    }

    /// A client by id: from memory, else from the store (then kept).
    pub(crate) async fn client(&self, client_id: &str) -> Result<Option<Client>, SharedError> {
        let cached = self
            .clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(client_id)
            .filter(|(_, read)| read.elapsed() < CLIENT_CACHE_TTL)
            .map(|(c, _)| c.clone());
        if cached.is_some() {
            return Ok(cached);
        }
        let found = self.store.client_by_id(client_id).await?;
        let mut cache = self.clients.write().unwrap_or_else(|p| p.into_inner());
        match &found {
            Some(c) => {
                cache.insert(c.id.clone(), (c.clone(), std::time::Instant::now()));
            }
            None => {
                cache.remove(client_id);
            }
        }
        Ok(found)
    }

    /// Drops a cached client after its registration changed here.
    pub(crate) fn forget_client(&self, client_id: &str) {
        self.clients
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(client_id);
    }
}

/// How long another node may keep using a client it read (a secret
/// rotated or a client deleted elsewhere reaches every node within this).
pub const CLIENT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);
