//! The account center: `/account` (profile, email address, password,
//! sessions, deletion, one page with a section each) and
//! `/account/activity` (the account's own security log, paged).
//!
//! Every change is a POST form carrying the session's CSRF token from
//! latchkey's own origin (`pages::csrf`), done by the same core services
//! as the JSON API (`/v1/account/*`), with the same per-account quotas.
//! A change that succeeds redirects back to `/account` (POST-redirect-GET)
//! with a one-shot notice cookie naming what was done; the page shows it
//! once. A refused change shows the page again with the reasons beside
//! their fields. Changes that need a recent authentication in the JSON
//! API (email change, deletion) ask for the current password in the form
//! and re-authenticate with it first (`POST /v1/auth/reauth`'s rules).
//!
//! Without a session, a form POST still has its CSRF token checked (the
//! pre-sign-in one), then goes to the sign-in page.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::accounts::ProfilePatch;
use latchkey_core::sessions::Principal;
use minijinja::{Value, context};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::routes;

use super::Routes;
use super::lifecycle::account_limits;
use super::pages::{signed_in, unreadable};
use super::views::{ActivityView, SessionView, UserView, rfc3339};
use crate::cookies::{cookie_value, set_cookie};
use crate::error::ApiError;
use crate::extract::Query;
use crate::pages::csrf::{self, OriginRule};
use crate::pages::lang::Lang;
use crate::pages::{PageOptions, Retry};
use crate::principal::{ClientAddr, ClientMeta};
use crate::render::Renderer;
use crate::state::AppState;

/// The account page's title (a catalogue key).
pub(super) const TITLE: &str = "account-title";

/// Where a page goes without a session.
const SIGN_IN_FIRST: &str = "/login?return_to=/account";

/// Events per page of `/account/activity`.
const ACTIVITY_PAGE: u32 = 20;

/// The values of the account page: the account, its sessions, the
/// session's CSRF token, the notice to show, and, after a refused form,
/// which form (`failed`) and what was typed (`typed`).
pub(super) async fn account_context(
    state: &AppState,
    who: &Principal,
    notice: Option<String>,
    failed: &str,
    typed: Value,
) -> Result<Value, ApiError> {
    let sessions: Vec<SessionView> = state
        .auth()
        .user_sessions(&who.user_id)
        .await?
        .into_iter()
        .map(|s| SessionView::new(s, &who.session.id))
        .collect();
    let security = super::account_security::security_values(state, who).await?;
    let enrolment_required = state.mfa().enrolment_required(&who.user_id).await?;
    let passkeys: Vec<super::passkeys::PasskeyView> = state
        .passkeys()
        .list(&who.user_id)
        .await?
        .iter()
        .map(super::passkeys::PasskeyView::of)
        .collect();
    let identities = super::federation::identity_views(state, &who.user_id).await?;
    Ok(context! {
        account => Value::from_serialize(UserView::from(who.user.clone())),
        sessions => Value::from_serialize(&sessions),
        passkeys => Value::from_serialize(&passkeys),
        link_providers => Value::from_serialize(super::account_identities::linkable(state, &identities)),
        identities => Value::from_serialize(&identities),
        csrf => state.auth().csrf_token(&who.session.id),
        notice => notice,
        failed => failed,
        typed => typed,
        deletion_grace_days => state.recovery().deletion_grace().whole_days(),
        errors => Vec::<Value>::new(),
        enrolment_required => enrolment_required,
        has_password => who.user.password_hash.is_some(),
        ..security
    })
}

/// The account center. Needs the session cookie; without one, the sign-in
/// page (coming back here afterwards).
#[utoipa::path(get, path = "/account", tag = "pages",
    responses(
        (status = 200, description = "The account: profile, email address, password, sessions, deletion.", content_type = "text/html"),
        (status = 303, description = "Not signed in: to `/login`."),
    ))]
pub async fn get_account_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(who) = signed_in(&state, &headers).await else {
        return Ok(Redirect::to(SIGN_IN_FIRST).into_response());
    };
    let cookies = state.cookies();
    let notice = cookie_value(&headers, cookies.flash_name());
    let ctx = account_context(&state, &who, notice.clone(), "", context! {}).await?;
    let mut page = state
        .pages()
        .render(&lang.tag, "account.html", TITLE, ctx, PageOptions::OK);
    if notice.is_some() {
        // shown once
        set_cookie(
            page.headers_mut(),
            cookies.flash_name(),
            "",
            0,
            cookies.secure,
        );
    }
    Ok(page)
}

/// What an account form's POST came to.
pub(super) enum Attempt<T> {
    /// Done by the signed-in sender.
    Done(T, Box<Principal>),
    /// No session: on to the sign-in page.
    SignedOut(Response),
}

/// A submitted account form: its CSRF token, and what it keeps of what was
/// typed when it is refused (never a password).
pub(super) trait Submitted: serde::de::DeserializeOwned + Send {
    fn csrf(&self) -> &str;
    fn typed(&self) -> Value {
        context! {}
    }
}

/// Back to the account page's `section`, which then says `notice` once.
fn done(state: &AppState, notice: &str, section: &str) -> Response {
    let mut response = Redirect::to(&format!("/account#{section}")).into_response();
    let cookies = state.cookies();
    set_cookie(
        response.headers_mut(),
        cookies.flash_name(),
        notice,
        60,
        cookies.secure,
    );
    response
}

/// One of the account page's forms: its name (the section's id, and
/// `failed` when it is refused), the form field that takes refusals of the
/// password it asks for, and the form fields core's field names stand for.
pub(super) struct AccountForm {
    pub(super) name: &'static str,
    /// Whether a session that must enrol a second factor first
    /// (`mfa.required_for_roles`) may use it.
    pub(super) while_enrolling: bool,
    pub(super) password_field: Option<&'static str>,
    pub(super) fields: &'static [(&'static str, &'static str)],
}

impl AccountForm {
    /// `error` as this form shows it: its fields named as the form names
    /// them, a refused password beside the password field.
    pub(super) fn error(&self, error: impl Into<ApiError>) -> ApiError {
        let error = error.into().with_field_names(self.fields);
        match (error.code(), self.password_field) {
            ("wrong_password", Some(field)) => error.on_field(field),
            ("username_taken", _) => error.on_field("username"),
            ("email_taken", _) => error.on_field("new_email"),
            _ => error,
        }
    }

    /// Reads a submitted form and checks its origin and CSRF token (the
    /// session's when signed in, else the pre-sign-in one, and then on to
    /// the sign-in page); then `act` as the sender. A refusal shows the
    /// account page again with the reasons in this form's section.
    pub(super) async fn attempt<F: Submitted, T>(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        form: Result<Form<F>, FormRejection>,
        act: impl AsyncFnOnce(&Principal, &F) -> Result<T, ApiError>,
    ) -> Result<Attempt<T>, ApiError> {
        let Form(f) = form.map_err(|_| unreadable())?;
        let who = signed_in(state, headers).await;
        let session = who.as_ref().map(|w| w.session.id.as_str());
        csrf::check(state, headers, OriginRule::Exact, session, f.csrf())?;
        let Some(who) = who else {
            return Ok(Attempt::SignedOut(
                Redirect::to(SIGN_IN_FIRST).into_response(),
            ));
        };
        let gate = match self.while_enrolling {
            true => Ok(()),
            false => state.mfa().require_enrolled_if_required(&who).await,
        };
        let result = match gate {
            Ok(()) => act(&who, &f).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(value) => Ok(Attempt::Done(value, Box::new(who))),
            Err(error) => Err(
                match account_context(state, &who, None, self.name, f.typed()).await {
                    Ok(context) => error.with_retry(Retry {
                        template: "account.html",
                        title: TITLE,
                        context,
                    }),
                    Err(_) => error,
                },
            ),
        }
    }

    /// [`AccountForm::attempt`], then back to this form's section of the
    /// account page, which says `notice` once.
    pub(super) async fn submit<F: Submitted>(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        form: Result<Form<F>, FormRejection>,
        notice: &str,
        act: impl AsyncFnOnce(&Principal, &F) -> Result<(), ApiError>,
    ) -> Result<Response, ApiError> {
        Ok(match self.attempt(state, headers, form, act).await? {
            Attempt::Done((), _) => done(state, notice, self.name),
            Attempt::SignedOut(redirect) => redirect,
        })
    }
}

const PROFILE: AccountForm = AccountForm {
    name: "profile",
    while_enrolling: false,
    password_field: None,
    fields: &[],
};
const EMAIL: AccountForm = AccountForm {
    name: "email",
    while_enrolling: false,
    password_field: Some("email_password"),
    fields: &[("email", "new_email")],
};
const PASSWORD: AccountForm = AccountForm {
    name: "password",
    while_enrolling: false,
    password_field: Some("current_password"),
    fields: &[],
};
const SESSIONS: AccountForm = AccountForm {
    name: "sessions",
    while_enrolling: false,
    password_field: None,
    fields: &[],
};
const VERIFY: AccountForm = AccountForm {
    name: "verify",
    while_enrolling: false,
    password_field: None,
    fields: &[],
};
const DELETE: AccountForm = AccountForm {
    name: "delete",
    while_enrolling: false,
    password_field: Some("delete_password"),
    fields: &[],
};

/// The profile form.
#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for ProfileForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn typed(&self) -> Value {
        context! { username => &self.username, name => &self.name }
    }
}

/// A blank field clears the value.
fn cleared_if_blank(value: &str) -> Option<Option<String>> {
    let value = value.trim();
    Some((!value.is_empty()).then(|| value.to_owned()))
}

/// Changes the username and display name (blank removes them). Needs the
/// session cookie and its CSRF token; the rules of `PATCH /v1/account`.
#[utoipa::path(post, path = "/account/profile", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`username`, `name`, `csrf`"),
    responses(
        (status = 303, description = "Saved: back to `/account` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`.", content_type = "text/html"),
        (status = 409, description = "The page again: the username is taken.", content_type = "text/html"),
        (status = 422, description = "The page again, each refused field saying why.", content_type = "text/html"),
    ))]
pub async fn post_profile_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    form: Result<Form<ProfileForm>, FormRejection>,
) -> Result<Response, ApiError> {
    PROFILE
        .submit(&state, &headers, form, "profile_saved", async |who, f| {
            let patch = ProfilePatch {
                username: cleared_if_blank(&f.username),
                name: cleared_if_blank(&f.name),
                locale: None,
            };
            state
                .accounts()
                .update_account(&who.user_id, patch, &client)
                .await
                .map(|_| ())
                .map_err(|e| PROFILE.error(e))
        })
        .await
}

/// The email change form.
#[derive(Debug, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for EmailForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }

    fn typed(&self) -> Value {
        context! { new_email => &self.new_email }
    }
}

/// Re-authenticates `who` with `password` (the rules and quotas of
/// `POST /v1/auth/reauth`): the step before an email change or deletion.
pub(super) async fn reauthenticate(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    who: &Principal,
    password: &str,
    form: &AccountForm,
) -> Result<(), ApiError> {
    account_limits(state, RouteClass::Login, ip, &who.user.email_normalized).await?;
    // with a second factor, only a session that passed it (as the JSON routes)
    state.mfa().require_aal2_if_enrolled(who).await?;
    state
        .recovery()
        .reauthenticate(who, password)
        .await
        .map_err(|e| form.error(e))?;
    Ok(())
}

/// Starts an email change: the current password re-authenticates, then a
/// confirmation link goes to the new address (the account keeps its
/// address until the link is opened) and the current address is told.
/// Needs the session cookie and its CSRF token; the rules and quotas of
/// `POST /v1/auth/reauth` and `POST /v1/account/email`.
#[utoipa::path(post, path = "/account/email", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`new_email`, `password`, `csrf`"),
    responses(
        (status = 303, description = "The link is on its way: back to `/account` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: the password is wrong.", content_type = "text/html"),
        (status = 409, description = "The page again: the address belongs to another account.", content_type = "text/html"),
        (status = 422, description = "The page again, each refused field saying why.", content_type = "text/html"),
        (status = 423, description = "The page again: the account is locked after too many wrong passwords.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
        (status = 503, description = "The page again, saying to retry.", content_type = "text/html"),
    ))]
pub async fn post_email_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<EmailForm>, FormRejection>,
) -> Result<Response, ApiError> {
    EMAIL
        .submit(
            &state,
            &headers,
            form,
            "email_change_sent",
            async |who, f| {
                reauthenticate(&state, ip, who, &f.password, &EMAIL).await?;
                account_limits(&state, RouteClass::Mail, ip, &who.user.email_normalized).await?;
                state
                    .recovery()
                    .request_email_change(who, &f.new_email, &client)
                    .await
                    .map_err(|e| EMAIL.error(e))
            },
        )
        .await
}

/// The password change form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Changes the password; every other session ends, this one stays, and a
/// notice is mailed. Needs the session cookie and its CSRF token, and the
/// current password; the rules and quotas of `POST /v1/account/password`.
#[utoipa::path(post, path = "/account/password", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`current_password`, `new_password`, `csrf`"),
    responses(
        (status = 303, description = "Changed: back to `/account` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: the current password is wrong.", content_type = "text/html"),
        (status = 422, description = "The page again: the new password is refused, saying why.", content_type = "text/html"),
        (status = 423, description = "The page again: the account is locked after too many wrong passwords.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
        (status = 503, description = "The page again, saying to retry.", content_type = "text/html"),
    ))]
pub async fn post_password_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Result<Response, ApiError> {
    PASSWORD
        .submit(
            &state,
            &headers,
            form,
            "password_changed",
            async |who, f| {
                account_limits(&state, RouteClass::Login, ip, &who.user.email_normalized).await?;
                state.mfa().require_aal2_if_enrolled(who).await?;
                state
                    .recovery()
                    .change_password(who, &f.current_password, &f.new_password, &client)
                    .await
                    .map_err(|e| PASSWORD.error(e))?;
                metrics::counter!("latchkey_password_changes_total").increment(1);
                Ok(())
            },
        )
        .await
}

/// The form that ends one session.
#[derive(Debug, Deserialize)]
pub struct EndSessionForm {
    #[serde(default)]
    session: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for EndSessionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Ends one of the user's sessions (signs that device out). Needs the
/// session cookie and its CSRF token; the rules of
/// `DELETE /v1/account/sessions/{id}` (another user's session is not found).
#[utoipa::path(post, path = "/account/sessions/end", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`session`, `csrf`"),
    responses(
        (status = 303, description = "Ended: back to `/account` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`.", content_type = "text/html"),
        (status = 404, description = "The page again: no such active session of yours.", content_type = "text/html"),
    ))]
pub async fn post_end_session_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    form: Result<Form<EndSessionForm>, FormRejection>,
) -> Result<Response, ApiError> {
    SESSIONS
        .submit(&state, &headers, form, "session_ended", async |who, f| {
            state
                .sessions()
                .end_session(&who.user_id, &f.session, &client)
                .await
                .map_err(|e| SESSIONS.error(e))
        })
        .await
}

/// The forms that carry nothing but their CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenOnlyForm {
    #[serde(default)]
    csrf: String,
}

impl Submitted for TokenOnlyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Ends every other session of the user (signs out everywhere else).
/// Needs the session cookie and its CSRF token; the rules of
/// `DELETE /v1/account/sessions`.
#[utoipa::path(post, path = "/account/sessions/end-others", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`"),
    responses(
        (status = 303, description = "Ended: back to `/account` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`.", content_type = "text/html"),
    ))]
pub async fn post_end_other_sessions_page(
    State(state): State<AppState>,
    ClientMeta(client): ClientMeta,
    headers: HeaderMap,
    form: Result<Form<TokenOnlyForm>, FormRejection>,
) -> Result<Response, ApiError> {
    SESSIONS
        .submit(
            &state,
            &headers,
            form,
            "other_sessions_ended",
            async |who, _| {
                state
                    .sessions()
                    .end_sessions(&who.user_id, Some(&who.session.id), &client)
                    .await
                    .map(|_| ())
                    .map_err(|e| SESSIONS.error(e))
            },
        )
        .await
}

/// Sends the verification mail again (nothing for a verified address).
/// Needs the session cookie and its CSRF token; the quotas of
/// `POST /v1/account/verify-email`.
#[utoipa::path(post, path = "/account/verify-email", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`"),
    responses(
        (status = 303, description = "Sent: back to `/account` (or, signed out, to `/login`)."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
    ))]
pub async fn post_resend_verification_page(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<TokenOnlyForm>, FormRejection>,
) -> Result<Response, ApiError> {
    VERIFY
        .submit(
            &state,
            &headers,
            form,
            "verification_sent",
            async |who, _| {
                account_limits(&state, RouteClass::Mail, ip, &who.user.email_normalized).await?;
                state
                    .recovery()
                    .resend_verification(who)
                    .await
                    .map_err(|e| VERIFY.error(e))
            },
        )
        .await
}

/// The deletion form.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

impl Submitted for DeleteForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Deletes the account after the grace period: the current password
/// re-authenticates, then every session ends, signing in is refused, and a
/// link to cancel is mailed. Needs the session cookie and its CSRF token;
/// the rules and quotas of `POST /v1/auth/reauth` and `DELETE /v1/account`.
/// The answer is a page (the session has ended, so there is no account
/// page to go back to) saying when the data goes and how to cancel.
#[utoipa::path(post, path = "/account/delete", tag = "pages",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`password`, `csrf`"),
    responses(
        (status = 200, description = "Scheduled; the session cookie is removed.", content_type = "text/html"),
        (status = 303, description = "Signed out: to `/login`."),
        (status = 400, description = "The form cannot be read.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`; or the page again: the password is wrong.", content_type = "text/html"),
        (status = 423, description = "The page again: the account is locked after too many wrong passwords.", content_type = "text/html"),
        (status = 429, description = "The page again, saying to wait.", content_type = "text/html"),
        (status = 503, description = "The page again, saying to retry.", content_type = "text/html"),
    ))]
pub async fn post_delete_page(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(client): ClientMeta,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    form: Result<Form<DeleteForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let attempt = DELETE
        .attempt(&state, &headers, form, async |who, f| {
            reauthenticate(&state, ip, who, &f.password, &DELETE).await?;
            state
                .recovery()
                .schedule_deletion(who, &client)
                .await
                .map_err(|e| DELETE.error(e))
        })
        .await?;
    let (due, who) = match attempt {
        Attempt::Done(due, who) => (due, who),
        Attempt::SignedOut(redirect) => return Ok(redirect),
    };
    metrics::counter!("latchkey_account_deletions_requested_total").increment(1);
    let mut page = state.pages().render(
        &lang.tag,
        "deleted.html",
        "deleted-title",
        context! {
            due => rfc3339(due),
            due_date => due.date().to_string(),
            email => &who.user.email,
        },
        PageOptions::OK,
    );
    let cookies = state.cookies();
    set_cookie(page.headers_mut(), cookies.name(), "", 0, cookies.secure);
    Ok(page)
}

/// A page of the activity log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityPageQuery {
    /// Where the page starts: the `cursor` of the previous page's "older" link.
    cursor: Option<String>,
}

/// The account's own security log, newest first, 20 events a page: what
/// `GET /v1/account/activity` lists. Needs the session cookie; without
/// one, the sign-in page.
#[utoipa::path(get, path = "/account/activity", tag = "pages", params(ActivityPageQuery),
    responses(
        (status = 200, description = "A page of events.", content_type = "text/html"),
        (status = 303, description = "Not signed in: to `/login`."),
        (status = 422, description = "The cursor cannot be read.", content_type = "text/html"),
    ))]
pub async fn get_activity_page(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Query(q): Query<ActivityPageQuery>,
) -> Result<Response, ApiError> {
    let Some(who) = signed_in(&state, &headers).await else {
        return Ok(Redirect::to("/login?return_to=/account/activity").into_response());
    };
    state.mfa().require_enrolled_if_required(&who).await?;
    let cursor = super::admin::cursor(q.cursor)?;
    let me = who.user_id.as_str();
    let events = state
        .accounts()
        .activity(me, cursor, ACTIVITY_PAGE + 1)
        .await?;
    let (items, next_cursor) = super::admin::paged(events, ACTIVITY_PAGE, |e| e.id.clone());
    let events: Vec<ActivityView> = items
        .into_iter()
        .map(|e| ActivityView::new(e, me))
        .collect();
    Ok(state.pages().render(
        &lang.tag,
        "activity.html",
        "activity-title",
        context! {
            events => Value::from_serialize(&events),
            next_cursor => next_cursor,
            current_session => &who.session.id,
        },
        PageOptions::OK,
    ))
}

/// The group: errors as pages. Forms that check a password have the
/// `login` quotas, the one that only sends mail `mail`.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page)
        .add(RouteClass::Api, routes!(get_account_page))
        .add(RouteClass::Api, routes!(post_profile_page))
        .add(RouteClass::Login, routes!(post_email_page))
        .add(RouteClass::Login, routes!(post_password_page))
        .add(RouteClass::Api, routes!(post_end_session_page))
        .add(RouteClass::Api, routes!(post_end_other_sessions_page))
        .add(RouteClass::Mail, routes!(post_resend_verification_page))
        .add(RouteClass::Login, routes!(post_delete_page))
        .add(RouteClass::Api, routes!(get_activity_page))
}
