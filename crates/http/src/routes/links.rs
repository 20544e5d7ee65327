//! The pages mailed links open: `/verify-email`, `/reset-password` and
//! `/cancel-deletion`. Minimal, server-rendered, without JavaScript; the
//! hosted pages will restyle them.
//!
//! Opening a link never uses its token: mail scanners and link previews
//! fetch links. The page shows a form; only submitting it (a POST from a
//! person) acts. The token travels in a hidden field, the responses are
//! `no-store` with `no-referrer`, and the access log records the route, not
//! the query, so the token reaches no log. Errors are shown as pages by the
//! group's renderer ([`Renderer::Page`](crate::render::Renderer::Page)).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use latchkey_core::auth::AuthError;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::Query;
use crate::pages::{Html, Retry, page, token_form};
use crate::principal::ClientMeta;
use crate::state::AppState;
use latchkey_core::abuse::RouteClass;
use utoipa_axum::routes;

use super::Routes;
use crate::render::Renderer;

/// The token of a mailed link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// The token from the mail.
    #[serde(default)]
    token: String,
}

/// The token of a link's query. A query that cannot be read (a repeated
/// `token`) answers the page saying so (400, shown by the group's renderer).
pub struct LinkToken(String);

impl<S: Send + Sync> FromRequestParts<S> for LinkToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<LinkQuery>::from_request_parts(parts, state).await {
            Ok(Query(q)) => Ok(LinkToken(q.token)),
            Err(_) => Err(unreadable()),
        }
    }
}

/// A submitted link form.
#[derive(Debug, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
}

/// A form that could not be read (shown as a page by the group's renderer).
fn unreadable() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "unreadable_form",
        "Form unreadable",
        "The form could not be read; open the link from the mail again.",
    )
}

/// The page shown when a link's action succeeded.
fn done(title: &str, text: &str) -> Response {
    page(StatusCode::OK, title, &Html::paragraph(text))
}

/// The page a verification or email-change link opens: a button that
/// confirms. Needs nothing; opening it uses nothing.
#[utoipa::path(get, path = "/verify-email", tag = "pages", params(LinkQuery),
    responses(
        (status = 200, description = "An HTML page with a confirmation button.", content_type = "text/html"),
        (status = 400, description = "The link cannot be read.", content_type = "text/html"),
    ))]
pub async fn get_verify_email_page(LinkToken(token): LinkToken) -> Response {
    page(
        StatusCode::OK,
        "Confirm your email address",
        &token_form("/verify-email", &token, &Html::default(), "Confirm"),
    )
}

/// Confirms the address of a verification or email-change link (the form
/// of `GET /verify-email`). Needs the token in the form.
#[utoipa::path(post, path = "/verify-email", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`token`"),
    responses(
        (status = 200, description = "Confirmed.", content_type = "text/html"),
        (status = 400, description = "The link does not work.", content_type = "text/html"),
    ))]
pub async fn post_verify_email_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(f) = form.map_err(|_| unreadable())?;
    state.auth().verify_email(&f.token, &client).await?;
    Ok(done(
        "Email address confirmed",
        "Thank you: your email address is confirmed. You can close this page.",
    ))
}

fn reset_form(token: &str) -> Html {
    token_form(
        "/reset-password",
        token,
        &Html::trusted(
            "<label for=\"p\">New password</label>\
             <input id=\"p\" type=\"password\" name=\"new_password\" minlength=\"8\" maxlength=\"1024\" \
             autocomplete=\"new-password\" required>"
                .to_owned(),
        ),
        "Set the new password",
    )
}

/// The page a password reset link opens: a form for the new password.
/// Needs nothing; opening it uses nothing.
#[utoipa::path(get, path = "/reset-password", tag = "pages", params(LinkQuery),
    responses(
        (status = 200, description = "An HTML form for the new password.", content_type = "text/html"),
        (status = 400, description = "The link cannot be read.", content_type = "text/html"),
    ))]
pub async fn get_reset_password_page(LinkToken(token): LinkToken) -> Response {
    page(StatusCode::OK, "Choose a new password", &reset_form(&token))
}

/// Sets the new password of a reset link (the form of `GET
/// /reset-password`); every session ends. Needs the token in the form.
#[utoipa::path(post, path = "/reset-password", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`token` and `new_password`"),
    responses(
        (status = 200, description = "The password is set.", content_type = "text/html"),
        (status = 400, description = "The link does not work.", content_type = "text/html"),
        (status = 422, description = "The password is refused (too short or long, commonly used, breached, like the address); the page says why.", content_type = "text/html"),
    ))]
pub async fn post_reset_password_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(f) = form.map_err(|_| unreadable())?;
    state
        .auth()
        .confirm_password_reset(&f.token, &f.new_password, &client)
        .await
        .map_err(|e| match e {
            // a refused password: the same form again, under the reasons
            e @ AuthError::Validation(_) => ApiError::from(e).with_retry(Retry {
                title: "Choose a new password",
                form: reset_form(&f.token),
            }),
            e => e.into(),
        })?;
    Ok(done(
        "Password changed",
        "Your password is set, and you have been signed out everywhere. Sign in with the new password.",
    ))
}

/// The page a cancel-deletion link opens: a button that keeps the account.
/// Needs nothing; opening it uses nothing.
#[utoipa::path(get, path = "/cancel-deletion", tag = "pages", params(LinkQuery),
    responses(
        (status = 200, description = "An HTML page with a button.", content_type = "text/html"),
        (status = 400, description = "The link cannot be read.", content_type = "text/html"),
    ))]
pub async fn get_cancel_deletion_page(LinkToken(token): LinkToken) -> Response {
    page(
        StatusCode::OK,
        "Keep your account?",
        &token_form(
            "/cancel-deletion",
            &token,
            &Html::paragraph("Your account is scheduled for deletion. Keep it?"),
            "Keep my account",
        ),
    )
}

/// Cancels a pending deletion (the form of `GET /cancel-deletion`). Needs
/// the token in the form.
#[utoipa::path(post, path = "/cancel-deletion", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`token`"),
    responses(
        (status = 200, description = "The deletion is cancelled.", content_type = "text/html"),
        (status = 400, description = "The link does not work.", content_type = "text/html"),
    ))]
pub async fn post_cancel_deletion_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(f) = form.map_err(|_| unreadable())?;
    state.auth().cancel_deletion(&f.token, &client).await?;
    Ok(done(
        "Your account stays",
        "The deletion is cancelled. Sign in again to use your account.",
    ))
}

/// The group: errors as pages. Opening a page is `api`; submitting its
/// form redeems the token (`token`).
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page)
        .add(RouteClass::Api, routes!(get_verify_email_page))
        .add(RouteClass::Token, routes!(post_verify_email_page))
        .add(RouteClass::Api, routes!(get_reset_password_page))
        .add(RouteClass::Token, routes!(post_reset_password_page))
        .add(RouteClass::Api, routes!(get_cancel_deletion_page))
        .add(RouteClass::Token, routes!(post_cancel_deletion_page))
}
