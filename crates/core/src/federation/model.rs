//! Providers as configured, linked identities as stored, and the state of
//! a flow between the authorization request and the callback.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use url::Url;

/// How latchkey talks to a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenID Connect: endpoints from the issuer's discovery document, the
    /// person from a validated ID token.
    Oidc,
    /// Plain OAuth 2.0: configured endpoints, the person from the userinfo
    /// endpoint through the claim mapping.
    OAuth2,
}

/// When an upstream address may link to an existing local account on its
/// own (issue 17 item 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPolicy {
    /// Never: the person signs in to the local account first, then links.
    Never,
    /// When the provider asserts the address verified.
    Verified,
}

/// Which upstream claim holds what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// The stable subject (`sub`; GitHub's is `id`).
    pub subject: String,
    /// The address.
    pub email: String,
    /// Whether the provider verified the address (a boolean, or the
    /// strings `"true"`/`"false"` as some providers send).
    pub email_verified: String,
    /// The display name.
    pub name: String,
    /// The picture (avatar) URL.
    pub picture: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            subject: "sub".into(),
            email: "email".into(),
            email_verified: "email_verified".into(),
            name: "name".into(),
            picture: "picture".into(),
        }
    }
}

/// An upstream provider, validated at start-up.
#[derive(Clone)]
pub struct Provider {
    /// The `{provider}` of the routes.
    pub name: String,
    /// What the sign-in button says.
    pub display_name: String,
    /// OpenID Connect or plain OAuth 2.0.
    pub kind: ProviderKind,
    /// The issuer, exactly (OpenID Connect).
    pub issuer: Option<String>,
    /// Overrides of the discovered endpoints (required for OAuth 2.0).
    pub authorization_endpoint: Option<Url>,
    /// The token endpoint.
    pub token_endpoint: Option<Url>,
    /// The userinfo endpoint.
    pub userinfo_endpoint: Option<Url>,
    /// Our client id there.
    pub client_id: String,
    /// Our client secret there (`client_secret_basic`).
    pub client_secret: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Which claim holds what.
    pub claims: ClaimMapping,
    /// When an asserted address links to an existing account on its own.
    pub link_policy: LinkPolicy,
    /// Whether a first sign-in may create an account.
    pub sign_up: bool,
    /// Whether the provider's access and refresh tokens are kept (sealed)
    /// for `GET /v1/account/identities/{id}/token`.
    pub store_tokens: bool,
    /// Whether each sign-in sets the account's name from the provider's.
    pub sync_profile: bool,
    /// Where the provider departs from plain OpenID Connect / OAuth 2.0
    /// (from its preset), and the native apps' client ids.
    pub dialect: Dialect,
}

/// How latchkey authenticates at a provider's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `client_secret_basic` (RFC 6749 §2.3.1), the generic kinds' choice.
    #[default]
    Basic,
    /// `client_secret_post`: id and secret in the form body.
    Post,
    /// A `GET` with id and secret in the query (Facebook's manual flow).
    Query,
}

/// A multi-tenant issuer (Microsoft `common`, `organizations`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantIssuer {
    /// The issuer with `{tenantid}`, as the discovery document names it.
    pub template: String,
    /// `organizations`: the personal-account tenant is refused.
    pub organizations_only: bool,
}

/// Apple's client secret: an ES256 JWT made for each token request.
#[derive(Clone)]
pub struct AppleSecret {
    /// The developer team id (`iss`).
    pub team_id: String,
    /// The Sign in with Apple key (its `kid` is the key id).
    pub key: std::sync::Arc<latchkey_tokens::SigningKey>,
}

impl std::fmt::Debug for AppleSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppleSecret")
            .field("team_id", &self.team_id)
            .finish_non_exhaustive()
    }
}

/// Where a provider departs from the plain protocols.
#[derive(Debug, Clone, Default)]
pub struct Dialect {
    /// Client authentication at the token endpoint.
    pub client_auth: ClientAuth,
    /// GitHub's emails API: the address is its verified primary one.
    pub emails_endpoint: Option<Url>,
    /// The `response_mode` asked for (`form_post`).
    pub response_mode: Option<String>,
    /// Other spellings of the issuer in ID tokens.
    pub issuer_aliases: Vec<String>,
    /// Any tenant's issuer, by the ID token's `tid`.
    pub tenant_issuer: Option<TenantIssuer>,
    /// Apple: the client secret JWT, and the name of the first sign-in.
    pub apple: Option<AppleSecret>,
    /// Native apps: other client ids an ID token may be issued to.
    pub native_client_ids: Vec<String>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The federation settings: the providers and the API mode's redirects.
#[derive(Debug, Clone)]
pub struct FederationConfig {
    /// The providers, by name.
    pub providers: Vec<Provider>,
    /// Where the API mode may send its one-time code (exact match); empty:
    /// API mode is off.
    pub api_redirect_uris: Vec<String>,
    /// The bound of every call to a provider.
    pub upstream_timeout: std::time::Duration,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            providers: Vec::new(),
            api_redirect_uris: Vec::new(),
            upstream_timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// How long a flow may take from the authorization request to the callback.
pub const FLOW_TTL: Duration = Duration::minutes(10);
/// How long the API mode's one-time code is good for.
pub const EXCHANGE_TTL: Duration = Duration::minutes(2);

/// An upstream account linked to a local one, keyed by (provider, subject),
/// never by address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Its id.
    pub id: String,
    /// The local account.
    pub user_id: String,
    /// The provider's configured name.
    pub provider: String,
    /// The provider's subject.
    pub subject: String,
    /// The address the provider asserted at the last sign-in.
    pub email: Option<String>,
    /// Whether the provider asserted it verified.
    pub email_verified: bool,
    /// When it was linked.
    #[serde(with = "time::serde::rfc3339")]
    pub linked_at: OffsetDateTime,
}

/// Where the callback sends the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum FlowMode {
    /// Hosted pages: a cookie session, then a redirect to `return_to`.
    Cookie {
        /// A path on latchkey (checked by the pages' rules).
        return_to: String,
    },
    /// An app: a one-time code to `redirect_uri`, exchanged with the
    /// verifier of `code_challenge` (S256).
    Api {
        /// A configured redirect URI.
        redirect_uri: String,
        /// The app's PKCE challenge.
        code_challenge: String,
        /// The app's own `state`, handed back.
        app_state: Option<String>,
    },
    /// Linking to the signed-in account `user_id`.
    Link {
        /// The account.
        user_id: String,
    },
}

/// A flow between the authorization request and the callback, stored
/// under the hash of its `state` and taken once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// The provider it was started for.
    pub provider: String,
    /// The ID token's expected `nonce`.
    pub nonce: String,
    /// The PKCE verifier of the upstream request.
    pub verifier: String,
    /// Where it ends.
    pub mode: FlowMode,
}

/// The API mode's one-time code, stored under its hash and taken once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeGrant {
    /// The account signing in.
    pub user_id: String,
    /// The provider it came through.
    pub provider: String,
    /// The app's PKCE challenge (S256).
    pub code_challenge: String,
}

/// A person as the provider described them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstreamer {
    /// The provider's subject.
    pub subject: String,
    /// The asserted address.
    pub email: Option<String>,
    /// Whether the provider asserted it verified.
    pub email_verified: bool,
    /// The display name.
    pub name: Option<String>,
}
