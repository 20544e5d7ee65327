//! `[telemetry]`: OpenTelemetry traces over OTLP/HTTP, off by default.

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[telemetry]` settings.
pub const SETTINGS: &[Setting] = &[Setting::text(
    "telemetry.otlp_endpoint",
    "LATCHKEY_TELEMETRY_OTLP_ENDPOINT",
    "",
    "base URL of an OTLP/HTTP receiver (a collector or agent beside the node), e.g. \
     `http://127.0.0.1:4318`; spans go to `<url>/v1/traces` as protobuf. Empty: no traces",
)];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    otlp_endpoint: Option<String>,
}

/// Telemetry settings.
#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// Where spans are sent (`…/v1/traces`), when traces are on.
    pub otlp_traces_url: Option<url::Url>,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> TelemetryConfig {
        const KEY: &str = "telemetry.otlp_endpoint";
        let Some(text) = c.optional(KEY, self.otlp_endpoint) else {
            return TelemetryConfig::default();
        };
        match traces_url(&text) {
            Ok(url) => TelemetryConfig {
                otlp_traces_url: Some(url),
            },
            Err(why) => {
                c.fail(KEY, Some(&text), why);
                TelemetryConfig::default()
            }
        }
    }
}

/// `<base>/v1/traces` from the base URL of an OTLP/HTTP receiver, which must
/// be plain `http://` with a host, no credentials, query or fragment.
fn traces_url(base: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(base).map_err(|e| format!("not a URL: {e}"))?;
    if url.scheme() != "http" {
        return Err(
            "expected `http://host:port` of a collector or agent beside the node (OTLP/HTTP \
             without TLS; a collector forwards over TLS)"
                .into(),
        );
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in the URL are not supported".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("expected no query or fragment".into());
    }
    let path = url.path().trim_end_matches('/');
    let mut traces = url.clone();
    traces.set_path(&format!("{path}/v1/traces"));
    Ok(traces)
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn the_traces_url_is_the_base_with_v1_traces() {
        for (base, expected) in [
            ("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
            ("http://collector:4318/", "http://collector:4318/v1/traces"),
            ("http://collector/otlp", "http://collector/otlp/v1/traces"),
        ] {
            assert_eq!(traces_url(base).unwrap().as_str(), expected, "{base}");
        }
        for bad in [
            "collector:4318",
            "https://collector:4318",
            "http://user:pw@collector:4318",
            "http://collector:4318?x=1",
            "http://collector:4318#f",
            "file:///tmp/x",
        ] {
            assert!(traces_url(bad).is_err(), "{bad}");
        }
    }
}
