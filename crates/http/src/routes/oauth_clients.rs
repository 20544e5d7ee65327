//! `/v1/admin/clients`: registering and managing OAuth clients. Every route
//! **requires** `clients:manage`; every change is recorded in the audit log
//! (`client.created`, `client.updated`, `client.deleted`,
//! `client.secret_rotated`). A client secret is shown once, when it is made.
//! Errors of the OAuth slice are mapped to problem+json here
//! ([`From<OAuthError> for ApiError`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::oauth::Jwks;
use latchkey_core::oauth::{
    AuthMethod, ClientPatch, ClientSettings, ClientType, GrantType, IdTokenAlg, NewClient,
    OAuthClient, OAuthError,
};
use latchkey_proto::problem::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::Routes;
use super::views::{nullable, rfc3339};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::principal::{Admin, perm};
use crate::render::Renderer;
use crate::state::AppState;

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Invalid {
                field,
                code,
                reason,
            } => ApiError::validation(vec![FieldError {
                field: field.into(),
                code: code.into(),
                message: reason,
            }]),
            OAuthError::UnknownClient => ApiError::not_found("No client with this id."),
            e @ (OAuthError::InvalidGrant(_) | OAuthError::CodeReplayed { .. }) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Invalid grant",
                e.to_string(),
            ),
            OAuthError::InvalidClient => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Invalid client",
                "client authentication failed",
            ),
            e @ OAuthError::UnauthorizedClient(_) => {
                oauth_refusal(StatusCode::BAD_REQUEST, "unauthorized_client", e)
            }
            e @ OAuthError::InvalidRequest(_) => {
                oauth_refusal(StatusCode::BAD_REQUEST, "invalid_request", e)
            }
            e @ OAuthError::InvalidScope(_) => {
                oauth_refusal(StatusCode::BAD_REQUEST, "invalid_scope", e)
            }
            e @ OAuthError::InvalidTarget(_) => {
                oauth_refusal(StatusCode::BAD_REQUEST, "invalid_target", e)
            }
            e @ OAuthError::UnsupportedGrantType => {
                oauth_refusal(StatusCode::BAD_REQUEST, "unsupported_grant_type", e)
            }
            e @ OAuthError::InvalidToken(_) => {
                oauth_refusal(StatusCode::UNAUTHORIZED, "invalid_token", e)
            }
            e @ OAuthError::InsufficientScope(_) => {
                oauth_refusal(StatusCode::FORBIDDEN, "insufficient_scope", e)
            }
            OAuthError::Denied(e) => e.into(),
            OAuthError::Shared(e) => e.into(),
        }
    }
}

/// An RFC 6749 / RFC 6750 refusal: `code` is the `error`, the message the
/// description.
fn oauth_refusal(status: StatusCode, code: &'static str, e: OAuthError) -> ApiError {
    ApiError::new(status, code, "OAuth request refused", e.to_string())
}

/// A registered client (never its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"client_id": "lk_019a8d6e2f417c3b9a573b1d2c4e5f60", "name": "Partner app", "client_type": "confidential", "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["https://app.example.com/callback"], "post_logout_redirect_uris": [], "grant_types": ["authorization_code", "refresh_token"], "scopes": ["email", "openid", "profile"], "first_party": false, "require_pkce": false, "access_token_ttl_secs": null, "refresh_token_ttl_secs": null, "id_token_signed_response_alg": "RS256", "events": false, "created_at": "2126-11-22T10:00:00Z"}))]
pub struct ClientView {
    /// The `client_id`.
    client_id: String,
    /// A name for people (shown on the consent page).
    name: String,
    /// `confidential` or `public`.
    client_type: &'static str,
    /// `client_secret_basic`, `client_secret_post` or `none` (public).
    token_endpoint_auth_method: &'static str,
    /// Exact redirect URIs (a loopback IP literal over http accepts any port).
    redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    grant_types: Vec<&'static str>,
    /// The scopes it may be granted.
    scopes: Vec<String>,
    /// First-party: no consent page, not bound by scope limits.
    first_party: bool,
    /// PKCE required (always for public clients).
    require_pkce: bool,
    /// Access-token lifetime; null: the server's.
    access_token_ttl_secs: Option<u32>,
    /// Refresh-token lifetime; null: the server's.
    refresh_token_ttl_secs: Option<u32>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    id_token_signed_response_alg: &'static str,
    /// A resource server that may read the revocation stream (`GET /v1/events/stream`).
    events: bool,
    /// The public keys of a `private_key_jwt` client (a JWK set).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    jwks: Option<Jwks>,
    /// Where a `private_key_jwt` client publishes its keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    /// RFC 3339.
    created_at: String,
}

impl From<OAuthClient> for ClientView {
    fn from(c: OAuthClient) -> Self {
        let s = c.settings;
        let require_pkce = s.pkce_required();
        ClientView {
            client_id: c.client.id,
            name: c.client.name,
            client_type: s.client_type.as_str(),
            token_endpoint_auth_method: s.token_endpoint_auth_method.as_str(),
            redirect_uris: s.redirect_uris,
            post_logout_redirect_uris: s.post_logout_redirect_uris,
            grant_types: s.grant_types.iter().map(|g| g.as_str()).collect(),
            scopes: s.scopes,
            first_party: s.first_party,
            require_pkce,
            access_token_ttl_secs: s.access_token_ttl_secs,
            refresh_token_ttl_secs: s.refresh_token_ttl_secs,
            id_token_signed_response_alg: s.id_token_signed_response_alg.as_str(),
            events: s.events,
            jwks: s.jwks,
            jwks_uri: s.jwks_uri,
            created_at: rfc3339(c.client.created_at),
        }
    }
}

/// A new client and, for a confidential one, its secret: shown only now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClientView {
    #[serde(flatten)]
    client: ClientView,
    /// The secret (confidential clients only). latchkey keeps only its hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

/// A client to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Partner app", "redirect_uris": ["https://app.example.com/callback"], "grant_types": ["authorization_code", "refresh_token"], "scopes": ["openid", "profile", "email", "offline_access"]}))]
pub struct CreateClientRequest {
    /// A name for people (1–100 characters).
    name: String,
    /// `confidential` (default) or `public`.
    client_type: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `private_key_jwt`
    /// (with `jwks` or `jwks_uri`; no secret); public clients use `none`.
    token_endpoint_auth_method: Option<String>,
    /// Exact redirect URIs: https, http on loopback, or a private-use scheme (`com.example.app:/cb`).
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// The grants it may use.
    #[serde(default)]
    grant_types: Vec<String>,
    /// The scopes it may be granted.
    #[serde(default)]
    scopes: Vec<String>,
    /// Skip the consent page and the scope limits (default false).
    #[serde(default)]
    first_party: bool,
    /// Require PKCE of a confidential client too (default false; public clients always).
    #[serde(default)]
    require_pkce: bool,
    /// Access-token lifetime in seconds (60–86400).
    access_token_ttl_secs: Option<u32>,
    /// Refresh-token lifetime in seconds (60–31536000).
    refresh_token_ttl_secs: Option<u32>,
    /// `RS256` (default), `ES256` or `EdDSA`.
    id_token_signed_response_alg: Option<String>,
    /// May read the revocation stream, every user's session ends (default false).
    #[serde(default)]
    events: bool,
    /// `private_key_jwt`: the client's public keys (a JWK set: 1 to 10
    /// EdDSA, ES256 or RS256 keys, each with its own `kid`).
    #[schema(value_type = Option<Object>)]
    jwks: Option<Jwks>,
    /// `private_key_jwt`: where the client publishes its JWK set (https, or
    /// http on a loopback host).
    jwks_uri: Option<String>,
}

/// Changes to a client; absent fields stay, `null` lifetimes return to the server's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"redirect_uris": ["https://app.example.com/callback", "https://app.example.com/callback2"], "first_party": true}))]
pub struct PatchClientRequest {
    name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    first_party: Option<bool>,
    require_pkce: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    access_token_ttl_secs: Option<Option<u32>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    refresh_token_ttl_secs: Option<Option<u32>>,
    id_token_signed_response_alg: Option<String>,
    events: Option<bool>,
    /// `null` removes the keys.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    jwks: Option<Option<Jwks>>,
    /// `null` removes the URL.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    jwks_uri: Option<Option<String>>,
}

/// Parses a registered name of `field` (422 `invalid_value` naming the choices).
fn named<T>(
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    choices: &str,
) -> Result<T, ApiError> {
    parse(value).ok_or_else(|| {
        ApiError::validation(vec![FieldError {
            field: field.into(),
            code: "invalid_value".into(),
            message: format!("must be one of {choices}"),
        }])
    })
}

fn grants(values: &[String]) -> Result<Vec<GrantType>, ApiError> {
    values
        .iter()
        .map(|g| {
            named(
                "grant_types",
                g,
                GrantType::parse,
                "authorization_code, refresh_token, client_credentials",
            )
        })
        .collect()
}

fn auth_method(value: &str) -> Result<AuthMethod, ApiError> {
    named(
        "token_endpoint_auth_method",
        value,
        AuthMethod::parse,
        "client_secret_basic, client_secret_post, private_key_jwt, none",
    )
}

fn id_token_alg(value: &str) -> Result<IdTokenAlg, ApiError> {
    named(
        "id_token_signed_response_alg",
        value,
        IdTokenAlg::parse,
        "RS256, ES256, EdDSA",
    )
}

/// The registered clients, by id. **Requires** `clients:manage`.
#[utoipa::path(get, path = "/v1/admin/clients", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Every client.", body = Vec<ClientView>),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_clients(
    State(state): State<AppState>,
    admin: Admin<perm::ClientsManage>,
) -> Result<axum::Json<Vec<ClientView>>, ApiError> {
    let clients = state.oauth().clients(&admin.actor).await?;
    Ok(axum::Json(clients.into_iter().map(Into::into).collect()))
}

/// Register a client. **Requires** `clients:manage`. The answer carries a
/// confidential client's secret: the only time it is shown.
#[utoipa::path(post, path = "/v1/admin/clients", tag = "admin", request_body = CreateClientRequest, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "The client, with its secret.", body = CreatedClientView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: e.g. `invalid_redirect_uri`, `invalid_grant_types`, `invalid_scope`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_client(
    State(state): State<AppState>,
    admin: Admin<perm::ClientsManage>,
    Json(body): Json<CreateClientRequest>,
) -> Result<Response, ApiError> {
    let client_type = match body.client_type.as_deref() {
        None => ClientType::Confidential,
        Some(t) => named("client_type", t, ClientType::parse, "confidential, public")?,
    };
    let settings = ClientSettings {
        client_type,
        token_endpoint_auth_method: match body.token_endpoint_auth_method.as_deref() {
            Some(m) => auth_method(m)?,
            None if client_type == ClientType::Public => AuthMethod::None,
            None => AuthMethod::ClientSecretBasic,
        },
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types: grants(&body.grant_types)?,
        scopes: body.scopes,
        first_party: body.first_party,
        require_pkce: body.require_pkce,
        access_token_ttl_secs: body.access_token_ttl_secs,
        refresh_token_ttl_secs: body.refresh_token_ttl_secs,
        id_token_signed_response_alg: body
            .id_token_signed_response_alg
            .as_deref()
            .map(id_token_alg)
            .transpose()?
            .unwrap_or_default(),
        events: body.events,
        jwks: body.jwks,
        jwks_uri: body.jwks_uri,
    };
    let (client, secret) = state
        .oauth()
        .create_client(
            &admin.actor,
            NewClient {
                name: body.name,
                settings,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedClientView {
            client: client.into(),
            client_secret: secret,
        }),
    )
        .into_response())
}

/// One client. **Requires** `clients:manage`.
#[utoipa::path(get, path = "/v1/admin/clients/{client_id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("client_id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client.", body = ClientView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_client(
    State(state): State<AppState>,
    admin: Admin<perm::ClientsManage>,
    Path(id): Path<String>,
) -> Result<axum::Json<ClientView>, ApiError> {
    Ok(axum::Json(
        state.oauth().client(&admin.actor, &id).await?.into(),
    ))
}

/// Change a client's registration; absent fields stay. Its type cannot
/// change. **Requires** `clients:manage`.
#[utoipa::path(patch, path = "/v1/admin/clients/{client_id}", tag = "admin", request_body = PatchClientRequest, security(("bearer" = []), ("session_cookie" = [])),
    params(("client_id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client.", body = ClientView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_client(
    State(state): State<AppState>,
    admin: Admin<perm::ClientsManage>,
    Path(id): Path<String>,
    Json(body): Json<PatchClientRequest>,
) -> Result<axum::Json<ClientView>, ApiError> {
    let patch = ClientPatch {
        name: body.name,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types: body.grant_types.as_deref().map(grants).transpose()?,
        scopes: body.scopes,
        first_party: body.first_party,
        require_pkce: body.require_pkce,
        token_endpoint_auth_method: body
            .token_endpoint_auth_method
            .as_deref()
            .map(auth_method)
            .transpose()?,
        access_token_ttl_secs: body.access_token_ttl_secs,
        refresh_token_ttl_secs: body.refresh_token_ttl_secs,
        id_token_signed_response_alg: body
            .id_token_signed_response_alg
            .as_deref()
            .map(id_token_alg)
            .transpose()?,
        events: body.events,
        jwks: body.jwks,
        jwks_uri: body.jwks_uri,
    };
    let client = state
        .oauth()
        .update_client(&admin.actor, &id, patch)
        .await?;
    Ok(axum::Json(client.into()))
}

/// Delete a client. **Requires** `clients:manage`.
#[utoipa::path(delete, path = "/v1/admin/clients/{client_id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("client_id" = String, Path, description = "Client id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_client(
    State(state): State<AppState>,
    admin: Admin<perm::ClientsManage>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.oauth().delete_client(&admin.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The new secret, shown only now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientSecretView {
    /// The `client_id`.
    client_id: String,
    /// The new secret; the old one no longer works.
    client_secret: String,
}

/// Replace a confidential client's secret; the old one stops working at
/// once. **Requires** `clients:manage`. A public client has none (422
/// `public_client`).
#[utoipa::path(post, path = "/v1/admin/clients/{client_id}/secret", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("client_id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The new secret.", body = ClientSecretView),
        (status = 403, description = "`permission_denied`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `public_client`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_client_secret(
    State(state): State<AppState>,
    admin: Admin<perm::ClientsManage>,
    Path(id): Path<String>,
) -> Result<axum::Json<ClientSecretView>, ApiError> {
    let client_secret = state.oauth().rotate_secret(&admin.actor, &id).await?;
    Ok(axum::Json(ClientSecretView {
        client_id: id,
        client_secret,
    }))
}

/// The group: problem+json, like the rest of `/v1/admin`.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .add(RouteClass::Api, routes!(get_clients, post_client))
        .add(
            RouteClass::Api,
            routes!(get_client, patch_client, delete_client),
        )
        .add(RouteClass::Api, routes!(post_client_secret))
}
