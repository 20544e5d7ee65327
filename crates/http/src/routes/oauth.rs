//! OAuth endpoints available so far: the JWKS, RFC 7662 introspection and
//! RFC 7009 revocation. Errors here are shown as RFC 6749 JSON (`{error,
//! error_description}`), not problem+json: the group's renderer is
//! [`Renderer::OAuth`](crate::render::Renderer::OAuth).

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use latchkey_core::error::SharedError;
use latchkey_core::keys::Client;
use latchkey_core::oauth::{AuthMethod, CLIENT_ASSERTION_TYPE, ClientAuth, OAuthClient};
use latchkey_core::sessions::Revocation;
use latchkey_core::sessions::SessionError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
pub use crate::render::OAuthError;
use crate::state::AppState;
use latchkey_core::abuse::RouteClass;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;

/// The public signing keys (RFC 7517): the access tokens' and the ID
/// tokens' (RSA). Needs nothing. Retired keys stay listed until every token
/// they signed has expired.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth",
    responses((status = 200, description = "The JWK set.", content_type = "application/json",
        example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "alg": "EdDSA", "use": "sig"}]})),
        (status = 503, description = "The database is unavailable (the first ID-token key cannot be made).", body = OAuthError)))]
pub async fn get_jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let jwks = state.oauth().jwks().await?;
    let mut response = axum::Json(jwks).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

/// The form of introspection and revocation requests.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenForm {
    /// The token.
    token: Option<String>,
    /// `access_token` or `refresh_token` (a hint; both kinds are recognized).
    #[allow(dead_code)]
    token_type_hint: Option<String>,
    /// Client id, when not sent with HTTP Basic.
    client_id: Option<String>,
    /// Client secret, when not sent with HTTP Basic.
    client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (`private_key_jwt`).
    client_assertion_type: Option<String>,
    /// The client's signed JWT (`private_key_jwt`).
    client_assertion: Option<String>,
}

/// The client-authentication fields of a form besides HTTP Basic.
pub(crate) struct FormClientAuth<'a> {
    /// `client_id`.
    pub client_id: Option<&'a str>,
    /// `client_secret`.
    pub client_secret: Option<&'a str>,
    /// `client_assertion_type`.
    pub assertion_type: Option<&'a str>,
    /// `client_assertion`.
    pub assertion: Option<&'a str>,
}

/// The client of a `private_key_jwt` assertion (RFC 7523 §2.2), `None`
/// when the form has none. An assertion beside a secret is
/// `invalid_request`; a wrong type or a refused assertion `invalid_client`.
pub(crate) async fn assertion_client(
    state: &AppState,
    headers: &HeaderMap,
    form: &FormClientAuth<'_>,
) -> Result<Option<OAuthClient>, ApiError> {
    let Some(assertion) = form.assertion else {
        return match form.assertion_type {
            Some(_) => Err(invalid_request(
                "client_assertion_type without client_assertion",
            )),
            None => Ok(None),
        };
    };
    if basic_credentials(headers)?.is_some() || form.client_secret.is_some() {
        return Err(invalid_request("use one client authentication method"));
    }
    if form.assertion_type != Some(CLIENT_ASSERTION_TYPE) {
        return Err(invalid_client());
    }
    let client = state
        .oauth()
        .authenticate_assertion(assertion, form.client_id, state.client_jwks())
        .await?;
    Ok(Some(client))
}

/// Who may call an endpoint besides clients that hold a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Callers {
    /// Clients with a secret only (introspection, the event stream).
    WithSecret,
    /// Public clients too, by `client_id` alone (revocation, RFC 7009
    /// §2.1: a public client revokes its own tokens).
    AlsoPublic,
}

/// Client authentication: HTTP Basic (`client_secret_basic`, the default),
/// form fields (`client_secret_post`) or an assertion (`private_key_jwt`); where `callers` allows, a public
/// client by its `client_id` alone.
async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    form: &TokenForm,
    callers: Callers,
) -> Result<Client, ApiError> {
    let fields = FormClientAuth {
        client_id: form.client_id.as_deref(),
        client_secret: form.client_secret.as_deref(),
        assertion_type: form.client_assertion_type.as_deref(),
        assertion: form.client_assertion.as_deref(),
    };
    if let Some(client) = assertion_client(state, headers, &fields).await? {
        return Ok(client.client);
    }
    let (id, secret) = match (
        basic_credentials(headers)?,
        &form.client_id,
        &form.client_secret,
    ) {
        (Some(pair), _, _) => pair,
        (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
        (None, Some(id), None) if callers == Callers::AlsoPublic => {
            let public = state
                .oauth()
                .authenticate(ClientAuth {
                    method: AuthMethod::None,
                    client_id: id,
                    secret: None,
                })
                .await?;
            return Ok(public.client);
        }
        _ => return Err(invalid_client()),
    };
    match state.sessions().authenticate_client(&id, &secret).await {
        Ok(client) => Ok(client),
        Err(SessionError::Unauthenticated(_)) => Err(invalid_client()),
        Err(e) => Err(server_error(e)),
    }
}

/// The `client_id` and secret of an HTTP Basic `Authorization` header
/// (`None` without one; `invalid_client` when it cannot be read).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ApiError> {
    let Some((scheme, b64)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
    else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let pair = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .ok_or_else(invalid_client)?;
    match pair.split_once(':') {
        // RFC 6749 §2.3.1: both parts are form-urlencoded inside Basic
        Some((id, secret)) => Ok(Some((urldecode(id), urldecode(secret)))),
        None => Err(invalid_client()),
    }
}

/// Client authentication by HTTP Basic alone, for the GET endpoints that
/// clients call (the event stream): the same check as introspection's.
pub(crate) async fn basic_client(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Client, ApiError> {
    let none = TokenForm {
        token: None,
        token_type_hint: None,
        client_id: None,
        client_secret: None,
        client_assertion_type: None,
        client_assertion: None,
    };
    authenticate_client(state, headers, &none, Callers::WithSecret).await
}

/// A failure on our side: 503 when the database is unreachable, else 500
/// (the renderer words both as RFC 6749 errors; details go to the log).
fn server_error(e: SessionError) -> ApiError {
    match e {
        SessionError::Shared(SharedError::Store(s @ latchkey_core::StoreError::Unavailable(_))) => {
            s.into()
        }
        other => ApiError::internal(format!("OAuth endpoint failed: {other}")),
    }
}

pub(crate) fn invalid_client() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Invalid client",
        "client authentication failed",
    )
}

pub(crate) fn invalid_request(detail: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Invalid request",
        detail,
    )
}

/// The form, client authentication, and the `token` parameter that both
/// endpoints need.
async fn token_request(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
    callers: Callers,
) -> Result<(Client, String), ApiError> {
    let Ok(Form(form)) = form else {
        return Err(invalid_request(
            "send an application/x-www-form-urlencoded body",
        ));
    };
    let client = authenticate_client(state, headers, &form, callers).await?;
    let token = form
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid_request("the token parameter is required"))?;
    Ok((client, token))
}

/// Decodes one form-urlencoded component (`+` is a space, `%XX` a byte).
fn urldecode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// RFC 7662 introspection answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"active": true, "token_type": "access_token", "sub": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "sid": "019a8d6e-3a00-7c3b-9a57-3b1d2c4e5f61", "client_id": "first-party", "scope": "openid profile email", "exp": 4950673600_i64, "iat": 4950672700_i64, "iss": "https://auth.example.com", "aud": "https://auth.example.com"}))]
pub struct IntrospectionResponse {
    /// Whether the token is active (valid, unexpired, and its session not ended).
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// Token introspection (RFC 7662) for resource servers. **Requires** client
/// authentication (HTTP Basic or `client_id`/`client_secret` in the form;
/// clients come from `latchkey client create`). An access token whose
/// session has ended is `active: false`, so this is how a resource server
/// learns of a revocation before the token expires.
#[utoipa::path(post, path = "/oauth2/introspect", tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state.", body = IntrospectionResponse),
        (status = 400, description = "`invalid_request`: no token.", body = OAuthError),
        (status = 401, description = "`invalid_client`.", body = OAuthError),
    ))]
pub async fn post_introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let (_, token) = token_request(&state, &headers, form, Callers::WithSecret).await?;
    let i = state
        .sessions()
        .introspect(&token)
        .await
        .map_err(server_error)?;
    Ok(axum::Json(IntrospectionResponse {
        active: i.active,
        token_type: i.token_type,
        sub: i.sub,
        sid: i.sid,
        client_id: i.client_id,
        scope: i.scope,
        exp: i.exp,
        iat: i.iat,
        iss: i.iss,
        aud: i.aud,
    })
    .into_response())
}

/// Token revocation (RFC 7009). **Requires** client authentication, or a
/// public client's `client_id` in the form (RFC 7009 §2.1). A client revokes only tokens issued to it: revoking one ends its whole
/// session. A token issued to another client, or a first-party token
/// (those end at logout, `DELETE /v1/account/sessions` or by an
/// administrator), is refused with 400 `unauthorized_client`. Unknown
/// tokens are not an error (200).
#[utoipa::path(post, path = "/oauth2/revoke", tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked (or unknown)."),
        (status = 400, description = "`invalid_request`: no token; `unauthorized_client`: the token was not issued to this client.", body = OAuthError),
        (status = 401, description = "`invalid_client`.", body = OAuthError),
    ))]
pub async fn post_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let (client, token) = token_request(&state, &headers, form, Callers::AlsoPublic).await?;
    match state
        .sessions()
        .revoke_token(&token, &client.id)
        .await
        .map_err(server_error)?
    {
        Revocation::Revoked | Revocation::Unknown => Ok(StatusCode::OK.into_response()),
        Revocation::NotIssuedToClient => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "Unauthorized client",
            "the token was not issued to this client; first-party tokens end at logout or by an administrator",
        )),
    }
}

/// The group: errors as RFC 6749 JSON; the token endpoints are `token`.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::OAuth)
        .add(RouteClass::Api, routes!(get_jwks))
        .add(RouteClass::Token, routes!(post_introspect))
        .add(RouteClass::Token, routes!(post_revoke))
}

#[cfg(test)]
mod tests {
    use super::urldecode;

    #[test]
    fn basic_credentials_are_form_urldecoded() {
        for (input, expected) in [
            ("plain", "plain"),
            ("a+b", "a b"),
            ("a%2Bb", "a+b"),
            ("%40%25%3A", "@%:"),
            ("100%", "100%"),
            ("%zz", "%zz"),
            ("caf%C3%A9", "café"),
            ("a&b=c", "a&b=c"),
        ] {
            assert_eq!(urldecode(input), expected, "{input}");
        }
    }
}
