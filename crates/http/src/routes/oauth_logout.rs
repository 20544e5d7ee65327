//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0):
//! `/oauth2/logout`, GET and POST. With an `id_token_hint` of ours, the
//! browser session the client's tokens came from ends (and with it every
//! client's tokens under it), this browser's cookie is cleared, and the
//! person goes to the `post_logout_redirect_uri` (exactly one the client
//! registered) with `state`. Without a hint nothing ends here: the person
//! goes to the sign-out page, which asks (signing out is never a side
//! effect of a foreign page's link).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use latchkey_core::abuse::RouteClass;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::routes;

use super::Routes;
use crate::cookies::set_cookie;
use crate::error::ApiError;
use crate::extract::Query;
use crate::render::Renderer;
use crate::state::AppState;

/// The logout request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct LogoutParams {
    /// An ID token this server issued to the client (expired ones too).
    id_token_hint: String,
    /// Where to go afterwards: one of the client's `post_logout_redirect_uris`, exactly.
    post_logout_redirect_uri: String,
    /// Echoed to `post_logout_redirect_uri`.
    state: String,
    /// The client; must be the ID token's audience when both are sent.
    client_id: String,
}

async fn logout(state: &AppState, p: LogoutParams) -> Result<Response, ApiError> {
    if p.id_token_hint.is_empty() {
        return Ok(Redirect::to("/logout").into_response());
    }
    state
        .oauth()
        .logout_with_hint(
            &p.id_token_hint,
            Some(p.client_id.as_str()).filter(|c| !c.is_empty()),
            Some(p.post_logout_redirect_uri.as_str()).filter(|u| !u.is_empty()),
        )
        .await?;
    let target = if p.post_logout_redirect_uri.is_empty() {
        "/logout".to_owned()
    } else {
        let mut url = p.post_logout_redirect_uri.clone();
        if !p.state.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("state=");
            url.push_str(
                &percent_encoding::utf8_percent_encode(
                    &p.state,
                    percent_encoding::NON_ALPHANUMERIC,
                )
                .to_string(),
            );
        }
        url
    };
    let mut response = Redirect::to(&target).into_response();
    let cookies = state.cookies();
    set_cookie(
        response.headers_mut(),
        cookies.name(),
        "",
        0,
        cookies.secure,
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// RP-initiated logout. Needs an `id_token_hint` to end anything (else on
/// to the sign-out page, which asks).
#[utoipa::path(get, path = "/oauth2/logout", tag = "oauth", params(LogoutParams),
    responses(
        (status = 303, description = "Signed out: to `post_logout_redirect_uri` with `state`, or to the sign-out page."),
        (status = 400, description = "`invalid_request`: the hint is not ours, or `post_logout_redirect_uri` is not registered: an error page, no redirect.", content_type = "text/html"),
    ))]
pub async fn get_logout(
    State(state): State<AppState>,
    Query(p): Query<LogoutParams>,
) -> Result<Response, ApiError> {
    logout(&state, p).await
}

/// RP-initiated logout by POST (the same parameters as a form).
#[utoipa::path(post, path = "/oauth2/logout", tag = "oauth",
    request_body(content_type = "application/x-www-form-urlencoded", description = "The parameters of `GET /oauth2/logout`."),
    responses(
        (status = 303, description = "Signed out: to `post_logout_redirect_uri` with `state`, or to the sign-out page."),
        (status = 400, description = "`invalid_request` or an unreadable form: an error page.", content_type = "text/html"),
    ))]
pub async fn post_logout(
    State(state): State<AppState>,
    form: Result<Form<LogoutParams>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(p) = form.map_err(|_| super::pages::unreadable())?;
    logout(&state, p).await
}

/// The group: errors as pages.
pub(super) fn routes() -> Routes {
    Routes::new(Renderer::Page).add(RouteClass::Api, routes!(get_logout, post_logout))
}
