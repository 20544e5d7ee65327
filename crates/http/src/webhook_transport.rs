//! Webhook deliveries on `latchkey-verify`'s client ([`WebhookTransport`]):
//! every address a name resolves to is checked with
//! [`latchkey_core::webhooks::address::deliverable`] at connect time (and
//! the connection goes to a checked address, so a name cannot resolve
//! elsewhere between the check and the connection), no redirect is
//! followed, and each attempt is bounded in time and in the answer's size.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{Method, Request, header};
use http_body_util::Full;
use hyper::body::Bytes;
use latchkey_core::webhooks::address::deliverable;
use latchkey_core::webhooks::caep;
use latchkey_core::webhooks::rules::Answer;
use latchkey_core::webhooks::{Outgoing, WebhookTransport};
use latchkey_verify::{FetchError, Http};
use url::Url;

/// The webhook client.
pub struct HttpWebhooks {
    http: Http,
}

impl std::fmt::Debug for HttpWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpWebhooks").finish_non_exhaustive()
    }
}

impl HttpWebhooks {
    /// A client whose attempts end within `timeout`; with `allow_private`
    /// (tests, intranets) any address may be reached.
    pub fn new(timeout: Duration, allow_private: bool) -> HttpWebhooks {
        HttpWebhooks {
            http: Http::new(timeout)
                .with_address_check(move |ip| allow_private || deliverable(ip, false)),
        }
    }

    /// Resolves names with `hosts` first (a fixed route, or a test's
    /// resolver), else with the system's resolver.
    #[must_use]
    pub fn with_hosts(
        self,
        hosts: impl Fn(&str) -> Option<Vec<IpAddr>> + Send + Sync + 'static,
    ) -> HttpWebhooks {
        HttpWebhooks {
            http: self.http.with_hosts(hosts),
        }
    }
}

#[async_trait]
impl WebhookTransport for HttpWebhooks {
    async fn post(&self, outgoing: &Outgoing) -> Answer {
        let Ok(url) = Url::parse(&outgoing.url) else {
            return Answer::Failed("unsupported URL".into());
        };
        let mut request = Request::builder()
            .method(Method::POST)
            .header(header::USER_AGENT, "latchkey-webhooks");
        for (name, value) in &outgoing.headers {
            request = request.header(*name, value);
        }
        let Ok(request) = request.body(Full::new(Bytes::from(outgoing.body.clone()))) else {
            return Answer::Failed("the request could not be built".into());
        };
        let pushed_set = outgoing
            .headers
            .iter()
            .any(|(n, v)| *n == "content-type" && v == caep::CONTENT_TYPE);
        match self.http.exchange_any(&url, request).await {
            // RFC 8935 §2.3: a 400 with an `err` code refuses this SET for good
            Ok((status, answer)) if pushed_set && status.as_u16() == 400 => {
                match serde_json::from_slice::<serde_json::Value>(&answer.body)
                    .ok()
                    .and_then(|v| v["err"].as_str().map(str::to_owned))
                    .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_graphic()))
                {
                    Some(err) => Answer::Rejected { status: 400, err },
                    None => Answer::Status(400),
                }
            }
            Ok((status, _)) => Answer::Status(status.as_u16()),
            Err(FetchError::Refused(ip)) => Answer::Failed(format!(
                "refused: {ip} is a private, loopback, link-local or otherwise special address"
            )),
            Err(e) => Answer::Failed(e.to_string()),
        }
    }
}
