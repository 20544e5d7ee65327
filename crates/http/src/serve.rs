//! Serving a router on a TCP listener, with connection-level limits and
//! graceful shutdown.
//!
//! axum's own `serve` does not expose hyper's connection settings, so this is
//! the same loop with the knobs latchkey needs: a cap on the request head
//! buffer (large headers), a header read timeout (slow-loris), the peer
//! address for each request, and a bounded drain of in-flight requests when
//! the shutdown future completes.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Connection-level limits.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// Largest request head (request line plus headers) buffered; at least 8 KiB.
    pub max_header_bytes: usize,
    /// Time allowed to send the request head.
    pub header_read_timeout: Duration,
    /// How long in-flight requests may run after shutdown begins.
    pub shutdown_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_header_bytes: 16 * 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting, lets in-flight requests finish for up to
/// `limits.shutdown_timeout`, and returns. Returns `true` when every
/// connection finished in time.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> bool {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.max_buf_size(limits.max_header_bytes.max(8 * 1024))
        .header_read_timeout(limits.header_read_timeout)
        .timer(TokioTimer::new());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, peer = %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(
        grace_secs = limits.shutdown_timeout.as_secs(),
        "shutting down: draining in-flight requests"
    );
    match tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown()).await {
        Ok(()) => true,
        Err(_) => {
            tracing::warn!("shutdown grace period over; closing the remaining connections");
            false
        }
    }
}
