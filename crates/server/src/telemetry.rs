//! Logging: JSON lines when the output is not a terminal (containers,
//! systemd), readable text on a terminal. Every line inside a request
//! carries its request id through the request span. `serve` logs to stdout;
//! one-shot commands log to stderr, so their stdout is only their answer.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::config::LogFormat;

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// `serve`: the log is the program's output.
    Stdout,
    /// One-shot commands: stdout carries the command's answer.
    Stderr,
}

/// Installs the global subscriber. Call once, after the configuration is valid.
pub fn init(level: &str, format: LogFormat, sink: Sink) {
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_writer(writer);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
    // A subscriber may already be installed (tests); keep it.
    drop(result);
}
