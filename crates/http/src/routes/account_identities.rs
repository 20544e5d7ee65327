//! The account center's linked providers (issue 17 item 6): link another
//! provider and unlink one on the hosted pages, through the same
//! `Federation` service as `/v1/account/identities`.
//!
//! Both change the ways into the account, so both need a recent sign-in
//! (`accounts.reauth_max_age`), as the JSON routes do; the link form also
//! takes the current password, which re-authenticates as
//! `POST /v1/auth/reauth` does (an account made by a provider has none: it
//! signs in with the provider again). Linking sends the browser on to the
//! provider with the flow cookie that binds `state` to it — by a page
//! that goes on by itself (`<meta http-equiv="refresh">`, and a link), not
//! a redirect: browsers hold the redirects after a form to the page's CSP
//! `form-action`, which names latchkey only — and the callback links the
//! identity and comes back to `/account`. Unlinking the last way
//! in is refused (the page says why). Both use `AccountForm` (CSRF, origin,
//! refusals shown in the section).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use latchkey_core::abuse::RouteClass;
use latchkey_core::federation::{FLOW_TTL, FlowMode};
use minijinja::context;
use serde::Deserialize;
use utoipa_axum::routes;

use super::Routes;
use super::account_center::{AccountForm, Attempt, Submitted, reauthenticate};
use super::federation::{IdentityView, ProviderView, flow_cookie, provider_views};
use crate::error::ApiError;
use crate::pages::PageOptions;
use crate::pages::lang::Lang;
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::state::AppState;

const IDENTITIES: AccountForm = AccountForm {
    name: "identities",
    while_enrolling: false,
    password_field: Some("identities_password"),
    fields: &[],
};

/// The providers the account can still link: those it has no identity at.
pub(super) fn linkable(state: &AppState, linked: &[IdentityView]) -> Vec<ProviderView> {
    provider_views(state)
        .into_iter()
        .filter(|p| !linked.iter().any(|i| i.provider == p.name))
        .collect()
}

/// The link form: the provider (its button), and the password, needed only
/// when the session's sign-in is not recent.
#[derive(Debug, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for LinkForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Starts linking a provider to the account: to the provider, with the
/// flow cookie (10 minutes); its callback links the identity (refused when
/// it is linked to another account) and comes back to `/account`. Needs
/// the session cookie and its CSRF token, and a recent sign-in or the
/// password; the rules of `POST /v1/account/identities`.
#[utoipa::path(post, path = "/account/identities/link", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`provider`, `password` (only when the sign-in is not recent), `csrf`"),
    responses(
        (status = 200, description = "A page going on to the provider by itself, with the flow cookie.", content_type = "text/html"),
        (status = 303, description = "Signed out: to `/login`."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: `reauth_required`, or the password is wrong.", content_type = "text/html"),
        (status = 404, description = "The page again: `unknown_provider`.", content_type = "text/html"),
        (status = 423, description = "The page again: the account is locked after too many wrong passwords.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
        (status = 502, description = "The page again: `provider_unavailable`.", content_type = "text/html"),
    ))]
pub async fn post_link_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let attempt = IDENTITIES
        .attempt(&state, &headers, form, async |who, f| {
            if f.password.is_empty() {
                state.mfa().require_recent(who).await?;
            } else {
                reauthenticate(&state, ip, who, &f.password, &IDENTITIES).await?;
            }
            let mode = FlowMode::Link {
                user_id: who.user_id.clone(),
            };
            let federation = state.federation();
            let provider = federation.provider(&f.provider)?.display_name.clone();
            Ok((federation.begin(&f.provider, mode).await?, provider))
        })
        .await?;
    Ok(match attempt {
        Attempt::Done((begun, provider), _) => {
            let pages = state.pages();
            let mut response = pages.render(
                &lang.tag,
                "message.html",
                "account-identities-continue-title",
                context! {
                    paragraphs => [format!("{} {provider}", pages.t(&lang.tag, "account-identities-continue"))],
                    link => context! { href => &begun.url, text => pages.t(&lang.tag, "account-identities-continue-link") },
                    refresh => &begun.url,
                },
                PageOptions::OK,
            );
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            flow_cookie(
                &state,
                response.headers_mut(),
                &begun.state,
                FLOW_TTL.whole_seconds(),
            );
            response
        }
        Attempt::SignedOut(redirect) => redirect,
    })
}

/// The unlink form: which identity.
#[derive(Debug, Deserialize)]
pub struct UnlinkForm {
    #[serde(default)]
    identity: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for UnlinkForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Unlinks a provider from the account; refused when it is the last way
/// to sign in. Needs the session cookie and its CSRF token, and a recent
/// sign-in; the rules of `DELETE /v1/account/identities/{id}`.
#[utoipa::path(post, path = "/account/identities/unlink", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`identity`, `csrf`"),
    responses(
        (status = 303, description = "Unlinked: back to `/account#identities` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: `reauth_required`.", content_type = "text/html"),
        (status = 404, description = "The page again: `not_found`.", content_type = "text/html"),
        (status = 409, description = "The page again: `last_way_in`.", content_type = "text/html"),
    ))]
pub async fn post_unlink_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    form: Result<Form<UnlinkForm>, FormRejection>,
) -> Result<Response, ApiError> {
    IDENTITIES
        .submit(
            &state,
            &headers,
            form,
            "identity_unlinked",
            async |who, f| {
                state.mfa().require_recent(who).await?;
                Ok(state
                    .federation()
                    .unlink(&who.user_id, &f.identity, &client)
                    .await?)
            },
        )
        .await
}

/// The group: errors as pages. Linking may check a password.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page)
        .add(RouteClass::Login, routes!(post_link_page))
        .add(RouteClass::Api, routes!(post_unlink_page))
}
