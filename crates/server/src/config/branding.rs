//! `[branding]`: the product's name, logo, colours and a custom stylesheet,
//! used by the hosted pages and by mail alike. `mail.product_name`,
//! `mail.logo_url` and `mail.brand_color` (their home before `[branding]`)
//! still work as aliases: a value set under `[branding]` wins, else the
//! alias's, else the default; a problem names the key the value came from.

use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

use super::setting::{Checker, Setting};

/// The `[branding]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        "branding.product_name",
        "LATCHKEY_BRANDING_PRODUCT_NAME",
        "latchkey",
        "the product's name atop pages, in page titles and in mail (alias: `mail.product_name`)",
    ),
    Setting::text(
        "branding.logo_url",
        "LATCHKEY_BRANDING_LOGO_URL",
        "",
        "an absolute http(s) URL of a logo atop HTML mail (alias: `mail.logo_url`)",
    ),
    Setting::text(
        "branding.color",
        "LATCHKEY_BRANDING_COLOR",
        "#2f6fde",
        "the accent colour of buttons and links in pages and mail, `#rrggbb` (alias: `mail.brand_color`)",
    ),
    Setting::text(
        "branding.background_color",
        "LATCHKEY_BRANDING_BACKGROUND_COLOR",
        "",
        "the background colour of pages, `#rrggbb` (none: the stylesheet's)",
    ),
    Setting::text(
        "branding.custom_css",
        "LATCHKEY_BRANDING_CUSTOM_CSS",
        "",
        "a CSS file served at /assets/custom.css and loaded by every page after the built-in stylesheet",
    ),
];

/// The largest custom stylesheet accepted.
const MAX_CSS_BYTES: u64 = 256 * 1024;

/// The validated `[branding]` settings.
#[derive(Debug, Clone)]
pub struct BrandingConfig {
    /// The product's name.
    pub product_name: String,
    /// A logo for mail.
    pub logo_url: Option<String>,
    /// The accent colour, `#rrggbb`.
    pub color: String,
    /// The page background, `#rrggbb`.
    pub background_color: Option<String>,
    /// The custom stylesheet's file and text.
    pub custom_css: Option<(PathBuf, String)>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    product_name: Option<String>,
    logo_url: Option<String>,
    color: Option<String>,
    background_color: Option<String>,
    custom_css: Option<String>,
}

/// The values of the `mail.*` aliases, as written.
#[derive(Debug, Default)]
pub(super) struct Aliases {
    pub(super) product_name: Option<String>,
    pub(super) logo_url: Option<String>,
    pub(super) brand_color: Option<String>,
}

/// The key a value came from and the value: `[branding]`'s when set, else
/// the alias's.
fn pick(
    own: (&'static str, Option<String>),
    alias: (&'static str, Option<String>),
) -> (&'static str, Option<String>) {
    let set = |v: &Option<String>| v.as_ref().is_some_and(|s| !s.trim().is_empty());
    if set(&own.1) || !set(&alias.1) {
        own
    } else {
        alias
    }
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker, aliases: Aliases) -> BrandingConfig {
        let (key, value) = pick(
            ("branding.product_name", self.product_name),
            ("mail.product_name", aliases.product_name),
        );
        let product_name = c.nonblank(key, value);
        if product_name.chars().count() > 100 || product_name.chars().any(char::is_control) {
            c.fail(
                key,
                Some(&product_name),
                "expected at most 100 characters without control characters",
            );
        }
        let (key, value) = pick(
            ("branding.logo_url", self.logo_url),
            ("mail.logo_url", aliases.logo_url),
        );
        let logo_url = c.optional(key, value);
        if let Some(u) = &logo_url
            && !Url::parse(u).is_ok_and(|p| p.scheme() == "https" || p.scheme() == "http")
        {
            c.fail(key, Some(u), "expected an absolute http(s) URL");
        }
        let (key, value) = pick(
            ("branding.color", self.color),
            ("mail.brand_color", aliases.brand_color),
        );
        let color = c.nonblank(key, value);
        color_check(c, key, &color);
        let background_color = c.optional("branding.background_color", self.background_color);
        if let Some(bg) = &background_color {
            color_check(c, "branding.background_color", bg);
        }
        let custom_css = c
            .optional("branding.custom_css", self.custom_css)
            .map(PathBuf::from)
            .and_then(|path| match read_css(&path) {
                Ok(text) => Some((path, text)),
                Err(why) => {
                    c.fail("branding.custom_css", path.to_str(), why);
                    None
                }
            });
        // `config show`: the effective value under [branding], the alias as
        // written
        for (own, alias, value) in [
            (
                "branding.product_name",
                "mail.product_name",
                product_name.clone(),
            ),
            (
                "branding.logo_url",
                "mail.logo_url",
                logo_url.clone().unwrap_or_default(),
            ),
            ("branding.color", "mail.brand_color", color.clone()),
        ] {
            c.show_str(own, &value);
            if !c.shown.contains_key(alias) {
                c.show_str(alias, "");
            }
        }
        BrandingConfig {
            product_name,
            logo_url,
            color,
            background_color,
            custom_css,
        }
    }
}

fn color_check(c: &mut Checker, key: &'static str, value: &str) {
    if !latchkey_core::mail::is_hex_color(value) {
        c.fail(key, Some(value), "expected a colour such as #2f6fde");
    }
}

fn read_css(path: &std::path::Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_file() || meta.len() > MAX_CSS_BYTES {
        return Err(format!(
            "expected a CSS file of at most {} KiB",
            MAX_CSS_BYTES / 1024
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot be read as UTF-8 text: {e}"))
}
