//! What the federation slice needs from the network: core knows no HTTP,
//! so the calls to upstream providers go through this trait (implemented
//! in `latchkey-http` on a bounded-timeout client with a JWKS cache).

use async_trait::async_trait;
pub use latchkey_tokens::VerifyingKey;
use url::Url;

/// Why an upstream call failed. Never carries a token or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UpstreamError(pub String);

/// Outbound calls to upstream providers, each under a bounded timeout.
#[async_trait]
pub trait Upstream: Send + Sync {
    /// `GET url` (with a bearer token when given) and the body of a 200
    /// answer.
    async fn get(&self, url: &Url, bearer: Option<&str>) -> Result<Vec<u8>, UpstreamError>;

    /// `POST url` with a form body, client authentication by HTTP Basic
    /// (`client_secret_basic`) when given, and the body of a 200 answer.
    async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Vec<u8>, UpstreamError>;

    /// The key `kid` of the JWKS at `jwks_uri`: from a cache, refetched
    /// when `kid` is unknown (at a bounded rate).
    async fn signing_key(&self, jwks_uri: &Url, kid: &str) -> Option<VerifyingKey>;
}
