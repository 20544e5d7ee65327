//! `[cors]`: the browser origins that may call the JSON API.

use latchkey_http::CorsPolicy;
use serde::Deserialize;

use super::setting::{Checker, List, Setting};

/// The `[cors]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        "cors.allowed_origins",
        "LATCHKEY_CORS_ALLOWED_ORIGINS",
        "",
        "origins that may call the JSON API from browsers, or `*`",
    ),
    Setting::flag(
        "cors.allow_credentials",
        "LATCHKEY_CORS_ALLOW_CREDENTIALS",
        false,
        "let the listed origins send cookies (never with `*`)",
    ),
    Setting::int(
        "cors.max_age_secs",
        "LATCHKEY_CORS_MAX_AGE_SECS",
        600,
        0,
        86_400,
        "how long browsers may cache a preflight answer",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    allowed_origins: Option<List>,
    allow_credentials: Option<bool>,
    max_age_secs: Option<u64>,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> CorsPolicy {
        let origins = origin_list(self.allowed_origins);
        for o in &origins {
            if o != "*" && !valid_origin(o) {
                c.fail(
                    "cors.allowed_origins",
                    Some(o),
                    "expected origins such as https://app.example.com (scheme, host and port only), or `*`",
                );
            }
        }
        c.show_str("cors.allowed_origins", &origins.join(", "));
        let allow_credentials = c.flag("cors.allow_credentials", self.allow_credentials);
        if allow_credentials && origins.iter().any(|o| o == "*") {
            c.fail(
                "cors.allow_credentials",
                Some("true"),
                "credentials are never allowed with the wildcard origin `*`; list the origins in cors.allowed_origins",
            );
        }
        CorsPolicy {
            origins,
            allow_credentials,
            max_age_secs: c.int("cors.max_age_secs", self.max_age_secs),
        }
    }
}

/// The origins of a list setting (commas or spaces between them).
pub(super) fn origin_list(raw: Option<List>) -> Vec<String> {
    raw.map(|l| l.joined())
        .unwrap_or_default()
        .split(|ch: char| ch == ',' || ch.is_whitespace())
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A browser origin: `scheme://host[:port]`, nothing more.
pub(super) fn valid_origin(o: &str) -> bool {
    let Ok(u) = url::Url::parse(o) else {
        return false;
    };
    matches!(u.scheme(), "http" | "https")
        && u.host_str().is_some()
        && u.path() == "/"
        && !o.ends_with('/')
        && u.query().is_none()
        && u.username().is_empty()
        && u.origin().ascii_serialization() == o.to_ascii_lowercase()
}
