//! The route table. Each resource has a module; each module exposes its
//! handlers with `#[utoipa::path]` docs and is registered here with
//! `routes!`, which puts it in the router and in the OpenAPI document at once.

mod account;
mod admin;
mod auth;
mod health;
mod lifecycle;
mod links;
mod meta;
mod oauth;
mod responses;
mod views;

pub(crate) use views::rfc3339;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
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
    components(schemas(latchkey_proto::Problem, latchkey_proto::FieldError, latchkey_proto::TokenResponse)),
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
        (name = "pages", description = "The pages that links in mail open (HTML forms)."),
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

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::post_register))
        .routes(routes!(auth::post_login))
        .routes(routes!(auth::post_refresh))
        .routes(routes!(auth::post_logout))
        .routes(routes!(auth::get_session))
        .routes(routes!(auth::get_challenge))
        .routes(routes!(auth::get_pow_script))
        .routes(routes!(account::get_account, account::patch_account))
        .routes(routes!(account::get_sessions, account::delete_sessions))
        .routes(routes!(account::delete_session))
        .routes(routes!(lifecycle::post_verify_email))
        .routes(routes!(lifecycle::post_resend_verification))
        .routes(routes!(lifecycle::post_password_reset))
        .routes(routes!(lifecycle::post_password_reset_confirm))
        .routes(routes!(lifecycle::post_account_password))
        .routes(routes!(lifecycle::post_reauth))
        .routes(routes!(lifecycle::post_account_email))
        .routes(routes!(lifecycle::delete_account))
        .routes(routes!(lifecycle::post_cancel_deletion))
        .routes(routes!(lifecycle::post_deactivate))
        .routes(routes!(
            links::get_verify_email_page,
            links::post_verify_email_page
        ))
        .routes(routes!(
            links::get_reset_password_page,
            links::post_reset_password_page
        ))
        .routes(routes!(
            links::get_cancel_deletion_page,
            links::post_cancel_deletion_page
        ))
        .routes(routes!(account::get_activity))
        .routes(routes!(admin::get_users, admin::post_user))
        .routes(routes!(
            admin::get_user,
            admin::patch_user,
            admin::delete_user
        ))
        .routes(routes!(admin::post_suspend))
        .routes(routes!(admin::post_unsuspend))
        .routes(routes!(admin::post_password_reset))
        .routes(routes!(
            admin::get_user_sessions,
            admin::delete_user_sessions
        ))
        .routes(routes!(admin::delete_user_session))
        .routes(routes!(admin::put_user_roles))
        .routes(routes!(admin::get_roles, admin::post_role))
        .routes(routes!(
            admin::get_role,
            admin::patch_role,
            admin::delete_role
        ))
        .routes(routes!(admin::get_permissions))
        .routes(routes!(admin::get_audit))
        .routes(routes!(oauth::get_jwks))
        .routes(routes!(oauth::post_introspect))
        .routes(routes!(oauth::post_revoke))
        .routes(routes!(health::get_live))
        .routes(routes!(health::get_ready))
        .routes(routes!(meta::get_metrics))
        .routes(routes!(meta::get_openapi))
        .routes(routes!(meta::get_docs))
        .routes(routes!(meta::get_docs_script))
}

/// The OpenAPI 3.1 document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api().split_for_parts().1;
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
    api().split_for_parts().0
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
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::abuse::protect,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::request_context,
        ))
        .with_state(state)
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
