//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use latchkey_core::Store;

/// Per-request limits enforced by the middleware and extractors.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (413 beyond).
    pub max_body_bytes: usize,
    /// Largest total size of request headers (431 beyond).
    pub max_header_bytes: usize,
    /// Longest a request may run (503 beyond).
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024,
            max_header_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    limits: Limits,
}

impl AppState {
    /// State over a store with the given limits.
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Self {
        AppState {
            inner: Arc::new(Inner { store, limits }),
        }
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    /// The request limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
}
