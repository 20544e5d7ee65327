//! Prometheus metrics.
//!
//! The `metrics` facade is process-wide by design: the recorder is installed
//! once ([`handle`]) and every crate records through the facade's macros.
//! Request counts and latency histograms are labelled by method, matched
//! route (the pattern, never the raw path, so cardinality stays bounded) and
//! status.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds: from a cached token check to a slow hash.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide recorder's handle, installing it on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (an embedding program);
        // then ours still renders what is recorded through it directly.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        "latchkey_http_requests_total",
        "HTTP requests by method, route and status."
    );
    metrics::describe_histogram!(
        "latchkey_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by method, route and status."
    );
    metrics::describe_gauge!(
        "latchkey_database_up",
        "1 when the last readiness check reached the database."
    );
    metrics::describe_gauge!(
        "latchkey_legacy_password_hashes",
        "Accounts whose password hash is still an imported scheme, by format (counted every 5 min)."
    );
}

/// Records one finished request.
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("latchkey_http_requests_total", &labels).increment(1);
    metrics::histogram!("latchkey_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
}
