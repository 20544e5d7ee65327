//! The account center's optional password (issue 15 item 4): setting a
//! first password on an account that has none (made by a magic link or an
//! email code, or after removing it), and removing the password while
//! another way in remains, through the same `Passwordless` service as
//! `PUT`/`DELETE /v1/account/password`.
//!
//! Both need a recent authentication: setting one a recent sign-in (an
//! account without a password has nothing to type), removing it a recent
//! sign-in or the current password typed in the form (the rules and quotas
//! of `POST /v1/auth/reauth`). A removal that would leave no way in is
//! refused by the one rule (`latchkey_core::ways_in`) and the page says so
//! in its language (`error-last_way_in`). Every form uses `AccountForm`
//! (CSRF, origin, refusals shown in the password section), with the
//! `login` quotas since each may check a secret the user knows.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use latchkey_core::abuse::RouteClass;
use serde::Deserialize;
use utoipa_axum::routes;

use super::Routes;
use super::account_center::{AccountForm, Submitted, reauthenticate};
use super::lifecycle::account_limits;
use crate::error::ApiError;
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::state::AppState;

const SET: AccountForm = AccountForm {
    name: "password",
    while_enrolling: false,
    password_field: None,
    fields: &[],
};
const REMOVE: AccountForm = AccountForm {
    name: "password",
    while_enrolling: false,
    password_field: Some("remove_password"),
    fields: &[],
};

/// The form that sets a first password.
#[derive(Debug, Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for SetPasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The form that removes the password: the current one, needed only when
/// the session's sign-in is not recent.
#[derive(Debug, Deserialize)]
pub struct RemovePasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for RemovePasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Sets a first password on an account that has none; every other session
/// ends and a notice is mailed. Needs the session cookie and its CSRF
/// token, and a recent sign-in; the rules of `PUT /v1/account/password`.
#[utoipa::path(post, path = "/account/password/set", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`new_password`, `csrf`"),
    responses(
        (status = 303, description = "Set: back to `/account#password` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: `reauth_required`, `mfa_required`.", content_type = "text/html"),
        (status = 409, description = "The page again: `password_exists`.", content_type = "text/html"),
        (status = 422, description = "The page again: the new password is refused, saying why.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
        (status = 503, description = "The page again, saying to retry.", content_type = "text/html"),
    ))]
pub async fn post_set_password_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<SetPasswordForm>, FormRejection>,
) -> Result<Response, ApiError> {
    SET.submit(&state, &headers, form, "password_set", async |who, f| {
        account_limits(&state, RouteClass::Login, ip, &who.user.email_normalized).await?;
        state.mfa().require_recent(who).await?;
        state
            .passwordless()
            .set_password(who, &f.new_password, &client)
            .await
            .map_err(|e| SET.error(e))
    })
    .await
}

/// Removes the password while another way in remains (a passkey, a linked
/// account, or sign-in by mail to a verified address); every other session
/// ends and a notice is mailed. Needs the session cookie and its CSRF
/// token, and a recent sign-in or the current password; the rules of
/// `DELETE /v1/account/password`.
#[utoipa::path(post, path = "/account/password/remove", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`password` (only when the sign-in is not recent), `csrf`"),
    responses(
        (status = 303, description = "Removed: back to `/account#password` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: `reauth_required`, `mfa_required`, or the password is wrong.", content_type = "text/html"),
        (status = 404, description = "The page again: the password changed meanwhile.", content_type = "text/html"),
        (status = 409, description = "The page again: `last_way_in` (without it the account could not sign in) or `no_password`.", content_type = "text/html"),
        (status = 423, description = "The page again: the account is locked after too many wrong passwords.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
        (status = 503, description = "The page again, saying to retry.", content_type = "text/html"),
    ))]
pub async fn post_remove_password_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<RemovePasswordForm>, FormRejection>,
) -> Result<Response, ApiError> {
    REMOVE
        .submit(
            &state,
            &headers,
            form,
            "password_removed",
            async |who, f| {
                if f.password.is_empty() {
                    account_limits(&state, RouteClass::Login, ip, &who.user.email_normalized)
                        .await?;
                    state.mfa().require_recent(who).await?;
                } else {
                    reauthenticate(&state, ip, who, &f.password, &REMOVE).await?;
                }
                state
                    .passwordless()
                    .remove_password(who, &client)
                    .await
                    .map_err(|e| REMOVE.error(e))
            },
        )
        .await
}

/// The group: errors as pages; each form may check a secret the user knows.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page)
        .add(RouteClass::Login, routes!(post_set_password_page))
        .add(RouteClass::Login, routes!(post_remove_password_page))
}
