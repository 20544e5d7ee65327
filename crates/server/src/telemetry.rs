//! Logging: JSON lines when the output is not a terminal (containers,
//! systemd), readable text on a terminal. Every line inside a request
//! carries its request id through the request span. `serve` logs to stdout;
//! one-shot commands log to stderr, so their stdout is only their answer.
//! With `telemetry.otlp_endpoint`, `serve` also sends OpenTelemetry traces
//! (see `latchkey_http::trace` for the trace id and `traceparent`).

use std::io::IsTerminal;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::prelude::*;

use crate::config::LogFormat;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// `serve`: the log is the program's output.
    Stdout,
    /// One-shot commands: stdout carries the command's answer.
    Stderr,
}

/// Installs the global subscriber. Call once, after the configuration is
/// valid and before any async runtime starts (the trace exporter's HTTP
/// client runs its own). With `traces` (`telemetry.otlp_endpoint`), spans
/// also go to that OTLP/HTTP receiver until the returned [`Traces`] is
/// dropped, which sends what is left.
pub fn init(
    level: &str,
    format: LogFormat,
    sink: Sink,
    traces: Option<&url::Url>,
) -> Result<Option<Traces>, String> {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let terminal = match sink {
        Sink::Stdout => std::io::stdout().is_terminal(),
        Sink::Stderr => std::io::stderr().is_terminal(),
    };
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !terminal,
    };
    let writer = match sink {
        Sink::Stdout => BoxMakeWriter::new(std::io::stdout),
        Sink::Stderr => BoxMakeWriter::new(std::io::stderr),
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(true)
        .with_writer(writer);
    let fmt = if json {
        fmt.json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    } else {
        fmt.compact().boxed()
    };
    // spans only traces show: a log line inside one names its request's span
    let fmt = fmt.with_filter(filter_fn(|meta| {
        !(meta.is_span() && meta.target() == latchkey_core::SPAN_TARGET)
    }));
    let (otel, provider) = match traces {
        None => (None, None),
        Some(url) => {
            let provider = tracer_provider(url)?;
            let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("latchkey"));
            (Some(layer), Some(provider))
        }
    };
    let result = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    // A subscriber may already be installed (tests); keep it.
    drop(result);
    Ok(provider.map(Traces))
}

/// The trace pipeline: spans batched on the SDK's own thread and sent as
/// OTLP protobuf over HTTP (reqwest's blocking client, no TLS).
fn tracer_provider(url: &url::Url) -> Result<SdkTracerProvider, String> {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.as_str())
        .with_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| format!("telemetry.otlp_endpoint: cannot make the OTLP exporter: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name("latchkey")
                .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build(),
        )
        .build())
}

/// Traces on: dropping it sends the spans still batched (at shutdown).
pub struct Traces(SdkTracerProvider);

impl Drop for Traces {
    fn drop(&mut self) {
        if let Err(e) = self.0.shutdown() {
            eprintln!("latchkey: sending the last spans failed: {e}");
        }
    }
}
