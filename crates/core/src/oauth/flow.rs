//! The provider's flows on [`OAuth`]: consent, codes for approved
//! requests, the token endpoint's grants (`authorization_code`,
//! `refresh_token`, `client_credentials`), ID tokens, UserInfo, and the
//! person's grants. See [`super::grants`] for how a client's tokens live.

use std::sync::{Arc, Mutex};

use latchkey_proto::AccessClaims;
use latchkey_proto::token::{IdTokenClaims, OAuthTokenResponse, ScopedClaims, UserInfo};
use latchkey_tokens::{Alg, b64url_encode, constant_time_eq, random_token, sha256, sha256_hex};
use time::{Duration, OffsetDateTime};

use super::authorize::Checked;
use super::code::{AuthorizationCode, CodeExchange};
use super::error::OAuthError;
use super::grants::{CLIENT_REFRESH_PREFIX, ClientSession, ClientSessions, Grant};
use super::model::{AuthMethod, ClientType, GrantType, IdTokenAlg, OAuthClient};
use super::service::OAuth;
use crate::audit::{EventType, own_event};
use crate::auth::{AuthConfig, ClientInfo};
use crate::error::SharedError;
use crate::id;
use crate::keyring::Keyring;
use crate::roles::Access;
use crate::session::{
    IssueSuccessor, RefreshToken, RotateOutcome, Rotation, Session, SessionCreated, SessionKind,
};
use crate::sessions::ACCESS_TOKEN_TYP;
use crate::user::User;

/// How a client authenticated at the token endpoint.
#[derive(Debug, Clone, Copy)]
pub struct ClientAuth<'a> {
    /// The method used.
    pub method: AuthMethod,
    /// `client_id`.
    pub client_id: &'a str,
    /// The secret (`None` for `none`).
    pub secret: Option<&'a str>,
}

/// The `aal` of an `amr` list.
pub(crate) fn acr_of(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "mfa") {
        "aal2"
    } else {
        "aal1"
    }
}

fn words(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in scope.split(' ').filter(|w| !w.is_empty()) {
        if !out.iter().any(|o| o == w) {
            out.push(w.to_owned());
        }
    }
    out
}

/// The claims `scope` releases about `user`.
pub fn scoped_claims(user: &User, access: Option<&Access>, scope: &[String]) -> ScopedClaims {
    let has = |s: &str| scope.iter().any(|x| x == s);
    let mut c = ScopedClaims::default();
    if has("email") {
        c.email = Some(user.email.clone());
        c.email_verified = Some(user.email_verified);
    }
    if has("profile") {
        c.name = user.name.clone();
        c.preferred_username = user.username.clone();
        c.locale = user.locale.clone();
    }
    if has("roles") {
        c.roles = access.map(|a| a.roles.iter().cloned().collect());
    }
    c
}

/// Signs a client's tokens: everything it needs is owned, so it can run
/// inside a store's refresh exchange.
struct Minter {
    access_keys: Arc<Keyring>,
    id_keys: Arc<Keyring>,
    config: Arc<AuthConfig>,
    client: OAuthClient,
    scope: Vec<String>,
    resource: Option<String>,
    nonce: Option<String>,
    user: Option<User>,
    refresh: bool,
}

impl Minter {
    fn access_ttl(&self) -> Duration {
        self.client
            .settings
            .access_token_ttl_secs
            .map(|s| Duration::seconds(i64::from(s)))
            .unwrap_or(self.config.access_ttl)
    }

    fn refresh_ttl(&self) -> Duration {
        self.client
            .settings
            .refresh_token_ttl_secs
            .map(|s| Duration::seconds(i64::from(s)))
            .unwrap_or(self.config.session_idle_ttl)
    }

    /// The pair (and ID token) for `session`, with `access` (the roles).
    fn mint(
        &self,
        session: &Session,
        access: &Access,
        now: OffsetDateTime,
    ) -> Result<(OAuthTokenResponse, Option<RefreshToken>), String> {
        let scope = self.scope.join(" ");
        let claims = AccessClaims {
            iss: self.config.issuer.clone(),
            sub: session.user_id.clone(),
            aud: self
                .resource
                .clone()
                .unwrap_or_else(|| self.config.audience.clone()),
            exp: (now + self.access_ttl()).unix_timestamp(),
            iat: now.unix_timestamp(),
            nbf: now.unix_timestamp(),
            jti: id::new_id(),
            sid: session.id.clone(),
            client_id: self.client.client.id.clone(),
            scope: scope.clone(),
            roles: access.roles.iter().cloned().collect(),
            permissions: Vec::new(),
            amr: session.amr.clone(),
            acr: acr_of(&session.amr).into(),
            auth_time: session.auth_time.unix_timestamp(),
        };
        let access_token = self
            .access_keys
            .active()
            .map_err(|e| e.to_string())?
            .sign_jwt(ACCESS_TOKEN_TYP, &claims)
            .map_err(|e| e.to_string())?;
        let id_token = match (&self.user, self.scope.iter().any(|s| s == "openid")) {
            (Some(user), true) => Some(self.id_token(session, user, access, &access_token, now)?),
            _ => None,
        };
        let refresh = self.refresh.then(|| {
            let plain = format!("{CLIENT_REFRESH_PREFIX}{}", random_token());
            let row = RefreshToken {
                token_hash: sha256_hex(plain.as_bytes()),
                session_id: session.id.clone(),
                created_at: now,
                expires_at: (now + self.refresh_ttl()).min(session.expires_at),
                used_at: None,
            };
            (plain, row)
        });
        let (refresh_token, row) = match refresh {
            Some((plain, row)) => (Some(plain), Some(row)),
            None => (None, None),
        };
        Ok((
            OAuthTokenResponse {
                access_token,
                token_type: "Bearer".into(),
                expires_in: self.access_ttl().whole_seconds().max(0) as u64,
                refresh_token,
                id_token,
                scope,
            },
            row,
        ))
    }

    fn id_token(
        &self,
        session: &Session,
        user: &User,
        access: &Access,
        access_token: &str,
        now: OffsetDateTime,
    ) -> Result<String, String> {
        let (key, alg) = match self.client.settings.id_token_signed_response_alg {
            IdTokenAlg::RS256 => (
                self.id_keys.active().map_err(|e| e.to_string())?,
                Alg::RS256,
            ),
            other => {
                let key = self.access_keys.active().map_err(|e| e.to_string())?;
                let alg = key.alg();
                if alg.as_str() != other.as_str() {
                    return Err(format!(
                        "the client registered {} ID tokens, but the access-token key is {}",
                        other.as_str(),
                        alg.as_str()
                    ));
                }
                (key, alg)
            }
        };
        // OpenID Connect Core §3.1.3.6: the left half of the hash that
        // goes with the signature's algorithm (SHA-512 for Ed25519)
        let at_hash = match alg {
            Alg::EdDSA => {
                let d =
                    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, access_token.as_bytes());
                b64url_encode(&d.as_ref()[..32])
            }
            _ => b64url_encode(&sha256(access_token.as_bytes())[..16]),
        };
        let claims = IdTokenClaims {
            iss: self.config.issuer.clone(),
            sub: user.id.clone(),
            aud: self.client.client.id.clone(),
            exp: (now + self.access_ttl()).unix_timestamp(),
            iat: now.unix_timestamp(),
            auth_time: session.auth_time.unix_timestamp(),
            nonce: self.nonce.clone(),
            acr: acr_of(&session.amr).into(),
            amr: session.amr.clone(),
            sid: session.id.clone(),
            azp: self.client.client.id.clone(),
            at_hash: Some(at_hash),
            claims: scoped_claims(user, Some(access), &self.scope),
        };
        key.sign_jwt("JWT", &claims).map_err(|e| e.to_string())
    }
}

impl OAuth {
    /// Authenticates a client at the token endpoint with the method it
    /// registered (a public client with `none`, never with a secret).
    pub async fn authenticate(&self, auth: ClientAuth<'_>) -> Result<OAuthClient, OAuthError> {
        let client = match self.registered(auth.client_id).await {
            Ok(c) => c,
            Err(OAuthError::UnknownClient) => return Err(OAuthError::InvalidClient),
            Err(e) => return Err(e),
        };
        let registered = client.settings.token_endpoint_auth_method;
        let ok = match (client.settings.client_type, auth.secret) {
            (ClientType::Public, None) => auth.method == AuthMethod::None,
            (ClientType::Confidential, Some(secret)) => {
                auth.method == registered
                    && secret.len() <= 256
                    && !client.client.secret_hash.is_empty()
                    && constant_time_eq(
                        sha256_hex(secret.as_bytes()).as_bytes(),
                        client.client.secret_hash.as_bytes(),
                    )
            }
            _ => false,
        };
        if ok {
            Ok(client)
        } else {
            Err(OAuthError::InvalidClient)
        }
    }

    /// Whether `user_id` has consented to `scope` for `client` (a
    /// first-party client needs no consent).
    pub async fn consented(
        &self,
        user_id: &str,
        client: &OAuthClient,
        scope: &[String],
    ) -> Result<bool, OAuthError> {
        if client.settings.first_party {
            return Ok(true);
        }
        Ok(self
            .store()
            .grant(user_id, &client.client.id)
            .await?
            .is_some_and(|g| g.covers(scope)))
    }

    /// Remembers that `user_id` granted `scope` to `client_id` (added to
    /// what was granted before), with its `consent.granted` event.
    pub async fn remember_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &[String],
        from: &ClientInfo,
    ) -> Result<(), OAuthError> {
        let now = crate::store::truncate_to_millis(self.now());
        let event = own_event(EventType::ConsentGranted, now, from, user_id)
            .detail("client_id", client_id.to_owned())
            .detail("scope", scope.join(" "));
        let grant = match self.store().grant(user_id, client_id).await? {
            Some(mut g) => {
                for s in scope {
                    if !g.scope.contains(s) {
                        g.scope.push(s.clone());
                    }
                }
                g.updated_at = now;
                g
            }
            None => Grant {
                user_id: user_id.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_vec(),
                created_at: now,
                updated_at: now,
            },
        };
        Ok(self.store().upsert_grant(&grant, &event).await?)
    }

    /// The person's grants ("apps with access").
    pub async fn grants(&self, user_id: &str) -> Result<Vec<Grant>, OAuthError> {
        Ok(self.store().grants_of_user(user_id).await?)
    }

    /// Revokes a grant: the consent is forgotten and every token of that
    /// client for this person ends at once (`consent.revoked`).
    /// `UnknownClient` when there was no such grant.
    pub async fn revoke_grant(
        &self,
        user_id: &str,
        client_id: &str,
        from: &ClientInfo,
    ) -> Result<(), OAuthError> {
        if client_id.len() > 128 {
            return Err(OAuthError::UnknownClient);
        }
        let now = self.now();
        let event = own_event(EventType::ConsentRevoked, now, from, user_id)
            .detail("client_id", client_id.to_owned());
        if self
            .store()
            .delete_grant(user_id, client_id, now, &event)
            .await?
        {
            Ok(())
        } else {
            Err(OAuthError::UnknownClient)
        }
    }

    /// Issues the code for an approved request from `session` (the browser
    /// session of the person).
    pub async fn approve(
        &self,
        client: &OAuthClient,
        req: &Checked,
        session: &Session,
    ) -> Result<String, OAuthError> {
        self.issue_code(AuthorizationCode {
            code_hash: String::new(),
            client_id: client.client.id.clone(),
            user_id: session.user_id.clone(),
            session_id: session.id.clone(),
            redirect_uri: req.routed.redirect_uri.clone(),
            scope: req.scope.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            resource: req.resource.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH,
            used_at: None,
        })
        .await
    }

    async fn minter(
        &self,
        client: &OAuthClient,
        scope: Vec<String>,
        resource: Option<String>,
        nonce: Option<String>,
        user: Option<User>,
        refresh: bool,
    ) -> Result<Minter, OAuthError> {
        if user.is_some()
            && scope.iter().any(|s| s == "openid")
            && client.settings.id_token_signed_response_alg == IdTokenAlg::RS256
        {
            self.id_token_keys().await?;
        }
        Ok(Minter {
            access_keys: self.ctx().keys.clone(),
            id_keys: self.id_keys_arc(),
            config: self.ctx().config.clone(),
            client: client.clone(),
            scope,
            resource,
            nonce,
            user,
            refresh,
        })
    }

    /// The `authorization_code` grant (RFC 6749 §4.1.3): the code is used up
    /// at its first presentation; a second one by its client ends every
    /// session issued from it.
    pub async fn exchange_code(
        &self,
        client: &OAuthClient,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        resource: Option<&str>,
    ) -> Result<OAuthTokenResponse, OAuthError> {
        if !client.settings.allows_grant(GrantType::AuthorizationCode) {
            return Err(OAuthError::UnauthorizedClient(
                "the client may not use authorization_code",
            ));
        }
        let now = crate::store::truncate_to_millis(self.now());
        let exchange = CodeExchange {
            client_id: &client.client.id,
            redirect_uri,
            code_verifier,
            now,
        };
        let code = match self.redeem_code(code, exchange).await {
            Err(OAuthError::CodeReplayed { code_hash }) => {
                let ended = self
                    .store()
                    .revoke_client_sessions(ClientSessions::FromCode(&code_hash), now, "code_reuse")
                    .await?;
                tracing::warn!(client_id = %client.client.id, ended, "authorization code replayed: its tokens revoked");
                return Err(OAuthError::InvalidGrant("the code was used before"));
            }
            other => other?,
        };
        if resource.is_some_and(|r| Some(r) != code.resource.as_deref()) {
            return Err(OAuthError::InvalidTarget(
                "resource differs from the authorization request",
            ));
        }
        let parent = self
            .store()
            .session_by_id(&code.session_id)
            .await?
            .filter(|s| s.user_id == code.user_id && s.is_active(now))
            .ok_or(OAuthError::InvalidGrant(
                "the session it came from has ended",
            ))?;
        let user = self.account(&code.user_id).await?;
        let access = self.access(&code.user_id).await?;
        let refresh = client.settings.allows_grant(GrantType::RefreshToken)
            && (client.settings.first_party || code.scope.iter().any(|s| s == "offline_access"));
        let minter = self
            .minter(
                client,
                code.scope.clone(),
                code.resource.clone(),
                code.nonce.clone(),
                Some(user),
                refresh,
            )
            .await?;
        let lifetime = if refresh {
            minter.refresh_ttl().max(minter.access_ttl())
        } else {
            minter.access_ttl()
        };
        let session = Session {
            id: id::new_id(),
            user_id: code.user_id.clone(),
            kind: SessionKind::Bearer,
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.config().session_ttl.max(lifetime),
            idle_expires_at: now + lifetime,
            auth_time: code.auth_time,
            amr: code.amr.clone(),
            ip: parent.ip.clone(),
            user_agent: parent.user_agent.clone(),
            device_label: Some(client.client.name.clone()),
            cookie_token_hash: None,
            revoked_at: None,
            revoked_reason: None,
        };
        let (response, first) = minter
            .mint(&session, &access, now)
            .map_err(|e| SharedError::Internal(format!("client tokens: {e}")))?;
        match self
            .store()
            .create_session(&session, first.as_ref())
            .await?
        {
            SessionCreated::Created => {}
            SessionCreated::UserSuspended => {
                return Err(OAuthError::InvalidGrant("the account is suspended"));
            }
        }
        self.store()
            .insert_client_session(&ClientSession {
                session_id: session.id.clone(),
                client_id: client.client.id.clone(),
                user_id: code.user_id.clone(),
                parent_session_id: parent.id.clone(),
                scope: code.scope.clone(),
                resource: code.resource.clone(),
                code_hash: code.code_hash.clone(),
                created_at: now,
            })
            .await?;
        Ok(response)
    }

    /// The `refresh_token` grant (RFC 6749 §6): only the client's own
    /// tokens, rotated with reuse detection (a replay ends the session),
    /// the scope only narrowed.
    pub async fn refresh(
        &self,
        client: &OAuthClient,
        token: &str,
        scope: Option<&str>,
    ) -> Result<OAuthTokenResponse, OAuthError> {
        if !client.settings.allows_grant(GrantType::RefreshToken) {
            return Err(OAuthError::UnauthorizedClient(
                "the client may not use refresh_token",
            ));
        }
        if !token.starts_with(CLIENT_REFRESH_PREFIX) || token.len() > 256 {
            return Err(OAuthError::InvalidGrant("unknown refresh token"));
        }
        let hash = sha256_hex(token.as_bytes());
        let cs = self
            .store()
            .client_session_by_refresh(&hash)
            .await?
            .filter(|cs| constant_time_eq(cs.client_id.as_bytes(), client.client.id.as_bytes()))
            .ok_or(OAuthError::InvalidGrant("unknown refresh token"))?;
        let scope = match scope {
            None => cs.scope.clone(),
            Some(s) => {
                let wanted = words(s);
                if !wanted.iter().all(|w| cs.scope.contains(w)) {
                    return Err(OAuthError::InvalidScope(
                        "a refresh may only narrow the granted scope",
                    ));
                }
                wanted
            }
        };
        let user = self.account(&cs.user_id).await?;
        let now = crate::store::truncate_to_millis(self.now());
        let minter = Arc::new(
            self.minter(client, scope, cs.resource.clone(), None, Some(user), true)
                .await?,
        );
        let issued: Arc<Mutex<Option<OAuthTokenResponse>>> = Arc::default();
        let issue: Arc<IssueSuccessor> = {
            let (minter, issued, presented_hash) = (minter.clone(), issued.clone(), hash.clone());
            Arc::new(move |session: &Session, graph| {
                let access = Access::resolve(&graph.assigned, &graph.roles);
                let (response, successor) = minter.mint(session, &access, now)?;
                let successor = successor.ok_or("no successor")?;
                *issued.lock().unwrap_or_else(|p| p.into_inner()) = Some(response);
                Ok(Rotation {
                    presented_hash: presented_hash.clone(),
                    successor,
                    // no grace window for clients: a second presentation is a replay
                    successor_sealed: Vec::new(),
                    grace_until: now - Duration::days(1),
                    idle_expires_at: now + minter.refresh_ttl(),
                    now,
                })
            })
        };
        match self
            .store()
            .exchange_refresh_token(&hash, now, issue)
            .await?
        {
            RotateOutcome::Rotated => issued
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .ok_or_else(|| SharedError::Internal("rotated without issuing".into()).into()),
            RotateOutcome::Reused { session_id, .. } => {
                tracing::warn!(session_id = %session_id, client_id = %client.client.id, "client refresh token reused: session ended");
                Err(OAuthError::InvalidGrant(
                    "the refresh token was used before",
                ))
            }
            RotateOutcome::GraceRetry { .. } | RotateOutcome::Invalid => {
                Err(OAuthError::InvalidGrant("unknown refresh token"))
            }
        }
    }

    /// The `client_credentials` grant (RFC 6749 §4.4): a token for the
    /// client itself (`sub` is its id, no session, no refresh token), with
    /// scopes among the client's (all of them when none are asked for).
    pub async fn client_credentials(
        &self,
        client: &OAuthClient,
        scope: Option<&str>,
        resource: Option<&str>,
    ) -> Result<OAuthTokenResponse, OAuthError> {
        if client.settings.client_type != ClientType::Confidential
            || !client.settings.allows_grant(GrantType::ClientCredentials)
        {
            return Err(OAuthError::UnauthorizedClient(
                "the client may not use client_credentials",
            ));
        }
        let scope = match scope {
            None => client.settings.scopes.clone(),
            Some(s) => words(s),
        };
        if !scope.iter().all(|s| client.settings.scopes.contains(s)) {
            return Err(OAuthError::InvalidScope(
                "a requested scope is not allowed to this client",
            ));
        }
        if let Some(r) = resource
            && !super::authorize::is_resource(r)
        {
            return Err(OAuthError::InvalidTarget(
                "resource must be an absolute URI without a fragment",
            ));
        }
        let now = self.now();
        let minter = self
            .minter(
                client,
                scope,
                resource.map(str::to_owned),
                None,
                None,
                false,
            )
            .await?;
        let session = Session {
            id: String::new(),
            user_id: client.client.id.clone(),
            kind: SessionKind::Bearer,
            created_at: now,
            last_seen_at: now,
            expires_at: now,
            idle_expires_at: now,
            auth_time: now,
            amr: Vec::new(),
            ip: None,
            user_agent: None,
            device_label: None,
            cookie_token_hash: None,
            revoked_at: None,
            revoked_reason: None,
        };
        let (response, _) = minter
            .mint(&session, &Access::default(), now)
            .map_err(|e| SharedError::Internal(format!("client token: {e}")))?;
        Ok(response)
    }

    /// UserInfo (OpenID Connect Core §5.3): the claims the access token's
    /// scopes release; it needs `openid` and a live session.
    pub async fn userinfo(&self, access_token: &str) -> Result<UserInfo, OAuthError> {
        let claims = self
            .sessions_verify(access_token)
            .await
            .ok_or(OAuthError::InvalidToken("the access token is not valid"))?;
        let now = self.now();
        let live = !claims.sid.is_empty()
            && self
                .store()
                .session_by_id(&claims.sid)
                .await?
                .is_some_and(|s| s.user_id == claims.sub && s.is_active(now));
        if !live {
            return Err(OAuthError::InvalidToken("the session has ended"));
        }
        let scope = words(&claims.scope);
        if !scope.iter().any(|s| s == "openid") {
            return Err(OAuthError::InsufficientScope(
                "userinfo needs the openid scope",
            ));
        }
        let user = self.account(&claims.sub).await?;
        let access = if scope.iter().any(|s| s == "roles") {
            Some(self.access(&claims.sub).await?)
        } else {
            None
        };
        Ok(UserInfo {
            sub: user.id.clone(),
            claims: scoped_claims(&user, access.as_ref(), &scope),
        })
    }
}

/// What RP-initiated logout ended, for the redirect that follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOut {
    /// The client named by the ID token (its `aud`).
    pub client: OAuthClient,
    /// Whether a session was still live and has now ended.
    pub ended: bool,
}

impl OAuth {
    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2) with
    /// an `id_token_hint`: the token must be one of ours (signature, issuer;
    /// expired ones are accepted for as long as a session may last); the
    /// browser session its client session came from ends, and with it
    /// every client's tokens under it. `InvalidRequest` for a hint that is
    /// not ours, whose `client_id` differs from the one sent, or a
    /// `post_logout_redirect_uri` the client did not register (exactly).
    pub async fn logout_with_hint(
        &self,
        id_token_hint: &str,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
    ) -> Result<LoggedOut, OAuthError> {
        let claims = self.verify_id_token(id_token_hint).await?;
        if client_id.is_some_and(|c| c != claims.aud) {
            return Err(OAuthError::InvalidRequest(
                "client_id differs from the ID token's audience",
            ));
        }
        let client = self
            .registered(&claims.aud)
            .await
            .map_err(|_| OAuthError::InvalidRequest("the ID token's client is unknown"))?;
        // checked before anything ends: a refused request changes nothing
        if post_logout_redirect_uri.is_some_and(|uri| {
            !client
                .settings
                .post_logout_redirect_uris
                .iter()
                .any(|u| u == uri)
        }) {
            return Err(OAuthError::InvalidRequest(
                "post_logout_redirect_uri is not registered for this client",
            ));
        }
        let now = self.now();
        let parent = self
            .store()
            .client_session(&claims.sid)
            .await?
            .filter(|cs| cs.user_id == claims.sub && cs.client_id == claims.aud)
            .map(|cs| cs.parent_session_id);
        let ended = match parent {
            Some(parent) => {
                let session_ended = self
                    .store()
                    .revoke_session(&parent, now, "rp_logout")
                    .await?;
                // the client session itself, should the parent be gone already
                let client_ended = self
                    .store()
                    .revoke_session(&claims.sid, now, "rp_logout")
                    .await?;
                session_ended || client_ended
            }
            None => false,
        };
        Ok(LoggedOut { client, ended })
    }

    async fn verify_id_token(&self, token: &str) -> Result<IdTokenClaims, OAuthError> {
        let bad = || OAuthError::InvalidRequest("id_token_hint is not an ID token of this server");
        let header = latchkey_tokens::decode_header_unverified(token).map_err(|_| bad())?;
        let keys = if header.alg == "RS256" {
            self.id_token_keys().await?;
            self.id_keys_arc()
        } else {
            self.ctx().keys.clone()
        };
        // the audience is the client the token names: read it first, then
        // verify the whole token with it
        let payload = token.split('.').nth(1).ok_or_else(bad)?;
        let raw = latchkey_tokens::b64url_decode(payload).map_err(|_| bad())?;
        let aud = serde_json::from_slice::<serde_json::Value>(&raw)
            .ok()
            .and_then(|v| v["aud"].as_str().map(str::to_owned))
            .ok_or_else(bad)?;
        let validation = latchkey_tokens::Validation {
            issuer: &self.config().issuer,
            audience: &aud,
            typ: "JWT",
            now: self.now().unix_timestamp(),
            // an expired hint still names its session, for as long as one may last
            leeway_secs: self.config().session_ttl.whole_seconds(),
        };
        latchkey_tokens::verify_jwt::<IdTokenClaims>(token, |k| keys.verifying_key(k), &validation)
            .map_err(|_| bad())
    }
}
