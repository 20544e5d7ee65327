//! Password accounts, sessions and tokens: the rules, free of HTTP and SQL.
//!
//! [`Auth`] is the service the HTTP layer calls. It owns no I/O of its own:
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

mod admin;
mod import;
pub mod keyring;
mod lifecycle;
mod validate;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use latchkey_proto::{AccessClaims, TokenResponse};
use latchkey_tokens::{
    Sealer, Validation, VerifyError, b64url_encode, constant_time_eq, hmac_sha256, random_token,
    sha256_hex, verify_jwt,
};
use time::{Duration, OffsetDateTime};

use crate::abuse::brute_force::{self, BruteForcePolicy, Charge};
use crate::abuse::device::{DeviceCookies, KnownDevice};
use crate::audit::{AuditEvent, EventType};
use crate::clock::Clock;
use crate::id;
use crate::keys::Client;
use crate::password::{LengthPolicy, Password, PasswordError, PasswordHasher, Verified};
use crate::password_policy::PasswordRules;
use crate::roles::{Access, UserRoleGraph};
use crate::session::{
    IssueSuccessor, RefreshToken, RotateOutcome, Rotation, Session, SessionCreated, SessionKey,
    SessionKind, WhichSessions, device_label,
};
use crate::store::{Store, StoreError, truncate_to_millis};
use crate::user::{User, normalize_email, normalize_username};

pub use crate::client_info::ClientInfo;
pub use admin::{Actor, AdminPatch, NewUser, RoleInput, RolePatch};
pub use import::{Imported, ImportedUser};
pub use keyring::{KeyError, Keyring};
pub(crate) use lifecycle::{JOB_MAIL, JOB_RESET};
pub use lifecycle::{LifecycleConfig, ReauthInfo};
pub use validate::FieldProblem;

/// The `typ` of latchkey access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Longest refresh or cookie token accepted before hashing (ours are 43 chars).
const MAX_OPAQUE_TOKEN_LEN: usize = 256;

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
}

/// Changes to a profile; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    /// New username.
    pub username: Option<Option<String>>,
    /// New display name.
    pub name: Option<Option<String>>,
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

/// The account, session and token service.
pub struct Auth {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    keys: Arc<Keyring>,
    grace_sealer: Arc<Sealer>,
    csrf_key: [u8; 32],
    config: Arc<AuthConfig>,
    lifecycle: LifecycleConfig,
    mail_sealer: Sealer,
    job_sealer: Sealer,
    wakeup: Arc<tokio::sync::Notify>,
    protection: Protection,
    devices: DeviceCookies,
    device_key: [u8; 32],
    password_checks: AtomicU64,
    /// OAuth clients seen so far. A client never changes once created (the
    /// store has no update or delete), so a cached one stays true; an id not
    /// in the cache is looked up in the store (a client created since, by
    /// the CLI or another node) and kept when found.
    clients: RwLock<HashMap<String, Client>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Builds the service. `master_key` derives the keys that seal grace
    /// responses and sign CSRF tokens; the keyring must be initialized.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        hasher: PasswordHasher,
        keys: Arc<Keyring>,
        master_key: &[u8; 32],
        config: AuthConfig,
    ) -> Auth {
        let csrf_key = hmac_sha256(master_key, b"latchkey/csrf/v1");
        let mut protection = Protection::default();
        protection.passwords.length = config.password_policy;
        Auth {
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
    pub fn with_protection(mut self, mut protection: Protection) -> Auth {
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

    /// Deletes failure counters that have been forgotten (see
    /// [`BruteForcePolicy::reset_after`]). Returns how many.
    pub async fn purge_login_failures(&self) -> Result<u64, AuthError> {
        let reset = self.protection.brute_force.reset_after;
        if reset.is_zero() {
            return Ok(0);
        }
        let before = self.now() - Duration::try_from(reset).unwrap_or(Duration::days(1));
        Ok(self.store.purge_login_failures(before).await?)
    }

    /// Sets the account lifecycle rules (verification, reset, re-authentication,
    /// deletion, mail theme); [`LifecycleConfig::default`] otherwise.
    pub fn with_lifecycle(mut self, lifecycle: LifecycleConfig) -> Auth {
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

    fn now(&self) -> OffsetDateTime {
        truncate_to_millis(self.clock.now())
    }

    /// Creates an account (recorded as `user.registered`).
    pub async fn register(&self, r: Registration, client: &ClientInfo) -> Result<User, AuthError> {
        let mut problems = Vec::new();
        let email = validate::email(&r.email, &mut problems);
        let username = r
            .username
            .as_deref()
            .and_then(|u| validate::username(u, &mut problems));
        let name = r
            .name
            .as_deref()
            .and_then(|n| validate::name(n, &mut problems));
        let identity: Vec<&str> = [Some(r.email.as_str()), r.username.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let password = match self.check_new_password(&r.password, &identity).await {
            Ok(p) => Some(p),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let (Some(email), Some(password), true) = (email, password, problems.is_empty()) else {
            return Err(AuthError::Validation(problems));
        };
        let hash = self.hasher.hash(password).await?;
        let now = self.now();
        let user = User {
            id: id::new_id(),
            email_normalized: normalize_email(&email),
            email,
            email_verified: false,
            username_normalized: username.as_deref().map(normalize_username),
            username,
            name,
            password_hash: Some(hash),
            created_at: now,
            updated_at: now,
            suspension: None,
        };
        let event = AuditEvent::new(EventType::UserRegistered, now, client)
            .actor(Some(&user.id))
            .subject(&user.id);
        // the account, its event and its verification mail commit together
        let verify = self.verification(&user);
        match self
            .store
            .register_user(&user, &verify.token, &verify.mail, &verify.job, &event)
            .await
        {
            Ok(()) => {
                self.wake_jobs();
                Ok(user)
            }
            Err(StoreError::Conflict("email")) if !self.lifecycle.reveal_existing_on_register => {
                self.existing_address_registered(user).await
            }
            Err(StoreError::Conflict("email")) => Err(AuthError::EmailTaken),
            Err(StoreError::Conflict("username")) => Err(AuthError::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// A registration for an address that has an account, when that is not
    /// to be revealed: the owner is mailed, and the registrant gets what a
    /// new account gets (same status and shape, one hash and one queued mail
    /// done), for an id that names no account. A taken username is still
    /// `UsernameTaken`, as it would be for a new address.
    async fn existing_address_registered(&self, decoy: User) -> Result<User, AuthError> {
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

    /// Signs in with an email or username and a password, from no known
    /// device (see [`Auth::login_with`]).
    pub async fn login(
        &self,
        identifier: &str,
        password: &str,
        client: &ClientInfo,
        kind: SessionKind,
    ) -> Result<LoginOutcome, AuthError> {
        self.login_with(LoginAttempt {
            identifier,
            password,
            client,
            kind,
            device_cookie: None,
        })
        .await
        .map(|s| s.outcome)
    }

    /// Signs in with an email or username and a password. The attempt is
    /// charged against the account's failure counter (or, with a valid device
    /// cookie for the account, the device's) before the password is checked;
    /// a throttled or locked account gets [`AuthError::Throttled`] or
    /// [`AuthError::AccountLocked`] without any hash being computed.
    pub async fn login_with(&self, attempt: LoginAttempt<'_>) -> Result<LoginSuccess, AuthError> {
        let identifier = attempt.identifier.trim();
        let normalized = if identifier.contains('@') {
            normalize_email(identifier)
        } else {
            normalize_username(identifier)
        };
        let user = if identifier.is_empty() || identifier.len() > 320 {
            None
        } else if identifier.contains('@') {
            self.store.user_by_email(&normalized).await?
        } else {
            self.store.user_by_username(&normalized).await?
        };
        let now = self.now();
        let account_key = match &user {
            Some(u) => format!("user:{}", u.id),
            None => format!("ident:{}", sha256_hex(normalized.as_bytes())),
        };
        let device = attempt
            .device_cookie
            .and_then(|c| self.devices.verify(c, now))
            .filter(|d| user.as_ref().is_some_and(|u| u.id == d.user_id));
        let charged = match self
            .charge_attempt(&account_key, device.as_ref(), now)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                let reason = match &e {
                    AuthError::Throttled { .. } => Some("throttled"),
                    AuthError::AccountLocked => Some("account_locked"),
                    _ => None,
                };
                if let Some(reason) = reason {
                    let subject = user.as_ref().map(|u| u.id.as_str());
                    self.record(login_failed(now, attempt.client, subject, reason))
                        .await;
                }
                return Err(e);
            }
        };

        let candidate = Password::for_verification(attempt.password);
        // Always one hash: an unknown user costs what a wrong password costs.
        self.password_checks.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("latchkey_password_checks_total").increment(1);
        let verdict = self
            .hasher
            .verify(
                candidate,
                user.as_ref().and_then(|u| u.password_hash.as_deref()),
            )
            .await;
        let verdict = match verdict {
            Ok(v) => v,
            Err(e) => {
                if let Some(c) = &charged {
                    self.refund(c).await;
                }
                return Err(e.into());
            }
        };
        let (user, needs_rehash) = match (user, verdict) {
            (Some(u), Verified::Match { needs_rehash }) => (u, needs_rehash),
            (user, _) => {
                if let Some(c) = &charged {
                    c.note_lock();
                }
                self.record(login_failed(
                    now,
                    attempt.client,
                    user.as_ref().map(|u| u.id.as_str()),
                    "invalid_credentials",
                ))
                .await;
                return Err(AuthError::InvalidCredentials);
            }
        };
        if let Some(c) = &charged {
            self.store.clear_login_failures(&c.key).await?;
            if c.key != account_key && self.store.clear_login_failures(&account_key).await? {
                tracing::info!(event = "account.unlocked", user_id = %user.id, via = "known_device", "the owner signed in from a known device: the account's failure counter is cleared");
            }
        }
        if let Some(s) = user.active_suspension(now) {
            let until = s.until;
            self.record(login_failed(
                now,
                attempt.client,
                Some(&user.id),
                "account_suspended",
            ))
            .await;
            return Err(AuthError::Suspended { until });
        }
        if needs_rehash && let Some(verified) = user.password_hash.as_deref() {
            self.rehash(&user.id, verified, attempt.password).await;
        }
        let device_cookie =
            self.devices
                .issue(&user.id, device.as_ref().map(|d| d.device_id.as_str()), now);
        let outcome = match self
            .start_session(&user, attempt.client, attempt.kind, vec!["pwd".into()])
            .await
        {
            Err(e) => {
                // refused after the right password: by the store (a
                // suspension that raced this sign-in) or by the lifecycle
                // gate (deletion pending, address unverified)
                let reason = match &e {
                    AuthError::Suspended { .. } => Some("account_suspended"),
                    AuthError::PendingDeletion { .. } => Some("account_pending_deletion"),
                    AuthError::EmailNotVerified => Some("email_not_verified"),
                    AuthError::InvalidCredentials => Some("invalid_credentials"),
                    _ => None,
                };
                if let Some(reason) = reason {
                    self.record(login_failed(now, attempt.client, Some(&user.id), reason))
                        .await;
                }
                return Err(e);
            }
            Ok(outcome) => outcome,
        };
        let session_id = match &outcome {
            LoginOutcome::Tokens(t) => t.session_id.as_str(),
            LoginOutcome::Cookie(c) => c.session.id.as_str(),
        };
        self.record(
            AuditEvent::new(EventType::LoginSucceeded, now, attempt.client)
                .actor(Some(&user.id))
                .subject(&user.id)
                .session(session_id)
                .detail("method", "password")
                .detail("mode", attempt.kind.as_str()),
        )
        .await;
        Ok(LoginSuccess {
            outcome,
            device_cookie,
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
    async fn charge_attempt(
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
    async fn refund(&self, c: &Charged) {
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
    async fn rehash(&self, user_id: &str, verified: &str, password: &str) {
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
        let label = client.user_agent.as_deref().map(device_label);
        let new_device = self.is_new_device(user, label.as_deref(), client).await;
        let outcome = self.create_session(user, client, kind, amr).await?;
        if let Some(device) = new_device {
            self.notify_new_sign_in(user, device, client).await;
        }
        Ok(outcome)
    }

    async fn create_session(
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

    /// Exchanges a refresh token for a new pair (see the module docs), in
    /// one store call: the store reads the token, its session and the
    /// user's roles and asks for the successor only when the token rotates.
    /// The roles are read at each exchange, so a role removed since the
    /// last one is gone from the new access token.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenResponse, AuthError> {
        if refresh_token.is_empty() || refresh_token.len() > MAX_OPAQUE_TOKEN_LEN {
            return Err(AuthError::InvalidRefreshToken);
        }
        let presented_hash = sha256_hex(refresh_token.as_bytes());
        let now = self.now();
        let issued: Arc<Mutex<Option<TokenResponse>>> = Arc::default();
        let issue: Arc<IssueSuccessor> = {
            let (keys, config) = (self.keys.clone(), self.config.clone());
            let (sealer, issued) = (self.grace_sealer.clone(), issued.clone());
            let presented_hash = presented_hash.clone();
            Arc::new(move |session: &Session, graph: &UserRoleGraph| {
                let access = Access::resolve(&graph.assigned, &graph.roles);
                let (response, successor) =
                    issue(&keys, &config, session, now, &access).map_err(|e| e.to_string())?;
                let json = serde_json::to_vec(&response).map_err(|e| e.to_string())?;
                let rotation = Rotation {
                    successor,
                    successor_sealed: sealer.seal(&json, presented_hash.as_bytes()),
                    // With no grace window, one that ended long ago: concurrent
                    // requests read the clock at slightly different instants,
                    // and a window ending exactly at `now` would still admit
                    // the ones whose clock reading came a millisecond earlier.
                    grace_until: if config.refresh_grace.is_positive() {
                        now + config.refresh_grace
                    } else {
                        now - Duration::days(1)
                    },
                    idle_expires_at: now + config.session_idle_ttl,
                    presented_hash: presented_hash.clone(),
                    now,
                };
                *issued.lock().unwrap_or_else(|p| p.into_inner()) = Some(response);
                Ok(rotation)
            })
        };
        match self
            .store
            .exchange_refresh_token(&presented_hash, now, issue)
            .await?
        {
            RotateOutcome::Rotated => issued
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .ok_or_else(|| AuthError::Internal("rotated without issuing".into())),
            RotateOutcome::GraceRetry { successor_sealed } => {
                let plain = self
                    .grace_sealer
                    .open(&successor_sealed, presented_hash.as_bytes())
                    .map_err(|e| {
                        AuthError::Internal(format!("grace response cannot be opened: {e}"))
                    })?;
                serde_json::from_slice(&plain).map_err(|e| AuthError::Internal(e.to_string()))
            }
            RotateOutcome::Reused {
                session_id,
                user_id,
            } => {
                tracing::warn!(session_id = %session_id, "refresh token reused: session ended");
                self.record(
                    AuditEvent::new(EventType::RefreshTokenReused, now, client)
                        .subject(&user_id)
                        .session(&session_id)
                        .reason("refresh_token_reuse"),
                )
                .await;
                Err(AuthError::RefreshTokenReused)
            }
            RotateOutcome::Invalid => Err(AuthError::InvalidRefreshToken),
        }
    }

    /// Checks an access token: signature, claims, and that its session is
    /// still active, reading the session and its user in one store call.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Principal, AuthError> {
        let claims = self.verify_access_token(token).await?;
        let (session, user) = self
            .store
            .session_with_user(SessionKey::Id(&claims.sid))
            .await?
            .filter(|(s, _)| s.user_id == claims.sub)
            .ok_or(AuthError::Unauthenticated("unknown session"))?;
        if !session.is_active(self.now()) {
            return Err(AuthError::Unauthenticated("session ended"));
        }
        Ok(Principal {
            user_id: claims.sub,
            session,
            user,
        })
    }

    /// Verifies an access token's signature and claims (not its session).
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let now = self.clock.now().unix_timestamp();
        let validation = Validation {
            issuer: &self.config.issuer,
            audience: &self.config.audience,
            typ: ACCESS_TOKEN_TYP,
            now,
            leeway_secs: 30,
        };
        let check =
            || verify_jwt::<AccessClaims>(token, |kid| self.keys.verifying_key(kid), &validation);
        match check() {
            Ok(c) => Ok(c),
            Err(VerifyError::UnknownKey)
                if self
                    .keys
                    .reload_for_unknown_kid(self.store.as_ref(), self.now())
                    .await =>
            {
                check().map_err(|e| AuthError::Unauthenticated(verify_reason(&e)))
            }
            Err(e) => Err(AuthError::Unauthenticated(verify_reason(&e))),
        }
    }

    /// Checks a session cookie's token; extends the idle end at most once a minute.
    pub async fn authenticate_cookie(&self, cookie_token: &str) -> Result<Principal, AuthError> {
        if cookie_token.is_empty() || cookie_token.len() > MAX_OPAQUE_TOKEN_LEN {
            return Err(AuthError::Unauthenticated("malformed cookie"));
        }
        let hash = sha256_hex(cookie_token.as_bytes());
        let (session, user) = self
            .store
            .session_with_user(SessionKey::CookieHash(&hash))
            .await?
            .filter(|(s, _)| s.kind == SessionKind::Cookie)
            .ok_or(AuthError::Unauthenticated("unknown session"))?;
        let now = self.now();
        if !session.is_active(now) {
            return Err(AuthError::Unauthenticated("session ended"));
        }
        if now - session.last_seen_at > Duration::minutes(1) {
            let idle = (now + self.config.session_idle_ttl).min(session.expires_at);
            self.store.touch_session(&session.id, now, idle).await?;
        }
        Ok(Principal {
            user_id: session.user_id.clone(),
            session,
            user,
        })
    }

    /// The CSRF token bound to a cookie session.
    pub fn csrf_token(&self, session_id: &str) -> String {
        b64url_encode(&hmac_sha256(
            &self.csrf_key,
            format!("csrf:{session_id}").as_bytes(),
        ))
    }

    /// Whether `presented` is the CSRF token of `session_id` (constant time).
    pub fn check_csrf(&self, session_id: &str, presented: &str) -> bool {
        constant_time_eq(self.csrf_token(session_id).as_bytes(), presented.as_bytes())
    }

    /// Ends the caller's session (recorded as `logout`).
    pub async fn logout(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let sid = principal.session.id.as_str();
        let event = AuditEvent::new(EventType::Logout, now, client)
            .actor(Some(&principal.user_id))
            .subject(&principal.user_id)
            .session(sid);
        self.store
            .revoke_sessions(
                &principal.user_id,
                WhichSessions::One(sid),
                now,
                "logout",
                Some(&event),
            )
            .await?;
        Ok(())
    }

    /// The user's active sessions, newest first.
    pub async fn sessions(&self, user_id: &str) -> Result<Vec<Session>, AuthError> {
        Ok(self
            .store
            .active_sessions_of_user(user_id, self.now())
            .await?)
    }

    /// Ends one of the user's sessions; `NotFound` for anyone else's (or
    /// one that has ended already).
    pub async fn end_session(
        &self,
        user_id: &str,
        session_id: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let event = AuditEvent::new(EventType::SessionRevoked, now, client)
            .actor(Some(user_id))
            .subject(user_id)
            .session(session_id);
        let ended = self
            .store
            .revoke_sessions(
                user_id,
                WhichSessions::One(session_id),
                now,
                "user",
                Some(&event),
            )
            .await?;
        if ended == 0 {
            return Err(AuthError::NotFound);
        }
        Ok(())
    }

    /// Ends every session of the user except `keep`; returns how many.
    pub async fn end_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        client: &ClientInfo,
    ) -> Result<u64, AuthError> {
        let now = self.now();
        let mut event = AuditEvent::new(EventType::SessionsRevoked, now, client)
            .actor(Some(user_id))
            .subject(user_id);
        if let Some(keep) = keep {
            event = event.session(keep).detail("kept_current", true);
        }
        Ok(self
            .store
            .revoke_sessions(
                user_id,
                WhichSessions::AllExcept(keep),
                now,
                "user",
                Some(&event),
            )
            .await?)
    }

    /// The user's account.
    pub async fn account(&self, user_id: &str) -> Result<User, AuthError> {
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// Changes profile fields (recorded as `account.updated`).
    pub async fn update_account(
        &self,
        user_id: &str,
        patch: ProfilePatch,
        client: &ClientInfo,
    ) -> Result<User, AuthError> {
        let mut user = self.account(user_id).await?;
        let mut problems = Vec::new();
        if let Some(username) = patch.username {
            user.username = username
                .as_deref()
                .and_then(|u| validate::username(u, &mut problems));
            user.username_normalized = user.username.as_deref().map(normalize_username);
        }
        if let Some(name) = patch.name {
            user.name = name
                .as_deref()
                .and_then(|n| validate::name(n, &mut problems));
        }
        if !problems.is_empty() {
            return Err(AuthError::Validation(problems));
        }
        user.updated_at = self.now();
        let event = AuditEvent::new(EventType::AccountUpdated, user.updated_at, client)
            .actor(Some(user_id))
            .subject(user_id);
        match self.store.update_user(&user, Some(&event)).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict("username")) => Err(AuthError::UsernameTaken),
            Err(StoreError::NotFound) => Err(AuthError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// RFC 7662: what a token is, if it is active.
    pub async fn introspect(&self, token: &str) -> Result<Introspection, AuthError> {
        if token.matches('.').count() == 2 {
            let Ok(claims) = self.verify_access_token(token).await else {
                return Ok(Introspection::default());
            };
            let active = self
                .store
                .session_by_id(&claims.sid)
                .await?
                .is_some_and(|s| s.user_id == claims.sub && s.is_active(self.now()));
            if !active {
                return Ok(Introspection::default());
            }
            return Ok(Introspection {
                active: true,
                token_type: Some("access_token"),
                sub: Some(claims.sub),
                sid: Some(claims.sid),
                client_id: Some(claims.client_id),
                scope: Some(claims.scope),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                iss: Some(claims.iss),
                aud: Some(claims.aud),
            });
        }
        if token.is_empty() || token.len() > MAX_OPAQUE_TOKEN_LEN {
            return Ok(Introspection::default());
        }
        let now = self.now();
        match self
            .store
            .refresh_token(&sha256_hex(token.as_bytes()))
            .await?
        {
            Some((rt, s)) if rt.used_at.is_none() && rt.expires_at > now && s.is_active(now) => {
                Ok(Introspection {
                    active: true,
                    token_type: Some("refresh_token"),
                    sub: Some(s.user_id),
                    sid: Some(s.id),
                    client_id: Some(self.config.first_party_client_id.clone()),
                    scope: Some(self.config.scope.clone()),
                    exp: Some(rt.expires_at.unix_timestamp()),
                    iat: Some(rt.created_at.unix_timestamp()),
                    iss: Some(self.config.issuer.clone()),
                    aud: None,
                })
            }
            _ => Ok(Introspection::default()),
        }
    }

    /// RFC 7009: revokes a token by ending its session, but only for the
    /// client it was issued to (`client_id` is the authenticated client).
    /// First-party tokens (issued to [`AuthConfig::first_party_client_id`],
    /// every refresh token today) are ended by their holder (logout, the
    /// account's sessions) or an administrator, never by another client:
    /// [`Revocation::NotIssuedToClient`]. Unknown tokens are not an error.
    pub async fn revoke_token(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<Revocation, AuthError> {
        let now = self.now();
        let (issued_to, session_id) = if token.matches('.').count() == 2 {
            match self.verify_access_token(token).await {
                Ok(claims) => (claims.client_id, claims.sid),
                Err(_) => return Ok(Revocation::Unknown),
            }
        } else {
            if token.is_empty() || token.len() > MAX_OPAQUE_TOKEN_LEN {
                return Ok(Revocation::Unknown);
            }
            match self
                .store
                .refresh_token(&sha256_hex(token.as_bytes()))
                .await?
            {
                Some((rt, _)) => (self.config.first_party_client_id.clone(), rt.session_id),
                None => return Ok(Revocation::Unknown),
            }
        };
        if !constant_time_eq(issued_to.as_bytes(), client_id.as_bytes()) {
            return Ok(Revocation::NotIssuedToClient);
        }
        self.store
            .revoke_session(&session_id, now, "revoked")
            .await?;
        Ok(Revocation::Revoked)
    }

    /// Registers an OAuth client; returns it with its secret (shown once).
    pub async fn create_client(&self, name: &str) -> Result<(Client, String), AuthError> {
        let secret = random_token();
        let client = Client {
            id: format!("lk_{}", id::new_id().replace('-', "")),
            name: name.trim().to_owned(),
            secret_hash: sha256_hex(secret.as_bytes()),
            created_at: self.now(),
        };
        self.store.insert_client(&client).await?;
        Ok((client, secret))
    }

    /// Checks a client's credentials (constant-time on the hash).
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<Client, AuthError> {
        if client_id.len() > 128 || secret.len() > MAX_OPAQUE_TOKEN_LEN {
            return Err(AuthError::Unauthenticated("malformed client credentials"));
        }
        let presented = sha256_hex(secret.as_bytes());
        match self.client(client_id).await? {
            Some(c) if constant_time_eq(c.secret_hash.as_bytes(), presented.as_bytes()) => Ok(c),
            _ => Err(AuthError::Unauthenticated("unknown client or wrong secret")),
        }
    }

    /// A client by id: from memory, else from the store (then kept).
    async fn client(&self, client_id: &str) -> Result<Option<Client>, AuthError> {
        let cached = self
            .clients
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(client_id)
            .cloned();
        if cached.is_some() {
            return Ok(cached);
        }
        let found = self.store.client_by_id(client_id).await?;
        if let Some(c) = &found {
            self.clients
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(c.id.clone(), c.clone());
        }
        Ok(found)
    }
}

/// Signs an access token and makes a refresh token for `session`.
fn issue(
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
struct Charged {
    key: String,
    failures: u32,
    locks: bool,
    now: OffsetDateTime,
}

impl Charged {
    /// Logs and counts the lock when this failed attempt reached the threshold.
    fn note_lock(&self) {
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

    fn scope(&self) -> &'static str {
        match self.key.split_once(':').map(|(k, _)| k) {
            Some("device") => "device",
            Some("ident") => "unknown_identifier",
            _ => "account",
        }
    }
}

/// A `login.failed` audit event; the subject is recorded only for an
/// existing account, never the identifier typed for an unknown one.
fn login_failed(
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

fn verify_reason(e: &VerifyError) -> &'static str {
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

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
