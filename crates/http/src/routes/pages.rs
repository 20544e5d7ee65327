//! The hosted pages: `/login`, `/forgot-password`, `/logout`, and their
//! stylesheet. Server-rendered from the page templates, working without
//! JavaScript (the only script is the proof-of-work solver, which fills the
//! sign-in form's `pow` field when the server asks for one). Every form
//! carries a CSRF token and must come from latchkey's own origin (see
//! `pages::csrf`); errors are pages ([`Renderer::Page`]), and a refused
//! sign-in shows the form again with the reason.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::session::SessionKind;
use latchkey_core::sessions::Principal;
use latchkey_core::sign_in::LoginOutcome;
use minijinja::{Value, context};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::routes;

use super::Routes;
use crate::cookies::{cookie_value, set_cookie};
use crate::error::ApiError;
use crate::error::unreadable_form;
use crate::extract::Query;
use crate::pages::csrf::{self, OriginRule, PreSignIn};
use crate::pages::lang::Lang;
use crate::pages::{PageOptions, Retry};
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::sign_in::SignIn;
use crate::state::AppState;

/// The pages' stylesheet (a theme's `latchkey.css` when it has one).
/// Needs nothing.
#[utoipa::path(get, path = "/assets/latchkey.css", tag = "pages",
    responses((status = 200, description = "CSS.", content_type = "text/css")))]
pub async fn get_stylesheet(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.pages().stylesheet(),
    )
        .into_response()
}

/// The custom stylesheet of `branding.custom_css`, loaded by every page
/// after the built-in one (empty when none is configured). Needs nothing.
#[utoipa::path(get, path = "/assets/custom.css", tag = "pages",
    responses((status = 200, description = "CSS.", content_type = "text/css")))]
pub async fn get_custom_stylesheet(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.pages().custom_css().unwrap_or_default().to_owned(),
    )
        .into_response()
}

/// Where to go after signing in.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// A path here, or a URL on an allowed origin
    /// (`pages.allowed_return_origins`); anything else goes to `/account`.
    #[serde(default)]
    pub(super) return_to: String,
    /// Prefills the address (an authorization request's `login_hint`).
    #[serde(default)]
    pub(super) login_hint: String,
}

/// The sign-in form.
#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    remember: Option<String>,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    pow: String,
    #[serde(default)]
    csrf: String,
}

/// The sign-in page's title (a catalogue key).
const SIGN_IN: &str = "login-title";

impl LoginForm {
    /// An empty sign-in form going back to `return_to`.
    pub(super) fn returning_to(return_to: &str) -> LoginForm {
        LoginForm {
            return_to: return_to.to_owned(),
            ..LoginForm::default()
        }
    }
}

pub(super) fn login_context(state: &AppState, form: &LoginForm, csrf: &str) -> Value {
    context! {
        register => super::register_page::with_return_to("/register", state, &form.return_to),
        providers => super::federation::buttons(state, &form.return_to),
        csrf => csrf,
        identifier => &form.identifier,
        return_to => &form.return_to,
        remember => form.remember.is_some(),
        errors => Vec::<Value>::new(),
        passwordless => super::passwordless_page::offered(state),
    }
}

/// A form that could not be read.
pub(super) fn unreadable() -> ApiError {
    unreadable_form("The form could not be read; reload the page and send it again.")
}

/// The sign-in page. Needs nothing.
#[utoipa::path(get, path = "/login", tag = "pages", params(LoginQuery),
    responses(
        (status = 200, description = "The sign-in form.", content_type = "text/html"),
        (status = 422, description = "The query cannot be read (a repeated `return_to`).", content_type = "text/html"),
    ))]
pub async fn get_login_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let form = LoginForm {
        return_to: q.return_to,
        // the form's own limit on the address
        identifier: if q.login_hint.chars().count() <= 320 {
            q.login_hint
        } else {
            String::new()
        },
        ..LoginForm::default()
    };
    PreSignIn::form_page(
        &state,
        &headers,
        &lang.tag,
        "login.html",
        SIGN_IN,
        PageOptions::OK,
        |csrf| login_context(&state, &form, csrf),
    )
}

/// Signs in (the form of `GET /login`) and goes to `return_to` (when
/// allowed) or `/account`. Needs the page's CSRF token; the same quotas,
/// challenge and lockout as `POST /v1/auth/login`. Without "keep me signed
/// in" the cookie lasts the browser session.
#[utoipa::path(post, path = "/login", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`identifier`, `password`, `remember`, `return_to`, `pow`, `csrf`"),
    responses(
        (status = 303, description = "Signed in: on to `return_to` or `/account` (to `/account#security` when a role of the account requires a second factor it lacks)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 401, description = "The form again, saying the identifier or password is wrong.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`, or the form again asking for the challenge.", content_type = "text/html"),
        (status = 423, description = "The form again, saying the account is locked or suspended.", content_type = "text/html"),
        (status = 429, description = "The form again, saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_login_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(f) = form.map_err(|_| unreadable())?;
    csrf::check(&state, &headers, OriginRule::Exact, None, &f.csrf)?;
    let signed_in = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        account: &f.identifier,
        kind: SessionKind::Cookie,
        pow: Some(f.pow.as_str()).filter(|p| !p.is_empty()),
        remember: f.remember.is_some(),
    }
    .with_password(&f.identifier, &f.password)
    .await
    .map_err(|e| {
        e.with_retry(Retry {
            template: "login.html",
            title: SIGN_IN,
            context: login_context(&state, &f, &f.csrf),
        })
    })?;
    if let LoginOutcome::MfaRequired(required) = &signed_in.outcome {
        // no session yet: the code form, then POST /mfa
        let required = required.clone();
        return Ok(super::mfa_page::challenge_page(
            &state,
            &lang.tag,
            signed_in,
            &required,
            &f.return_to,
            f.remember.is_some(),
            &f.csrf,
        ));
    }
    let target = match &signed_in.outcome {
        // a role requires a second factor the account lacks: set one up first
        LoginOutcome::Cookie(c) if state.mfa().enrolment_required(&c.session.user_id).await? => {
            "/account#security".to_owned()
        }
        _ => state
            .pages()
            .return_target(&f.return_to, &state.cookies().origin),
    };
    Ok(signed_in.respond(Redirect::to(&target).into_response()))
}

/// The reset request page's title (a catalogue key).
const FORGOT: &str = "forgot-title";

/// The password-reset request form.
#[derive(Debug, Default, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    csrf: String,
}

fn forgot_context(state: &AppState, lang: &str, form: &ForgotForm, csrf: &str) -> Value {
    context! {
        text => state.pages().t(lang, "forgot-text"),
        csrf => csrf,
        email => &form.email,
        errors => Vec::<Value>::new(),
    }
}

/// The page to ask for a password-reset link. Needs nothing.
#[utoipa::path(get, path = "/forgot-password", tag = "pages",
    responses((status = 200, description = "The form.", content_type = "text/html")))]
pub async fn get_forgot_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    PreSignIn::form_page(
        &state,
        &headers,
        &lang.tag,
        "forgot.html",
        FORGOT,
        PageOptions::OK,
        |csrf| forgot_context(&state, &lang.tag, &ForgotForm::default(), csrf),
    )
}

/// Mails a password-reset link (the form of `GET /forgot-password`) when
/// the address has an account; the answer is the same either way. Needs
/// the page's CSRF token; the `mail` quotas of `POST /v1/auth/password-reset`.
#[utoipa::path(post, path = "/forgot-password", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`email`, `csrf`"),
    responses(
        (status = 200, description = "Check your mail (whether or not the address has an account).", content_type = "text/html"),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`.", content_type = "text/html"),
        (status = 429, description = "The form again, saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_forgot_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<ForgotForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(f) = form.map_err(|_| unreadable())?;
    csrf::check(&state, &headers, OriginRule::Exact, None, &f.csrf)?;
    let again = |e: ApiError| {
        e.with_retry(Retry {
            template: "forgot.html",
            title: FORGOT,
            context: forgot_context(&state, &lang.tag, &f, &f.csrf),
        })
    };
    let account = latchkey_core::user::normalize_email(f.email.trim());
    super::lifecycle::account_limits(&state, RouteClass::Mail, ip, &account)
        .await
        .map_err(again)?;
    state
        .recovery()
        .request_password_reset(&f.email, &client)
        .await
        .map_err(|e| again(e.into()))?;
    let pages = state.pages();
    Ok(pages.render(
        &lang.tag,
        "message.html",
        "forgot-sent-title",
        context! {
            paragraphs => [pages.t(&lang.tag, "forgot-sent-text")],
            link => context! { href => "/login", text => pages.t(&lang.tag, "login-submit") },
        },
        PageOptions::OK,
    ))
}

/// The signed-in person of a page request, if any (the session cookie).
pub(super) async fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let cookie = cookie_value(headers, state.cookies().name())?;
    state.sessions().authenticate_cookie(&cookie).await.ok()
}

/// The sign-out page: a confirmation form (signing out is never a GET's
/// side effect). Needs nothing; without a session it says so.
#[utoipa::path(get, path = "/logout", tag = "pages",
    responses((status = 200, description = "A confirmation form.", content_type = "text/html")))]
pub async fn get_logout_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let pages = state.pages();
    let t = |key| pages.t(&lang.tag, key);
    match signed_in(&state, &headers).await {
        Some(who) => pages.render(
            &lang.tag,
            "logout.html",
            "logout-title",
            context! {
                text => t("logout-text"),
                button => t("logout-submit"),
                csrf => state.auth().csrf_token(&who.session.id),
            },
            PageOptions::OK,
        ),
        None => pages.render(
            &lang.tag,
            "message.html",
            "logout-none-title",
            context! {
                paragraphs => [t("logout-none-text")],
                link => context! { href => "/login", text => t("login-submit") },
            },
            PageOptions::OK,
        ),
    }
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Ends this browser's session (the form of `GET /logout`). Needs the
/// session cookie and its CSRF token.
#[utoipa::path(post, path = "/logout", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`"),
    responses(
        (status = 303, description = "Signed out: on to `/login`."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`.", content_type = "text/html"),
    ))]
pub async fn post_logout_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(f) = form.map_err(|_| unreadable())?;
    let who = signed_in(&state, &headers).await;
    let session = who.as_ref().map(|w| w.session.id.as_str());
    // without a session the form's token is the pre-sign-in one
    csrf::check(&state, &headers, OriginRule::Exact, session, &f.csrf)?;
    if let Some(who) = &who {
        state.sessions().logout(who, &client).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    let cookies = state.cookies();
    set_cookie(
        response.headers_mut(),
        cookies.name(),
        "",
        0,
        cookies.secure,
    );
    Ok(response)
}

/// The group: errors as pages. Signing in has the `login` quotas.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page)
        .add(RouteClass::Api, routes!(get_stylesheet))
        .add(RouteClass::Api, routes!(get_custom_stylesheet))
        .add(RouteClass::Api, routes!(get_login_page))
        .add(RouteClass::Login, routes!(post_login_page))
        .add(RouteClass::Api, routes!(get_forgot_page))
        .add(RouteClass::Mail, routes!(post_forgot_page))
        .add(RouteClass::Api, routes!(get_logout_page))
        .add(RouteClass::Api, routes!(post_logout_page))
}
