//! `[log]`: the tracing filter and the output format.

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[log]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        "log.level",
        "LATCHKEY_LOG_LEVEL",
        "info",
        "a tracing filter, e.g. `info` or `info,latchkey_http=debug`",
    ),
    Setting::text(
        "log.format",
        "LATCHKEY_LOG_FORMAT",
        "auto",
        "`auto` (readable on a terminal, JSON otherwise), `json` or `pretty`",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    level: Option<String>,
    format: Option<String>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable on a terminal, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// Log settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The filter directive, checked.
    pub level: String,
    /// The output format.
    pub format: LogFormat,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> LogConfig {
        let level = c.text("log.level", self.level);
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&level) {
            c.fail(
                "log.level",
                Some(&level),
                format!("not a valid tracing filter: {e}"),
            );
        }
        let format = match c.text("log.format", self.format).as_str() {
            "auto" => LogFormat::Auto,
            "json" => LogFormat::Json,
            "pretty" | "text" => LogFormat::Pretty,
            other => {
                c.fail(
                    "log.format",
                    Some(other),
                    "expected `auto`, `json` or `pretty`",
                );
                LogFormat::Auto
            }
        };
        c.show_str("log.format", &format!("{format:?}").to_lowercase());
        LogConfig { level, format }
    }
}
