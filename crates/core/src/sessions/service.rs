//! The sessions service.

use super::SessionError;
use super::{
    ACCESS_TOKEN_TYP, Introspection, MAX_OPAQUE_TOKEN_LEN, Principal, Revocation, TokenClient,
    issue, verify_reason,
};
use crate::audit::AuditEvent;
use crate::audit::EventType;
use crate::auth::*;
use crate::error::SharedError;
use crate::id;
use crate::keys::Client;
use crate::password::Password;
use crate::password::Verified;
use crate::roles::Access;
use crate::roles::UserRoleGraph;
use crate::session::IssueSuccessor;
use crate::session::RotateOutcome;
use crate::session::Rotation;
use crate::session::Session;
use crate::session::SessionKey;
use crate::session::SessionKind;
use crate::session::WhichSessions;
use crate::sign_in::{LoginAttempt, LoginOutcome, LoginSuccess, SignInError, login_failed};
use crate::user::normalize_email;
use crate::user::normalize_username;
use latchkey_proto::AccessClaims;
use latchkey_proto::TokenResponse;
use latchkey_tokens::Validation;
use latchkey_tokens::VerifyError;
use latchkey_tokens::constant_time_eq;
use latchkey_tokens::random_token;
use latchkey_tokens::sha256_hex;
use latchkey_tokens::verify_jwt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use time::Duration;

/// The sessions service: its methods over the shared [`Context`].
#[derive(Clone)]
pub struct Sessions {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl std::ops::Deref for Sessions {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Sessions {
    /// The service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Sessions {
        Sessions { ctx }
    }

    /// Deletes failure counters that have been forgotten (see
    /// [`BruteForcePolicy::reset_after`](crate::abuse::brute_force::BruteForcePolicy::reset_after)). Returns how many.
    pub async fn purge_login_failures(&self) -> Result<u64, SharedError> {
        let reset = self.protection.brute_force.reset_after;
        if reset.is_zero() {
            return Ok(0);
        }
        let before = self.now() - Duration::try_from(reset).unwrap_or(Duration::days(1));
        Ok(self.store.purge_login_failures(before).await?)
    }

    /// Signs in with an email or username and a password, from no known
    /// device (see [`Sessions::login_with`]).
    pub async fn login(
        &self,
        identifier: &str,
        password: &str,
        client: &ClientInfo,
        kind: SessionKind,
    ) -> Result<LoginOutcome, SignInError> {
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
    /// a throttled or locked account gets [`SignInError::Throttled`] or
    /// [`SignInError::AccountLocked`] without any hash being computed.
    pub async fn login_with(&self, attempt: LoginAttempt<'_>) -> Result<LoginSuccess, SignInError> {
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
                    SignInError::Throttled { .. } => Some("throttled"),
                    SignInError::AccountLocked => Some("account_locked"),
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
                return Err(SignInError::InvalidCredentials);
            }
        };
        // With a second factor, the right password only takes back its own
        // charge: the counter is cleared by the second step, so wrong codes
        // add up across sign-ins instead of being forgiven by each password.
        let second_factor = crate::mfa::service::enrolled(self, &user.id).await?;
        if let Some(c) = charged.as_ref().filter(|_| second_factor) {
            self.refund(c).await;
        } else if let Some(c) = &charged {
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
            return Err(SignInError::Suspended { until });
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
                    SignInError::Suspended { .. } => Some("account_suspended"),
                    SignInError::PendingDeletion { .. } => Some("account_pending_deletion"),
                    SignInError::EmailNotVerified => Some("email_not_verified"),
                    SignInError::InvalidCredentials => Some("invalid_credentials"),
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
            LoginOutcome::MfaRequired(_) => {
                return Ok(LoginSuccess {
                    outcome,
                    device_cookie,
                });
            }
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

    /// Exchanges a refresh token for a new pair (see the module docs), in
    /// one store call: the store reads the token, its session and the
    /// user's roles and asks for the successor only when the token rotates.
    /// The roles are read at each exchange, so a role removed since the
    /// last one is gone from the new access token.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenResponse, SessionError> {
        // an OAuth client's refresh token is exchanged at /oauth2/token only
        if refresh_token.is_empty()
            || refresh_token.len() > MAX_OPAQUE_TOKEN_LEN
            || refresh_token.starts_with(crate::oauth::CLIENT_REFRESH_PREFIX)
        {
            return Err(SessionError::InvalidRefreshToken);
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
                .ok_or_else(|| SharedError::Internal("rotated without issuing".into()).into()),
            RotateOutcome::GraceRetry { successor_sealed } => {
                let plain = self
                    .grace_sealer
                    .open(&successor_sealed, presented_hash.as_bytes())
                    .map_err(|e| {
                        SharedError::Internal(format!("grace response cannot be opened: {e}"))
                    })?;
                serde_json::from_slice(&plain)
                    .map_err(|e| SharedError::Internal(e.to_string()).into())
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
                Err(SessionError::RefreshTokenReused)
            }
            RotateOutcome::Invalid => Err(SessionError::InvalidRefreshToken),
        }
    }

    /// Checks an access token: signature, claims, and that its session is
    /// still active, reading the session and its user in one store call.
    pub async fn authenticate_bearer(&self, token: &str) -> Result<Principal, SessionError> {
        let claims = self.verify_access_token(token).await?;
        let (session, user) = self
            .store
            .session_with_user(SessionKey::Id(&claims.sid))
            .await?
            .filter(|(s, _)| s.user_id == claims.sub)
            .ok_or(SessionError::Unauthenticated("unknown session"))?;
        if !session.is_active(self.now()) {
            return Err(SessionError::Unauthenticated("session ended"));
        }
        // a token issued to an OAuth client names it: the routes decide
        // what its scopes reach
        let client =
            (claims.client_id != self.config.first_party_client_id).then_some(TokenClient {
                client_id: claims.client_id,
                scope: claims.scope,
            });
        Ok(Principal {
            user_id: claims.sub,
            session,
            user,
            client,
        })
    }

    /// Verifies an access token's signature and claims (not its session).
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessClaims, SessionError> {
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
                check().map_err(|e| SessionError::Unauthenticated(verify_reason(&e)))
            }
            Err(e) => Err(SessionError::Unauthenticated(verify_reason(&e))),
        }
    }

    /// Checks a session cookie's token; extends the idle end at most once a minute.
    pub async fn authenticate_cookie(&self, cookie_token: &str) -> Result<Principal, SessionError> {
        if cookie_token.is_empty() || cookie_token.len() > MAX_OPAQUE_TOKEN_LEN {
            return Err(SessionError::Unauthenticated("malformed cookie"));
        }
        let hash = sha256_hex(cookie_token.as_bytes());
        let (session, user) = self
            .store
            .session_with_user(SessionKey::CookieHash(&hash))
            .await?
            .filter(|(s, _)| s.kind == SessionKind::Cookie)
            .ok_or(SessionError::Unauthenticated("unknown session"))?;
        let now = self.now();
        if !session.is_active(now) {
            return Err(SessionError::Unauthenticated("session ended"));
        }
        if now - session.last_seen_at > Duration::minutes(1) {
            let idle = (now + self.config.session_idle_ttl).min(session.expires_at);
            self.store.touch_session(&session.id, now, idle).await?;
        }
        Ok(Principal {
            user_id: session.user_id.clone(),
            session,
            user,
            client: None,
        })
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
    ) -> Result<(), SessionError> {
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

    /// Ends one of the user's sessions; `NotFound` for anyone else's (or
    /// one that has ended already).
    pub async fn end_session(
        &self,
        user_id: &str,
        session_id: &str,
        client: &ClientInfo,
    ) -> Result<(), SessionError> {
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
            return Err(SharedError::NotFound.into());
        }
        Ok(())
    }

    /// Ends every session of the user except `keep`; returns how many.
    pub async fn end_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        client: &ClientInfo,
    ) -> Result<u64, SessionError> {
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

    /// RFC 7662: what a token is, if it is active.
    pub async fn introspect(&self, token: &str) -> Result<Introspection, SessionError> {
        if token.matches('.').count() == 2 {
            let Ok(claims) = self.verify_access_token(token).await else {
                return Ok(Introspection::default());
            };
            // a client_credentials token has no session: its signature and
            // expiry are all there is
            let active = if claims.sid.is_empty() {
                claims.sub == claims.client_id
            } else {
                self.store
                    .session_by_id(&claims.sid)
                    .await?
                    .is_some_and(|s| s.user_id == claims.sub && s.is_active(self.now()))
            };
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
                let (client_id, scope) = self.issued_to(token, &rt.token_hash).await?;
                Ok(Introspection {
                    active: true,
                    token_type: Some("refresh_token"),
                    sub: Some(s.user_id),
                    sid: Some(s.id),
                    client_id: Some(client_id),
                    scope: Some(scope),
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
    ) -> Result<Revocation, SessionError> {
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
                Some((rt, _)) => (
                    self.issued_to(token, &rt.token_hash).await?.0,
                    rt.session_id,
                ),
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

    /// The client and scope a refresh token was issued with: an OAuth
    /// client's (by its prefix, from its client session) or first-party.
    async fn issued_to(&self, token: &str, hash: &str) -> Result<(String, String), SessionError> {
        if !token.starts_with(crate::oauth::CLIENT_REFRESH_PREFIX) {
            return Ok((
                self.config.first_party_client_id.clone(),
                self.config.scope.clone(),
            ));
        }
        match self.store.client_session_by_refresh(hash).await? {
            Some(cs) => Ok((cs.client_id, cs.scope.join(" "))),
            // not a client session after all: nobody's to revoke or describe
            None => Ok((String::new(), String::new())),
        }
    }

    /// Registers an OAuth client; returns it with its secret (shown once).
    pub async fn create_client(&self, name: &str) -> Result<(Client, String), SessionError> {
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
    ) -> Result<Client, SessionError> {
        if client_id.len() > 128 || secret.len() > MAX_OPAQUE_TOKEN_LEN {
            return Err(SessionError::Unauthenticated(
                "malformed client credentials",
            ));
        }
        let presented = sha256_hex(secret.as_bytes());
        match self.client(client_id).await? {
            Some(c) if constant_time_eq(c.secret_hash.as_bytes(), presented.as_bytes()) => Ok(c),
            _ => Err(SessionError::Unauthenticated(
                "unknown client or wrong secret",
            )),
        }
    }
}
