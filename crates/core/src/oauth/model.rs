//! OAuth clients as registered.

use latchkey_tokens::Jwks;
use serde::{Deserialize, Serialize};

use crate::keys::Client;

/// Confidential clients hold a secret; public ones (browser and native
/// apps) cannot keep one and must use PKCE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// Holds a secret.
    #[default]
    Confidential,
    /// Holds none.
    Public,
}

/// The grants a client may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// `authorization_code` (with PKCE).
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials` (confidential clients only).
    ClientCredentials,
}

impl GrantType {
    /// Every grant, in the order discovery lists them.
    pub const ALL: &'static [GrantType] = &[
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// The RFC 6749 name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// Parses an RFC 6749 name.
    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.iter().copied().find(|g| g.as_str() == s)
    }
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic (the default for confidential clients).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form.
    ClientSecretPost,
    /// No authentication: public clients.
    None,
    /// A JWT signed with the client's key (RFC 7523 §2.2), checked with its
    /// registered `jwks` or `jwks_uri`.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// Every method, in the order discovery lists them.
    pub const ALL: &'static [AuthMethod] = &[
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::None,
        AuthMethod::PrivateKeyJwt,
    ];

    /// Parses a registered name.
    pub fn parse(s: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.iter().copied().find(|m| m.as_str() == s)
    }

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// The algorithm of a client's ID tokens (`id_token_signed_response_alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum IdTokenAlg {
    /// RSA PKCS#1 v1.5 with SHA-256: what OpenID Connect requires.
    #[default]
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl IdTokenAlg {
    /// Every algorithm, in the order discovery lists them.
    pub const ALL: &'static [IdTokenAlg] =
        &[IdTokenAlg::RS256, IdTokenAlg::ES256, IdTokenAlg::EdDSA];

    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            IdTokenAlg::RS256 => "RS256",
            IdTokenAlg::ES256 => "ES256",
            IdTokenAlg::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE name.
    pub fn parse(s: &str) -> Option<IdTokenAlg> {
        IdTokenAlg::ALL.iter().copied().find(|a| a.as_str() == s)
    }
}

/// A client's registration besides its id, name and secret. Stored as JSON;
/// every field has a default so that older rows (and `{}`) still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientSettings {
    /// Confidential or public.
    pub client_type: ClientType,
    /// How it authenticates at the token endpoint.
    pub token_endpoint_auth_method: AuthMethod,
    /// Where authorization responses may go, matched exactly
    /// ([`super::redirect::matches`]).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to, matched exactly.
    pub post_logout_redirect_uris: Vec<String>,
    /// The grants it may use.
    pub grant_types: Vec<GrantType>,
    /// The scopes it may be granted.
    pub scopes: Vec<String>,
    /// A first-party client skips the consent page and is not bound by
    /// the scope limits on `/v1/account` and `/v1/admin`.
    pub first_party: bool,
    /// PKCE required even though confidential (always for public clients).
    pub require_pkce: bool,
    /// Access-token lifetime in seconds; `None`: the server's.
    pub access_token_ttl_secs: Option<u32>,
    /// Refresh-token lifetime in seconds; `None`: the server's.
    pub refresh_token_ttl_secs: Option<u32>,
    /// The algorithm of its ID tokens.
    pub id_token_signed_response_alg: IdTokenAlg,
    /// A resource server that may read the revocation stream
    /// (`GET /v1/events/stream`: every user's session ends). Off by default:
    /// third-party clients share the table.
    pub events: bool,
    /// The public keys of a `private_key_jwt` client (RFC 7591 `jwks`).
    pub jwks: Option<Jwks>,
    /// Where a `private_key_jwt` client publishes its keys (RFC 7591
    /// `jwks_uri`): https, or http on a loopback host, like upstream calls.
    pub jwks_uri: Option<String>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            client_type: ClientType::Confidential,
            token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scopes: Vec::new(),
            first_party: false,
            require_pkce: false,
            access_token_ttl_secs: None,
            refresh_token_ttl_secs: None,
            id_token_signed_response_alg: IdTokenAlg::RS256,
            events: false,
            jwks: None,
            jwks_uri: None,
        }
    }
}

impl ClientSettings {
    /// The stored form (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Reads the stored form; a damaged row is a store error, never a
    /// client with default (wider or narrower) settings.
    pub fn from_json(json: &str) -> Result<ClientSettings, crate::store::StoreError> {
        serde_json::from_str(json)
            .map_err(|e| crate::store::StoreError::Backend(format!("oauth_clients.settings: {e}")))
    }

    /// Whether PKCE is required of this client.
    pub fn pkce_required(&self) -> bool {
        self.require_pkce || self.client_type == ClientType::Public
    }

    /// Whether it may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The registered redirect URI `presented` matches, if any.
    pub fn redirect_uri_allowed(&self, presented: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| super::redirect::matches(r, presented))
    }
}

/// A registered client: the stored client and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// Id, name, secret hash, creation time.
    pub client: Client,
    /// The registration.
    pub settings: ClientSettings,
}

/// A client to register.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// A name for people.
    pub name: String,
    /// The registration.
    pub settings: ClientSettings,
}

/// Changes to a client; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    /// New name.
    pub name: Option<String>,
    /// New redirect URIs (replacing the list).
    pub redirect_uris: Option<Vec<String>>,
    /// New post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// New grants.
    pub grant_types: Option<Vec<GrantType>>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// New first-party flag.
    pub first_party: Option<bool>,
    /// New PKCE requirement.
    pub require_pkce: Option<bool>,
    /// New token-endpoint authentication (confidential clients only).
    pub token_endpoint_auth_method: Option<AuthMethod>,
    /// New access-token lifetime (`Some(None)`: the server's).
    pub access_token_ttl_secs: Option<Option<u32>>,
    /// New refresh-token lifetime (`Some(None)`: the server's).
    pub refresh_token_ttl_secs: Option<Option<u32>>,
    /// New ID-token algorithm.
    pub id_token_signed_response_alg: Option<IdTokenAlg>,
    /// May it read the revocation stream.
    pub events: Option<bool>,
    /// New registered keys (`Some(None)`: none).
    pub jwks: Option<Option<Jwks>>,
    /// New key URL (`Some(None)`: none).
    pub jwks_uri: Option<Option<String>>,
}

impl ClientPatch {
    /// `settings` with the patch applied (not yet validated).
    pub fn apply(self, mut settings: ClientSettings) -> ClientSettings {
        macro_rules! set {
            ($($f:ident),*) => {$( if let Some(v) = self.$f { settings.$f = v; } )*};
        }
        set!(
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            first_party,
            require_pkce,
            token_endpoint_auth_method,
            access_token_ttl_secs,
            refresh_token_ttl_secs,
            id_token_signed_response_alg,
            events,
            jwks,
            jwks_uri
        );
        settings
    }
}
