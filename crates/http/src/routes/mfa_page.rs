//! The second step of signing in on the hosted pages, `/mfa`: after a
//! correct password on `/login` for an account with a second factor, the
//! answer is this page (not a session): a code from the authenticator app,
//! or, behind "use a backup code", one of the backup codes, or "use your
//! passkey" (the passkeys script gets the options of the `mfa_token`'s
//! challenge and posts the answer with this page's form).
//!
//! The page carries the first step's `mfa_token` in a hidden field (never in
//! a URL) and the browser holds the binding cookie the first step set, so
//! the form works only in the browser that typed the password; `POST /mfa`
//! goes through the same sign-in step as `POST /v1/auth/login/mfa`
//! ([`SignIn::with_second_factor`]: CSRF, quotas, wrong codes counted on
//! the token and the account), then on to `return_to` as `/login` does.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::mfa::MfaRequired;
use latchkey_core::passkeys::PasskeyError;
use latchkey_core::session::SessionKind;
use minijinja::{Value, context};
use serde::Deserialize;
use utoipa_axum::routes;

use super::Routes;
use super::pages::unreadable;
use super::passkeys::AuthenticationCredential;
use crate::cookies::set_cookie;
use crate::error::ApiError;
use crate::pages::csrf::{self, OriginRule};
use crate::pages::{PageOptions, Retry};
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::sign_in::{SignIn, SignedIn};
use crate::state::AppState;

/// The page's title (a catalogue key).
const TITLE: &str = "mfa-title";

/// What the code form carries from the first step.
#[derive(Debug, Default, Deserialize)]
pub struct MfaForm {
    #[serde(default)]
    mfa_token: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    /// `webauthn`: the passkey's answer, `credential.toJSON()` as JSON text.
    #[serde(default)]
    credential: String,
    #[serde(default)]
    remember: Option<String>,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    csrf: String,
}

/// The values of `mfa.html`: the first step's token and what it offers,
/// where to go afterwards, and (after a refusal) which form failed.
fn mfa_context(form: &MfaForm, methods: &[&str]) -> Value {
    context! {
        csrf => &form.csrf,
        mfa_token => &form.mfa_token,
        methods => methods,
        return_to => &form.return_to,
        remember => form.remember.is_some(),
        method => &form.method,
        errors => Vec::<Value>::new(),
    }
}

/// The answer of `POST /login` when the password was right and the account
/// has a second factor: the code form in `lang`, with the first step's
/// cookies (the `mfa_token`'s binding, the device cookie). `csrf` is the
/// sign-in form's token (the same browser posts the next form).
pub(super) fn challenge_page(
    state: &AppState,
    lang: &str,
    signed_in: SignedIn,
    required: &MfaRequired,
    return_to: &str,
    remember: bool,
    csrf: &str,
) -> Response {
    let form = MfaForm {
        mfa_token: required.mfa_token.clone(),
        remember: remember.then(|| "1".to_owned()),
        return_to: return_to.to_owned(),
        csrf: csrf.to_owned(),
        ..MfaForm::default()
    };
    let methods: Vec<&str> = required.methods.iter().map(|m| m.as_str()).collect();
    let page = state.pages().render(
        lang,
        "mfa.html",
        TITLE,
        mfa_context(&form, &methods),
        PageOptions::OK,
    );
    signed_in.respond(page)
}

/// `/mfa` opened directly: there is no sign-in to finish, so to `/login`.
/// Needs nothing.
#[utoipa::path(get, path = "/mfa", tag = "pages",
    responses((status = 303, description = "To `/login`: the code form is the answer of a correct password there.")))]
pub async fn get_mfa_page() -> Response {
    Redirect::to("/login").into_response()
}

/// Finishes a sign-in whose password step asked for a second factor: the
/// `mfa_token` of that step, `method` (`totp` or `backup_code`) and the
/// code, or `webauthn` and `credential` (the passkey's answer as JSON, put
/// there by the page's script); then on to `return_to` (or `/account`) with the session cookie.
/// Needs the page's CSRF token, latchkey's `Origin` and the binding cookie
/// the password step set; the `login` quotas. A wrong code shows the form
/// again (five wrong codes end the token); an unknown, used or expired
/// token shows the sign-in form again.
#[utoipa::path(post, path = "/mfa", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`mfa_token`, `method`, `code` or `credential`, `remember`, `return_to`, `csrf`"),
    responses(
        (status = 303, description = "Signed in: on to `return_to` or `/account`."),
        (status = 400, description = "The form cannot be read; or the form again: the method is not available.", content_type = "text/html"),
        (status = 401, description = "The sign-in form again: the sign-in expired, was finished, was tried too often, or came from another browser.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`, or the form again: the code is wrong.", content_type = "text/html"),
        (status = 423, description = "The form again, saying the account is locked or suspended.", content_type = "text/html"),
        (status = 429, description = "The form again, saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_mfa_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<MfaForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(f) = form.map_err(|_| unreadable())?;
    csrf::check(&state, &headers, OriginRule::Exact, None, &f.csrf)?;
    let step = SignIn {
        state: &state,
        headers: &headers,
        client: &client,
        ip,
        kind: SessionKind::Cookie,
        // as the JSON route: the account is not known before the token is
        // read, so the token is the quota key; wrong codes count on the
        // account in core
        account: &f.mfa_token,
        pow: None,
        remember: f.remember.is_some(),
    };
    let signed_in = match f.method.as_str() {
        "webauthn" => {
            let answer = serde_json::from_str::<AuthenticationCredential>(&f.credential)
                .map_err(|_| PasskeyError::Refused("malformed"))
                .and_then(|c| c.decode());
            step.with_passkey_second_factor(&f.mfa_token, answer).await
        }
        method => step.with_second_factor(&f.mfa_token, method, &f.code).await,
    }
    .map_err(|e| refused(&state, &f, e))?;
    let target = state
        .pages()
        .return_target(&f.return_to, &state.cookies().origin);
    let mut response = signed_in.respond(Redirect::to(&target).into_response());
    // the token is used: its binding has nothing left to bind
    let cookies = state.cookies();
    set_cookie(
        response.headers_mut(),
        cookies.mfa_name(),
        "",
        0,
        cookies.secure,
    );
    Ok(response)
}

/// A refused second step as a page: a token that no longer works starts
/// the sign-in over; anything else shows the code form again, the reason
/// beside the code that was typed.
fn refused(state: &AppState, f: &MfaForm, e: ApiError) -> ApiError {
    if e.status() == StatusCode::UNAUTHORIZED && e.code() != "invalid_passkey" {
        let login = super::pages::LoginForm::returning_to(&f.return_to);
        return e.with_retry(Retry {
            template: "login.html",
            title: "login-title",
            context: super::pages::login_context(state, &login, &f.csrf),
        });
    }
    let e = match (e.code(), f.method.as_str()) {
        ("invalid_code", "backup_code") => e.on_field("backup_code"),
        ("invalid_code", _) => e.on_field("code"),
        _ => e,
    };
    // the methods are the account's; the form offers what it offered (a
    // refused passkey: the passkey again, or a new sign-in for the others)
    let methods: &[&str] = match f.method.as_str() {
        "webauthn" => &["webauthn"],
        _ => &["totp", "backup_code"],
    };
    let mut again = MfaForm {
        mfa_token: f.mfa_token.clone(),
        method: f.method.clone(),
        remember: f.remember.clone(),
        return_to: f.return_to.clone(),
        csrf: f.csrf.clone(),
        ..MfaForm::default()
    };
    if again.method != "backup_code" && again.method != "webauthn" {
        again.method = "totp".to_owned();
    }
    e.with_retry(Retry {
        template: "mfa.html",
        title: TITLE,
        context: mfa_context(&again, methods),
    })
}

/// The group: errors as pages. The code check has the `login` quotas.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page)
        .add(RouteClass::Api, routes!(get_mfa_page))
        .add(RouteClass::Login, routes!(post_mfa_page))
}
