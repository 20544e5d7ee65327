//! Who is calling: extractors that state what a handler requires.
//!
//! - [`Authenticated`]: a valid access token (`Authorization: Bearer`) whose
//!   session is still active, or a valid session cookie. Cookie-authenticated
//!   unsafe requests (POST, PATCH, DELETE, …) must also come from latchkey's
//!   own origin (`Origin`, else `Referer`) and carry the session's CSRF token
//!   in `X-CSRF-Token`.
//! - [`RecentlyAuthenticated`]: [`Authenticated`], and the session's
//!   `auth_time` is recent (see `POST /v1/auth/reauth`).
//! - [`Enrolling`]: [`Authenticated`] also for a session of an account that
//!   `mfa.required_for_roles` obliges to enrol a second factor first (which
//!   [`Authenticated`] answers `mfa_enrollment_required`): only on the
//!   routes of enrolment and sign-out.
//! - [`Admin<P>`]: an authenticated caller holding permission `P` (a marker
//!   type from [`perm`], e.g. `Admin<perm::UsersRead>`). The caller's roles
//!   are read from the store on every request, never from the token, so a
//!   role removed takes effect at once. Missing the permission is 403
//!   `permission_denied` naming it.
//! - [`ClientMeta`]: the client IP (through trusted proxies, see
//!   [`crate::client_ip`]), User-Agent and request id (a client's own only
//!   through a trusted proxy, see [`crate::middleware`]), recorded on
//!   sessions and in the audit log.
//! - [`ClientAddr`]: the client IP alone, for rate limits.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use latchkey_core::admin::Actor;
use latchkey_core::auth::ClientInfo;
use latchkey_core::mfa::MfaError;
use latchkey_core::sessions::Principal;

use crate::client_ip::ClientIp;
use crate::cookies::cookie_value;
use crate::error::{ApiError, permission_denied, unauthenticated};
use crate::state::AppState;

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An access token.
    Bearer,
    /// The session cookie.
    Cookie,
}

/// An authenticated caller with an active session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user and session.
    pub principal: Principal,
    /// Bearer or cookie.
    pub via: Via,
}

/// An authenticated caller whose session authenticated recently enough for
/// sensitive changes (`accounts.reauth_max_age_minutes`); otherwise 403
/// `reauth_required`, answered after the credential and CSRF checks. When
/// the account has a second factor, the session must also have passed one
/// (`acr` `aal2`, at sign-in or `POST /v1/auth/reauth` with a code):
/// otherwise 403 `mfa_required`.
#[derive(Debug, Clone)]
pub struct RecentlyAuthenticated(pub Authenticated);

impl FromRequestParts<AppState> for RecentlyAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = Authenticated::from_request_parts(parts, state).await?;
        state.mfa().require_recent(&who.principal).await?;
        Ok(RecentlyAuthenticated(who))
    }
}

/// The header carrying the CSRF token of a cookie session.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// [`Authenticated`] without the `mfa.required_for_roles` gate: for the
/// routes a session of an account that must enrol a second factor may
/// still reach (the factor's status, enrolment, confirmation, sign-out).
/// [`Authenticated`] itself answers such a session 403
/// `mfa_enrollment_required`, and [`Admin<P>`] 403 `mfa_required`.
#[derive(Debug, Clone)]
pub struct Enrolling(pub Authenticated);

impl FromRequestParts<AppState> for Enrolling {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Enrolling(Authenticated::credentials(parts, state).await?))
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = Authenticated::credentials(parts, state).await?;
        state
            .mfa()
            .require_enrolled_if_required(&who.principal)
            .await?;
        Ok(who)
    }
}

impl Authenticated {
    /// The credential (bearer, or cookie with its CSRF checks), without the
    /// enrolment gate.
    async fn credentials(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| unauthenticated("malformed Authorization header"))?;
            let principal = state.sessions().authenticate_bearer(token).await?;
            if let Some(client) = &principal.client {
                third_party_reach(parts, state, client).await?;
            }
            return Ok(Authenticated {
                principal,
                via: Via::Bearer,
            });
        }
        let Some(cookie) = cookie_value(&parts.headers, state.cookies().name()) else {
            return Err(unauthenticated("no credentials"));
        };
        let principal = state.sessions().authenticate_cookie(&cookie).await?;
        if !parts.method.is_safe() {
            check_origin(&parts.headers, &state.cookies().origin)?;
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !state
                .sessions()
                .check_csrf(&principal.session.id, presented)
            {
                return Err(csrf_failed("the X-CSRF-Token header is missing or wrong"));
            }
        }
        Ok(Authenticated {
            principal,
            via: Via::Cookie,
        })
    }
}

/// A token of an OAuth client that is not first-party reaches only the
/// routes its scopes grant ([`crate::client_scopes`]); 403 `insufficient_scope`.
async fn third_party_reach(
    parts: &Parts,
    state: &AppState,
    client: &latchkey_core::sessions::TokenClient,
) -> Result<(), ApiError> {
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str())
        .unwrap_or("");
    if crate::client_scopes::allows(
        &state.auth().config().scopes,
        client,
        parts.method.as_str(),
        route,
    ) {
        return Ok(());
    }
    match state.oauth().registered(&client.client_id).await {
        Ok(c) if c.settings.first_party => Ok(()),
        Ok(_) | Err(latchkey_core::oauth::OAuthError::UnknownClient) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "Insufficient scope",
            "this token was issued to an application, and no scope it holds grants this route",
        )),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn csrf_failed(reason: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_failed",
        "Cross-site request refused",
        format!(
            "Cookie-authenticated requests that change something must come from this site and send the session's CSRF token in X-CSRF-Token: {reason}."
        ),
    )
}

/// Cross-site protection for cookie requests: `Origin` (or, failing that,
/// `Referer`) must be latchkey's own origin.
pub fn check_origin(headers: &HeaderMap, origin: &str) -> Result<(), ApiError> {
    if let Some(o) = headers.get(header::ORIGIN) {
        return if o.as_bytes() == origin.as_bytes() {
            Ok(())
        } else {
            Err(csrf_failed("the Origin is not this site"))
        };
    }
    let referer_ok = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .is_some_and(|r| r == origin || r.starts_with(&format!("{origin}/")));
    if referer_ok {
        Ok(())
    } else {
        Err(csrf_failed("no Origin or Referer from this site"))
    }
}

/// Where the request came from.
#[derive(Debug, Clone)]
pub struct ClientMeta(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = client_addr(parts).map(|ip| ip.to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(ClientMeta(ClientInfo {
            ip,
            user_agent,
            request_id: crate::middleware::recorded_request_id(),
        }))
    }
}

/// A permission a route requires, as a type: see [`Admin`].
pub trait Permission {
    /// The permission string, e.g. `users:read`.
    const NAME: &'static str;
}

/// Marker types for latchkey's permissions.
pub mod perm {
    use latchkey_core::roles::perm as p;

    macro_rules! permissions {
        ($($(#[$doc:meta])* $name:ident = $value:path;)*) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl super::Permission for $name {
                const NAME: &'static str = $value;
            }
        )*};
    }

    permissions! {
        /// `users:read`
        UsersRead = p::USERS_READ;
        /// `users:write`
        UsersWrite = p::USERS_WRITE;
        /// `users:delete`
        UsersDelete = p::USERS_DELETE;
        /// `users:suspend`
        UsersSuspend = p::USERS_SUSPEND;
        /// `sessions:revoke`
        SessionsRevoke = p::SESSIONS_REVOKE;
        /// `roles:read`
        RolesRead = p::ROLES_READ;
        /// `roles:manage`
        RolesManage = p::ROLES_MANAGE;
        /// `audit:read`
        AuditRead = p::AUDIT_READ;
        /// `clients:manage`
        ClientsManage = p::CLIENTS_MANAGE;
        /// `webhooks:manage`
        WebhooksManage = p::WEBHOOKS_MANAGE;
    }
}

/// An authenticated caller holding permission `P`, with their roles and
/// permissions as read for this request.
#[derive(Debug, Clone)]
pub struct Admin<P: Permission> {
    /// The caller, for the domain's own checks and the audit log.
    pub actor: Actor,
    /// The caller's credentials.
    pub who: Authenticated,
    _permission: PhantomData<P>,
}

impl<P: Permission + Send + Sync> FromRequestParts<AppState> for Admin<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = Authenticated::credentials(parts, state).await?;
        let access = state.auth().access(&who.principal.user_id).await?;
        if !access.has(P::NAME) {
            metrics::counter!("latchkey_permission_denied_total", "permission" => P::NAME)
                .increment(1);
            return Err(permission_denied(P::NAME));
        }
        if state
            .mfa()
            .enrolment_required(&who.principal.user_id)
            .await?
        {
            return Err(MfaError::AdminWithoutFactor.into());
        }
        if !parts.method.is_safe() {
            // an administrator with a second factor writes only with recent aal2
            state
                .mfa()
                .require_step_up_if_enrolled(&who.principal)
                .await?;
        }
        let ClientMeta(client) = match ClientMeta::from_request_parts(parts, state).await {
            Ok(meta) => meta,
            Err(never) => match never {},
        };
        Ok(Admin {
            actor: Actor {
                user_id: Some(who.principal.user_id.clone()),
                access,
                client,
            },
            who,
            _permission: PhantomData,
        })
    }
}

/// The client IP the pipeline resolved (falling back to the peer address).
fn client_addr(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ClientIp>().map(|c| c.0).or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    })
}

/// The client IP, for rate limits and challenges.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn origins_are_compared_exactly() {
        let origin = "https://auth.example.com";
        for (name, value, ok) in [
            (header::ORIGIN, "https://auth.example.com", true),
            (header::ORIGIN, "https://auth.example.com.evil.com", false),
            (header::ORIGIN, "http://auth.example.com", false),
            (header::ORIGIN, "null", false),
            (header::REFERER, "https://auth.example.com/account", true),
            (
                header::REFERER,
                "https://auth.example.com.evil.com/x",
                false,
            ),
            (header::REFERER, "https://auth.example.com@evil.com/", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(name.clone(), HeaderValue::from_static(value));
            assert_eq!(check_origin(&h, origin).is_ok(), ok, "{name}: {value}");
        }
        assert!(check_origin(&HeaderMap::new(), origin).is_err());
    }
}
