//! The federation service: the authorization request, the callback, the
//! API mode's code exchange, and the account's identities.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use latchkey_tokens::{b64url_encode, constant_time_eq, random_token, sha256, sha256_hex};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::FederationError;
use super::id_token::{self, Nonce};
use super::link::{Arrival, Arriving};
use super::model::{
    EXCHANGE_TTL, ExchangeGrant, FLOW_TTL, FederationConfig, Flow, FlowMode, Identity, Provider,
    ProviderKind, Upstreamer,
};
use super::presets::apple::name_from_user_field as apple_name;
use super::upstream::Upstream;
use crate::audit::{AuditEvent, EventType};
use crate::auth::Context;
use crate::client_info::ClientInfo;
use crate::error::SharedError;
use crate::id;
use crate::session::SessionKind;
use crate::sign_in::{LoginOutcome, LoginSuccess};
use crate::store::StoreError;
use crate::user::{User, normalize_email};
use crate::ways_in::{LAST_WAY_IN, LastWayIn};

/// How long a discovery document is used before it is fetched again.
const DISCOVERY_TTL: std::time::Duration = std::time::Duration::from_secs(3600);
const FLOW: &str = "flow";
const EXCHANGE: &str = "exchange";

/// The endpoints of a provider, from its discovery document or its
/// configuration.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The issuer the document names (must equal the configured one).
    pub issuer: Option<String>,
    /// Where the browser goes.
    pub authorization_endpoint: Url,
    /// Where the code is redeemed.
    pub token_endpoint: Url,
    /// The userinfo endpoint.
    pub userinfo_endpoint: Option<Url>,
    /// The signing keys.
    pub jwks_uri: Option<Url>,
    /// RFC 9207: the provider sends `iss` in authorization responses.
    pub authorization_response_iss_parameter_supported: bool,
}

/// A discovery document (OpenID Connect Discovery §3), the members used.
#[derive(Deserialize)]
struct Discovery {
    #[serde(default)]
    issuer: Option<String>,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    jwks_uri: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl Discovery {
    fn endpoints(self) -> Option<Endpoints> {
        let url = |s: Option<String>| s.map(|s| Url::parse(&s)).transpose().ok();
        Some(Endpoints {
            issuer: self.issuer,
            authorization_endpoint: Url::parse(&self.authorization_endpoint).ok()?,
            token_endpoint: Url::parse(&self.token_endpoint).ok()?,
            userinfo_endpoint: url(self.userinfo_endpoint)?,
            jwks_uri: url(self.jwks_uri)?,
            authorization_response_iss_parameter_supported: self
                .authorization_response_iss_parameter_supported,
        })
    }
}

/// The authorization request to send the browser to, and the `state` to
/// bind to it (the flow cookie's value).
#[derive(Debug, Clone)]
pub struct Begun {
    /// The upstream authorization URL.
    pub url: String,
    /// The flow's `state`: set as the browser's flow cookie.
    pub state: String,
}

/// The authorization response as the callback received it.
#[derive(Debug, Clone, Default)]
pub struct Callback<'a> {
    /// `state`.
    pub state: Option<&'a str>,
    /// `code`.
    pub code: Option<&'a str>,
    /// RFC 9207 `iss`.
    pub iss: Option<&'a str>,
    /// `error`.
    pub error: Option<&'a str>,
    /// Apple's `user` form field (JSON; the name, on the first sign-in).
    pub user: Option<&'a str>,
}

/// A callback that went through: the account, and where the flow ends.
#[derive(Debug, Clone)]
pub struct Arrived {
    /// The local account.
    pub user: User,
    /// The provider.
    pub provider: String,
    /// Where the flow ends.
    pub mode: FlowMode,
}

/// Signing in with upstream providers and linking them to accounts.
#[derive(Clone)]
pub struct Federation {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) ctx: Arc<Context>,
    config: FederationConfig,
    pub(super) upstream: Arc<dyn Upstream>,
    discovered: RwLock<HashMap<String, (Arc<Endpoints>, Instant)>>,
    /// Upstream token refreshes in progress on this node, by identity.
    pub(super) refreshing: super::upstream_tokens::Refreshing,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field("providers", &self.inner.config.providers)
            .finish_non_exhaustive()
    }
}

impl Federation {
    /// The service over `ctx` with these providers, calling them through
    /// `upstream`.
    pub fn new(ctx: Arc<Context>, config: FederationConfig, upstream: Arc<dyn Upstream>) -> Self {
        Federation {
            inner: Arc::new(Inner {
                ctx,
                config,
                upstream,
                discovered: RwLock::default(),
                refreshing: Default::default(),
            }),
        }
    }

    /// The configured providers.
    pub fn providers(&self) -> &[Provider] {
        &self.inner.config.providers
    }

    /// The provider named `name`.
    pub fn provider(&self, name: &str) -> Result<&Provider, FederationError> {
        self.providers()
            .iter()
            .find(|p| p.name == name)
            .ok_or(FederationError::UnknownProvider)
    }

    /// Whether `uri` may receive the API mode's code.
    pub fn api_redirect_allowed(&self, uri: &str) -> bool {
        self.inner.config.api_redirect_uris.iter().any(|u| u == uri)
    }

    pub(super) fn ctx(&self) -> &Context {
        &self.inner.ctx
    }

    pub(super) fn upstream(&self) -> &dyn Upstream {
        self.inner.upstream.as_ref()
    }

    /// Our callback URL for `provider` (registered at the provider).
    pub fn redirect_uri(&self, provider: &str) -> String {
        let base = self.ctx().config.issuer.trim_end_matches('/');
        format!("{base}/v1/auth/oauth/{provider}/callback")
    }

    pub(super) async fn endpoints(&self, p: &Provider) -> Result<Arc<Endpoints>, FederationError> {
        if p.kind == ProviderKind::OAuth2 {
            let missing = || FederationError::Upstream("endpoints not configured".into());
            return Ok(Arc::new(Endpoints {
                issuer: None,
                authorization_endpoint: p.authorization_endpoint.clone().ok_or_else(missing)?,
                token_endpoint: p.token_endpoint.clone().ok_or_else(missing)?,
                userinfo_endpoint: p.userinfo_endpoint.clone(),
                jwks_uri: None,
                authorization_response_iss_parameter_supported: false,
            }));
        }
        if let Some((e, at)) = self.inner.discovered.read().expect("lock").get(&p.name)
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(e.clone());
        }
        let issuer = p.issuer.as_deref().unwrap_or_default();
        let url = Url::parse(&format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))
        .map_err(|_| FederationError::Upstream("issuer is not a URL".into()))?;
        let body = self
            .inner
            .upstream
            .get(&url, None)
            .await
            .map_err(|e| FederationError::Upstream(format!("discovery: {e}")))?;
        let mut found = serde_json::from_slice::<Discovery>(&body)
            .ok()
            .and_then(Discovery::endpoints)
            .ok_or_else(|| FederationError::Upstream("discovery document is invalid".into()))?;
        // OpenID Connect Discovery §4.3: the document's issuer is exactly
        // ours (a multi-tenant one names the `{tenantid}` template)
        let named = p
            .dialect
            .tenant_issuer
            .as_ref()
            .map_or(issuer, |t| &t.template);
        if found.issuer.as_deref() != Some(named) {
            return Err(FederationError::Upstream(
                "discovery names another issuer".into(),
            ));
        }
        if let Some(u) = &p.authorization_endpoint {
            found.authorization_endpoint = u.clone();
        }
        if let Some(u) = &p.token_endpoint {
            found.token_endpoint = u.clone();
        }
        if let Some(u) = &p.userinfo_endpoint {
            found.userinfo_endpoint = Some(u.clone());
        }
        let found = Arc::new(found);
        self.inner
            .discovered
            .write()
            .expect("lock")
            .insert(p.name.clone(), (found.clone(), Instant::now()));
        Ok(found)
    }

    /// Starts a flow: stores its `state` (hashed), `nonce` and PKCE
    /// verifier for [`FLOW_TTL`], and returns the upstream URL.
    pub async fn begin(&self, provider: &str, mode: FlowMode) -> Result<Begun, FederationError> {
        let p = self.provider(provider)?;
        let endpoints = self.endpoints(p).await?;
        let (state, nonce, verifier) = (random_token(), random_token(), random_token());
        let flow = Flow {
            provider: p.name.clone(),
            nonce: nonce.clone(),
            verifier: verifier.clone(),
            mode,
        };
        let now = self.ctx().now();
        let data =
            serde_json::to_string(&flow).map_err(|e| SharedError::Internal(e.to_string()))?;
        self.ctx()
            .store
            .put_federation_pending(
                &sha256_hex(state.as_bytes()),
                FLOW,
                &data,
                now,
                now + FLOW_TTL,
            )
            .await?;
        let mut url = endpoints.authorization_endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &p.client_id)
                .append_pair("redirect_uri", &self.redirect_uri(&p.name))
                .append_pair("scope", &p.scopes.join(" "))
                .append_pair("state", &state)
                .append_pair("code_challenge", &s256(&verifier))
                .append_pair("code_challenge_method", "S256");
            if p.kind == ProviderKind::Oidc {
                q.append_pair("nonce", &nonce);
            }
            if let Some(mode) = &p.dialect.response_mode {
                q.append_pair("response_mode", mode);
            }
        }
        Ok(Begun {
            url: url.into(),
            state,
        })
    }

    /// Finishes a flow at the callback of `provider`: the `state` must be
    /// the browser's flow cookie and a live flow of this provider (taken
    /// once); the code is redeemed with the PKCE verifier, the ID token
    /// validated (or the userinfo read); then the one linking rule
    /// ([`Arrival::decide`]) says which account this is, creating or
    /// linking it when it allows.
    pub async fn callback(
        &self,
        provider: &str,
        cb: &Callback<'_>,
        cookie_state: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Arrived, FederationError> {
        let p = self.provider(provider)?;
        let state = cb.state.filter(|s| !s.is_empty() && s.len() <= 128);
        let (Some(state), Some(cookie)) = (state, cookie_state) else {
            return Err(FederationError::StateMismatch);
        };
        if !constant_time_eq(state.as_bytes(), cookie.as_bytes()) {
            return Err(FederationError::StateMismatch);
        }
        let now = self.ctx().now();
        let data = self
            .ctx()
            .store
            .take_federation_pending(&sha256_hex(state.as_bytes()), FLOW, now)
            .await?
            .ok_or(FederationError::StateUnknown)?;
        let flow: Flow =
            serde_json::from_str(&data).map_err(|e| SharedError::Internal(e.to_string()))?;
        if flow.provider != p.name {
            return Err(FederationError::StateMismatch);
        }
        if cb.error.is_some() {
            return Err(FederationError::Denied);
        }
        let endpoints = self.endpoints(p).await?;
        match (cb.iss, p.issuer.as_deref()) {
            (Some(iss), Some(ours)) if iss == ours => {}
            (Some(_), _) => return Err(FederationError::IssuerMismatch),
            (None, _) if endpoints.authorization_response_iss_parameter_supported => {
                return Err(FederationError::IssuerMismatch);
            }
            (None, _) => {}
        }
        let code = cb
            .code
            .filter(|c| !c.is_empty())
            .ok_or(FederationError::Denied)?;
        let (mut person, said, tokens) = self.redeem(p, &endpoints, code, &flow, now).await?;
        if p.dialect.apple.is_some() && person.name.is_none() {
            person.name = cb.user.and_then(apple_name);
        }
        let arrived = self.arrive(p, &person, &flow.mode, client).await;
        let outcome = match &arrived {
            Ok(_) => "success",
            Err(e) => outcome(e),
        };
        metrics::counter!("latchkey_federation_callbacks_total", "provider" => p.name.clone(), "outcome" => outcome).increment(1);
        let mut user = arrived?;
        self.remember_upstream(p, &person, &said, &tokens, &flow.mode, &mut user)
            .await?;
        Ok(Arrived {
            user,
            provider: p.name.clone(),
            mode: flow.mode,
        })
    }

    async fn redeem(
        &self,
        p: &Provider,
        endpoints: &Endpoints,
        code: &str,
        flow: &Flow,
        now: time::OffsetDateTime,
    ) -> Result<(Upstreamer, Map<String, Value>, Map<String, Value>), FederationError> {
        let redirect_uri = self.redirect_uri(&p.name);
        let body = self
            .token_request(
                p,
                &endpoints.token_endpoint,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &redirect_uri),
                    ("code_verifier", &flow.verifier),
                ],
                now,
            )
            .await?;
        let tokens: Map<String, Value> = serde_json::from_slice(&body)
            .map_err(|_| FederationError::Upstream("token response is not JSON".into()))?;
        if let Some(error) = tokens.get("error").and_then(Value::as_str) {
            // GitHub answers a refused code with 200 and `error`
            return Err(FederationError::Upstream(format!(
                "token endpoint: {error}"
            )));
        }
        let claims = match p.kind {
            ProviderKind::Oidc => {
                let token = tokens
                    .get("id_token")
                    .and_then(Value::as_str)
                    .ok_or(FederationError::InvalidIdToken("missing"))?;
                self.id_token_claims(
                    p,
                    endpoints,
                    token,
                    Nonce::Exact(&flow.nonce),
                    &[&p.client_id],
                    now,
                )
                .await?
            }
            ProviderKind::OAuth2 => {
                let access = tokens
                    .get("access_token")
                    .and_then(Value::as_str)
                    .ok_or_else(|| FederationError::Upstream("no access_token".into()))?;
                let url = endpoints
                    .userinfo_endpoint
                    .as_ref()
                    .ok_or_else(|| FederationError::Upstream("no userinfo endpoint".into()))?;
                let body = self
                    .inner
                    .upstream
                    .get(url, Some(access))
                    .await
                    .map_err(|e| FederationError::Upstream(format!("userinfo: {e}")))?;
                let mut claims = serde_json::from_slice(&body).map_err(|_| {
                    FederationError::Upstream("userinfo is not a JSON object".into())
                })?;
                if let Some(url) = &p.dialect.emails_endpoint {
                    self.primary_email(p, url, access, &mut claims).await?;
                }
                claims
            }
        };
        Ok((id_token::upstreamer(&claims, &p.claims)?, claims, tokens))
    }

    pub(super) async fn arrive(
        &self,
        p: &Provider,
        person: &Upstreamer,
        mode: &FlowMode,
        client: &ClientInfo,
    ) -> Result<User, FederationError> {
        let store = &self.ctx().store;
        let linked = store.identity_by_subject(&p.name, &person.subject).await?;
        let address = person.email.as_deref().map(normalize_email);
        let same_address = match &address {
            Some(a) => store.user_by_email(a).await?,
            None => None,
        };
        let linking = match mode {
            FlowMode::Link { user_id } => Some(user_id.as_str()),
            _ => None,
        };
        let decision = Arrival::decide(&Arriving {
            linked_to: linked.as_ref().map(|i| i.user_id.as_str()),
            linking,
            same_address: same_address.as_ref().map(|u| u.id.as_str()),
            verified: person.email_verified,
            has_address: address.is_some(),
            policy: p.link_policy,
            sign_up: p.sign_up,
        });
        let now = self.ctx().now();
        let identity = |user_id: &str| Identity {
            id: id::new_id(),
            user_id: user_id.to_owned(),
            provider: p.name.clone(),
            subject: person.subject.clone(),
            email: person.email.clone(),
            email_verified: person.email_verified,
            linked_at: now,
        };
        let user_id = match decision {
            Arrival::SignIn(user_id) => user_id,
            Arrival::Link(user_id) => {
                let event = AuditEvent::new(EventType::IdentityLinked, now, client)
                    .actor(Some(&user_id))
                    .subject(&user_id)
                    .detail("provider", p.name.clone());
                store
                    .link_identity(&identity(&user_id), &event)
                    .await
                    .map_err(conflict)?;
                user_id
            }
            Arrival::Create => {
                let mut problems = Vec::new();
                let email = crate::validate::email(
                    person.email.as_deref().unwrap_or_default(),
                    &mut problems,
                )
                .ok_or(FederationError::SignUpClosed)?;
                let name = person
                    .name
                    .as_deref()
                    .and_then(|n| crate::validate::name(n, &mut problems));
                let user = User {
                    id: id::new_id(),
                    email_normalized: normalize_email(&email),
                    email,
                    email_verified: person.email_verified,
                    username: None,
                    username_normalized: None,
                    name,
                    password_hash: None,
                    created_at: now,
                    updated_at: now,
                    suspension: None,
                    locale: None,
                };
                let event = AuditEvent::new(EventType::UserRegistered, now, client)
                    .actor(Some(&user.id))
                    .subject(&user.id)
                    .detail("provider", p.name.clone());
                store
                    .create_user_with_identity(&user, &identity(&user.id), &event)
                    .await
                    .map_err(conflict)?;
                return Ok(user);
            }
            Arrival::LinkRequired => return Err(FederationError::LinkRequired),
            Arrival::AlreadyLinked => return Err(FederationError::AlreadyLinked),
            Arrival::SignUpClosed => return Err(FederationError::SignUpClosed),
        };
        store
            .user_by_id(&user_id)
            .await?
            .ok_or(FederationError::Shared(SharedError::NotFound))
    }

    /// Starts a session for an account a callback (or an exchanged code)
    /// proved, through the one sign-in step: the lifecycle gate, the
    /// second factor when enrolled, `amr` `fed`.
    pub async fn sign_in(
        &self,
        user: &User,
        provider: &str,
        client: &ClientInfo,
        kind: SessionKind,
    ) -> Result<LoginSuccess, FederationError> {
        let ctx = self.ctx();
        let outcome = ctx
            .start_session(user, client, kind, vec!["fed".into()])
            .await?;
        let session_id = match &outcome {
            LoginOutcome::Tokens(t) => Some(t.session_id.clone()),
            LoginOutcome::Cookie(c) => Some(c.session.id.clone()),
            LoginOutcome::MfaRequired(_) => None,
        };
        if let Some(session_id) = session_id {
            ctx.record(
                AuditEvent::new(EventType::LoginSucceeded, ctx.now(), client)
                    .actor(Some(&user.id))
                    .subject(&user.id)
                    .session(&session_id)
                    .detail("method", "federation")
                    .detail("provider", provider.to_owned())
                    .detail("mode", kind.as_str()),
            )
            .await;
        }
        let device_cookie = ctx.devices.issue(&user.id, None, ctx.now());
        Ok(LoginSuccess {
            outcome,
            device_cookie,
        })
    }

    /// The API mode's one-time code for a callback that signed `user` in,
    /// good for [`EXCHANGE_TTL`] with the verifier of `code_challenge`.
    pub async fn grant_code(
        &self,
        user: &User,
        provider: &str,
        code_challenge: &str,
    ) -> Result<String, FederationError> {
        let code = random_token();
        let grant = ExchangeGrant {
            user_id: user.id.clone(),
            provider: provider.to_owned(),
            code_challenge: code_challenge.to_owned(),
        };
        let data =
            serde_json::to_string(&grant).map_err(|e| SharedError::Internal(e.to_string()))?;
        let now = self.ctx().now();
        self.ctx()
            .store
            .put_federation_pending(
                &sha256_hex(code.as_bytes()),
                EXCHANGE,
                &data,
                now,
                now + EXCHANGE_TTL,
            )
            .await?;
        Ok(code)
    }

    /// Exchanges the API mode's one-time `code` (taken once, whatever the
    /// verifier) and its `code_verifier` for a bearer session.
    pub async fn exchange(
        &self,
        code: &str,
        code_verifier: &str,
        client: &ClientInfo,
    ) -> Result<LoginSuccess, FederationError> {
        if code.is_empty() || code.len() > 128 {
            return Err(FederationError::InvalidCode);
        }
        let now = self.ctx().now();
        let data = self
            .ctx()
            .store
            .take_federation_pending(&sha256_hex(code.as_bytes()), EXCHANGE, now)
            .await?
            .ok_or(FederationError::InvalidCode)?;
        let grant: ExchangeGrant =
            serde_json::from_str(&data).map_err(|e| SharedError::Internal(e.to_string()))?;
        let verifier_ok = (43..=128).contains(&code_verifier.len())
            && constant_time_eq(
                s256(code_verifier).as_bytes(),
                grant.code_challenge.as_bytes(),
            );
        if !verifier_ok {
            return Err(FederationError::InvalidCode);
        }
        let user = self
            .ctx()
            .store
            .user_by_id(&grant.user_id)
            .await?
            .ok_or(FederationError::InvalidCode)?;
        self.sign_in(&user, &grant.provider, client, SessionKind::Bearer)
            .await
    }

    /// The identities linked to `user_id`.
    pub async fn identities(&self, user_id: &str) -> Result<Vec<Identity>, FederationError> {
        Ok(self.ctx().store.identities_of(user_id).await?)
    }

    /// Unlinks identity `id` of `user_id`; refused when it is the last way
    /// to sign in.
    pub async fn unlink(
        &self,
        user_id: &str,
        id: &str,
        client: &ClientInfo,
    ) -> Result<(), FederationError> {
        let event = AuditEvent::new(EventType::IdentityUnlinked, self.ctx().now(), client)
            .actor(Some(user_id))
            .subject(user_id)
            .detail("identity", id.to_owned());
        let rule = LastWayIn::new(&self.ctx().lifecycle().passwordless);
        match self
            .ctx()
            .store
            .unlink_identity(user_id, id, rule, &event)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(FederationError::IdentityNotFound),
            Err(StoreError::Conflict(LAST_WAY_IN)) => Err(FederationError::LastWayIn),
            Err(e) => Err(e.into()),
        }
    }
}

/// The S256 PKCE challenge of `verifier` (RFC 7636).
pub fn s256(verifier: &str) -> String {
    b64url_encode(&sha256(verifier.as_bytes()))
}

fn conflict(e: StoreError) -> FederationError {
    match e {
        StoreError::Conflict("identity") => FederationError::AlreadyLinked,
        StoreError::Conflict("email") => FederationError::LinkRequired,
        e => e.into(),
    }
}

/// The `outcome` label of `latchkey_federation_callbacks_total`.
pub fn outcome(e: &FederationError) -> &'static str {
    match e {
        FederationError::LinkRequired => "link_required",
        FederationError::AlreadyLinked => "already_linked",
        FederationError::SignUpClosed => "sign_up_closed",
        FederationError::InvalidIdToken(_) => "invalid_id_token",
        FederationError::Upstream(_) => "upstream_error",
        FederationError::NonceUnknown => "invalid_nonce",
        FederationError::IdTokenRefused(_) => "id_token_refused",
        _ => "error",
    }
}
