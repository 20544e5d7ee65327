//! The authorization endpoint (`/oauth2/authorize`, GET and POST) and its
//! consent page.
//!
//! An unknown client or a redirect URI the client did not register gets an
//! error page, never a redirect; every other refusal goes back to the
//! registered redirect URI as `error=` with `state` and `iss` (RFC 9207).
//! Without a browser session the person goes to `/login?return_to=` and
//! comes back here (the cookie session is the SSO across clients). A
//! third-party client gets the consent page (its form posts back here with
//! the page's CSRF token); consent is remembered per (user, client).
//! The rules are `latchkey_core::oauth::authorize` (pure, table-tested).

use crate::principal::ClientMeta;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use latchkey_core::abuse::RouteClass;
use latchkey_core::auth::ClientInfo;
use latchkey_core::oauth::authorize::{
    AuthorizeParams, Checked, Next, PageError, Presence, RedirectError, ResponseMode, Routed,
};
use latchkey_core::oauth::{OAuthClient, OAuthError as CoreError};
use latchkey_core::sessions::Principal;
use minijinja::context;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use utoipa_axum::routes;

use super::Routes;
use super::pages::signed_in;
use crate::error::ApiError;
use crate::extract::Query;
use crate::pages::csrf::{self, OriginRule};
use crate::pages::lang::Lang;
use crate::pages::{PageOptions, web_origin};
use crate::render::Renderer;
use crate::state::AppState;

/// Everything but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// The request's non-empty parameters, in a stable order.
fn fields(p: &AuthorizeParams) -> Vec<(String, String)> {
    match serde_json::to_value(p) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                serde_json::Value::String(s) if !s.is_empty() => Some((k, s)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn page_error(e: PageError) -> ApiError {
    let detail = match e {
        PageError::UnknownClient => "The request names an unknown client.",
        PageError::BadRedirectUri => {
            "The redirect_uri is missing or not registered for this client; nothing was sent to it."
        }
    };
    ApiError::new(
        StatusCode::BAD_REQUEST,
        e.code(),
        "Invalid authorization request",
        detail,
    )
}

/// The authorization response (or error) at the redirect URI: in its query
/// (a 303), or as an auto-submitted form (`form_post`).
fn respond(
    state: &AppState,
    lang: &str,
    routed: &Routed,
    mut params: Vec<(&'static str, String)>,
) -> Response {
    if let Some(s) = &routed.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", state.auth().config().issuer.clone()));
    let mut response = match routed.mode {
        ResponseMode::Query => {
            let mut url = routed.redirect_uri.clone();
            let mut sep = if url.contains('?') { '&' } else { '?' };
            for (k, v) in &params {
                url.push(sep);
                url.push_str(k);
                url.push('=');
                url.push_str(&enc(v));
                sep = '&';
            }
            Redirect::to(&url).into_response()
        }
        ResponseMode::FormPost => {
            let fields: Vec<_> = params
                .iter()
                .map(|(k, v)| context! { name => k, value => v })
                .collect();
            state.pages().render_posting_to(
                lang,
                "form_post.html",
                "form_post-title",
                context! { action => &routed.redirect_uri, fields => fields },
                PageOptions {
                    referrer: "no-referrer",
                    ..PageOptions::OK
                },
                web_origin(&routed.redirect_uri).as_deref(),
            )
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refuse(state: &AppState, lang: &str, routed: &Routed, e: RedirectError) -> Response {
    respond(
        state,
        lang,
        routed,
        vec![
            ("error", e.error.to_owned()),
            ("error_description", e.description.to_owned()),
        ],
    )
}

/// The consent page for `req` from `client`.
fn consent_page(
    state: &AppState,
    lang: &str,
    who: &Principal,
    client: &OAuthClient,
    params: &AuthorizeParams,
    routed: &Routed,
) -> Response {
    let pages = state.pages();
    let scopes: Vec<_> = params
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let text = pages
                .catalogue()
                .get(lang, &format!("consent-scope-{s}"), &[])
                .or_else(|| {
                    state
                        .auth()
                        .config()
                        .scopes
                        .description(s)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            context! { name => s, text => text }
        })
        .collect();
    let hidden: Vec<_> = fields(params)
        .into_iter()
        .map(|(name, value)| context! { name => name, value => value })
        .collect();
    let mut response = pages.render_posting_to(
        lang,
        "consent.html",
        "consent-title",
        context! {
            client_name => &client.client.name,
            scopes => scopes,
            fields => hidden,
            csrf => state.auth().csrf_token(&who.session.id),
        },
        PageOptions::OK,
        web_origin(&routed.redirect_uri).as_deref(),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The consent form's own fields, besides the request's.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuthorizeForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    /// The consent page's CSRF token.
    csrf: String,
    /// `allow` or `deny` (the consent page's buttons).
    decision: String,
}

/// Handles an authorization request; `decision` is the consent page's
/// answer (its CSRF token already checked against the session).
async fn authorize(
    state: &AppState,
    lang: &str,
    headers: &HeaderMap,
    params: AuthorizeParams,
    decision: Option<(&str, &str, &ClientInfo)>,
) -> Result<Response, ApiError> {
    let oauth = state.oauth();
    // `ui_locales` picks the pages' language among the shipped ones
    let asked = crate::pages::lang::from_ui_locales(state.pages().catalogue(), &params.ui_locales);
    let lang = asked.unwrap_or(lang);
    let client = match oauth.registered(&params.client_id).await {
        Ok(c) => Some(c),
        Err(CoreError::UnknownClient) => None,
        Err(e) => return Err(e.into()),
    };
    let routed = params.route(client.as_ref()).map_err(page_error)?;
    let Some(client) = client else {
        return Err(page_error(PageError::UnknownClient));
    };
    let mut req: Checked = match params.check(&client, routed.clone()) {
        Ok(r) => r,
        Err(e) => return Ok(refuse(state, lang, &routed, e)),
    };
    let who = signed_in(state, headers).await;
    let mut consented = match &who {
        Some(w) => oauth.consented(&w.user_id, &client, &req.scope).await?,
        None => false,
    };
    if let (Some(w), Some((csrf_token, answer, from))) = (&who, decision) {
        csrf::check(
            state,
            headers,
            OriginRule::Exact,
            Some(&w.session.id),
            csrf_token,
        )?;
        if answer != "allow" {
            return Ok(refuse(
                state,
                lang,
                &routed,
                RedirectError {
                    error: "access_denied",
                    description: "the person declined",
                },
            ));
        }
        oauth
            .remember_consent(&w.user_id, &client.client.id, &req.scope, from)
            .await?;
        consented = true;
        req.prompt.consent = false;
    }
    let now = state.auth().clock().now();
    let presence = who.as_ref().map(|w| Presence {
        auth_time: w.session.auth_time,
        amr: &w.session.amr,
    });
    match Next::decide(&req, presence, consented, now) {
        Next::SignIn => {
            let back = fields(&params.after_sign_in())
                .iter()
                .map(|(k, v)| format!("{k}={}", enc(v)))
                .collect::<Vec<_>>()
                .join("&");
            let return_to = format!("/oauth2/authorize?{back}");
            let mut login = format!("/login?return_to={}", enc(&return_to));
            if let Some(hint) = &req.login_hint {
                login.push_str(&format!("&login_hint={}", enc(hint)));
            }
            if let Some(tag) = asked {
                login.push_str(&format!("&lang={}", enc(tag)));
            }
            Ok(Redirect::to(&login).into_response())
        }
        Next::Consent => match &who {
            Some(w) => Ok(consent_page(state, lang, w, &client, &params, &routed)),
            None => Err(ApiError::internal("consent without a session")),
        },
        Next::Refuse(e) => Ok(refuse(state, lang, &routed, e)),
        Next::Issue => {
            let Some(w) = &who else {
                return Err(ApiError::internal("issue without a session"));
            };
            let code = oauth.approve(&client, &req, &w.session).await?;
            Ok(respond(state, lang, &routed, vec![("code", code)]))
        }
    }
}

/// The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core
/// §3.1.2). Needs nothing; the person signs in on `/login` when there is no
/// browser session. `response_type=code` only; PKCE S256 (required of
/// public clients; `plain` refused); `state`, `nonce`, `prompt` (`none`,
/// `login`, `consent`, `select_account`), `max_age`, `acr_values` (`aal2`),
/// `response_mode` (`query`, `form_post`), `resource` (RFC 8707).
#[utoipa::path(get, path = "/oauth2/authorize", tag = "oauth", params(AuthorizeQueryDoc),
    responses(
        (status = 200, description = "The consent page, or (`form_post`) the auto-submitted response.", content_type = "text/html"),
        (status = 303, description = "To the client's redirect URI with `code` or `error`, `state` and `iss`; or to `/login`."),
        (status = 400, description = "`unknown_client` or `invalid_redirect_uri`: an error page, no redirect.", content_type = "text/html"),
        (status = 422, description = "A repeated parameter: an error page.", content_type = "text/html"),
    ))]
pub async fn get_authorize(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Query(params): Query<AuthorizeParams>,
) -> Result<Response, ApiError> {
    authorize(&state, &lang.tag, &headers, params, None).await
}

/// The authorization endpoint by POST (OpenID Connect Core §3.1.2.1), and
/// the consent page's answer (`decision` `allow` or `deny`, with the page's
/// `csrf` token and latchkey's `Origin`).
#[utoipa::path(post, path = "/oauth2/authorize", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", description = "The parameters of `GET /oauth2/authorize`; from the consent page also `csrf` and `decision`."),
    responses(
        (status = 200, description = "The consent page, or (`form_post`) the auto-submitted response.", content_type = "text/html"),
        (status = 303, description = "To the client's redirect URI with `code` or `error`, `state` and `iss`; or to `/login`."),
        (status = 400, description = "`unknown_client`, `invalid_redirect_uri` or an unreadable form: an error page.", content_type = "text/html"),
        (status = 403, description = "`csrf_failed`: the consent form did not come from latchkey's page.", content_type = "text/html"),
    ))]
pub async fn post_authorize(
    State(state): State<AppState>,
    lang: Lang,
    ClientMeta(from): ClientMeta,
    headers: HeaderMap,
    form: Result<Form<AuthorizeForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(f) = form.map_err(|_| super::pages::unreadable())?;
    let decision =
        (!f.decision.is_empty()).then_some((f.csrf.as_str(), f.decision.as_str(), &from));
    authorize(&state, &lang.tag, &headers, f.params.clone(), decision).await
}

/// The documented query of `GET /oauth2/authorize`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AuthorizeQueryDoc {
    /// `code`.
    response_type: String,
    /// The client.
    client_id: String,
    /// A registered redirect URI, exactly.
    redirect_uri: String,
    /// Space-separated scopes, among the client's.
    scope: Option<String>,
    /// Echoed in the response.
    state: Option<String>,
    /// Into the ID token.
    nonce: Option<String>,
    /// PKCE S256 challenge.
    code_challenge: Option<String>,
    /// `S256`.
    code_challenge_method: Option<String>,
    /// `none`, `login`, `consent`, `select_account`.
    prompt: Option<String>,
    /// Seconds since sign-in after which the person signs in again.
    max_age: Option<u64>,
    /// Prefills nothing yet (accepted).
    login_hint: Option<String>,
    /// `aal2` asks for the second factor.
    acr_values: Option<String>,
    /// `query` (default) or `form_post`.
    response_mode: Option<String>,
    /// RFC 8707 resource (the access token's `aud`).
    resource: Option<String>,
}

/// The group: errors as pages (never a redirect to an unverified URI).
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page).add(RouteClass::Api, routes!(get_authorize, post_authorize))
}

#[cfg(test)]
mod tests {
    use crate::pages::web_origin as origin;

    #[test]
    fn origins_of_redirect_uris() {
        assert_eq!(
            origin("https://app.ex.com/cb?x=1").as_deref(),
            Some("https://app.ex.com")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/cb").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin("com.ex.app:/cb"), None);
    }
}
