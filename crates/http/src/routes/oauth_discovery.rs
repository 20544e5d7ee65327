//! Discovery: `/.well-known/openid-configuration` (OpenID Connect
//! Discovery 1.0) and `/.well-known/oauth-authorization-server` (RFC 8414),
//! one document for both, listing exactly what latchkey supports: an
//! endpoint or value appears here in the same change that makes it work.
//! Public documents: anyone may read them, from any origin (CORS `*`).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::oauth::scopes::ScopeCatalogue;
use latchkey_core::oauth::{AuthMethod, GrantType, IdTokenAlg};
use latchkey_proto::discovery::ProviderMetadata;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;
use crate::state::AppState;

/// The document for the issuer `issuer` (latchkey's public URL).
pub(crate) fn metadata(issuer: &str, scopes: &ScopeCatalogue) -> ProviderMetadata {
    let base = issuer.trim_end_matches('/');
    let at = |path: &str| format!("{base}{path}");
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let secret_methods: Vec<String> = AuthMethod::ALL
        .iter()
        .filter(|m| **m != AuthMethod::None)
        .map(|m| m.as_str().to_owned())
        .collect();
    ProviderMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: Some(at("/oauth2/authorize")),
        token_endpoint: Some(at("/oauth2/token")),
        userinfo_endpoint: Some(at("/oauth2/userinfo")),
        end_session_endpoint: Some(at("/oauth2/logout")),
        jwks_uri: at("/.well-known/jwks.json"),
        introspection_endpoint: at("/oauth2/introspect"),
        revocation_endpoint: at("/oauth2/revoke"),
        response_types_supported: strings(&["code"]),
        subject_types_supported: strings(&["public"]),
        grant_types_supported: GrantType::ALL
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        response_modes_supported: strings(&["query", "form_post"]),
        scopes_supported: scopes.supported(),
        claims_supported: strings(&[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "sid",
            "azp",
            "at_hash",
            "email",
            "email_verified",
            "name",
            "preferred_username",
            "locale",
            "roles",
        ]),
        id_token_signing_alg_values_supported: IdTokenAlg::ALL
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        token_endpoint_auth_methods_supported: AuthMethod::ALL
            .iter()
            .map(|m| m.as_str().to_owned())
            .collect(),
        introspection_endpoint_auth_methods_supported: secret_methods,
        // public clients revoke their own tokens by `client_id` (RFC 7009 §2.1)
        revocation_endpoint_auth_methods_supported: AuthMethod::ALL
            .iter()
            .map(|m| m.as_str().to_owned())
            .collect(),
        code_challenge_methods_supported: strings(&["S256"]),
        authorization_response_iss_parameter_supported: true,
    }
}

fn document(state: &AppState) -> Response {
    let mut response = axum::Json(metadata(
        &state.auth().config().issuer,
        &state.auth().config().scopes,
    ))
    .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// OpenID Provider metadata (OpenID Connect Discovery 1.0 §4). Needs nothing.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oauth",
    responses((status = 200, description = "The provider's metadata.", body = ProviderMetadata)))]
pub async fn get_openid_configuration(State(state): State<AppState>) -> Response {
    document(&state)
}

/// Authorization-server metadata (RFC 8414 §3): the same document. Needs nothing.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "The server's metadata.", body = ProviderMetadata)))]
pub async fn get_oauth_authorization_server(State(state): State<AppState>) -> Response {
    document(&state)
}

/// The group: public documents under the `api` class.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::OAuth)
        .add(RouteClass::Api, routes!(get_openid_configuration))
        .add(RouteClass::Api, routes!(get_oauth_authorization_server))
}

#[cfg(test)]
mod tests {
    use super::metadata;

    #[test]
    fn the_document_names_the_issuer_and_only_what_is_supported() {
        let m = metadata(
            "https://auth.example.com",
            &latchkey_core::oauth::scopes::ScopeCatalogue::default(),
        );
        assert_eq!(m.issuer, "https://auth.example.com");
        assert_eq!(m.jwks_uri, "https://auth.example.com/.well-known/jwks.json");
        assert_eq!(m.id_token_signing_alg_values_supported[0], "RS256");
        assert_eq!(m.code_challenge_methods_supported, ["S256"]);
        assert_eq!(m.response_types_supported, ["code"]);
        assert_eq!(
            m.grant_types_supported,
            ["authorization_code", "refresh_token", "client_credentials"]
        );
        assert_eq!(
            m.authorization_endpoint.as_deref(),
            Some("https://auth.example.com/oauth2/authorize")
        );
        assert_eq!(
            m.token_endpoint.as_deref(),
            Some("https://auth.example.com/oauth2/token")
        );
        assert_eq!(
            m.end_session_endpoint.as_deref(),
            Some("https://auth.example.com/oauth2/logout")
        );
        assert_eq!(m.response_modes_supported, ["query", "form_post"]);
        assert!(m.authorization_response_iss_parameter_supported);
    }
}
