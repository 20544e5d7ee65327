//! Forward-auth for gateways: `GET /v1/authz/check`, asked by nginx
//! `auth_request`, Traefik `ForwardAuth`, Caddy `forward_auth` and Envoy
//! `ext_authz` (HTTP) before they pass a request to the application behind
//! them.
//!
//! The gateway forwards the user's credential (bearer token or session
//! cookie) and says what is being asked for in `X-Forwarded-Host` and
//! `X-Forwarded-Uri` (`X-Forwarded-Method` is accepted and not used: rules
//! are per host and path prefix). The most specific rule decides
//! ([`AuthzPolicy::rule_for`]); a request no rule covers needs a sign-in.
//! Answers: 200 with `X-Auth-User`, `-Email`, `-Roles` and `-Session` for the
//! application; 401 (a browser is redirected to the sign-in page instead,
//! or, when the gateway sends `X-Latchkey-No-Redirect` as nginx must, told
//! where in `X-Auth-Redirect`); 403.
//! Only peers listed in `proxies.trusted` are answered.
//!
//! The route has no rate-limit class: every request through the gateway is
//! one check, all from the gateway's address, and only configured proxies
//! are answered at all; the gateway limits its own clients.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use latchkey_core::auth::Principal;
use utoipa_axum::routes;

use super::Routes;
use crate::client_ip::canonical;
use crate::cookies::cookie_value;
use crate::error::{ApiError, unauthenticated};
use crate::render::Renderer;
use crate::state::AppState;

/// What a rule requires. `public` needs nothing; otherwise a signed-in
/// user, and optionally a role, a scope (of a bearer token) and AAL2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    /// Anyone may pass, signed in or not.
    pub public: bool,
    /// A role the user must hold (inherited roles count).
    pub role: Option<String>,
    /// A scope the bearer token must carry (cookie sessions carry none).
    pub scope: Option<String>,
    /// A sign-in with a second factor.
    pub aal2: bool,
}

/// One rule: a host (or `*`), a path prefix and its requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzRule {
    /// Lower-case host without port, or `*` for any host.
    pub host: String,
    /// The path prefix, on segment boundaries (`/admin` covers `/admin` and
    /// `/admin/x`, not `/administrator`).
    pub prefix: String,
    /// What it requires.
    pub require: Requirement,
}

/// The rules of `authz.rules`, written `host/prefix word…` and separated by
/// commas; the words are `public`, `signed_in` (the default), `role:<name>`,
/// `scope:<name>` and `aal2`. Example: `app.example.com/admin role:admin
/// aal2, app.example.com/ signed_in, */health public`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzPolicy {
    /// The rules, as written.
    pub rules: Vec<AuthzRule>,
}

impl FromStr for AuthzRule {
    type Err = String;

    fn from_str(text: &str) -> Result<AuthzRule, String> {
        let mut words = text.split_whitespace();
        let target = words.next().ok_or("an empty rule")?;
        let slash = target
            .find('/')
            .ok_or_else(|| format!("`{target}`: expected host/path, e.g. app.example.com/admin"))?;
        let (host, prefix) = target.split_at(slash);
        let valid_host = host == "*"
            || (!host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
        if !valid_host {
            return Err(format!(
                "`{host}`: expected a host name without port, or `*`"
            ));
        }
        if prefix != "/" && normalize_path(prefix).as_deref() != Some(prefix.trim_end_matches('/'))
        {
            return Err(format!("`{prefix}`: expected a plain path such as /admin"));
        }
        let mut require = Requirement::default();
        let mut signed_in = false;
        for word in words {
            match word.split_once(':') {
                None if word == "public" => require.public = true,
                None if word == "signed_in" => signed_in = true,
                None if word == "aal2" => require.aal2 = true,
                Some(("role", role)) if !role.is_empty() => require.role = Some(role.to_owned()),
                Some(("scope", scope)) if !scope.is_empty() => {
                    require.scope = Some(scope.to_owned());
                }
                _ => {
                    return Err(format!(
                        "`{word}`: expected public, signed_in, role:<name>, scope:<name> or aal2"
                    ));
                }
            }
        }
        if require.public
            && (signed_in || require.role.is_some() || require.scope.is_some() || require.aal2)
        {
            return Err(format!(
                "`{text}`: public cannot be combined with other requirements"
            ));
        }
        Ok(AuthzRule {
            host: host.to_ascii_lowercase(),
            prefix: prefix.trim_end_matches('/').to_owned(),
            require,
        })
    }
}

impl fmt::Display for AuthzRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.prefix.is_empty() {
            "/"
        } else {
            &self.prefix
        };
        write!(f, "{}{prefix}", self.host)?;
        let r = &self.require;
        if r.public {
            return f.write_str(" public");
        }
        f.write_str(" signed_in")?;
        if let Some(role) = &r.role {
            write!(f, " role:{role}")?;
        }
        if let Some(scope) = &r.scope {
            write!(f, " scope:{scope}")?;
        }
        if r.aal2 {
            f.write_str(" aal2")?;
        }
        Ok(())
    }
}

impl FromStr for AuthzPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<AuthzPolicy, String> {
        let rules = text
            .split(',')
            .filter(|r| !r.trim().is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        Ok(AuthzPolicy { rules })
    }
}

impl fmt::Display for AuthzPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
}

/// The path of a request target, percent-decoded, with `.` and `..`
/// segments resolved and empty segments dropped, without its query and
/// without a trailing slash (`""` for the root). `None` when it cannot be
/// read (not starting with `/`, invalid percent-encoding or UTF-8, a NUL or
/// a backslash): such a request is refused, since the application might
/// read it differently from the check.
fn normalize_path(uri: &str) -> Option<String> {
    let path = uri.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    if decoded.contains(['\\', '\0', '%']) {
        return None;
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    Some(segments.iter().map(|s| format!("/{s}")).collect())
}

impl AuthzPolicy {
    /// The requirement for `uri` on `host`: the matching rule with the
    /// longest prefix, a rule naming the host winning over `*` at equal
    /// length; `signed_in` when none matches. `None` for a target that
    /// cannot be read safely ([`normalize_path`]).
    #[must_use]
    pub fn rule_for(&self, host: &str, uri: &str) -> Option<Requirement> {
        let path = normalize_path(uri)?;
        let host = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let best = self
            .rules
            .iter()
            .filter(|r| r.host == "*" || r.host.eq_ignore_ascii_case(host))
            .filter(|r| {
                path.strip_prefix(r.prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .max_by_key(|r| (r.prefix.len(), r.host != "*"));
        Some(best.map(|r| r.require.clone()).unwrap_or_default())
    }
}

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
    let network = &state.protection().network;
    if !peer.is_some_and(|ip| network.trusted_proxies.contains(ip)) {
        return Err(forbidden(
            "untrusted_proxy",
            "Forward-auth answers only the proxies listed in proxies.trusted.".into(),
        ));
    }
    let host = header_str(&headers, "x-forwarded-host")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_forwarded_host",
                "Missing X-Forwarded-Host",
                "The gateway must send X-Forwarded-Host (and X-Forwarded-Uri).",
            )
        })?;
    let uri = header_str(&headers, "x-forwarded-uri").unwrap_or("/");
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
        match (bearer, cookie_value(&headers, state.cookies().name())) {
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
        Err(e) if e.status() == StatusCode::UNAUTHORIZED && is_browser(&headers) => {
            let proto = header_str(&headers, "x-forwarded-proto").unwrap_or("https");
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
    Routes::new(Renderer::Problem).unlimited(routes!(get_authz_check))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AuthzPolicy {
        "app.example.com/admin role:admin aal2, app.example.com/ signed_in, */health public, \
         */api scope:posts:read, app.example.com/api/open public"
            .parse()
            .unwrap()
    }

    #[test]
    fn the_most_specific_rule_decides() {
        let admin = Requirement {
            role: Some("admin".into()),
            aal2: true,
            ..Requirement::default()
        };
        let public = Requirement {
            public: true,
            ..Requirement::default()
        };
        let scoped = Requirement {
            scope: Some("posts:read".into()),
            ..Requirement::default()
        };
        let signed_in = Requirement::default();
        for (host, uri, expected) in [
            ("app.example.com", "/admin", Some(&admin)),
            ("APP.example.com:8443", "/admin/users?x=1", Some(&admin)),
            ("app.example.com", "/administrator", Some(&signed_in)),
            ("app.example.com", "/health/../admin", Some(&admin)),
            ("app.example.com", "/health/%2e%2e/admin", Some(&admin)),
            ("app.example.com", "//admin", Some(&admin)),
            ("app.example.com", "/./admin/", Some(&admin)),
            ("app.example.com", "/health", Some(&public)),
            ("other.example.com", "/health/live", Some(&public)),
            ("other.example.com", "/anything", Some(&signed_in)),
            ("other.example.com", "/api/posts", Some(&scoped)),
            ("app.example.com", "/api/open/x", Some(&public)),
            ("app.example.com", "/", Some(&signed_in)),
            ("app.example.com", "/health%5c..%5cadmin", None),
            ("app.example.com", "/x%00", None),
            ("app.example.com", "/%ff", None),
            ("app.example.com", "/%252e%252e/admin", None),
            ("app.example.com", "admin", None),
        ] {
            assert_eq!(
                policy().rule_for(host, uri).as_ref(),
                expected,
                "{host} {uri}"
            );
        }
    }

    #[test]
    fn rules_are_parsed_strictly_and_shown_as_parsed() {
        assert_eq!(
            policy().to_string(),
            "app.example.com/admin signed_in role:admin aal2, app.example.com/ signed_in, \
             */health public, */api signed_in scope:posts:read, app.example.com/api/open public"
        );
        for bad in [
            "app.example.com",
            "app.example.com:80/x",
            "/x",
            "app.example.com/x sudo",
            "app.example.com/x role:",
            "app.example.com/x public role:admin",
            "app.example.com/a/../b",
            "app.example.com/a%2fb",
        ] {
            assert!(bad.parse::<AuthzPolicy>().is_err(), "{bad}");
        }
        assert_eq!("".parse::<AuthzPolicy>().unwrap(), AuthzPolicy::default());
    }
}
