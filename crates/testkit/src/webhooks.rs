//! The webhook client of a test app: the real one, resolving the names a
//! test maps itself ([`WebhookHosts`]) and the rest with the system's
//! resolver. Private addresses are refused unless
//! `lifecycle.webhooks.allow_private`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use latchkey_core::webhooks::WebhookTransport;
use latchkey_http::webhook_transport::HttpWebhooks;

/// A resolver a test changes while the app runs: name → addresses.
pub type WebhookHosts = Arc<Mutex<HashMap<String, Vec<IpAddr>>>>;

/// The transport over `hosts`, each attempt bounded to 5 s.
pub(crate) fn transport(hosts: &WebhookHosts, allow_private: bool) -> Arc<dyn WebhookTransport> {
    let hosts = hosts.clone();
    Arc::new(
        HttpWebhooks::new(std::time::Duration::from_secs(5), allow_private)
            .with_hosts(move |name| hosts.lock().expect("hosts lock").get(name).cloned()),
    )
}
