//! The request pipeline around every route: request id, span and access log,
//! the client IP (through trusted proxies only), metrics, header-size and
//! time limits, panic containment, and the security headers every response
//! carries. Abuse checks (IP lists, CORS, rate limits) run right inside it,
//! in [`crate::abuse::protect`].

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::client_ip::{ClientIp, client_ip};
use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying the request id, in and out.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The ids of one request. A client may name its request with
/// `X-Request-Id` and gets that id back (in the header and in problem
/// bodies), but what a peer sends is recorded as fact only when the peer is
/// a configured trusted proxy (`proxies.trusted`): otherwise logs and audit
/// events record the server's own id (a UUIDv7), and the client's appears in
/// the request's span as `client_request_id` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestIds {
    /// What logs and audit events record as the request id.
    recorded: String,
    /// What the response carries.
    echoed: String,
}

impl RequestIds {
    fn choose(offered: Option<String>, from_trusted_proxy: bool, own: String) -> RequestIds {
        match offered {
            Some(id) if from_trusted_proxy => RequestIds {
                recorded: id.clone(),
                echoed: id,
            },
            Some(id) => RequestIds {
                recorded: own,
                echoed: id,
            },
            None => RequestIds {
                recorded: own.clone(),
                echoed: own,
            },
        }
    }
}

tokio::task_local! {
    static CURRENT_REQUEST_ID: RequestIds;
}

/// The id logs and audit events record for the request being handled on
/// this task: a client's own id only from a trusted proxy, the server's
/// otherwise.
pub fn recorded_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(|ids| ids.recorded.clone()).ok()
}

/// A client-supplied id is echoed only if it is short and plain, so that it
/// cannot inject into logs or headers.
fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| s.to_owned())
}

/// The outermost middleware: see the module docs.
pub async fn request_context(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let trusted = &state.protection().network.trusted_proxies;
    let from_proxy = peer.is_some_and(|ip| trusted.contains(ip));
    let ids = RequestIds::choose(
        req.headers().get(&REQUEST_ID).and_then(sane_request_id),
        from_proxy,
        uuid::Uuid::now_v7().simple().to_string(),
    );
    let span = tracing::info_span!(
        "request",
        request_id = %ids.recorded,
        method = %method,
        route = %route,
        peer = tracing::field::Empty,
        client_ip = tracing::field::Empty,
        client_request_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    let parent = from_proxy
        .then(|| req.headers().get(crate::trace::TRACEPARENT))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(crate::trace::TraceParent::parse);
    let trace_id = crate::trace::adopt(&span, parent);
    span.record("trace_id", tracing::field::display(&trace_id));
    if ids.echoed != ids.recorded {
        span.record("client_request_id", tracing::field::display(&ids.echoed));
    }
    if let Some(ip) = peer {
        span.record("peer", tracing::field::display(ip));
        let client = client_ip(ip, req.headers(), trusted);
        if client != ip {
            span.record("client_ip", tracing::field::display(client));
        }
        req.extensions_mut().insert(ClientIp(client));
    }
    let hsts = state.protection().network.hsts_max_age_secs;
    let lang = crate::pages::lang::Lang::choose(
        state.pages().catalogue(),
        req.uri().query(),
        req.headers(),
        state.cookies().lang_name(),
    );
    req.extensions_mut().insert(lang.clone());

    let limits = state.limits().clone();
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();

    let echoed = ids.echoed.clone();
    let handled = CURRENT_REQUEST_ID.scope(ids, async move {
        if header_bytes > limits.max_header_bytes {
            return ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                "Request headers too large",
                "The request headers are larger than this server accepts (http.max_header_bytes).",
            )
            .into_response();
        }
        let run = AssertUnwindSafe(next.run(req)).catch_unwind();
        match tokio::time::timeout(limits.request_timeout, run).await {
            Ok(Ok(response)) => response,
            Ok(Err(panic)) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic".into());
                ApiError::internal(format!("handler panicked: {what}")).into_response()
            }
            Err(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                "Request timed out",
                "The server did not finish this request in time; retry later.",
            )
            .with_retry_after(1)
            .into_response(),
        }
    });
    let response = handled.instrument(span.clone()).await;
    let mut response = span.in_scope(|| {
        crate::render::finish(response, (&echoed, &trace_id), state.pages(), &lang.tag)
    });
    if lang.from_query && is_html(response.headers()) {
        // `?lang=` chose: later pages without it speak the same
        let cookies = state.cookies();
        crate::cookies::set_cookie(
            response.headers_mut(),
            cookies.lang_name(),
            &lang.tag,
            crate::pages::lang::COOKIE_MAX_AGE_SECS,
            cookies.secure,
        );
    }

    let status = response.status();
    let elapsed = started.elapsed();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&echoed) {
        headers.insert(REQUEST_ID.clone(), v);
    }
    security_headers(headers, hsts);
    crate::metrics::record_request(method.as_str(), &route, status.as_u16(), elapsed);
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    response
}

fn is_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// The policy of HTML pages that set none of their own: their own scripts,
/// styles and images only, forms posting back to latchkey, never framed.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// The policy of everything else (JSON, scripts, text): nothing may load,
/// nothing may frame it.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Headers every response carries. Pages that need a looser policy (the API
/// reference at `/docs`) set their own `content-security-policy`, which is
/// kept; HTML without one gets [`PAGE_CSP`]. HSTS is sent when the public URL
/// is https.
fn security_headers(headers: &mut axum::http::HeaderMap, hsts_max_age: Option<u64>) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(if html {
            PAGE_CSP
        } else {
            API_CSP
        }));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(HeaderName::from_static("cross-origin-resource-policy"))
        .or_insert(HeaderValue::from_static("same-origin"));
    if let Some(max_age) = hsts_max_age
        && let Ok(v) = HeaderValue::from_str(&format!("max-age={max_age}"))
    {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trusted_proxy_names_the_recorded_id() {
        let own = || "own".to_owned();
        for (offered, trusted, recorded, echoed) in [
            (None, false, "own", "own"),
            (None, true, "own", "own"),
            (Some("theirs"), false, "own", "theirs"),
            (Some("theirs"), true, "theirs", "theirs"),
        ] {
            let ids = RequestIds::choose(offered.map(str::to_owned), trusted, own());
            assert_eq!(
                (ids.recorded.as_str(), ids.echoed.as_str()),
                (recorded, echoed),
                "{offered:?} trusted={trusted}"
            );
        }
    }

    #[test]
    fn request_ids_from_clients_are_checked() {
        for (input, ok) in [
            ("abc-123", true),
            ("01HZX3K9Q2.retry:1", true),
            ("", false),
            ("has space", false),
            ("new\nline", false),
            (&"x".repeat(65), false),
            ("<script>", false),
        ] {
            let v = HeaderValue::from_str(input);
            let got = v.ok().and_then(|v| sane_request_id(&v));
            assert_eq!(got.is_some(), ok, "{input:?}");
        }
    }
}
