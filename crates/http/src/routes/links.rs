//! The pages mailed links open: `/verify-email`, `/reset-password` and
//! `/cancel-deletion`: server-rendered from the page templates, without
//! JavaScript; their forms carry a CSRF token (see `pages::csrf`).
//!
//! Opening a link never uses its token: mail scanners and link previews
//! fetch links. The page shows a form; only submitting it (a POST from a
//! person) acts. The token travels in a hidden field, the responses are
//! `no-store` with `no-referrer`, and the access log records the route, not
//! the query, so the token reaches no log. Errors are shown as pages by the
//! group's renderer ([`Renderer::Page`](crate::render::Renderer::Page)).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_core::error::SharedError;
use latchkey_core::recovery::RecoveryError;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::error::unreadable_form;
use crate::extract::Query;
use crate::pages::csrf::{self, OriginRule, PreSignIn};
use crate::pages::lang::Lang;
use crate::pages::{PageOptions, Retry};
use crate::principal::ClientMeta;
use crate::state::AppState;
use latchkey_core::abuse::RouteClass;
use minijinja::{Value, context};
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
pub struct LinkToken(pub String);

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
    #[serde(default)]
    csrf: String,
}

/// A form that could not be read (shown as a page by the group's renderer).
fn unreadable() -> ApiError {
    unreadable_form("The form could not be read; open the link from the mail again.")
}

/// How a link page is sent: its URL holds the mailed token, so no
/// `Referer` ever carries it anywhere.
const LINK_PAGE: PageOptions = PageOptions {
    status: StatusCode::OK,
    referrer: "no-referrer",
};

/// One of the link pages: what it says, where its form posts, its button
/// and, for the reset, the new-password field's label (catalogue keys).
struct LinkPage {
    title: &'static str,
    action: &'static str,
    text: Option<&'static str>,
    button: &'static str,
    new_password: Option<&'static str>,
}

const VERIFY: LinkPage = LinkPage {
    title: "verify-title",
    action: "/verify-email",
    text: None,
    button: "verify-submit",
    new_password: None,
};

const RESET: LinkPage = LinkPage {
    title: "reset-title",
    action: "/reset-password",
    text: None,
    button: "reset-submit",
    new_password: Some("reset-new_password"),
};

const CANCEL: LinkPage = LinkPage {
    title: "cancel-title",
    action: "/cancel-deletion",
    text: Some("cancel-text"),
    button: "cancel-submit",
    new_password: None,
};

impl LinkPage {
    fn context(&self, state: &AppState, lang: &str, token: &str, csrf: &str) -> Value {
        let t = |key| state.pages().t(lang, key);
        context! {
            paragraphs => self.text.map(t).into_iter().collect::<Vec<_>>(),
            action => self.action,
            token => token,
            csrf => csrf,
            button => t(self.button),
            new_password => self.new_password.map(t),
            errors => Vec::<Value>::new(),
        }
    }

    /// The page with its form, and the browser's CSRF cookie.
    fn show(&self, state: &AppState, lang: &Lang, headers: &HeaderMap, token: &str) -> Response {
        let lang = lang.tag.as_str();
        PreSignIn::form_page(
            state,
            headers,
            lang,
            "link.html",
            self.title,
            LINK_PAGE,
            |csrf| self.context(state, lang, token, csrf),
        )
    }

    /// The same form again after `error`, when it is a refused value.
    fn again(
        &self,
        state: &AppState,
        lang: &Lang,
        form: &LinkForm,
        error: RecoveryError,
    ) -> ApiError {
        match error {
            e @ RecoveryError::Shared(SharedError::Validation(_)) => {
                ApiError::from(e).with_retry(Retry {
                    template: "link.html",
                    title: self.title,
                    context: self.context(state, &lang.tag, &form.token, &form.csrf),
                })
            }
            e => e.into(),
        }
    }
}

/// Reads a submitted link form and checks its CSRF token and origin.
fn submitted(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<LinkForm, ApiError> {
    let Form(f) = form.map_err(|_| unreadable())?;
    csrf::check(state, headers, OriginRule::ExactOrNull, None, &f.csrf)?;
    Ok(f)
}

/// The page shown when a link's action succeeded: `<page>-done-title` and
/// `<page>-done-text` of the catalogue.
fn done(state: &AppState, lang: &Lang, page: &str) -> Response {
    let pages = state.pages();
    pages.render(
        &lang.tag,
        "message.html",
        &format!("{page}-done-title"),
        context! {
            paragraphs => [pages.t(&lang.tag, &format!("{page}-done-text"))],
            link => None::<Value>,
        },
        LINK_PAGE,
    )
}

/// The page a verification or email-change link opens: a button that
/// confirms. Needs nothing; opening it uses nothing.
#[utoipa::path(get, path = "/verify-email", tag = "pages", params(LinkQuery),
    responses(
        (status = 200, description = "An HTML page with a confirmation button.", content_type = "text/html"),
        (status = 400, description = "The link cannot be read.", content_type = "text/html"),
    ))]
pub async fn get_verify_email_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    LinkToken(token): LinkToken,
) -> Response {
    VERIFY.show(&state, &lang, &headers, &token)
}

/// Confirms the address of a verification or email-change link (the form
/// of `GET /verify-email`). Needs the token and the page's CSRF token in
/// the form.
#[utoipa::path(post, path = "/verify-email", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`token`, `csrf`"),
    responses(
        (status = 200, description = "Confirmed.", content_type = "text/html"),
        (status = 400, description = "The link does not work.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`: no or a wrong CSRF token, or another site's `Origin`.", content_type = "text/html"),
        (status = 409, description = "`email_taken`: the address of an email-change link belongs to another account now.", content_type = "text/html"),
    ))]
pub async fn post_verify_email_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let f = submitted(&state, &headers, form)?;
    state.recovery().verify_email(&f.token, &client).await?;
    Ok(done(&state, &lang, "verify"))
}

/// The page a password reset link opens: a form for the new password.
/// Needs nothing; opening it uses nothing.
#[utoipa::path(get, path = "/reset-password", tag = "pages", params(LinkQuery),
    responses(
        (status = 200, description = "An HTML form for the new password.", content_type = "text/html"),
        (status = 400, description = "The link cannot be read.", content_type = "text/html"),
    ))]
pub async fn get_reset_password_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    LinkToken(token): LinkToken,
) -> Response {
    RESET.show(&state, &lang, &headers, &token)
}

/// Sets the new password of a reset link (the form of `GET
/// /reset-password`); every session ends. Needs the token and the page's
/// CSRF token in the form.
#[utoipa::path(post, path = "/reset-password", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`token`, `new_password`, `csrf`"),
    responses(
        (status = 200, description = "The password is set.", content_type = "text/html"),
        (status = 400, description = "The link does not work.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`: no or a wrong CSRF token, or another site's `Origin`.", content_type = "text/html"),
        (status = 422, description = "The password is refused (too short or long, commonly used, breached, like the address); the page says why.", content_type = "text/html"),
    ))]
pub async fn post_reset_password_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let f = submitted(&state, &headers, form)?;
    state
        .recovery()
        .confirm_password_reset(&f.token, &f.new_password, &client)
        .await
        .map_err(|e| RESET.again(&state, &lang, &f, e))?;
    Ok(done(&state, &lang, "reset"))
}

/// The page a cancel-deletion link opens: a button that keeps the account.
/// Needs nothing; opening it uses nothing.
#[utoipa::path(get, path = "/cancel-deletion", tag = "pages", params(LinkQuery),
    responses(
        (status = 200, description = "An HTML page with a button.", content_type = "text/html"),
        (status = 400, description = "The link cannot be read.", content_type = "text/html"),
    ))]
pub async fn get_cancel_deletion_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    LinkToken(token): LinkToken,
) -> Response {
    CANCEL.show(&state, &lang, &headers, &token)
}

/// Cancels a pending deletion (the form of `GET /cancel-deletion`). Needs
/// the token and the page's CSRF token in the form.
#[utoipa::path(post, path = "/cancel-deletion", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`token`, `csrf`"),
    responses(
        (status = 200, description = "The deletion is cancelled.", content_type = "text/html"),
        (status = 400, description = "The link does not work.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`: no or a wrong CSRF token, or another site's `Origin`.", content_type = "text/html"),
    ))]
pub async fn post_cancel_deletion_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    form: Result<Form<LinkForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let f = submitted(&state, &headers, form)?;
    state.recovery().cancel_deletion(&f.token, &client).await?;
    Ok(done(&state, &lang, "cancel"))
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
