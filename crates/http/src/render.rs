//! The one error path: every response passes through [`finish`] in the
//! request pipeline. An error ([`Failure`] in the response's extensions) is
//! logged there, once, inside the request's span, and its body is written in
//! the shape its route group chose ([`Renderer`]); responses without an
//! error pass untouched.
//!
//! A route group picks its renderer where it is registered
//! (`routes::Routes::new`). Errors raised before any route runs (IP lists,
//! per-IP rate limits, unknown paths, header limits, timeouts) are
//! problem+json.
//!
//! The coming OAuth authorization endpoint adds a `Redirect` renderer here:
//! the handler attaches the client's validated `redirect_uri` and `state` to
//! its error, and the renderer answers 303 to `redirect_uri?error=…&state=…`
//! (or shows the [`Renderer::Page`] when there is no validated target, as
//! RFC 6749 §4.1.2.1 requires).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_proto::FieldError;
use latchkey_proto::problem::{PROBLEM_JSON, PROBLEM_TYPE_BASE, Problem};
use serde::Serialize;

use crate::error::{ApiError, Failure};
use crate::pages::{PageOptions, Pages};
use minijinja::{Value, context};

/// How a route group shows its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    /// RFC 9457 problem+json with a stable `code` (the JSON API; the
    /// default).
    Problem,
    /// RFC 6749 §5.2 `{error, error_description}` (the `/oauth2/*`
    /// endpoints); `invalid_client` comes with `WWW-Authenticate: Basic`.
    OAuth,
    /// A readable HTML page (the pages mailed links open).
    Page,
}

impl Renderer {
    /// Tags the responses of a route group with this renderer.
    pub(crate) fn tag(self, mut response: Response) -> Response {
        if response.extensions().get::<Failure>().is_some() {
            response.extensions_mut().insert(self);
        }
        response
    }
}

/// Logs the error of a response, if it carries one, and writes its body;
/// called once per request by the pipeline, inside the request's span.
pub fn finish(mut response: Response, ids: (&str, &str), pages: &Pages, lang: &str) -> Response {
    let Some(Failure(error)) = response.extensions_mut().remove::<Failure>() else {
        return response;
    };
    log(&error);
    let renderer = response
        .extensions_mut()
        .remove::<Renderer>()
        .unwrap_or(Renderer::Problem);
    let (mut parts, _) = response.into_parts();
    let rendered = match renderer {
        Renderer::Problem => problem(&error, ids),
        Renderer::OAuth => oauth(&error),
        Renderer::Page => error_page(&error, pages, lang),
    };
    let (rendered, body) = rendered.into_parts();
    if renderer != Renderer::Problem {
        // `Bearer` is the JSON API's challenge; the others set their own
        parts.headers.remove(header::WWW_AUTHENTICATE);
    }
    for (name, value) in &rendered.headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    parts.status = rendered.status;
    Response::from_parts(parts, body)
}

/// One line per failed request: server errors as errors (with the internal
/// detail), refusals at debug (with the reason, if there is one).
fn log(error: &ApiError) {
    let status = error.status().as_u16();
    let code = error.code();
    let reason = error.reason().unwrap_or("");
    if error.status().is_server_error() {
        tracing::error!(code, status, error = %reason, "request failed");
    } else {
        tracing::debug!(code, status, reason = %reason, "request refused");
    }
}

/// A problem+json body; `ids` are the request id and the trace id.
fn problem(error: &ApiError, (request_id, trace_id): (&str, &str)) -> Response {
    let problem = Problem {
        type_uri: format!("{PROBLEM_TYPE_BASE}{}", error.code()),
        title: error.title().to_owned(),
        status: error.status().as_u16(),
        detail: error.detail().to_owned(),
        code: error.code().to_owned(),
        errors: error.field_errors().to_vec(),
        request_id: Some(request_id.to_owned()),
        trace_id: Some(trace_id.to_owned()),
    };
    let body = match error.extension() {
        None => serde_json::to_vec(&problem),
        Some((name, value)) => serde_json::to_value(&problem).and_then(|mut v| {
            if let Some(obj) = v.as_object_mut() {
                obj.insert(name.to_owned(), value.clone());
            }
            serde_json::to_vec(&v)
        }),
    }
    .unwrap_or_else(|_| b"{\"code\":\"internal_error\"}".to_vec());
    (error.status(), [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response()
}

/// An RFC 6749 error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    /// `invalid_client`, `invalid_request`, …
    error: &'static str,
    /// Human-readable detail.
    error_description: String,
}

fn oauth(error: &ApiError) -> Response {
    let status = error.status();
    let (code, description) = match status {
        StatusCode::SERVICE_UNAVAILABLE => (
            "temporarily_unavailable",
            "the server cannot reach its database; retry later".to_owned(),
        ),
        s if s.is_server_error() => ("server_error", "an internal error occurred".to_owned()),
        _ => (error.code(), error.detail().to_owned()),
    };
    let mut response = (
        status,
        axum::Json(OAuthError {
            error: code,
            error_description: description,
        }),
    )
        .into_response();
    let headers = response.headers_mut();
    // RFC 6749 §5.1: nothing the token endpoints answer is cached
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match code {
        // RFC 6750 §3: a protected resource's challenge
        "invalid_token" => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"latchkey\", error=\"invalid_token\""),
            );
        }
        "insufficient_scope" => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"latchkey\", error=\"insufficient_scope\", scope=\"openid\"",
                ),
            );
        }
        _ if status == StatusCode::UNAUTHORIZED => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"latchkey\""),
            );
        }
        _ => {}
    }
    response
}

/// An error as a page in `lang`: the text of the refusal's code from the
/// catalogue (`error-<code>`, `error-<code>-title`), else the English detail.
fn error_page(error: &ApiError, pages: &Pages, lang: &str) -> Response {
    let options = PageOptions::OK.status(error.status());
    let catalogue = pages.catalogue();
    let text = |code: &str| catalogue.get(lang, &format!("error-{code}"), &[]);
    let say = |code: &str, english: &str| text(code).unwrap_or_else(|| english.to_owned());
    let field_errors: Vec<FieldError> = error
        .field_errors()
        .iter()
        .map(|e| FieldError {
            message: say(&e.code, &e.message),
            ..e.clone()
        })
        .collect();
    if let Some(retry) = error.retry() {
        // the same form again, the reasons tied to its fields (or above
        // the form when the refusal names none)
        let errors = if field_errors.is_empty() {
            Value::from_serialize([FieldError {
                field: String::new(),
                code: error.code().to_owned(),
                message: say(error.code(), error.detail()),
            }])
        } else {
            Value::from_serialize(&field_errors)
        };
        let ctx = context! { errors => errors, ..retry.context.clone() };
        return pages.render(lang, retry.template, retry.title, ctx, options);
    }
    let code = error.code();
    let own_title = format!("error-{code}-title");
    let title = if catalogue.get(lang, &own_title, &[]).is_some() {
        own_title.as_str()
    } else {
        "error-default-title"
    };
    let mut paragraphs: Vec<String> = field_errors.into_iter().map(|e| e.message).collect();
    match text(code) {
        Some(t) => paragraphs.push(t),
        None if code != "validation_failed" => paragraphs.push(pages.t(lang, "error-default-text")),
        None => {}
    }
    pages.render(
        lang,
        "error.html",
        title,
        context! { paragraphs => paragraphs, back => pages.t(lang, "error-back") },
        options,
    )
}
