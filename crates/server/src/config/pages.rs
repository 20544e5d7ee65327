//! `[pages]`: the hosted pages (`/login`, `/account`, …).

use std::path::PathBuf;
use std::sync::Arc;

use latchkey_core::i18n::{Catalogue, I18nError};

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
        "a directory whose templates, latchkey.css and locales/<lang>/*.ftl replace the built-in ones",
    ),
    Setting::text(
        "pages.locales",
        "LATCHKEY_PAGES_LOCALES",
        "en, de, fr",
        "the languages of pages and mail, the default first; each needs every key of the English catalogue (built in: en, de, fr; others from the theme's locales/)",
    ),
];

/// The validated `[pages]` settings.
#[derive(Debug, Clone, Default)]
pub struct PagesConfig {
    /// Exact origins `return_to` may name.
    pub allowed_return_origins: Vec<String>,
    /// The theme directory, if any.
    pub theme_dir: Option<PathBuf>,
    /// The configured locales, the default first.
    pub locales: Vec<String>,
    /// The sentences of pages and mail in those locales (the theme's
    /// overriding the built-in ones), checked complete.
    pub catalogue: Arc<Catalogue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    allowed_return_origins: Option<List>,
    theme_dir: Option<String>,
    locales: Option<List>,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker, mail_locale: &str) -> PagesConfig {
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
        let locales = match self.locales {
            None => latchkey_core::i18n::SHIPPED
                .iter()
                .map(|l| (*l).to_owned())
                .collect(),
            Some(list) => origin_list(Some(list)),
        };
        c.show_str("pages.locales", &locales.join(", "));
        let catalogue = if locales.is_empty() {
            c.fail(
                "pages.locales",
                Some(""),
                "expected at least one language tag such as `en`",
            );
            None
        } else if c.failed("pages.theme_dir") {
            None
        } else {
            match latchkey_http::pages::catalogue(theme_dir.as_deref(), &locales) {
                Ok(catalogue) => Some(catalogue),
                Err(e) => {
                    let why = match &e {
                        I18nError::MissingKey { .. } => format!("{e}"),
                        I18nError::BadLocale(_) => format!("{e}"),
                        I18nError::Syntax { .. } => format!("the theme's catalogue: {e}"),
                    };
                    c.fail("pages.locales", Some(&locales.join(", ")), why);
                    None
                }
            }
        };
        if let Some(cat) = &catalogue
            && cat.supported(mail_locale).is_none()
        {
            c.fail(
                "mail.locale",
                Some(mail_locale),
                format!("expected one of pages.locales ({})", locales.join(", ")),
            );
        }
        PagesConfig {
            allowed_return_origins: origins,
            theme_dir,
            locales,
            catalogue: Arc::new(catalogue.unwrap_or_default()),
        }
    }
}
