//! [`OAuth`]: registering and managing clients.

use std::sync::Arc;

use latchkey_tokens::{Jwks, random_token, sha256_hex};

use super::code::{AuthorizationCode, CODE_TTL, CodeExchange, CodeTaken, Redemption};
use super::error::OAuthError;
use super::model::{
    AuthMethod, ClientPatch, ClientSettings, ClientType, GrantType, NewClient, OAuthClient,
};
use super::redirect;
use crate::admin::Actor;
use crate::audit::EventType;
use crate::auth::Context;
use crate::id;
use crate::keyring::{KeyError, Keyring};
use crate::keys::Client;
use crate::roles::perm;
use crate::store::StoreError;

/// The most redirect URIs (and post-logout redirect URIs) per client.
pub const MAX_REDIRECT_URIS: usize = 20;
/// The most scopes per client.
pub const MAX_SCOPES: usize = 50;

/// The OAuth provider's service over the shared context.
#[derive(Debug, Clone)]
pub struct OAuth {
    ctx: Arc<Context>,
    id_token_keys: Arc<Keyring>,
}

impl std::ops::Deref for OAuth {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

fn require(actor: &Actor) -> Result<(), OAuthError> {
    Ok(actor.require(perm::CLIENTS_MANAGE)?)
}

fn not_found(e: StoreError) -> OAuthError {
    match e {
        StoreError::NotFound => OAuthError::UnknownClient,
        e => e.into(),
    }
}

impl OAuth {
    /// The service over `ctx`.
    pub fn new(ctx: Arc<Context>) -> OAuth {
        let id_token_keys = Arc::new(Keyring::for_id_tokens(&ctx.device_key));
        OAuth { ctx, id_token_keys }
    }

    /// The shared context.
    pub(crate) fn ctx(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// The ID-token key ring, shared (for signing inside a store exchange).
    pub(crate) fn id_keys_arc(&self) -> Arc<Keyring> {
        self.id_token_keys.clone()
    }

    /// An access token's claims, if its signature and claims are good (its
    /// session is not checked).
    pub(crate) async fn sessions_verify(
        &self,
        token: &str,
    ) -> Option<latchkey_proto::AccessClaims> {
        crate::sessions::Sessions::new(self.ctx.clone())
            .verify_access_token(token)
            .await
            .ok()
    }

    /// The RSA keys that sign ID tokens, loaded (and the first one made,
    /// off the async runtime) on first use: a server whose clients never
    /// ask for an ID token never spends the RSA key generation.
    pub async fn id_token_keys(&self) -> Result<&Keyring, OAuthError> {
        if !self.id_token_keys.is_loaded() {
            self.id_token_keys
                .init(self.store(), self.now(), self.config().access_ttl)
                .await?;
        }
        Ok(&self.id_token_keys)
    }

    /// Every published key, access tokens' and ID tokens', for
    /// `/.well-known/jwks.json`. The ID-token keys are read from the store
    /// (once loaded, they follow rotations), never made here: the JWKS
    /// stays a quick read, and a server that never issued an ID token
    /// publishes no RSA key.
    pub async fn jwks(&self) -> Result<Jwks, OAuthError> {
        let now = self.now();
        let mut jwks = self.keys().jwks(now);
        if !self.id_token_keys.is_loaded() {
            match self.id_token_keys.reload(self.store(), now).await {
                Ok(()) | Err(KeyError::NoActiveKey) => {}
                Err(e) => return Err(e.into()),
            }
        }
        jwks.keys.extend(self.id_token_keys.jwks(now).keys);
        Ok(jwks)
    }

    /// Follows a rotation of the ID-token key made elsewhere (see
    /// [`Keyring::follow`]); nothing before the keys are first loaded.
    pub async fn follow_keys(&self) -> Result<bool, OAuthError> {
        if !self.id_token_keys.is_loaded() {
            return Ok(false);
        }
        Ok(self.id_token_keys.follow(self.store(), self.now()).await?)
    }

    /// Rotates the ID-token key (on schedule: only when the active one was
    /// made before `only_if_created_before`), then reloads. Nothing before
    /// the keys are first loaded: a server whose clients never asked for an
    /// ID token makes no RSA key.
    pub async fn rotate_keys(
        &self,
        only_if_created_before: Option<time::OffsetDateTime>,
    ) -> Result<bool, OAuthError> {
        if !self.id_token_keys.is_loaded() {
            return Ok(false);
        }
        let keys = &self.id_token_keys;
        let now = self.now();
        let rotated = keys
            .rotate(
                self.store(),
                now,
                only_if_created_before,
                self.config().access_ttl,
            )
            .await?;
        keys.reload(self.store(), now).await?;
        Ok(rotated)
    }

    /// `latchkey keys rotate`: a new ID-token key now, the old one retired
    /// and still published until the tokens it signed expire, when an
    /// ID-token key was ever made (this never makes the first one).
    pub async fn rotate_id_token_key(&self) -> Result<bool, OAuthError> {
        if self.store().id_token_keys().await?.is_empty() {
            return Ok(false);
        }
        self.id_token_keys().await?;
        self.rotate_keys(None).await
    }

    /// Issues an authorization code for an approved request (`code.code_hash`
    /// is ignored and replaced); returns the code, to be sent once in the
    /// redirect. The store keeps only its hash.
    pub async fn issue_code(&self, mut code: AuthorizationCode) -> Result<String, OAuthError> {
        let plain = random_token();
        code.code_hash = sha256_hex(plain.as_bytes());
        let now = crate::store::truncate_to_millis(self.now());
        code.created_at = now;
        code.expires_at = now + CODE_TTL;
        code.used_at = None;
        self.store().insert_authorization_code(&code).await?;
        Ok(plain)
    }

    /// Redeems a code at the token endpoint: takes it (its first
    /// presentation uses it up, right or wrong) and decides
    /// ([`CodeTaken::decide`]). A second presentation by its client is
    /// [`OAuthError::CodeReplayed`]: the caller revokes what was issued from it.
    pub async fn redeem_code(
        &self,
        code: &str,
        exchange: CodeExchange<'_>,
    ) -> Result<AuthorizationCode, OAuthError> {
        if code.is_empty() || code.len() > 256 {
            return Err(OAuthError::InvalidGrant("unknown code"));
        }
        let hash = sha256_hex(code.as_bytes());
        let taken = self
            .store()
            .take_authorization_code(&hash, exchange.now)
            .await?;
        match taken.decide(&exchange) {
            Redemption::Issue => match taken {
                CodeTaken::Taken(c) => Ok(c),
                _ => Err(OAuthError::InvalidGrant("unknown code")),
            },
            Redemption::Replay => Err(OAuthError::CodeReplayed { code_hash: hash }),
            Redemption::Invalid(why) => Err(OAuthError::InvalidGrant(why)),
        }
    }

    /// Registers a client (`client.created`); returns it with its secret
    /// (shown once; `None` for a public client). **Requires** `clients:manage`.
    pub async fn create_client(
        &self,
        actor: &Actor,
        new: NewClient,
    ) -> Result<(OAuthClient, Option<String>), OAuthError> {
        require(actor)?;
        let name = new.name.trim().to_owned();
        let mut settings = new.settings;
        validate(&name, &mut settings)?;
        self.signable(&settings)?;
        self.catalogued(&settings)?;
        // a private_key_jwt client proves itself with its key: no secret
        let secret = (settings.client_type == ClientType::Confidential
            && settings.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt)
            .then(random_token);
        let now = self.now();
        let client = Client {
            id: format!("lk_{}", id::new_id().replace('-', "")),
            name,
            secret_hash: secret
                .as_deref()
                .map(|s| sha256_hex(s.as_bytes()))
                .unwrap_or_default(),
            created_at: crate::store::truncate_to_millis(now),
        };
        let event = actor
            .event(EventType::ClientCreated, now)
            .detail("client_id", client.id.clone())
            .detail("client_type", settings.client_type.as_str());
        self.store()
            .insert_oauth_client(&client, &settings, &event)
            .await?;
        Ok((OAuthClient { client, settings }, secret))
    }

    /// Every client. **Requires** `clients:manage`.
    pub async fn clients(&self, actor: &Actor) -> Result<Vec<OAuthClient>, OAuthError> {
        require(actor)?;
        Ok(self.store().list_oauth_clients().await?)
    }

    /// One client. **Requires** `clients:manage`.
    pub async fn client(&self, actor: &Actor, id: &str) -> Result<OAuthClient, OAuthError> {
        require(actor)?;
        self.registered(id).await
    }

    /// Refuses an `id_token_signed_response_alg` no key signs: RS256 has the
    /// ID-token key; ES256 and EdDSA are signed with the access-token key, so
    /// only its algorithm is accepted (else the token endpoint could not sign).
    /// Every scope of a registration is a standard one or in the scope
    /// catalogue (`unknown_scope`).
    fn catalogued(&self, s: &ClientSettings) -> Result<(), OAuthError> {
        let catalogue = &self.ctx().config.scopes;
        match s.scopes.iter().find(|x| !catalogue.knows(x)) {
            None => Ok(()),
            Some(x) => Err(OAuthError::invalid(
                "scopes",
                "unknown_scope",
                format!(
                    "`{x}` is neither a standard scope nor in the configured scope catalogue ([oauth.scopes])"
                ),
            )),
        }
    }

    fn signable(&self, s: &ClientSettings) -> Result<(), OAuthError> {
        if s.id_token_signed_response_alg == super::IdTokenAlg::RS256 {
            return Ok(());
        }
        let key = self.ctx().keys.active()?;
        let signs = key.alg();
        if signs.as_str() == s.id_token_signed_response_alg.as_str() {
            return Ok(());
        }
        Err(OAuthError::invalid(
            "id_token_signed_response_alg",
            "unsupported_alg",
            format!(
                "RS256 or {}, the algorithm of the access-token key",
                signs.as_str()
            ),
        ))
    }

    /// A client by id, for the protocol endpoints (no permission needed).
    pub async fn registered(&self, id: &str) -> Result<OAuthClient, OAuthError> {
        if id.is_empty() || id.len() > 128 {
            return Err(OAuthError::UnknownClient);
        }
        self.store()
            .oauth_client(id)
            .await?
            .ok_or(OAuthError::UnknownClient)
    }

    /// Changes a client (`client.updated`). Its type (public or
    /// confidential) cannot change: register a new client instead.
    /// **Requires** `clients:manage`.
    pub async fn update_client(
        &self,
        actor: &Actor,
        id: &str,
        patch: ClientPatch,
    ) -> Result<OAuthClient, OAuthError> {
        require(actor)?;
        let mut current = self.registered(id).await?;
        let name = patch
            .name
            .clone()
            .map(|n| n.trim().to_owned())
            .unwrap_or_else(|| current.client.name.clone());
        let mut settings = patch.apply(current.settings.clone());
        validate(&name, &mut settings)?;
        self.signable(&settings)?;
        self.catalogued(&settings)?;
        let now = self.now();
        let event = actor
            .event(EventType::ClientUpdated, now)
            .detail("client_id", id.to_owned());
        self.store()
            .update_oauth_client(id, &name, &settings, now, &event)
            .await
            .map_err(not_found)?;
        self.forget_client(id);
        current.client.name = name;
        current.settings = settings;
        Ok(current)
    }

    /// Deletes a client (`client.deleted`). **Requires** `clients:manage`.
    pub async fn delete_client(&self, actor: &Actor, id: &str) -> Result<(), OAuthError> {
        require(actor)?;
        let event = actor
            .event(EventType::ClientDeleted, self.now())
            .detail("client_id", id.to_owned());
        self.store()
            .delete_oauth_client(id, &event)
            .await
            .map_err(not_found)?;
        self.forget_client(id);
        Ok(())
    }

    /// Replaces a confidential client's secret (`client.secret_rotated`);
    /// returns the new one (shown once). The old one stops working at once.
    /// **Requires** `clients:manage`.
    pub async fn rotate_secret(&self, actor: &Actor, id: &str) -> Result<String, OAuthError> {
        require(actor)?;
        let current = self.registered(id).await?;
        if current.settings.client_type == ClientType::Public {
            return Err(OAuthError::invalid(
                "client_type",
                "public_client",
                "a public client has no secret",
            ));
        }
        let secret = random_token();
        let event = actor
            .event(EventType::ClientSecretRotated, self.now())
            .detail("client_id", id.to_owned());
        self.store()
            .set_client_secret_hash(id, &sha256_hex(secret.as_bytes()), &event)
            .await
            .map_err(not_found)?;
        self.forget_client(id);
        Ok(secret)
    }
}

impl ClientType {
    /// Parses a registered name.
    pub fn parse(s: &str) -> Option<ClientType> {
        [ClientType::Confidential, ClientType::Public]
            .into_iter()
            .find(|t| t.as_str() == s)
    }

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }
}

fn is_scope_token(s: &str) -> bool {
    // RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Checks a registration (and sorts and de-duplicates its lists).
pub(crate) fn validate(name: &str, s: &mut ClientSettings) -> Result<(), OAuthError> {
    if name.is_empty() || name.chars().count() > 100 {
        return Err(OAuthError::invalid(
            "name",
            "invalid_name",
            "must be 1 to 100 characters",
        ));
    }
    for (field, uris) in [
        ("redirect_uris", &mut s.redirect_uris),
        (
            "post_logout_redirect_uris",
            &mut s.post_logout_redirect_uris,
        ),
    ] {
        uris.dedup();
        if uris.len() > MAX_REDIRECT_URIS {
            return Err(OAuthError::invalid(field, "too_many", "at most 20"));
        }
        for uri in uris.iter() {
            redirect::check(uri).map_err(|why| {
                OAuthError::invalid(field, "invalid_redirect_uri", format!("{uri}: {why}"))
            })?;
        }
    }
    s.grant_types.sort();
    s.grant_types.dedup();
    s.scopes.sort();
    s.scopes.dedup();
    if s.scopes.len() > MAX_SCOPES || !s.scopes.iter().all(|x| is_scope_token(x)) {
        return Err(OAuthError::invalid(
            "scopes",
            "invalid_scope",
            "at most 50 scopes, each 1 to 100 printable ASCII characters without spaces, quotes or backslashes",
        ));
    }
    if s.allows_grant(GrantType::AuthorizationCode) && s.redirect_uris.is_empty() {
        return Err(OAuthError::invalid(
            "redirect_uris",
            "redirect_uri_required",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    if s.allows_grant(GrantType::RefreshToken) && !s.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::invalid(
            "grant_types",
            "invalid_grant_types",
            "refresh_token comes only with authorization_code",
        ));
    }
    match s.client_type {
        ClientType::Public => {
            if s.allows_grant(GrantType::ClientCredentials) {
                return Err(OAuthError::invalid(
                    "grant_types",
                    "invalid_grant_types",
                    "a public client cannot use client_credentials",
                ));
            }
            if s.token_endpoint_auth_method != AuthMethod::None {
                return Err(OAuthError::invalid(
                    "token_endpoint_auth_method",
                    "invalid_auth_method",
                    "a public client authenticates with none",
                ));
            }
        }
        ClientType::Confidential => {
            if s.token_endpoint_auth_method == AuthMethod::None {
                return Err(OAuthError::invalid(
                    "token_endpoint_auth_method",
                    "invalid_auth_method",
                    "a confidential client uses client_secret_basic, client_secret_post or private_key_jwt",
                ));
            }
        }
    }
    super::assertion::check_keys(s)?;
    for (field, ttl, max) in [
        ("access_token_ttl_secs", s.access_token_ttl_secs, 86_400),
        (
            "refresh_token_ttl_secs",
            s.refresh_token_ttl_secs,
            31_536_000,
        ),
    ] {
        if ttl.is_some_and(|t| !(60..=max).contains(&t)) {
            return Err(OAuthError::invalid(
                field,
                "invalid_ttl",
                format!("must be from 60 to {max} seconds"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(f: impl FnOnce(&mut ClientSettings)) -> ClientSettings {
        let mut s = ClientSettings {
            redirect_uris: vec!["https://app.ex.com/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec!["openid".into(), "profile".into()],
            ..ClientSettings::default()
        };
        f(&mut s);
        s
    }

    #[test]
    fn registrations_are_checked() {
        for (name, s, expected) in [
            ("ok", settings(|_| {}), None),
            ("", settings(|_| {}), Some("invalid_name")),
            (
                "x",
                settings(|s| s.redirect_uris = vec!["http://app.ex.com/cb".into()]),
                Some("invalid_redirect_uri"),
            ),
            (
                "x",
                settings(|s| s.post_logout_redirect_uris = vec!["https://a.ex/#x".into()]),
                Some("invalid_redirect_uri"),
            ),
            (
                "x",
                settings(|s| s.redirect_uris.clear()),
                Some("redirect_uri_required"),
            ),
            (
                "x",
                settings(|s| s.grant_types = vec![GrantType::RefreshToken]),
                Some("invalid_grant_types"),
            ),
            (
                "x",
                settings(|s| s.scopes = vec!["a b".into()]),
                Some("invalid_scope"),
            ),
            (
                "x",
                settings(|s| s.scopes = vec!["a\"b".into()]),
                Some("invalid_scope"),
            ),
            (
                "x",
                settings(|s| s.access_token_ttl_secs = Some(5)),
                Some("invalid_ttl"),
            ),
            (
                "x",
                settings(|s| s.token_endpoint_auth_method = AuthMethod::None),
                Some("invalid_auth_method"),
            ),
            (
                "x",
                settings(|s| {
                    s.client_type = ClientType::Public;
                    s.token_endpoint_auth_method = AuthMethod::None;
                }),
                None,
            ),
            (
                "x",
                settings(|s| s.client_type = ClientType::Public),
                Some("invalid_auth_method"),
            ),
            (
                "x",
                settings(|s| {
                    s.client_type = ClientType::Public;
                    s.token_endpoint_auth_method = AuthMethod::None;
                    s.grant_types.push(GrantType::ClientCredentials);
                }),
                Some("invalid_grant_types"),
            ),
            (
                "x",
                settings(|s| {
                    s.redirect_uris.clear();
                    s.grant_types = vec![GrantType::ClientCredentials];
                }),
                None,
            ),
        ] {
            let mut s = s;
            let got = match validate(name, &mut s) {
                Ok(()) => None,
                Err(OAuthError::Invalid { code, .. }) => Some(code),
                Err(e) => panic!("{e}"),
            };
            assert_eq!(got, expected, "{s:?}");
        }
    }

    #[test]
    fn public_clients_always_need_pkce() {
        let public = settings(|s| s.client_type = ClientType::Public);
        assert!(public.pkce_required());
        assert!(!settings(|_| {}).pkce_required());
        assert!(settings(|s| s.require_pkce = true).pkce_required());
    }
}
