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

pub(crate) mod admin;
pub(crate) mod import;
pub mod keyring;
pub(crate) mod lifecycle;
pub(crate) mod validate;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use latchkey_proto::{AccessClaims, TokenResponse};
use latchkey_tokens::{Sealer, VerifyError, b64url_encode, hmac_sha256, random_token, sha256_hex};
use time::{Duration, OffsetDateTime};

use crate::abuse::brute_force::{self, BruteForcePolicy, Charge};
use crate::abuse::device::{DeviceCookies, KnownDevice};
use crate::audit::{AuditEvent, EventType};
use crate::clock::Clock;
use crate::id;
use crate::keys::Client;
use crate::password::{LengthPolicy, Password, PasswordError, PasswordHasher};
use crate::password_policy::PasswordRules;
use crate::roles::Access;
use crate::session::{RefreshToken, Session, SessionCreated, SessionKind, device_label};
use crate::store::{Store, StoreError, truncate_to_millis};
use crate::user::User;

pub use crate::client_info::ClientInfo;
pub use admin::{Actor, AdminPatch, NewUser, RoleInput, RolePatch};
pub use import::ImportedUser;
pub use keyring::{KeyError, Keyring};
pub(crate) use lifecycle::{JOB_MAIL, JOB_RESET};
pub use lifecycle::{LifecycleConfig, ReauthInfo};
pub use validate::FieldProblem;

/// The `typ` of latchkey access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Longest refresh or cookie token accepted before hashing (ours are 43 chars).
pub(crate) const MAX_OPAQUE_TOKEN_LEN: usize = 256;

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
}

/// What went wrong, in terms the HTTP layer turns into responses.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The input has invalid fields.
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    /// The email address is registered already.
    #[error("email taken")]
    EmailTaken,
    /// The username is taken.
    #[error("username taken")]
    UsernameTaken,
    /// Unknown identifier or wrong password: deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The refresh token is unknown, expired, used or its session ended.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A refresh token was presented again after it was exchanged: the
    /// session has been ended.
    #[error("refresh token reused; session ended")]
    RefreshTokenReused,
    /// The access token or session cookie is invalid (the reason is for logs).
    #[error("invalid credentials: {0}")]
    Unauthenticated(&'static str),
    /// The object does not exist (or belongs to someone else).
    #[error("not found")]
    NotFound,
    /// The account is suspended (checked after the password, so only
    /// someone who knows it learns this).
    #[error("account suspended")]
    Suspended {
        /// When the suspension ends; `None`: until lifted.
        until: Option<OffsetDateTime>,
    },
    /// The caller lacks this permission.
    #[error("permission {0} denied")]
    PermissionDenied(String),
    /// The role name is taken.
    #[error("role name taken")]
    RoleTaken,
    /// Built-in roles cannot be changed or deleted.
    #[error("built-in role")]
    RoleReadOnly,
    /// The role is the parent of other roles (named).
    #[error("role in use")]
    RoleInUse(Vec<String>),
    /// An administrator tried to suspend or delete their own account.
    #[error("cannot act on own account")]
    SelfAction,
    /// Too many recent failed sign-ins for this account (or identifier):
    /// the password was not checked.
    #[error("sign-in throttled")]
    Throttled {
        /// Seconds to wait.
        retry_after_secs: u32,
    },
    /// The account is locked after too many consecutive failed sign-ins:
    /// the password was not checked.
    #[error("account locked")]
    AccountLocked,
    /// The account's deletion is pending: sign-in is refused until it is
    /// cancelled with the mailed link.
    #[error("account pending deletion")]
    PendingDeletion {
        /// When the personal data will be removed.
        due: OffsetDateTime,
    },
    /// Sign-in needs a verified address (`accounts.require_verified_email`).
    #[error("email not verified")]
    EmailNotVerified,
    /// The operation needs a recent authentication (`POST /v1/auth/reauth`).
    #[error("recent authentication required")]
    ReauthRequired,
    /// The current password given to confirm a change is wrong.
    #[error("wrong current password")]
    WrongPassword,
    /// A mailed token is unknown, expired, used, superseded or for something else.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The password hashing queue is full: retry shortly.
    #[error("busy")]
    Busy {
        /// Seconds to wait.
        retry_after_secs: u32,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or a broken key: logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<PasswordError> for AuthError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy { retry_after_secs } => AuthError::Busy { retry_after_secs },
            other => AuthError::Internal(other.to_string()),
        }
    }
}

impl From<KeyError> for AuthError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Store(s) => AuthError::Store(s),
            other => AuthError::Internal(other.to_string()),
        }
    }
}

/// A new account.
#[derive(Debug)]
pub struct Registration {
    /// Email address.
    pub email: String,
    /// Chosen password, as typed.
    pub password: String,
    /// Optional handle.
    pub username: Option<String>,
    /// Optional display name.
    pub name: Option<String>,
    /// The language of the account's mail (the page's or request's), if
    /// known; kept only when it is a configured locale.
    pub locale: Option<String>,
}

/// Changes to a profile; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    /// New username.
    pub username: Option<Option<String>>,
    /// New display name.
    pub name: Option<Option<String>>,
    /// New language of mail (a configured locale; `Some(None)`: the default).
    pub locale: Option<Option<String>>,
}

/// A cookie session just created.
#[derive(Debug, Clone)]
pub struct CookieSession {
    /// The session.
    pub session: Session,
    /// The cookie's value (256 random bits); stored only as a hash.
    pub cookie_token: String,
    /// The CSRF token to send in `X-CSRF-Token` on unsafe requests.
    pub csrf_token: String,
}

/// The outcome of a password login.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// Bearer mode: tokens in the body.
    Tokens(TokenResponse),
    /// Cookie mode: a session cookie.
    Cookie(Box<CookieSession>),
    /// The account has a second factor: no session yet; the second step
    /// (`POST /v1/auth/login/mfa`) answers this challenge.
    MfaRequired(Box<crate::mfa::MfaRequired>),
}

/// A password sign-in attempt.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// Email address or username.
    pub identifier: &'a str,
    /// The password as typed.
    pub password: &'a str,
    /// Where the request came from.
    pub client: &'a ClientInfo,
    /// Bearer or cookie session.
    pub kind: SessionKind,
    /// The device cookie the client sent, if any.
    pub device_cookie: Option<&'a str>,
}

/// A successful password sign-in.
#[derive(Debug, Clone)]
pub struct LoginSuccess {
    /// The session's credentials.
    pub outcome: LoginOutcome,
    /// A fresh device cookie for this client (see [`crate::abuse::device`]).
    pub device_cookie: String,
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

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user id.
    pub user_id: String,
    /// The active session the credential belongs to.
    pub session: Session,
    /// The user, read with the session in the same store call.
    pub user: User,
}

/// The answer of RFC 7662 introspection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// `access_token` or `refresh_token`.
    pub token_type: Option<&'static str>,
    /// The user.
    pub sub: Option<String>,
    /// The session.
    pub sid: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// Scopes.
    pub scope: Option<String>,
    /// Expiry (Unix seconds).
    pub exp: Option<i64>,
    /// Issued at (Unix seconds).
    pub iat: Option<i64>,
    /// Issuer.
    pub iss: Option<String>,
    /// Audience.
    pub aud: Option<String>,
}

/// What an RFC 7009 revocation request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The token's session has ended.
    Revoked,
    /// Not a live token of this server: nothing to do (not an error).
    Unknown,
    /// The token was issued to another client (or is first-party): refused.
    NotIssuedToClient,
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
    /// together as [`AuthError::Validation`]; nothing is stored.
    pub(crate) async fn new_account(
        &self,
        email: &str,
        username: Option<&str>,
        name: Option<&str>,
        password: &str,
        email_verified: bool,
    ) -> Result<User, AuthError> {
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
            return Err(AuthError::Validation(problems));
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
    pub async fn unlock_account(&self, user_id: &str) -> Result<bool, AuthError> {
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

    /// A registration for an address that has an account, when that is not
    /// to be revealed: the owner is mailed, and the registrant gets what a
    /// new account gets (same status and shape, one hash and one queued mail
    /// done), for an id that names no account. A taken username is still
    /// `UsernameTaken`, as it would be for a new address.
    pub(crate) async fn existing_address_registered(&self, decoy: User) -> Result<User, AuthError> {
        if let Some(username) = &decoy.username_normalized
            && self.store.user_by_username(username).await?.is_some()
        {
            return Err(AuthError::UsernameTaken);
        }
        match self.store.user_by_email(&decoy.email_normalized).await? {
            Some(owner) => self.notify_sign_up_attempt(&owner).await,
            None => tracing::warn!("registration conflict on an address no account has"),
        }
        Ok(User {
            id: id::new_id(),
            password_hash: None,
            ..decoy
        })
    }

    /// Appends an event to the audit log. A failure is logged, not
    /// returned: the change it records has happened already.
    pub async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.store.append_audit_event(&event).await {
            tracing::error!(error = %e, event = %event.event, "could not write the audit event");
        }
    }

    /// The user's roles and permissions, read from the store now.
    pub async fn access(&self, user_id: &str) -> Result<Access, AuthError> {
        let graph = self.store.user_role_graph(user_id).await?;
        Ok(Access::resolve(&graph.assigned, &graph.roles))
    }

    /// Charges an attempt to the known device (if it still has budget) or
    /// else to the account; `None` when brute-force protection is off.
    pub(crate) async fn charge_attempt(
        &self,
        account_key: &str,
        device: Option<&KnownDevice>,
        now: OffsetDateTime,
    ) -> Result<Option<Charged>, AuthError> {
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
                Err(AuthError::Throttled {
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
                Err(AuthError::AccountLocked)
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

    /// Creates a session for an authenticated user and issues its
    /// credentials. Every way of signing in ends here, so the account's
    /// lifecycle state is checked here: one pending deletion, or (with
    /// `accounts.require_verified_email`) an unverified one is refused; a
    /// deactivated one is reactivated. Suspension is checked by the store
    /// when the session is stored (atomic with a concurrent suspension):
    /// `Suspended` then. A sign-in from a device the user never used before
    /// mails a notice.
    pub async fn start_session(
        &self,
        user: &User,
        client: &ClientInfo,
        kind: SessionKind,
        amr: Vec<String>,
    ) -> Result<LoginOutcome, AuthError> {
        self.admit(user, client).await?;
        // the one branch every way of signing in takes: a second factor first
        if let Some(required) =
            crate::mfa::service::challenge_if_enrolled(self, user, kind, &amr).await?
        {
            return Ok(LoginOutcome::MfaRequired(Box::new(required)));
        }
        let label = client.user_agent.as_deref().map(device_label);
        let new_device = self.is_new_device(user, label.as_deref(), client).await;
        let outcome = self.create_session(user, client, kind, amr).await?;
        if let Some(device) = new_device {
            self.notify_new_sign_in(user, device, client).await;
        }
        Ok(outcome)
    }

    pub(crate) async fn create_session(
        &self,
        user: &User,
        client: &ClientInfo,
        kind: SessionKind,
        amr: Vec<String>,
    ) -> Result<LoginOutcome, AuthError> {
        let now = self.now();
        let cookie_token = (kind == SessionKind::Cookie).then(random_token);
        let session = Session {
            id: id::new_id(),
            user_id: user.id.clone(),
            kind,
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.config.session_ttl,
            idle_expires_at: (now + self.config.session_idle_ttl)
                .min(now + self.config.session_ttl),
            auth_time: now,
            amr,
            ip: client.ip.clone(),
            user_agent: client.user_agent.as_ref().map(|ua| truncate(ua, 512)),
            device_label: client.user_agent.as_deref().map(device_label),
            cookie_token_hash: cookie_token.as_deref().map(|t| sha256_hex(t.as_bytes())),
            revoked_at: None,
            revoked_reason: None,
        };
        let admitted = |created: SessionCreated| match created {
            SessionCreated::Created => Ok(()),
            SessionCreated::UserSuspended => Err(AuthError::Suspended {
                until: user.suspension.as_ref().and_then(|s| s.until),
            }),
        };
        match cookie_token {
            Some(cookie_token) => {
                admitted(self.store.create_session(&session, None).await?)?;
                let csrf_token = self.csrf_token(&session.id);
                Ok(LoginOutcome::Cookie(Box::new(CookieSession {
                    session,
                    cookie_token,
                    csrf_token,
                })))
            }
            None => {
                let access = self.access(&user.id).await?;
                let (response, first) = issue(&self.keys, &self.config, &session, now, &access)?;
                admitted(self.store.create_session(&session, Some(&first)).await?)?;
                Ok(LoginOutcome::Tokens(response))
            }
        }
    }

    /// The user's active sessions, newest first.
    pub async fn user_sessions(&self, user_id: &str) -> Result<Vec<Session>, AuthError> {
        Ok(self
            .store
            .active_sessions_of_user(user_id, self.now())
            .await?)
    }

    /// The user's account.
    pub async fn account(&self, user_id: &str) -> Result<User, AuthError> {
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// A client by id: from memory, else from the store (then kept).
    pub(crate) async fn client(&self, client_id: &str) -> Result<Option<Client>, AuthError> {
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

/// Signs an access token and makes a refresh token for `session`.
pub(crate) fn issue(
    keys: &Keyring,
    config: &AuthConfig,
    session: &Session,
    now: OffsetDateTime,
    access: &Access,
) -> Result<(TokenResponse, RefreshToken), AuthError> {
    let key = keys.active()?;
    let claims = AccessClaims {
        iss: config.issuer.clone(),
        sub: session.user_id.clone(),
        aud: config.audience.clone(),
        exp: (now + config.access_ttl).unix_timestamp(),
        iat: now.unix_timestamp(),
        nbf: now.unix_timestamp(),
        jti: id::new_id(),
        sid: session.id.clone(),
        client_id: config.first_party_client_id.clone(),
        scope: config.scope.clone(),
        roles: access.roles.iter().cloned().collect(),
        permissions: if config.include_permissions {
            access.permissions.iter().cloned().collect()
        } else {
            Vec::new()
        },
        amr: session.amr.clone(),
        acr: if session.amr.iter().any(|m| m == "mfa") {
            "aal2"
        } else {
            "aal1"
        }
        .into(),
        auth_time: session.auth_time.unix_timestamp(),
    };
    let access_token = key
        .sign_jwt(ACCESS_TOKEN_TYP, &claims)
        .map_err(|e| AuthError::Internal(format!("signing failed: {e}")))?;
    let refresh_token = random_token();
    let row = RefreshToken {
        token_hash: sha256_hex(refresh_token.as_bytes()),
        session_id: session.id.clone(),
        created_at: now,
        expires_at: (now + config.session_idle_ttl).min(session.expires_at),
        used_at: None,
    };
    let response = TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: config.access_ttl.whole_seconds().max(0) as u64,
        refresh_token,
        session_id: session.id.clone(),
        scope: config.scope.clone(),
    };
    Ok((response, row))
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

pub(crate) fn verify_reason(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Expired => "token expired",
        VerifyError::Signature => "bad signature",
        VerifyError::Algorithm => "algorithm not allowed",
        VerifyError::UnknownKey => "unknown key",
        VerifyError::Issuer => "wrong issuer",
        VerifyError::Audience => "wrong audience",
        VerifyError::Type => "wrong token type",
        VerifyError::NotYetValid => "token not yet valid",
        _ => "malformed token",
    }
}

pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
