//! Abuse protection at the HTTP edge: IP allow and deny lists (for the whole
//! server and for `/v1/admin`), CORS per origin, the per-IP rate limit of
//! each class of route with the standard `RateLimit` headers, and the shapes
//! of refusals (429 `rate_limited`, 403 `ip_forbidden`, 403
//! `challenge_required` / `challenge_failed`).
//!
//! The limits keyed by account and by (IP, account) need the request body,
//! so the handlers that have one (login, register) apply them; the
//! helpers here ([`check_limit`], [`challenge_refusal`]) keep the shapes
//! identical. The rules themselves live in `latchkey_core::abuse`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use latchkey_core::abuse::challenge::{Challenge, ChallengeError};
use latchkey_core::abuse::{ChallengeDemand, Dimension, Guard, Limited, RouteClass};

use crate::client_ip::{ClientIp, IpList};
use crate::error::ApiError;

/// The header carrying a challenge solution (`<token>:<counter>`).
pub static POW_HEADER: HeaderName = HeaderName::from_static("latchkey-pow");

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
pub static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
pub static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Cross-origin access to the JSON API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    /// Origins allowed (`https://app.example.com`), exact; `["*"]` for any
    /// origin, which never comes with credentials.
    pub origins: Vec<String>,
    /// `Access-Control-Allow-Credentials: true` for the listed origins.
    pub allow_credentials: bool,
    /// How long browsers may cache a preflight answer.
    pub max_age_secs: u64,
}

impl CorsPolicy {
    fn any(&self) -> bool {
        self.origins.iter().any(|o| o == "*")
    }

    /// Whether `origin` may call the API.
    pub fn allows(&self, origin: &str) -> bool {
        self.any() || self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

/// Network-level rules: proxies, lists, CORS, HSTS.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Peers whose `Forwarded`/`X-Forwarded-For` headers are believed.
    pub trusted_proxies: IpList,
    /// When not empty, only these clients are served.
    pub allow: IpList,
    /// These clients are never served.
    pub deny: IpList,
    /// When not empty, only these clients reach `/v1/admin` and `/admin`.
    pub admin_allow: IpList,
    /// These clients never reach `/v1/admin` and `/admin`.
    pub admin_deny: IpList,
    /// Cross-origin access.
    pub cors: CorsPolicy,
    /// `Strict-Transport-Security: max-age=…` (only under an https public URL).
    pub hsts_max_age_secs: Option<u64>,
    /// The forward-auth rules (`authz.rules`).
    pub authz: crate::authz::AuthzPolicy,
}

/// Everything the edge needs: the network rules and the core guard.
#[derive(Debug, Clone)]
pub struct Protection {
    /// Lists, proxies, CORS, HSTS.
    pub network: Network,
    /// Rate limits and challenges.
    pub guard: Arc<Guard>,
}

/// The admin surface the admin lists guard.
fn is_admin(path: &str) -> bool {
    ["/v1/admin", "/admin"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// The rate-limit class of every route, by method and path template, as
/// each route module registered it (`routes::Routes::add`); `None`: not
/// limited (health probes, metrics).
#[derive(Debug, Clone, Default)]
pub struct RouteClasses(HashMap<(Method, String), Option<RouteClass>>);

impl RouteClasses {
    pub(crate) fn insert(&mut self, method: Method, path: &str, class: Option<RouteClass>) {
        self.0.insert((method, path.to_owned()), class);
    }

    pub(crate) fn extend(&mut self, other: RouteClasses) {
        self.0.extend(other.0);
    }

    /// The class of a request: its route's (`route` is the matched path
    /// template; HEAD is GET's), else `Api`: a request no route answers
    /// (404, 405) still counts against the general quota.
    pub fn of(&self, method: &Method, route: Option<&str>) -> Option<RouteClass> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        route
            .and_then(|path| self.0.get(&(method.clone(), path.to_owned())))
            .copied()
            .unwrap_or(Some(RouteClass::Api))
    }

    /// How the route `method path` (a template) was registered: `None` if it
    /// was not, `Some(None)` if without a limit.
    pub fn registered(&self, method: &Method, path: &str) -> Option<Option<RouteClass>> {
        self.0.get(&(method.clone(), path.to_owned())).copied()
    }

    /// Every registered route: method, path template and class.
    pub fn iter(&self) -> impl Iterator<Item = (&Method, &str, Option<RouteClass>)> {
        self.0.iter().map(|((m, p), c)| (m, p.as_str(), *c))
    }
}

fn forbidden_ip(admin: bool) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "ip_forbidden",
        "Address not allowed",
        if admin {
            "Requests from this network address may not reach the administration API."
        } else {
            "Requests from this network address are not served."
        },
    )
}

/// Whether the client may reach `path` under the lists; the name of the
/// list that refused it otherwise.
pub fn list_verdict(network: &Network, ip: IpAddr, path: &str) -> Result<(), &'static str> {
    if network.deny.contains(ip) {
        return Err("deny");
    }
    if !network.allow.is_empty() && !network.allow.contains(ip) {
        return Err("allow");
    }
    if is_admin(path) {
        if network.admin_deny.contains(ip) {
            return Err("admin_deny");
        }
        if !network.admin_allow.is_empty() && !network.admin_allow.contains(ip) {
            return Err("admin_allow");
        }
    }
    Ok(())
}

/// Adds one policy's `RateLimit-Policy` and `RateLimit` items to `headers`.
pub fn add_ratelimit_headers(headers: &mut HeaderMap, limited: &Limited) {
    let name = limited.policy_name();
    let d = &limited.decision;
    let policy = format!("\"{name}\";q={};w={}", d.quota.limit, d.quota.window_secs());
    let state = format!("\"{name}\";r={};t={}", d.remaining, d.reset_secs());
    for (header, item) in [(&RATELIMIT_POLICY, policy), (&RATELIMIT, state)] {
        let value = match headers.get(header).and_then(|v| v.to_str().ok()) {
            Some(existing) => format!("{existing}, {item}"),
            None => item,
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(header.clone(), v);
        }
    }
}

/// 429 `rate_limited` for a refused limit, with `Retry-After` and the
/// RateLimit headers.
pub fn rate_limited(limited: &Limited) -> ApiError {
    let what = match limited.dimension {
        Dimension::Ip => "from this network address",
        Dimension::Account => "for this account",
        Dimension::IpAccount => "for this account from this network address",
    };
    let mut headers = HeaderMap::new();
    add_ratelimit_headers(&mut headers, limited);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many requests",
        format!(
            "Too many {} requests {what}; retry after the number of seconds in Retry-After.",
            limited.class.as_str()
        ),
    )
    .with_retry_after(limited.decision.retry_after_secs())
    .with_extension("policy", serde_json::Value::String(limited.policy_name()))
    .with_headers(headers)
}

/// Applies the limit of `class` on `dimension`: an error when refused,
/// else the verdict (for its headers), or `None` with no such limit.
pub async fn check_limit(
    guard: &Guard,
    class: RouteClass,
    dimension: Dimension,
    ip: Option<IpAddr>,
    account: Option<&str>,
) -> Result<Option<Limited>, ApiError> {
    match guard.check(class, dimension, ip, account).await {
        Some(l) if !l.decision.allowed => Err(rate_limited(&l)),
        other => Ok(other),
    }
}

/// The JSON form of a challenge, in 403 bodies and from `GET /v1/auth/challenge`.
pub fn challenge_json(c: &Challenge) -> serde_json::Value {
    serde_json::json!({
        "token": c.token,
        "algorithm": "sha256-leading-zero-bits",
        "difficulty": c.difficulty,
        "action": c.action.as_str(),
        "expires_at": crate::timefmt::rfc3339(c.expires_at),
    })
}

/// 403 `challenge_required` or `challenge_failed`, carrying a fresh puzzle.
pub fn challenge_refusal(demand: &ChallengeDemand) -> ApiError {
    let (code, title) = if demand.error == ChallengeError::Missing {
        ("challenge_required", "Challenge required")
    } else {
        ("challenge_failed", "Challenge failed")
    };
    ApiError::new(
        StatusCode::FORBIDDEN,
        code,
        title,
        format!(
            "{}. This server is seeing unusual activity: solve the proof-of-work puzzle in `challenge` \
             (find a decimal counter n such that SHA-256(\"<token>:<n>\") starts with `difficulty` zero bits) \
             and repeat the request with the header `Latchkey-Pow: <token>:<n>` (or the body field `pow`). \
             The script at /assets/latchkey-pow.js does this.",
            capitalize(&demand.error.to_string())
        ),
    )
    .with_extension("challenge", challenge_json(&demand.challenge))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The solution sent with a request: the header, else the body field.
pub fn pow_solution<'a>(headers: &'a HeaderMap, body: Option<&'a str>) -> Option<&'a str> {
    headers
        .get(&POW_HEADER)
        .and_then(|v| v.to_str().ok())
        .or(body)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

const CORS_METHODS: &str = "GET, POST, PATCH, PUT, DELETE";
const CORS_HEADERS: &str = "authorization, content-type, x-csrf-token, x-request-id, latchkey-pow";
const CORS_EXPOSE: &str =
    "retry-after, ratelimit, ratelimit-policy, x-request-id, www-authenticate";

/// Paths that answer cross-origin requests.
fn cors_scope(path: &str) -> Option<bool> {
    if path.starts_with("/.well-known/") {
        Some(true) // public documents: any origin, never credentials
    } else if matches!(
        path,
        "/oauth2/token" | "/oauth2/userinfo" | "/oauth2/revoke"
    ) {
        // what public browser clients call: authenticated by what the
        // request carries (a code and its verifier, a token, a client),
        // never by a cookie, so any origin, never credentials
        Some(true)
    } else if path.starts_with("/v1/") || path.starts_with("/oauth2/") {
        Some(false)
    } else {
        None
    }
}

fn cors_headers(headers: &mut HeaderMap, policy: &CorsPolicy, origin: &str, public: bool) -> bool {
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    let (allow_origin, credentials) = if public {
        ("*".to_owned(), false)
    } else if !policy.allows(origin) {
        return false;
    } else if policy.any() {
        ("*".to_owned(), false)
    } else {
        (origin.to_owned(), policy.allow_credentials)
    };
    if let Ok(v) = HeaderValue::from_str(&allow_origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    if credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    true
}

/// The edge middleware: lists, CORS, per-IP class limits (see the module
/// docs). Runs inside `request_context`, which has resolved the client IP.
pub async fn protect(
    protection: &Protection,
    classes: &RouteClasses,
    req: Request,
    next: Next,
) -> Response {
    let network = &protection.network;
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
    let path = req.uri().path().to_owned();
    let method = req.method().clone();

    if let Some(ip) = ip
        && let Err(list) = list_verdict(network, ip, &path)
    {
        metrics::counter!("latchkey_ip_denied_total", "list" => list).increment(1);
        tracing::warn!(event = "ip.denied", list, client_ip = %ip, path = %path, "request refused by an IP list");
        return forbidden_ip(list.starts_with("admin")).into_response();
    }

    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let scope = cors_scope(&path);
    if method == Method::OPTIONS
        && let (Some(origin), Some(public)) = (&origin, scope)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        if !cors_headers(h, &network.cors, origin, public) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "cors_origin_forbidden",
                "Origin not allowed",
                "This origin may not call the API from a browser; an operator can add it to cors.allowed_origins.",
            )
            .into_response();
        }
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(CORS_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(CORS_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(network.cors.max_age_secs),
        );
        return response;
    }

    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let class = classes.of(&method, route);
    let verdict = match class {
        Some(class) => match check_limit(&protection.guard, class, Dimension::Ip, ip, None).await {
            Ok(v) => v,
            Err(e) => {
                let mut response = e.into_response();
                if let (Some(origin), Some(public)) = (&origin, scope) {
                    cors_headers(response.headers_mut(), &network.cors, origin, public);
                    expose(response.headers_mut());
                }
                return response;
            }
        },
        None => None,
    };
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if let Some(l) = &verdict {
        add_ratelimit_headers(headers, l);
    }
    if let (Some(origin), Some(public)) = (&origin, scope)
        && cors_headers(headers, &network.cors, origin, public)
    {
        expose(headers);
    }
    response
}

fn expose(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(CORS_EXPOSE),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_refuse_and_admin_lists_apply_to_admin_paths_only() {
        let network = Network {
            deny: "203.0.113.0/24".parse().unwrap(),
            admin_allow: "10.0.0.0/8".parse().unwrap(),
            ..Network::default()
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            list_verdict(&network, ip("203.0.113.9"), "/v1/account"),
            Err("deny")
        );
        assert_eq!(
            list_verdict(&network, ip("198.51.100.1"), "/v1/account"),
            Ok(())
        );
        assert_eq!(
            list_verdict(&network, ip("198.51.100.1"), "/v1/admin/users"),
            Err("admin_allow")
        );
        assert_eq!(
            list_verdict(&network, ip("198.51.100.1"), "/admin"),
            Err("admin_allow")
        );
        assert_eq!(
            list_verdict(&network, ip("198.51.100.1"), "/v1/administrators"),
            Ok(())
        );
        assert_eq!(
            list_verdict(&network, ip("10.1.1.1"), "/v1/admin/users"),
            Ok(())
        );
        let allow_only = Network {
            allow: "10.0.0.0/8".parse().unwrap(),
            ..Network::default()
        };
        assert_eq!(
            list_verdict(&allow_only, ip("198.51.100.1"), "/health/live"),
            Err("allow")
        );
    }
}
