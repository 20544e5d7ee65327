//! Authorization-server metadata (RFC 8414) and OpenID Provider metadata
//! (OpenID Connect Discovery 1.0 §3): one shape for both documents. What
//! latchkey does not support is absent: the document lists exactly what is
//! supported.

use serde::{Deserialize, Serialize};

/// The discovery document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderMetadata {
    /// The issuer identifier (`iss` of every token).
    pub issuer: String,
    /// The authorization endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// The UserInfo endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// The JWK set.
    pub jwks_uri: String,
    /// RFC 7662 introspection.
    pub introspection_endpoint: String,
    /// RFC 7009 revocation.
    pub revocation_endpoint: String,
    /// RP-initiated logout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// The scopes clients may ask for.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub scopes_supported: Vec<String>,
    /// `code` only.
    pub response_types_supported: Vec<String>,
    /// `query`, `form_post`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub response_modes_supported: Vec<String>,
    /// The grants of the token endpoint.
    pub grant_types_supported: Vec<String>,
    /// `public`.
    pub subject_types_supported: Vec<String>,
    /// The algorithms ID tokens may be signed with (RS256 first).
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// Client authentication at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Client authentication at introspection.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// Client authentication at revocation.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// PKCE methods: `S256` only.
    pub code_challenge_methods_supported: Vec<String>,
    /// The claims ID tokens and UserInfo may carry.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub claims_supported: Vec<String>,
    /// RFC 9207: `iss` in every authorization response.
    pub authorization_response_iss_parameter_supported: bool,
}
