//! The hosted pages of passwordless sign-in: "Email me a link" and "Email
//! me a code" on `/login` (`POST /login/email`), the page a magic link
//! opens (`/magic-link`: a button, and the code field in another browser),
//! and the code form (`POST /login/email-code`). Opening the link's page
//! spends nothing; only its POST signs in. Errors are pages.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::session::SessionKind;
use latchkey_core::sign_in::LoginOutcome;
use latchkey_core::user::normalize_email;
use minijinja::{Value, context};
use serde::Deserialize;
use utoipa_axum::routes;

use super::Routes;
use super::links::LinkToken;
use super::passwordless::{ask_for_link, nonce_cookie, sign_in_with_code, sign_in_with_link};
use crate::cookies::cookie_value;
use crate::error::{ApiError, unreadable_form};
use crate::pages::csrf::{self, OriginRule, PreSignIn};
use crate::pages::lang::Lang;
use crate::pages::{PageOptions, Retry};
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::sign_in::{SignIn, SignedIn};
use crate::state::AppState;

/// What `/login` offers besides the password (`passwordless` of its template).
pub(super) fn offered(state: &AppState) -> Value {
    let c = state.passwordless().config();
    context! { link => c.magic_link, code => c.email_code }
}

/// A passwordless form (every field optional; each handler reads its own).
#[derive(Debug, Default, Deserialize)]
pub struct PasswordlessForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    csrf: String,
}

fn unreadable() -> ApiError {
    unreadable_form("The form could not be read; reload the page and send it again.")
}

fn read(form: Result<Form<PasswordlessForm>, FormRejection>) -> Result<PasswordlessForm, ApiError> {
    form.map(|Form(f)| f).map_err(|_| unreadable())
}

/// The values of `passwordless.html`.
struct Page<'a> {
    title: &'static str,
    paragraphs: Vec<String>,
    action: &'static str,
    form: &'a PasswordlessForm,
    code: bool,
}

impl Page<'_> {
    fn context(&self, state: &AppState, lang: &str, csrf: &str) -> Value {
        let t = |key| state.pages().t(lang, key);
        context! {
            paragraphs => &self.paragraphs,
            action => self.action,
            csrf => csrf,
            token => &self.form.token,
            email => &self.form.email,
            return_to => &self.form.return_to,
            code => self.code.then(|| t("passwordless-code")),
            button => t("passwordless-sign_in"),
            errors => Vec::<Value>::new(),
        }
    }

    fn retry(&self, state: &AppState, lang: &str) -> Retry {
        Retry {
            template: "passwordless.html",
            title: self.title,
            context: self.context(state, lang, &self.form.csrf),
        }
    }
}

/// A refusal of a code or link shown on the same form again; anything else
/// as the group shows errors.
fn again(e: ApiError, page: &Page<'_>, state: &AppState, lang: &str) -> ApiError {
    match e.code() {
        "invalid_code" | "code_required" => e.on_field("code").with_retry(page.retry(state, lang)),
        _ => e,
    }
}

/// Where a signed-in page goes: the second factor's form, or `target`.
fn finish(state: &AppState, lang: &str, signed_in: SignedIn, target: &str, csrf: &str) -> Response {
    if let LoginOutcome::MfaRequired(required) = &signed_in.outcome {
        let required = required.clone();
        return super::mfa_page::challenge_page(
            state, lang, signed_in, &required, target, false, csrf,
        );
    }
    signed_in.respond(Redirect::to(target).into_response())
}

/// Mails a sign-in link or code (the second form of `GET /login`), the same
/// answer whether or not the address has an account. Needs the page's CSRF
/// token; the `mail` quotas of `POST /v1/auth/magic-link`. A link is bound
/// to this browser by a nonce cookie.
#[utoipa::path(post, path = "/login/email", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`email`, `method` (`link` or `code`), `return_to`, `csrf`"),
    responses(
        (status = 200, description = "Check your mail (link), or the code form (code).", content_type = "text/html"),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`, or `method_disabled`.", content_type = "text/html"),
        (status = 429, description = "A page saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_login_email_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<PasswordlessForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let f = read(form)?;
    csrf::check(&state, &headers, OriginRule::Exact, None, &f.csrf)?;
    let account = normalize_email(f.email.trim());
    super::lifecycle::account_limits(&state, RouteClass::Mail, ip, &account).await?;
    let pages = state.pages();
    let t = |key| pages.t(&lang.tag, key);
    if f.method == "code" {
        state.passwordless().request_code(&f.email, &client).await?;
        let page = Page {
            title: "passwordless-code-title",
            paragraphs: vec![t("passwordless-code-sent-text")],
            action: "/login/email-code",
            form: &f,
            code: true,
        };
        return Ok(pages.render(
            &lang.tag,
            "passwordless.html",
            page.title,
            page.context(&state, &lang.tag, &f.csrf),
            PageOptions::OK,
        ));
    }
    // where the link's page goes: an allowed return_to, else the default
    let target = pages.return_target(&f.return_to, &state.cookies().origin);
    let cookies = ask_for_link(&state, &client, &f.email, None, Some(&target)).await?;
    let page = pages.render(
        &lang.tag,
        "message.html",
        "passwordless-link-sent-title",
        context! { paragraphs => [t("passwordless-link-sent-text")], link => None::<Value> },
        PageOptions::OK,
    );
    Ok((cookies, page).into_response())
}

/// Signs in with an email code (the form `POST /login/email` answers) and
/// goes to `return_to` (when allowed) or `/account`; an account with a
/// second factor gets its form. Needs the page's CSRF token; the quotas of
/// `POST /v1/auth/email-otp/verify`.
#[utoipa::path(post, path = "/login/email-code", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`email`, `code`, `return_to`, `csrf`"),
    responses(
        (status = 303, description = "Signed in: on to `return_to` or `/account`."),
        (status = 200, description = "The second factor's form.", content_type = "text/html"),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 401, description = "The form again: the code is wrong, used, expired or tried 5 times.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`, `method_disabled`.", content_type = "text/html"),
        (status = 423, description = "The account is locked or suspended.", content_type = "text/html"),
        (status = 429, description = "A page saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_login_email_code_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<PasswordlessForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let f = read(form)?;
    csrf::check(&state, &headers, OriginRule::Exact, None, &f.csrf)?;
    let page = Page {
        title: "passwordless-code-title",
        paragraphs: vec![state.pages().t(&lang.tag, "passwordless-code-sent-text")],
        action: "/login/email-code",
        form: &f,
        code: true,
    };
    let step = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        account: &f.email,
        kind: SessionKind::Cookie,
        pow: None,
        remember: false,
    };
    let signed_in = sign_in_with_code(step, &f.email, &f.code)
        .await
        .map_err(|e| again(e, &page, &state, &lang.tag))?;
    let target = state
        .pages()
        .return_target(&f.return_to, &state.cookies().origin);
    Ok(finish(&state, &lang.tag, signed_in, &target, &f.csrf))
}

/// The page a magic link opens: a button that signs in, and in another
/// browser than the one that asked, the field for the mail's code. Needs
/// nothing; opening it spends nothing (a mail scanner following the link
/// burns nothing).
#[utoipa::path(get, path = "/magic-link", tag = "pages", params(super::links::LinkQuery),
    responses(
        (status = 200, description = "An HTML page with a sign-in button (and a code field in another browser).", content_type = "text/html"),
        (status = 400, description = "The link does not work (unknown, used, expired, superseded), or cannot be read.", content_type = "text/html"),
        (status = 403, description = "`method_disabled`.", content_type = "text/html"),
    ))]
pub async fn get_magic_link_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    LinkToken(token): LinkToken,
) -> Result<Response, ApiError> {
    let nonce = cookie_value(&headers, nonce_cookie(&state));
    let link = state
        .passwordless()
        .link_state(&token, nonce.as_deref())
        .await?;
    let t = |key| state.pages().t(&lang.tag, key);
    let form = PasswordlessForm {
        token,
        ..PasswordlessForm::default()
    };
    let page = Page {
        title: "passwordless-link-title",
        paragraphs: vec![if link.same_browser {
            t("passwordless-link-text")
        } else {
            t("passwordless-link-other_browser")
        }],
        action: "/magic-link",
        form: &form,
        code: !link.same_browser,
    };
    Ok(PreSignIn::form_page(
        &state,
        &headers,
        &lang.tag,
        "passwordless.html",
        page.title,
        PageOptions::OK,
        |csrf| page.context(&state, &lang.tag, csrf),
    ))
}

/// Signs in with a magic link (the form of `GET /magic-link`) and goes to
/// the link's `redirect_to` or `/account`; an account with a second factor
/// gets its form. In another browser than the one that asked, the mail's
/// code is needed (5 tries). Needs the page's CSRF token.
#[utoipa::path(post, path = "/magic-link", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`token`, `code`, `csrf`"),
    responses(
        (status = 303, description = "Signed in: on to the link's `redirect_to` or `/account`."),
        (status = 200, description = "The second factor's form.", content_type = "text/html"),
        (status = 400, description = "The link does not work, or the form cannot be read.", content_type = "text/html"),
        (status = 401, description = "The form again: the code is wrong.", content_type = "text/html"),
        (status = 403, description = "The form again asking for the mail's code (`code_required`); `csrf_failed`; `method_disabled`.", content_type = "text/html"),
        (status = 423, description = "The account is locked or suspended.", content_type = "text/html"),
        (status = 429, description = "A page saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_magic_link_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<PasswordlessForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let f = read(form)?;
    csrf::check(&state, &headers, OriginRule::Exact, None, &f.csrf)?;
    let nonce = cookie_value(&headers, nonce_cookie(&state));
    let link = state
        .passwordless()
        .link_state(&f.token, nonce.as_deref())
        .await
        .map_err(ApiError::from)?;
    let page = Page {
        title: "passwordless-link-title",
        paragraphs: vec![
            state
                .pages()
                .t(&lang.tag, "passwordless-link-other_browser"),
        ],
        action: "/magic-link",
        form: &f,
        code: true,
    };
    let step = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        account: &f.token,
        kind: SessionKind::Cookie,
        pow: None,
        remember: false,
    };
    let code = Some(f.code.as_str()).filter(|c| !c.is_empty());
    let signed_in = sign_in_with_link(step, &f.token, code, None)
        .await
        .map_err(|e| again(e, &page, &state, &lang.tag))?;
    let target = link
        .redirect_to
        .unwrap_or_else(|| crate::pages::return_to::DEFAULT.to_owned());
    Ok(finish(&state, &lang.tag, signed_in, &target, &f.csrf))
}

/// The group: errors as pages. Asking mails (`mail`); signing in is `login`;
/// opening the link's page is `api`.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page)
        .add(RouteClass::Mail, routes!(post_login_email_page))
        .add(RouteClass::Login, routes!(post_login_email_code_page))
        .add(RouteClass::Api, routes!(get_magic_link_page))
        .add(RouteClass::Login, routes!(post_magic_link_page))
}
