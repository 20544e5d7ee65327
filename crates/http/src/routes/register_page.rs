//! The sign-up page, `/register`: the JSON API's sign-up step
//! ([`super::auth::sign_up`]: challenge, quotas, pressure, the account) on
//! a form that works without JavaScript (the proof-of-work solver fills the
//! form's `pow` field when the server asks for one).
//!
//! An address that has an account gets the same "check your mail" page as
//! a new one (the owner is mailed instead), unless
//! `accounts.reveal_existing_on_register` says to tell.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use latchkey_core::abuse::RouteClass;
use latchkey_core::accounts::Registration;
use minijinja::{Value, context};
use serde::Deserialize;
use utoipa_axum::routes;

use super::Routes;
use super::pages::{LoginQuery, unreadable};
use crate::abuse::pow_solution;
use crate::error::ApiError;
use crate::extract::Query;
use crate::pages::csrf::{self, OriginRule, PreSignIn};
use crate::pages::lang::Lang;
use crate::pages::{PageOptions, Retry, return_to};
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::state::AppState;

/// The sign-up form.
#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    pow: String,
    #[serde(default)]
    csrf: String,
}

/// The sign-up page's title (a catalogue key).
const TITLE: &str = "register-title";

/// `path`, carrying `return_to` when it is a place sign-in may return to
/// (a page link between sign-in and sign-up keeps it).
pub(super) fn with_return_to(path: &str, state: &AppState, return_to: &str) -> String {
    let target = state
        .pages()
        .return_target(return_to, &state.cookies().origin);
    if return_to.is_empty() || target == return_to::DEFAULT {
        path.to_owned()
    } else {
        format!(
            "{path}?return_to={}",
            percent_encoding::utf8_percent_encode(&target, percent_encoding::NON_ALPHANUMERIC)
        )
    }
}

fn register_context(state: &AppState, form: &RegisterForm, csrf: &str) -> Value {
    context! {
        login => with_return_to("/login", state, &form.return_to),
        csrf => csrf,
        email => &form.email,
        username => &form.username,
        name => &form.name,
        return_to => &form.return_to,
        passkey_signup => passkey_signup(state),
        errors => Vec::<Value>::new(),
    }
}

/// Whether the page offers "sign up with a passkey": accounts are made on
/// the way (`accounts.passwordless_signup`) and codes are mailed
/// (`passwordless.email_code`), which prove the address.
fn passkey_signup(state: &AppState) -> bool {
    let config = state.passwordless().config();
    config.signup && config.email_code
}

/// An optional field: blank is absent.
fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The sign-up page. Needs nothing.
#[utoipa::path(get, path = "/register", tag = "pages", params(LoginQuery),
    responses(
        (status = 200, description = "The sign-up form.", content_type = "text/html"),
        (status = 422, description = "The query cannot be read (a repeated `return_to`).", content_type = "text/html"),
    ))]
pub async fn get_register_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let form = RegisterForm {
        return_to: q.return_to,
        ..RegisterForm::default()
    };
    PreSignIn::form_page(
        &state,
        &headers,
        &lang.tag,
        "register.html",
        TITLE,
        PageOptions::OK,
        |csrf| register_context(&state, &form, csrf),
    )
}

/// Creates an account (the form of `GET /register`) and says to check the
/// mail for the confirmation link, whether or not the address had an
/// account. Needs the page's CSRF token; the same challenge and quotas as
/// `POST /v1/auth/register`.
#[utoipa::path(post, path = "/register", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`email`, `password`, `username`, `name`, `return_to`, `pow`, `csrf`"),
    responses(
        (status = 200, description = "Check your mail (also for an address that has an account).", content_type = "text/html"),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`, or the form again asking for the challenge.", content_type = "text/html"),
        (status = 409, description = "The form again: the username is taken (or, with `accounts.reveal_existing_on_register`, the address).", content_type = "text/html"),
        (status = 422, description = "The form again, each refused field saying why.", content_type = "text/html"),
        (status = 429, description = "The form again, saying to wait.", content_type = "text/html"),
        (status = 503, description = "The form again, saying to retry.", content_type = "text/html"),
    ))]
pub async fn post_register_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<RegisterForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(f) = form.map_err(|_| unreadable())?;
    csrf::check(&state, &headers, OriginRule::Exact, None, &f.csrf)?;
    let registration = Registration {
        email: f.email.clone(),
        password: f.password.clone(),
        username: optional(&f.username),
        name: optional(&f.name),
        // mail in the language the person reads the page in, when chosen
        locale: lang.negotiated.then(|| lang.tag.clone()),
    };
    let pow = pow_solution(&headers, Some(f.pow.as_str()));
    if let Err(e) = super::auth::sign_up(&state, &client, ip, pow, registration).await {
        let e = match e.code() {
            "username_taken" => e.on_field("username"),
            "email_taken" => e.on_field("email"),
            _ => e,
        };
        return Err(e.with_retry(Retry {
            template: "register.html",
            title: TITLE,
            context: register_context(&state, &f, &f.csrf),
        }));
    }
    // back to the app after confirming and signing in, when allowed
    let login = with_return_to("/login", &state, &f.return_to);
    Ok(state.pages().render(
        &lang.tag,
        "registered.html",
        "registered-title",
        context! { login => login },
        PageOptions::OK,
    ))
}

/// The group: errors as pages (the form again). Signing up has the
/// `register` quotas.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page)
        .add(RouteClass::Api, routes!(get_register_page))
        .add(RouteClass::Register, routes!(post_register_page))
}
