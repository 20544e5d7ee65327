//! Calls to upstream identity providers (federation) on `latchkey-verify`'s
//! client: one bounded timeout per call, 256 KiB answers at most, and one
//! JWKS cache per provider key set (refetched on an unknown `kid`, at most
//! once per [`JWKS_MIN_REFRESH`]). Only the federation routes call it, so
//! an unreachable provider never slows password sign-in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Request, header};
use base64::Engine;
use http_body_util::Full;
use hyper::body::Bytes;
use latchkey_core::federation::{Upstream, UpstreamError, VerifyingKey};
use latchkey_verify::{Http, JwksCache};
use url::Url;

/// No JWKS is refetched sooner than this after the last fetch.
pub const JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);

/// The upstream client.
pub struct HttpUpstream {
    http: Http,
    jwks: Mutex<HashMap<String, Arc<JwksCache>>>,
}

impl HttpUpstream {
    /// A client whose every call ends within `timeout`.
    pub fn new(timeout: Duration) -> HttpUpstream {
        HttpUpstream {
            http: Http::new(timeout),
            jwks: Mutex::default(),
        }
    }

    async fn send(
        &self,
        url: &Url,
        request: Request<Full<Bytes>>,
    ) -> Result<Vec<u8>, UpstreamError> {
        self.http
            .send(url, request)
            .await
            .map(|f| f.body.to_vec())
            .map_err(|e| UpstreamError(e.to_string()))
    }
}

fn built(
    r: Result<Request<Full<Bytes>>, axum::http::Error>,
) -> Result<Request<Full<Bytes>>, UpstreamError> {
    r.map_err(|_| UpstreamError("request not representable".into()))
}

#[async_trait::async_trait]
impl Upstream for HttpUpstream {
    async fn get(&self, url: &Url, bearer: Option<&str>) -> Result<Vec<u8>, UpstreamError> {
        let mut request = Request::get("/")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "latchkey");
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(url, built(request.body(Full::new(Bytes::new())))?)
            .await
    }

    async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Vec<u8>, UpstreamError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = Request::post("/")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "latchkey")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            // RFC 6749 §2.3.1: each form-urlencoded, then Basic
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(id), enc(secret));
            let value = base64::engine::general_purpose::STANDARD.encode(pair);
            request = request.header(header::AUTHORIZATION, format!("Basic {value}"));
        }
        self.send(url, built(request.body(Full::new(Bytes::from(body))))?)
            .await
    }

    async fn signing_key(&self, jwks_uri: &Url, kid: &str) -> Option<VerifyingKey> {
        let cache = self
            .jwks
            .lock()
            .expect("jwks lock")
            .entry(jwks_uri.to_string())
            .or_insert_with(|| {
                Arc::new(JwksCache::new(
                    Some(jwks_uri.clone()),
                    self.http.clone(),
                    JWKS_MIN_REFRESH,
                    Duration::from_secs(3600),
                    Duration::from_secs(86_400),
                ))
            })
            .clone();
        cache.ensure_fresh().await;
        if let Some(key) = cache.key(kid) {
            return Some(key);
        }
        cache.refresh_for_unknown_kid().await;
        cache.key(kid)
    }
}
