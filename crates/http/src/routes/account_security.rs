//! The account center's security section (issue 14 item 7): two-step
//! sign-in on the hosted pages, through the same `Mfa` service as
//! `/v1/account/mfa/*`.
//!
//! Turning it on is two forms: the first starts an enrolment (a recent
//! sign-in, or the password typed again) and goes back to `/account`, which
//! then shows the QR code (an `<img>` of an SVG `data:` URI, so nothing runs
//! and the page's CSP allows it), the key to type by hand, and the form for
//! the first code; that code turns it on and the answer is the account page
//! showing the ten backup codes once, with a `data:` link to save them as
//! text. Making new codes and turning it off need a recent sign-in with the
//! second factor: a code typed in the form (from the app, or a backup code)
//! re-authenticates as `POST /v1/auth/reauth` does, or, left blank, the
//! session must have passed the factor within `accounts.reauth_max_age`.
//! Every form uses `AccountForm` (CSRF, origin, refusals shown in the
//! section), and each checks a secret the user knows, so each has the
//! `login` quotas.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine;
use latchkey_core::abuse::RouteClass;
use latchkey_core::sessions::Principal;
use minijinja::{Value, context};
use serde::Deserialize;
use utoipa_axum::routes;

use super::Routes;
use super::account_center::{
    AccountForm, Attempt, Submitted, TITLE, account_context, reauthenticate,
};
use super::lifecycle::account_limits;
use crate::error::ApiError;
use crate::pages::PageOptions;
use crate::pages::lang::Lang;
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::state::AppState;

const SECURITY: AccountForm = AccountForm {
    name: "security",
    while_enrolling: true,
    password_field: Some("security_password"),
    fields: &[],
};

/// The security section's values of the account page: `mfa` (`enabled`,
/// `pending`, `backup_codes_left`), `enrolment` (the one under way:
/// `secret`, `otpauth_uri`, `qr` as a `data:` URI; or none), and
/// `backup_codes` with `backup_codes_download` (only on the answer that
/// made them; else none).
pub(super) async fn security_values(state: &AppState, who: &Principal) -> Result<Value, ApiError> {
    let mfa = state.mfa();
    let status = mfa.status(&who.user_id).await?;
    let enrolment = match mfa.pending_totp(&who.user).await? {
        Some(e) => Some(context! {
            qr => format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD
                    .encode(super::mfa::qr_svg(&e.otpauth_uri)?)
            ),
            secret => e.secret,
            otpauth_uri => e.otpauth_uri,
        }),
        None => None,
    };
    Ok(context! {
        mfa => context! {
            enabled => status.enabled(),
            pending => enrolment.is_some(),
            backup_codes_left => status.backup_codes_left,
        },
        enrolment => enrolment,
        backup_codes => Option::<Vec<String>>::None,
        backup_codes_download => Option::<String>::None,
    })
}

/// The account page showing the codes a form made this once, with
/// `notice` (or, signed out, the way to the sign-in page).
async fn codes_page(
    state: &AppState,
    lang: &Lang,
    attempt: Attempt<Vec<String>>,
    notice: &str,
) -> Result<Response, ApiError> {
    let (codes, who) = match attempt {
        Attempt::Done(codes, who) => (codes, who),
        Attempt::SignedOut(redirect) => return Ok(redirect),
    };
    let text = format!("{}\n", codes.join("\n"));
    let download = format!(
        "data:text/plain;charset=utf-8;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(text)
    );
    let page = account_context(state, &who, Some(notice.to_owned()), "", context! {}).await?;
    let ctx = context! {
        backup_codes => codes,
        backup_codes_download => download,
        ..page
    };
    Ok(state
        .pages()
        .render(&lang.tag, "account.html", TITLE, ctx, PageOptions::OK))
}

/// The form that starts an enrolment: the password, needed only when the
/// session's sign-in is not recent.
#[derive(Debug, Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for EnrolForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The forms that carry a code: the first one (confirming), or, for
/// changes, one that re-authenticates with the second factor (blank: the
/// session's recent one counts).
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Which method a typed code is: six digits from the app, else a backup
/// code.
fn method_of(code: &str) -> &'static str {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        "totp"
    } else {
        "backup_code"
    }
}

/// A recent authentication with the second factor: `code` re-authenticates
/// now (the rules and quotas of `POST /v1/auth/reauth`), or, blank, the
/// session must have passed the factor recently.
async fn with_factor(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    client: &latchkey_core::auth::ClientInfo,
    who: &Principal,
    code: &str,
) -> Result<(), ApiError> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(state.mfa().require_recent(who).await?);
    }
    account_limits(state, RouteClass::Login, ip, &who.user.email_normalized).await?;
    state
        .mfa()
        .reauthenticate(who, method_of(code), code, client)
        .await?;
    Ok(())
}

/// Starts turning two-step sign-in on: a new secret, pending until the
/// first code; back to `/account`, which shows the QR code and the key.
/// Needs the session cookie and its CSRF token, and a recent sign-in or
/// the password; the rules of `POST /v1/account/mfa/totp`.
#[utoipa::path(post, path = "/account/security/totp", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`password` (only when the sign-in is not recent), `csrf`"),
    responses(
        (status = 303, description = "Started: back to `/account#security` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: `reauth_required`, or the password is wrong.", content_type = "text/html"),
        (status = 409, description = "The page again: `mfa_already_enabled`.", content_type = "text/html"),
        (status = 423, description = "The page again: the account is locked after too many wrong passwords.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
        (status = 503, description = "The page again, saying to retry.", content_type = "text/html"),
    ))]
pub async fn post_totp_page(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<EnrolForm>, FormRejection>,
) -> Result<Response, ApiError> {
    SECURITY
        .submit(&state, &headers, form, "totp_started", async |who, f| {
            if f.password.is_empty() {
                state.mfa().require_recent(who).await?;
            } else {
                reauthenticate(&state, ip, who, &f.password, &SECURITY).await?;
            }
            state.mfa().start_totp(who).await?;
            Ok(())
        })
        .await
}

/// Turns two-step sign-in on with the app's first code: this session
/// counts as having passed it, the account's other sessions end, and the
/// answer shows the ten backup codes this once (with a link to save them
/// as text). Needs the session cookie and its CSRF token; the rules of
/// `POST /v1/account/mfa/totp/confirm`.
#[utoipa::path(post, path = "/account/security/totp/confirm", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`code`, `csrf`"),
    responses(
        (status = 200, description = "On: the account page showing the backup codes once.", content_type = "text/html"),
        (status = 303, description = "Signed out: to `/login`."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: `invalid_code`.", content_type = "text/html"),
        (status = 409, description = "The page again: `no_pending_enrolment` or `mfa_already_enabled`.", content_type = "text/html"),
        (status = 423, description = "The page again: the account is locked after too many wrong codes.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_totp_confirm_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let attempt = SECURITY
        .attempt(&state, &headers, form, async |who, f| {
            account_limits(&state, RouteClass::Login, ip, &who.user.email_normalized).await?;
            Ok(state
                .mfa()
                .confirm_totp(who, f.code.trim(), &client)
                .await?)
        })
        .await?;
    codes_page(&state, &lang, attempt, "mfa_enabled").await
}

/// Makes ten new backup codes (the old ones stop working), shown this once.
/// Needs the session cookie and its CSRF token, and a recent sign-in with
/// the second factor or a code; the rules of
/// `POST /v1/account/mfa/backup-codes`.
#[utoipa::path(post, path = "/account/security/backup-codes", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`code` (blank when the sign-in with the second factor is recent), `csrf`"),
    responses(
        (status = 200, description = "The account page showing the new codes once.", content_type = "text/html"),
        (status = 303, description = "Signed out: to `/login`."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: `invalid_code`, `reauth_required`, `mfa_required`.", content_type = "text/html"),
        (status = 409, description = "The page again: `mfa_not_enabled`.", content_type = "text/html"),
        (status = 423, description = "The page again: the account is locked after too many wrong codes.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_backup_codes_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let attempt = SECURITY
        .attempt(&state, &headers, form, async |who, f| {
            with_factor(&state, ip, &client, who, &f.code).await?;
            Ok(state.mfa().regenerate_backup_codes(who, &client).await?)
        })
        .await?;
    codes_page(&state, &lang, attempt, "backup_codes_regenerated").await
}

/// Turns two-step sign-in off: the authenticator and the backup codes go,
/// the owner is mailed. Needs the session cookie and its CSRF token, and a
/// recent sign-in with the second factor or a code; the rules of
/// `DELETE /v1/account/mfa/totp`.
#[utoipa::path(post, path = "/account/security/totp/disable", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`code` (blank when the sign-in with the second factor is recent), `csrf`"),
    responses(
        (status = 303, description = "Off: back to `/account#security` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: `invalid_code`, `reauth_required`, `mfa_required`.", content_type = "text/html"),
        (status = 409, description = "The page again: `mfa_not_enabled`.", content_type = "text/html"),
        (status = 423, description = "The page again: the account is locked after too many wrong codes.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_totp_disable_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Result<Response, ApiError> {
    SECURITY
        .submit(&state, &headers, form, "mfa_disabled", async |who, f| {
            with_factor(&state, ip, &client, who, &f.code).await?;
            Ok(state.mfa().disable_totp(who, &client).await?)
        })
        .await
}

/// The group: errors as pages; every form checks a secret the user knows.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page)
        .add(RouteClass::Login, routes!(post_totp_page))
        .add(RouteClass::Login, routes!(post_totp_confirm_page))
        .add(RouteClass::Login, routes!(post_backup_codes_page))
        .add(RouteClass::Login, routes!(post_totp_disable_page))
}
