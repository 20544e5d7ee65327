//! Optional RFC 7662 introspection: asks latchkey whether a token's session
//! is still active, so a logout takes effect within the cache's lifetime
//! instead of at the token's expiry.

use base64::Engine;
use http_body_util::Full;
use hyper::Request;
use hyper::body::Bytes;
use serde::Deserialize;
use url::Url;

use crate::fetch::{FetchError, Http};

/// Where and as whom to introspect.
#[derive(Clone)]
pub struct Introspection {
    /// The endpoint, e.g. `https://id.example/oauth2/introspect`.
    pub url: Url,
    /// The resource server's client id at latchkey.
    pub client_id: String,
    /// Its client secret (sent with HTTP Basic, never logged).
    pub client_secret: String,
    /// How long an "active" answer is believed, in seconds. Bounds how long
    /// a revoked session's token is still accepted.
    pub cache_secs: i64,
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("cache_secs", &self.cache_secs)
            .finish()
    }
}

#[derive(Deserialize)]
struct Answer {
    active: bool,
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The `Authorization` value of a client: HTTP Basic with both parts
/// form-urlencoded (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(client_id: &str, client_secret: &str) -> String {
    let pair = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

impl Introspection {
    /// Whether latchkey says `token` is active.
    pub(crate) async fn is_active(&self, http: &Http, token: &str) -> Result<bool, FetchError> {
        let credentials = basic_credentials(&self.client_id, &self.client_secret);
        let body = format!("token={}&token_type_hint=access_token", form_encode(token));
        let request = Request::post("/")
            .header(hyper::header::AUTHORIZATION, credentials)
            .header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(hyper::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| FetchError::Url)?;
        let fetched = http.send(&self.url, request).await?;
        let answer: Answer = serde_json::from_slice(&fetched.body).map_err(|_| FetchError::Body)?;
        Ok(answer.active)
    }
}
