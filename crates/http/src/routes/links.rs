//! The pages mailed links open: `/verify-email`, `/reset-password` and
//! `/cancel-deletion`. Minimal, server-rendered, without JavaScript; the
//! hosted pages will restyle them.
//!
//! Opening a link never uses its token: mail scanners and link previews
//! fetch links. The page shows a form; only submitting it (a POST from a
//! person) acts. The token travels in a hidden field, the responses are
//! `no-store` with `no-referrer`, and the access log records the route, not
//! the query, so the token reaches no log.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::auth::AuthError;
use latchkey_core::mail::escape;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::extract::Query;
use crate::principal::ClientMeta;
use crate::state::AppState;

/// The token of a mailed link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// The token from the mail.
    #[serde(default)]
    token: String,
}

/// The token of a link's query. A query that cannot be read (a repeated
/// `token`) answers the page saying so.
pub struct LinkToken(String);

impl<S: Send + Sync> FromRequestParts<S> for LinkToken {
    type Rejection = Response;

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

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <style>body{{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1f2328}}\
         button{{padding:.6rem 1.2rem;font-size:1rem}}input{{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;margin:.4rem 0 1rem}}</style>\
         </head><body><h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
        ],
        html,
    )
        .into_response()
}

fn unreadable() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "Please try again",
        "<p>The form could not be read; open the link from the mail again.</p>",
    )
}

fn form(action: &str, token: &str, fields: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">{fields}\
         <button type=\"submit\">{button}</button></form>",
        token = escape(token),
        button = escape(button),
    )
}

fn outcome(result: Result<(), AuthError>, done_title: &str, done: &str) -> Response {
    match result {
        Ok(()) => page(
            StatusCode::OK,
            done_title,
            &format!("<p>{}</p>", escape(done)),
        ),
        Err(AuthError::InvalidToken) => page(
            StatusCode::BAD_REQUEST,
            "This link does not work",
            "<p>It is unknown, expired, already used, or replaced by a newer one. Ask for a new one.</p>",
        ),
        Err(AuthError::EmailTaken) => page(
            StatusCode::CONFLICT,
            "This address is taken",
            "<p>Another account uses this address now.</p>",
        ),
        Err(AuthError::Validation(problems)) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please try again",
            &problems
                .iter()
                .map(|p| format!("<p>{}</p>", escape(&p.message)))
                .collect::<String>(),
        ),
        Err(e) => {
            let api = crate::error::ApiError::from(e);
            page(
                api.status(),
                "Something went wrong",
                "<p>Try again in a moment.</p>",
            )
        }
    }
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
        &form("/verify-email", &token, "", "Confirm"),
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
) -> Response {
    let Ok(Form(f)) = form else {
        return unreadable();
    };
    outcome(
        state.auth().verify_email(&f.token, &client).await,
        "Email address confirmed",
        "Thank you: your email address is confirmed. You can close this page.",
    )
}

fn reset_form(token: &str) -> String {
    form(
        "/reset-password",
        token,
        "<label for=\"p\">New password</label>\
         <input id=\"p\" type=\"password\" name=\"new_password\" minlength=\"8\" maxlength=\"1024\" \
         autocomplete=\"new-password\" required>",
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
) -> Response {
    let Ok(Form(f)) = form else {
        return unreadable();
    };
    let result = state
        .auth()
        .confirm_password_reset(&f.token, &f.new_password, &client)
        .await;
    if let Err(AuthError::Validation(problems)) = &result {
        let msgs: String = problems
            .iter()
            .map(|p| format!("<p>{}</p>", escape(&p.message)))
            .collect();
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a new password",
            &format!("{msgs}{}", reset_form(&f.token)),
        );
    }
    outcome(
        result,
        "Password changed",
        "Your password is set, and you have been signed out everywhere. Sign in with the new password.",
    )
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
        &form(
            "/cancel-deletion",
            &token,
            "<p>Your account is scheduled for deletion. Keep it?</p>",
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
) -> Response {
    let Ok(Form(f)) = form else {
        return unreadable();
    };
    outcome(
        state.auth().cancel_deletion(&f.token, &client).await,
        "Your account stays",
        "The deletion is cancelled. Sign in again to use your account.",
    )
}
