//! The route table. Each feature has a module exporting its router
//! (`routes()`, a [`Routes`]): every handler is registered there with
//! `routes!` (which puts it in the router and in the OpenAPI document at
//! once) *and* with its rate-limit class, and the group names the renderer
//! of its errors. This module only lists the groups.

mod account;
mod account_center;
mod account_identities;
mod account_password;
mod account_security;
mod admin;
mod auth;
pub mod authz;
mod events;
mod federation;
mod federation_native;
mod federation_tokens;
mod health;
mod lifecycle;
mod links;
mod meta;
mod mfa;
mod mfa_page;
mod oauth;
mod oauth_authorize;
mod oauth_clients;
mod oauth_discovery;
mod oauth_grants;
mod oauth_logout;
mod oauth_token;
mod pages;
mod passkey_signup;
mod passkeys;
mod passwordless;
mod passwordless_page;
mod register_page;
mod responses;
mod views;
mod webhooks;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use latchkey_core::abuse::RouteClass;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use crate::abuse::RouteClasses;
use crate::error::ApiError;
use crate::render::Renderer;
use crate::state::AppState;

/// The top of the OpenAPI document; paths are added by the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "latchkey",
        description = "Authentication and identity server: a JSON API for first-party apps, \
                       an OAuth 2.0 / OpenID Connect provider, and forward-auth for gateways.\n\n\
                       Errors are RFC 9457 `application/problem+json` bodies with a stable `code`; \
                       every response carries `x-request-id`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(latchkey_proto::discovery::ProviderMetadata, latchkey_proto::Problem, latchkey_proto::FieldError, latchkey_proto::TokenResponse)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Sign up, sign in, refresh, sign out.\n\n\
            **Abuse protection.** Requests are rate-limited per class of route (login, register, mail, token, \
            everything else) by client IP, account and the pair; a refusal is 429 `rate_limited` with `Retry-After` \
            and the `RateLimit-Policy` / `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers), which also \
            accompany allowed requests. Under a surge of failed sign-ins or sign-ups, login and register answer \
            403 `challenge_required` with a proof-of-work puzzle (see `GET /v1/auth/challenge`): solve it and send \
            `Latchkey-Pow: <token>:<counter>`."),
        (name = "account", description = "The signed-in user's profile, sessions and activity."),
        (name = "admin", description = "Users, roles, permissions and the audit log; each route needs the permission it names."),
        (name = "oauth", description = "JWKS, token introspection and revocation."),
        (name = "events", description = "Live events: the revocation stream for resource servers (Server-Sent Events, resumable with `Last-Event-ID`)."),
        (name = "authz", description = "Forward-auth for gateways (nginx auth_request, Traefik ForwardAuth, Caddy forward_auth, Envoy ext_authz): may this request to an application pass?"),
        (name = "pages", description = "The hosted pages (HTML forms with CSRF tokens), the pages that links in mail open, and their stylesheet."),
        (name = "operations", description = "Health, metrics and self-description."),
    )
)]
struct ApiDoc;

/// The two ways to call authenticated endpoints.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from login or refresh (RFC 9068 JWT).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-latchkey_session",
                "The session cookie of a cookie-mode login (`latchkey_session` on plain-http development URLs). \
                 Unsafe methods also need `X-CSRF-Token` and a same-origin `Origin`.",
            ))),
        );
    }
}

/// The routes of one feature: each registered with the rate-limit class
/// the edge applies to it per client IP; the group's errors are shown by its
/// renderer.
pub(crate) struct Routes {
    renderer: Renderer,
    router: OpenApiRouter<AppState>,
    classes: RouteClasses,
}

impl Routes {
    /// An empty group whose errors `renderer` shows.
    pub(crate) fn new(renderer: Renderer) -> Routes {
        Routes {
            renderer,
            router: OpenApiRouter::new(),
            classes: RouteClasses::default(),
        }
    }

    /// Registers handlers (`routes!(…)`, one path) under rate-limit `class`.
    pub(crate) fn add(self, class: RouteClass, handlers: UtoipaMethodRouter<AppState>) -> Routes {
        self.register(Some(class), handlers)
    }

    /// Registers handlers that no rate limit applies to: probes and metrics,
    /// which load balancers and monitors call all the time.
    pub(crate) fn unlimited(self, handlers: UtoipaMethodRouter<AppState>) -> Routes {
        self.register(None, handlers)
    }

    fn register(
        mut self,
        class: Option<RouteClass>,
        handlers: UtoipaMethodRouter<AppState>,
    ) -> Routes {
        for (path, item) in &handlers.1.paths {
            for (method, operation) in [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
                (Method::HEAD, item.head.is_some()),
                (Method::OPTIONS, item.options.is_some()),
                (Method::TRACE, item.trace.is_some()),
            ] {
                if operation {
                    self.classes.insert(method, path, class);
                }
            }
        }
        self.router = self.router.routes(handlers);
        self
    }
}

/// Every feature's routes, and the class of each.
fn api() -> (OpenApiRouter<AppState>, RouteClasses) {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi());
    let mut classes = RouteClasses::default();
    for group in [
        auth::routes(),
        authz::routes(),
        account::routes(),
        lifecycle::routes(),
        links::routes(),
        pages::routes(),
        register_page::routes(),
        account_center::routes(),
        account_security::routes(),
        account_password::routes(),
        account_identities::routes(),
        admin::routes(),
        mfa::routes(),
        mfa_page::routes(),
        passkeys::routes(),
        passkey_signup::routes(),
        federation::routes(),
        federation_native::routes(),
        federation_tokens::routes(),
        passwordless::routes(),
        passwordless_page::routes(),
        oauth::routes(),
        events::routes(),
        oauth_clients::routes(),
        webhooks::routes(),
        oauth_discovery::routes(),
        oauth_authorize::routes(),
        oauth_token::routes(),
        oauth_grants::routes(),
        oauth_logout::routes(),
        health::routes(),
        meta::routes(),
    ] {
        let renderer = group.renderer;
        router = router.merge(group.router.layer(axum::middleware::map_response(
            move |response: Response| async move { renderer.tag(response) },
        )));
        classes.extend(group.classes);
    }
    (router, classes)
}

/// The rate-limit class of every route, as registered.
pub fn route_classes() -> &'static RouteClasses {
    static CLASSES: OnceLock<RouteClasses> = OnceLock::new();
    CLASSES.get_or_init(|| api().1)
}

/// The OpenAPI 3.1 document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api().0.split_for_parts().1;
    responses::add_common_responses(&mut doc);
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The OpenAPI document as JSON, built once.
pub(crate) fn openapi_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    })
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    with_middleware(routes(), state)
}

/// The real routes, without the pipeline; see [`with_middleware`].
pub fn routes() -> Router<AppState> {
    api().0.split_for_parts().0
}

/// Wraps routes in latchkey's request pipeline: the problem+json fallbacks,
/// the body limit, [`protect`](crate::abuse::protect) (IP lists, CORS, rate
/// limits) and [`request_context`](crate::middleware::request_context).
/// [`router`] uses it for the real routes; tests use it to exercise the
/// pipeline on routes of their own.
pub fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    crate::metrics::handle();
    let max_body = state.limits().max_body_bytes;
    routes
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), protect))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::request_context,
        ))
        .with_state(state)
}

/// [`crate::abuse::protect`] with the classes of the real routes.
async fn protect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    crate::abuse::protect(state.protection(), route_classes(), req, next).await
}

async fn fallback(uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "There is nothing at {}; see /openapi.json for the routes this server has.",
        uri.path()
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
        format!(
            "{} does not accept {method}; see /openapi.json.",
            uri.path()
        ),
    )
}
