//! Forward-auth for gateways: `GET /v1/authz/check`, asked by nginx
//! `auth_request`, Traefik `ForwardAuth`, Caddy `forward_auth` and Envoy
//! `ext_authz` (HTTP) before they pass a request to the application behind
//! them. Envoy appends the user's path to the check's path and sends the
//! user's `Host`: `GET /v1/authz/check/{*path}` is the same check with the
//! target taken from that suffix.
//!
//! The gateway forwards the user's credential (bearer token or session
//! cookie) and says what is being asked for in `X-Forwarded-Host` and
//! `X-Forwarded-Uri` (`X-Forwarded-Method` is accepted and not used: rules
//! are per host and path prefix). The most specific rule decides
//! ([`AuthzPolicy::rule_for`](crate::authz::AuthzPolicy::rule_for)); a request no rule covers needs a sign-in.
//! Answers: 200 with `X-Auth-User`, `-Email`, `-Roles` and `-Session` for the
//! application; 401 (a browser is redirected to the sign-in page instead,
//! or, when the gateway sends `X-Latchkey-No-Redirect` as nginx must, told
//! where in `X-Auth-Redirect`); 403.
//! Only peers listed in `proxies.trusted` are answered.
//!
//! The route has no rate-limit class: every request through the gateway is
//! one check, all from the gateway's address, and only configured proxies
//! are answered at all; the gateway limits its own clients.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use latchkey_core::sessions::Principal;
use utoipa_axum::routes;

use super::Routes;
use crate::client_ip::canonical;
use crate::cookies::cookie_value;
use crate::error::{ApiError, unauthenticated};
use crate::extract::Path;
use crate::render::Renderer;
use crate::state::AppState;

/// The address the connection came from (never a forwarded one).
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| canonical(c.0.ip())),
        ))
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `scope` of a bearer token that has just been verified.
fn verified_token_scope(token: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Scope {
        #[serde(default)]
        scope: String,
    }
    token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<Scope>(&json).ok())
        .map(|s| s.scope)
        .unwrap_or_default()
}

fn forbidden(code: &'static str, detail: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, "Forbidden", detail)
}

fn step_up() -> ApiError {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"A sign-in with a second factor is required\", acr_values=\"aal2\"",
        ),
    );
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "insufficient_user_authentication",
        "Stronger authentication required",
        "This needs a sign-in with a second factor (aal2).",
    )
    .with_headers(headers)
}

/// Sent by a gateway that cannot pass a redirect on (nginx `auth_request`
/// passes only 2xx, 401 and 403): a browser then gets 401 with the sign-in
/// address in `X-Auth-Redirect`, for the gateway to redirect to.
const NO_REDIRECT: &str = "x-latchkey-no-redirect";

/// Whether the asker is a browser, to be sent to the sign-in page.
fn is_browser(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).is_none()
        && header_str(headers, header::ACCEPT.as_str()).is_some_and(|a| a.contains("text/html"))
}

/// Forward-auth: may this request through the gateway pass? **Requires**
/// the asker to be a configured proxy (`proxies.trusted`); the user's
/// bearer token or session cookie, as the rule for `X-Forwarded-Host` and
/// `X-Forwarded-Uri` says (see `authz.rules`).
#[utoipa::path(get, path = "/v1/authz/check", tag = "authz",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(
        ("X-Forwarded-Host" = String, Header, description = "The host the user asked for."),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "The path and query the user asked for (default `/`)."),
        ("X-Forwarded-Method" = Option<String>, Header, description = "The user's method (accepted, not used by the rules)."),
        ("X-Forwarded-Proto" = Option<String>, Header, description = "`http` or `https`, for the sign-in page's return address."),
        ("X-Latchkey-No-Redirect" = Option<String>, Header, description = "Answer browsers 401 with the sign-in address in `X-Auth-Redirect` rather than 302 (nginx `auth_request` needs it)."),
    ),
    responses(
        (status = 200, description = "Allowed. For a signed-in user: `X-Auth-User`, `X-Auth-Email`, `X-Auth-Roles` (comma-separated) and `X-Auth-Session`."),
        (status = 302, description = "A browser that is not signed in: to the sign-in page, with `return_to`."),
        (status = 400, description = "`missing_forwarded_host`, `unreadable_target`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated` (with `X-Auth-Redirect` for a browser when asked), or `insufficient_user_authentication` (RFC 9470 challenge, for an aal2 rule).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`untrusted_proxy`, `missing_role`, `insufficient_scope`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_authz_check(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    decide(&state, peer, &headers, None).await
}

/// Where this check mounts; Envoy appends the user's path and query to it.
const CHECK_PATH: &str = "/v1/authz/check";

/// Forward-auth as Envoy `ext_authz` (HTTP service) asks it: the user's
/// path and query appended to `/v1/authz/check` (`path_prefix`) and the
/// user's own `Host` sent on. The same check as `GET /v1/authz/check`
/// (same **requirement**: a configured proxy), with the target taken from
/// the path suffix when `X-Forwarded-Uri` is absent and the host from
/// `X-Forwarded-Host`, else `Host`.
#[utoipa::path(get, path = "/v1/authz/check/{*path}", tag = "authz",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(
        ("*path" = String, Path, description = "The path (and, in the query, the query) the user asked for, appended by the gateway; a catch-all (axum's `{*path}`), so it spans segments."),
        ("X-Forwarded-Host" = Option<String>, Header, description = "The host the user asked for (default: the `Host` header, which Envoy passes on)."),
        ("X-Forwarded-Uri" = Option<String>, Header, description = "When sent, the target instead of the path suffix."),
        ("X-Latchkey-No-Redirect" = Option<String>, Header, description = "Answer browsers 401 with the sign-in address in `X-Auth-Redirect` rather than 302."),
    ),
    responses(
        (status = 200, description = "Allowed. For a signed-in user: `X-Auth-User`, `X-Auth-Email`, `X-Auth-Roles` (comma-separated) and `X-Auth-Session`."),
        (status = 302, description = "A browser that is not signed in: to the sign-in page, with `return_to`."),
        (status = 400, description = "`missing_forwarded_host`, `unreadable_target`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`, or `insufficient_user_authentication` (RFC 9470 challenge, for an aal2 rule).", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`untrusted_proxy`, `missing_role`, `insufficient_scope`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_authz_check_appended(
    State(state): State<AppState>,
    Peer(peer): Peer,
    // read for its 400 `invalid_path` on a suffix that is not UTF-8, as
    // every path parameter is; the target is the raw suffix below
    Path(_): Path<String>,
    OriginalUri(original): OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // the raw (still percent-encoded) suffix: normalised by the rules as
    // X-Forwarded-Uri is, so an encoded `..` or backslash is judged the same way
    let path = original
        .path()
        .strip_prefix(CHECK_PATH)
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    let target = match original.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let host = header_str(&headers, header::HOST.as_str())
        .map(str::to_owned)
        .or_else(|| original.authority().map(ToString::to_string));
    decide(&state, peer, &headers, Some((host, target))).await
}

/// Envoy's check of the user's root path (`/` appended to the prefix): as
/// `GET /v1/authz/check/{*path}` with the path `/`.
#[utoipa::path(get, path = "/v1/authz/check/", tag = "authz",
    security((), ("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Allowed, as for `/v1/authz/check/{*path}`."),
        (status = 302, description = "A browser that is not signed in: to the sign-in page."),
        (status = 400, description = "`missing_forwarded_host`, `unreadable_target`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`, `insufficient_user_authentication`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`untrusted_proxy`, `missing_role`, `insufficient_scope`.", body = latchkey_proto::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_authz_check_root(
    state: State<AppState>,
    peer: Peer,
    original: OriginalUri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    get_authz_check_appended(state, peer, Path(String::new()), original, headers).await
}

/// The check itself. `appended` is the host (`Host`) and target (path
/// suffix) of an Envoy-style request, used where `X-Forwarded-Host` and
/// `X-Forwarded-Uri` are absent.
async fn decide(
    state: &AppState,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    appended: Option<(Option<String>, String)>,
) -> Result<Response, ApiError> {
    let network = &state.protection().network;
    if !peer.is_some_and(|ip| network.trusted_proxies.contains(ip)) {
        return Err(forbidden(
            "untrusted_proxy",
            "Forward-auth answers only the proxies listed in proxies.trusted.".into(),
        ));
    }
    let (fallback_host, fallback_uri) = appended.unzip();
    let fallback_host = fallback_host.flatten();
    let host = header_str(headers, "x-forwarded-host")
        .or(fallback_host.as_deref())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_forwarded_host",
                "Missing X-Forwarded-Host",
                "The gateway must send X-Forwarded-Host (and X-Forwarded-Uri).",
            )
        })?;
    let uri = header_str(headers, "x-forwarded-uri")
        .or(fallback_uri.as_deref())
        .unwrap_or("/");
    let require = network.authz.rule_for(host, uri).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unreadable_target",
            "Unreadable request target",
            "X-Forwarded-Uri must be a path; encoded backslashes, NULs and invalid UTF-8 are refused.",
        )
    })?;
    if require.public {
        return Ok(StatusCode::OK.into_response());
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let signed_in: Result<Principal, ApiError> =
        match (bearer, cookie_value(headers, state.cookies().name())) {
            (Some(token), _) => state
                .sessions()
                .authenticate_bearer(token)
                .await
                .map_err(Into::into),
            (None, Some(cookie)) => state
                .sessions()
                .authenticate_cookie(&cookie)
                .await
                .map_err(Into::into),
            (None, None) => Err(unauthenticated("no credentials")),
        };
    let principal = match signed_in {
        Ok(p) => p,
        Err(e) if e.status() == StatusCode::UNAUTHORIZED && is_browser(headers) => {
            let proto = header_str(headers, "x-forwarded-proto").unwrap_or("https");
            let proto = if proto == "http" { "http" } else { "https" };
            let back = format!("{proto}://{host}{uri}");
            let login = format!(
                "{}/login?return_to={}",
                state.cookies().origin,
                percent_encoding::utf8_percent_encode(&back, percent_encoding::NON_ALPHANUMERIC)
            );
            let login =
                HeaderValue::from_str(&login).map_err(|e| ApiError::internal(e.to_string()))?;
            if headers.contains_key(NO_REDIRECT) {
                let mut h = HeaderMap::new();
                h.insert(HeaderName::from_static("x-auth-redirect"), login);
                return Err(e.with_headers(h));
            }
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(header::LOCATION, login);
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    // a session that must enrol a second factor first reaches nothing here
    state.mfa().require_enrolled_if_required(&principal).await?;
    if require.aal2 && !principal.session.amr.iter().any(|m| m == "mfa") {
        return Err(step_up());
    }
    if let Some(scope) = &require.scope {
        let granted = bearer.map(verified_token_scope).unwrap_or_default();
        if !granted.split(' ').any(|s| s == scope) {
            return Err(forbidden(
                "insufficient_scope",
                format!("This needs an access token with the scope {scope}."),
            ));
        }
    }
    let access = state.auth().access(&principal.user_id).await?;
    if let Some(role) = &require.role
        && !access.roles.contains(role)
    {
        return Err(forbidden(
            "missing_role",
            format!("This needs the role {role}."),
        ));
    }
    let user = state.auth().account(&principal.user_id).await?;
    let roles = access.roles.iter().cloned().collect::<Vec<_>>().join(",");
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    for (name, value) in [
        ("x-auth-user", principal.user_id.as_str()),
        ("x-auth-email", user.email.as_str()),
        ("x-auth-roles", roles.as_str()),
        ("x-auth-session", principal.session.id.as_str()),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Problem)
        .unlimited(routes!(get_authz_check))
        .unlimited(routes!(get_authz_check_appended))
        .unlimited(routes!(get_authz_check_root))
}
