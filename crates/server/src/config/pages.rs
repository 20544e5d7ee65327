//! `[pages]`: the hosted pages (`/login`, `/account`, …).

use std::path::PathBuf;

use serde::Deserialize;

use super::cors::{origin_list, valid_origin};
use super::setting::{Checker, List, Setting};

/// The `[pages]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        "pages.allowed_return_origins",
        "LATCHKEY_PAGES_ALLOWED_RETURN_ORIGINS",
        "",
        "origins `/login?return_to=` may send people back to, besides the public URL (exact, no wildcards)",
    ),
    Setting::text(
        "pages.theme_dir",
        "LATCHKEY_PAGES_THEME_DIR",
        "",
        "a directory whose templates and latchkey.css replace the built-in ones",
    ),
];

/// The validated `[pages]` settings.
#[derive(Debug, Clone, Default)]
pub struct PagesConfig {
    /// Exact origins `return_to` may name.
    pub allowed_return_origins: Vec<String>,
    /// The theme directory, if any.
    pub theme_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    allowed_return_origins: Option<List>,
    theme_dir: Option<String>,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> PagesConfig {
        let origins = origin_list(self.allowed_return_origins);
        for o in &origins {
            if o.contains('*') || !valid_origin(o) {
                c.fail(
                    "pages.allowed_return_origins",
                    Some(o),
                    "expected exact origins such as https://app.example.com (lowercase scheme, host and port only; no wildcards)",
                );
            }
        }
        c.show_str("pages.allowed_return_origins", &origins.join(", "));
        let theme_dir = c
            .optional("pages.theme_dir", self.theme_dir)
            .map(PathBuf::from);
        if let Some(dir) = &theme_dir
            && !dir.is_dir()
        {
            c.fail("pages.theme_dir", dir.to_str(), "no such directory");
        }
        PagesConfig {
            allowed_return_origins: origins,
            theme_dir,
        }
    }
}
