//! `serve` on a real listener: connection limits and graceful shutdown.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use latchkey_http::{ServeLimits, serve};
use latchkey_testkit::raw_http;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

async fn start(
    app: Router,
    limits: ServeLimits,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<bool>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_requests_finish() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            "finished"
        }),
    );
    let (addr, stop, task) = start(app, ServeLimits::default()).await;
    let in_flight = tokio::task::spawn_blocking(move || raw_http::get(addr, "/slow", &[]));
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "finished");
    assert!(
        task.await.unwrap(),
        "every connection drained within the grace period"
    );
    // and nothing listens any more
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_by_the_grace_period() {
    let app = Router::new().route(
        "/stuck",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "never"
        }),
    );
    let limits = ServeLimits {
        shutdown_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    };
    let (addr, stop, task) = start(app, limits).await;
    let _stuck = tokio::task::spawn_blocking(move || raw_http::get(addr, "/stuck", &[]));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let begun = Instant::now();
    stop.send(()).unwrap();
    let drained = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("serve returns after the grace period, not after the handler")
        .unwrap();
    assert!(!drained, "the stuck request could not have drained");
    assert!(begun.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_heads_over_the_buffer_are_refused() {
    let app = Router::new().route("/", get(|| async { "ok" }));
    let limits = ServeLimits {
        max_header_bytes: 8 * 1024,
        ..ServeLimits::default()
    };
    let (addr, stop, task) = start(app, limits).await;
    let big = "a".repeat(64 * 1024);
    let response =
        tokio::task::spawn_blocking(move || raw_http::get(addr, "/", &[("x-big", &big)]))
            .await
            .unwrap();
    match response {
        Ok(r) => assert_eq!(r.status, 431, "{}", r.text()),
        // hyper may also close the connection while the client is still writing
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{e}"
        ),
    }
    let ok = tokio::task::spawn_blocking(move || raw_http::get(addr, "/", &[]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.status, 200);
    stop.send(()).unwrap();
    assert!(task.await.unwrap());
}
