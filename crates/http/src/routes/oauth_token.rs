//! The token endpoint (`/oauth2/token`) and UserInfo (`/oauth2/userinfo`).
//! Errors are RFC 6749 / RFC 6750 JSON through the one error path
//! (`OAuthError` → [`ApiError`], rendered by [`Renderer::OAuth`]), never
//! cached.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::oauth::{AuthMethod, ClientAuth, OAuthError as CoreError};
use latchkey_proto::token::{OAuthTokenResponse, UserInfo};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::Routes;
use super::oauth::{
    FormClientAuth, assertion_client, basic_credentials, invalid_client, invalid_request,
};
use crate::error::ApiError;
use crate::render::{OAuthError, Renderer};
use crate::state::AppState;

/// A token request (RFC 6749 §4.1.3, §4.4.2, §6).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct TokenRequest {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    grant_type: String,
    /// The authorization code.
    code: Option<String>,
    /// The redirect URI of the authorization request.
    redirect_uri: Option<String>,
    /// The PKCE verifier.
    code_verifier: Option<String>,
    /// The refresh token.
    refresh_token: Option<String>,
    /// Scopes (refresh: a subset of the granted ones; client credentials).
    scope: Option<String>,
    /// RFC 8707 resource: the access token's audience.
    resource: Option<String>,
    /// The client (`client_secret_post` and public clients).
    client_id: Option<String>,
    /// The client's secret (`client_secret_post`).
    client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (`private_key_jwt`).
    client_assertion_type: Option<String>,
    /// The client's signed JWT (`private_key_jwt`, RFC 7523 §2.2).
    client_assertion: Option<String>,
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The token endpoint. **Requires** client authentication with the method
/// the client registered: HTTP Basic (`client_secret_basic`), `client_id`
/// and `client_secret` in the form (`client_secret_post`), or `client_id`
/// alone for public clients (`none`, with PKCE). Grants: `authorization_code`
/// (the code is used up at its first presentation; a second presentation
/// revokes every token issued from it), `refresh_token` (rotated; a replay
/// ends the session; the scope may only narrow), `client_credentials`
/// (confidential clients; no refresh token). Anything else, among them
/// `password` and `implicit`, is `unsupported_grant_type`.
#[utoipa::path(post, path = "/oauth2/token", tag = "oauth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The tokens.", body = OAuthTokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `unauthorized_client`, `invalid_scope`, `invalid_target` or `unsupported_grant_type`.", body = OAuthError),
        (status = 401, description = "`invalid_client`.", body = OAuthError),
    ))]
pub async fn post_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, ApiError> {
    let Ok(Form(f)) = form else {
        return Err(invalid_request(
            "send an application/x-www-form-urlencoded body without repeated parameters",
        ));
    };
    let oauth = state.oauth();
    let fields = FormClientAuth {
        client_id: f.client_id.as_deref(),
        client_secret: f.client_secret.as_deref(),
        assertion_type: f.client_assertion_type.as_deref(),
        assertion: f.client_assertion.as_deref(),
    };
    let client = match assertion_client(&state, &headers, &fields).await? {
        Some(client) => client,
        None => secret_or_public_client(oauth, &headers, &f).await?,
    };
    let tokens = match f.grant_type.as_str() {
        "authorization_code" => {
            let code = f
                .code
                .as_deref()
                .ok_or(CoreError::InvalidRequest("code is required"))?;
            oauth
                .exchange_code(
                    &client,
                    code,
                    f.redirect_uri.as_deref(),
                    f.code_verifier.as_deref(),
                    f.resource.as_deref(),
                )
                .await?
        }
        "refresh_token" => {
            let token = f
                .refresh_token
                .as_deref()
                .ok_or(CoreError::InvalidRequest("refresh_token is required"))?;
            oauth.refresh(&client, token, f.scope.as_deref()).await?
        }
        "client_credentials" => {
            oauth
                .client_credentials(&client, f.scope.as_deref(), f.resource.as_deref())
                .await?
        }
        "" => return Err(CoreError::InvalidRequest("grant_type is required").into()),
        _ => return Err(CoreError::UnsupportedGrantType.into()),
    };
    Ok(no_store(axum::Json(tokens).into_response()))
}

/// Client authentication by secret (Basic or form) or, for a public
/// client, its `client_id` alone, with the method it registered.
async fn secret_or_public_client(
    oauth: &latchkey_core::oauth::OAuth,
    headers: &HeaderMap,
    f: &TokenRequest,
) -> Result<latchkey_core::oauth::OAuthClient, ApiError> {
    let (client_id, secret, method) =
        match (basic_credentials(headers)?, &f.client_id, &f.client_secret) {
            (Some(_), _, Some(_)) => {
                return Err(invalid_request("use one client authentication method"));
            }
            (Some((id, secret)), form_id, None) => {
                if form_id.as_ref().is_some_and(|f| *f != id) {
                    return Err(invalid_client());
                }
                (id, Some(secret), AuthMethod::ClientSecretBasic)
            }
            (None, Some(id), Some(secret)) => (
                id.clone(),
                Some(secret.clone()),
                AuthMethod::ClientSecretPost,
            ),
            (None, Some(id), None) => (id.clone(), None, AuthMethod::None),
            (None, None, _) => return Err(invalid_client()),
        };
    Ok(oauth
        .authenticate(ClientAuth {
            method,
            client_id: &client_id,
            secret: secret.as_deref(),
        })
        .await?)
}

/// The form of a UserInfo POST (RFC 6750 §2.2: the token in the body).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct UserInfoForm {
    /// The access token, when not in the `Authorization` header.
    access_token: Option<String>,
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn userinfo(state: &AppState, token: Option<String>) -> Result<Response, ApiError> {
    let token = token.ok_or(CoreError::InvalidToken("no access token"))?;
    let info: UserInfo = state.oauth().userinfo(&token).await?;
    Ok(no_store(axum::Json(info).into_response()))
}

/// UserInfo (OpenID Connect Core §5.3). **Requires** an access token with
/// the `openid` scope whose session is live (`Authorization: Bearer`);
/// answers the claims of its scopes: `email`, `profile`, `roles`.
#[utoipa::path(get, path = "/oauth2/userinfo", tag = "oauth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The claims.", body = UserInfo),
        (status = 401, description = "`invalid_token` (with `WWW-Authenticate: Bearer`).", body = OAuthError),
        (status = 403, description = "`insufficient_scope`: no `openid`.", body = OAuthError),
    ))]
pub async fn get_userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    userinfo(&state, bearer(&headers)).await
}

/// UserInfo by POST: the token in the `Authorization` header or the form's
/// `access_token` (not both).
#[utoipa::path(post, path = "/oauth2/userinfo", tag = "oauth", security(("bearer" = [])),
    request_body(content = UserInfoForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The claims.", body = UserInfo),
        (status = 400, description = "`invalid_request`: two tokens.", body = OAuthError),
        (status = 401, description = "`invalid_token` (with `WWW-Authenticate: Bearer`).", body = OAuthError),
        (status = 403, description = "`insufficient_scope`: no `openid`.", body = OAuthError),
    ))]
pub async fn post_userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<UserInfoForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let in_form = form.ok().and_then(|Form(f)| f.access_token);
    let token = match (bearer(&headers), in_form) {
        (Some(_), Some(_)) => return Err(invalid_request("send the token once")),
        (a, b) => a.or(b),
    };
    userinfo(&state, token).await
}

/// The group: errors as RFC 6749 JSON; the `token` class.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::OAuth)
        .add(RouteClass::Token, routes!(post_token))
        .add(RouteClass::Token, routes!(get_userinfo, post_userinfo))
}
