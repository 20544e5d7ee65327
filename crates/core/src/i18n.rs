//! Message catalogues: every sentence latchkey shows a person (pages and
//! mail) looked up by key in a [Fluent](https://projectfluent.org) catalogue
//! for a locale.
//!
//! Decisions:
//! - **One catalogue, several owners.** The mail text is core's
//!   ([`MAIL`], `crates/core/locales/<lang>/mail.ftl`); the page text is
//!   http's (`crates/http/locales/<lang>/pages.ftl`), added by http when it
//!   builds the catalogue, so dependencies keep pointing one way. A theme's
//!   files (`<theme_dir>/locales/<lang>/*.ftl`) are added last and win.
//! - **English is the reference.** Every key of the built-in English
//!   catalogue must be in every configured locale; [`Builder::build`] names
//!   the first missing one and the start-up stops. A theme that overrides a
//!   key in one locale must override it in every configured locale (else
//!   some people would see the theme's wording and others the built-in one).
//! - **Fallback at lookup:** a region (`de-AT`) without a catalogue of its
//!   own uses its language (`de`), then the default locale, then English.
//! - **Text, not markup.** Values are plain text with `{ $variable }`
//!   placeables (no Unicode isolation marks); the page engine and the mail
//!   renderer escape them where they go.

use std::collections::{BTreeMap, BTreeSet};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// The locales latchkey ships complete catalogues for.
pub const SHIPPED: &[&str] = &["en", "de", "fr"];

/// The reference locale: its keys are the ones every locale must have.
pub const REFERENCE: &str = "en";

/// Keys whose value may read the same as English in another language (a
/// reviewed list: names and symbols, nothing a translator should touch).
pub const SAME_AS_ENGLISH: &[&str] = &["mail-common-signature", "passkey-title"];

/// The mail catalogue, by locale.
pub const MAIL: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en/mail.ftl")),
    ("de", include_str!("../locales/de/mail.ftl")),
    ("fr", include_str!("../locales/fr/mail.ftl")),
];

/// Why a catalogue cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum I18nError {
    /// A file is not valid Fluent.
    #[error("{origin}: not a valid Fluent catalogue: {message}")]
    Syntax {
        /// Which file (`built-in en/pages.ftl`, a theme path).
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A configured locale lacks a key.
    #[error("locale `{locale}` lacks the key `{key}` ({why})")]
    MissingKey {
        /// The locale.
        locale: String,
        /// The key.
        key: String,
        /// Whose catalogue has it.
        why: String,
    },
    /// A locale tag that is not one.
    #[error("`{0}` is not a language tag such as `de` or `pt-BR`")]
    BadLocale(String),
}

/// Where a resource comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Builtin,
    Theme,
}

/// Collects resources, then checks and builds a [`Catalogue`].
#[derive(Debug, Default)]
pub struct Builder {
    /// (locale, origin, name, text), in the order added.
    resources: Vec<(String, Origin, String, String)>,
}

impl Builder {
    /// A builder holding core's mail catalogue.
    pub fn new() -> Builder {
        let mut b = Builder::default();
        for (locale, text) in MAIL {
            b = b.builtin(locale, "mail.ftl", text);
        }
        b
    }

    /// Adds a built-in resource (`name` is for messages).
    pub fn builtin(mut self, locale: &str, name: &str, text: &str) -> Builder {
        self.resources.push((
            locale.to_owned(),
            Origin::Builtin,
            format!("built-in {locale}/{name}"),
            text.to_owned(),
        ));
        self
    }

    /// Adds a theme's resource: its keys replace the built-in ones.
    pub fn theme(mut self, locale: &str, name: &str, text: String) -> Builder {
        self.resources
            .push((locale.to_owned(), Origin::Theme, name.to_owned(), text));
        self
    }

    /// Builds the catalogue for `locales` (the first is the default),
    /// refusing a locale that lacks a key (see the module's decisions).
    pub fn build(self, locales: &[String]) -> Result<Catalogue, I18nError> {
        for l in locales {
            if !valid_tag(l) {
                return Err(I18nError::BadLocale(l.clone()));
            }
        }
        let mut parsed: Vec<(String, Origin, FluentResource)> = Vec::new();
        for (locale, origin, name, text) in self.resources {
            let resource =
                FluentResource::try_new(text).map_err(|(_, errors)| I18nError::Syntax {
                    origin: name.clone(),
                    message: errors.first().map(|e| format!("{e:?}")).unwrap_or_default(),
                })?;
            parsed.push((locale.to_ascii_lowercase(), origin, resource));
        }
        let keys_of = |locale: &str, origin: Option<Origin>| -> BTreeSet<String> {
            parsed
                .iter()
                .filter(|(l, o, _)| l == locale && origin.is_none_or(|want| want == *o))
                .flat_map(|(_, _, r)| message_ids(r))
                .collect()
        };
        let reference = keys_of(REFERENCE, Some(Origin::Builtin));
        // keys a theme gives a locale: overriding a built-in sentence of
        // that locale, or new (its own templates' keys, or a new locale)
        let mut overridden: BTreeMap<String, String> = BTreeMap::new();
        let mut added: BTreeMap<String, String> = BTreeMap::new();
        for (l, o, r) in &parsed {
            if *o != Origin::Theme {
                continue;
            }
            let builtin = keys_of(l, Some(Origin::Builtin));
            for k in message_ids(r) {
                if builtin.contains(&k) {
                    overridden.entry(k).or_insert_with(|| l.clone());
                } else if !reference.contains(&k) {
                    added.entry(k).or_insert_with(|| l.clone());
                }
            }
        }
        let mut out = Vec::new();
        for locale in locales {
            let tag = locale.to_ascii_lowercase();
            let have = keys_of(&tag, None);
            let theme_have = keys_of(&tag, Some(Origin::Theme));
            if let Some(key) = reference.iter().find(|k| !have.contains(*k)) {
                return Err(I18nError::MissingKey {
                    locale: tag,
                    key: key.clone(),
                    why: "every locale needs every key of the built-in English catalogue; add it to the theme's locales/ folder".into(),
                });
            }
            let missing = overridden
                .iter()
                .find(|(k, _)| !theme_have.contains(*k))
                .map(|(k, other)| (k, other, "overrides it"))
                .or_else(|| {
                    added
                        .iter()
                        .find(|(k, _)| !have.contains(*k))
                        .map(|(k, other)| (k, other, "has it"))
                });
            if let Some((key, other, what)) = missing {
                return Err(I18nError::MissingKey {
                    locale: tag.clone(),
                    key: key.clone(),
                    why: format!(
                        "the theme's `{other}` catalogue {what}, so the theme's `{tag}` catalogue must have it too"
                    ),
                });
            }
            let mut bundle = FluentBundle::new_concurrent(vec![
                tag.parse().map_err(|_| I18nError::BadLocale(tag.clone()))?,
            ]);
            bundle.set_use_isolating(false);
            for origin in [Origin::Builtin, Origin::Theme] {
                for (_, _, r) in parsed.iter().filter(|(l, o, _)| *l == tag && *o == origin) {
                    // FluentResource is not Clone: parse the source again
                    bundle.add_resource_overriding(reparse(r));
                }
            }
            out.push(Locale {
                tag,
                bundle,
                keys: have,
            });
        }
        if out.is_empty() {
            return Err(I18nError::BadLocale(String::new()));
        }
        Ok(Catalogue { locales: out })
    }
}

fn reparse(r: &FluentResource) -> FluentResource {
    FluentResource::try_new(r.source().to_owned()).unwrap_or_else(|(r, _)| r)
}

fn message_ids(r: &FluentResource) -> impl Iterator<Item = String> + '_ {
    r.entries().filter_map(|e| match e {
        fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
        _ => None,
    })
}

/// Whether `tag` looks like a language tag (`en`, `de-AT`, `pt_BR`).
pub fn valid_tag(tag: &str) -> bool {
    let mut parts = tag.split(['-', '_']);
    let lang = parts.next().unwrap_or("");
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_alphabetic())
        && tag.len() <= 35
        && parts
            .all(|p| !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

struct Locale {
    tag: String,
    bundle: FluentBundle<FluentResource>,
    keys: BTreeSet<String>,
}

/// The sentences of every configured locale, ready to format.
pub struct Catalogue {
    /// The first is the default.
    locales: Vec<Locale>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("locales", &self.locales())
            .finish()
    }
}

impl Default for Catalogue {
    /// Core's mail catalogue in the shipped locales (English first).
    fn default() -> Self {
        Builder::new()
            .build(&SHIPPED.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            .expect("the built-in catalogue is complete")
    }
}

impl Catalogue {
    /// The configured locales; the first is the default.
    pub fn locales(&self) -> Vec<&str> {
        self.locales.iter().map(|l| l.tag.as_str()).collect()
    }

    /// The default locale.
    pub fn default_locale(&self) -> &str {
        &self.locales[0].tag
    }

    /// The configured locale for `wanted`: itself, else its language, if
    /// configured (`de-AT` → `de`); `None` otherwise.
    pub fn supported(&self, wanted: &str) -> Option<&str> {
        let wanted = wanted.trim().to_ascii_lowercase().replace('_', "-");
        let lang = wanted.split('-').next().unwrap_or("");
        self.locales
            .iter()
            .find(|l| l.tag == wanted)
            .or_else(|| self.locales.iter().find(|l| l.tag == lang))
            .map(|l| l.tag.as_str())
    }

    /// The configured locale for `wanted`, else the default.
    pub fn resolve(&self, wanted: &str) -> &str {
        self.supported(wanted)
            .unwrap_or_else(|| self.default_locale())
    }

    /// Whether `locale` (exactly) has `key`.
    pub fn has(&self, locale: &str, key: &str) -> bool {
        self.locales
            .iter()
            .any(|l| l.tag == locale && l.keys.contains(key))
    }

    /// Every key of `locale`.
    pub fn keys(&self, locale: &str) -> Vec<&str> {
        self.locales
            .iter()
            .find(|l| l.tag == locale)
            .map(|l| l.keys.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The sentence `key` in `locale` (resolved, falling back to the
    /// default locale) with `args` filled in; `None` when no locale has it.
    pub fn get(&self, locale: &str, key: &str, args: &[(&str, String)]) -> Option<String> {
        let first = self.resolve(locale);
        let order = [first, self.default_locale()];
        let found = order.iter().find_map(|tag| {
            self.locales
                .iter()
                .find(|l| l.tag == *tag)
                .and_then(|l| Some((l, l.bundle.get_message(key)?.value()?)))
        })?;
        let (l, pattern) = found;
        let mut fargs = FluentArgs::new();
        for (name, value) in args {
            fargs.set(*name, FluentValue::from(value.as_str()));
        }
        let mut errors = Vec::new();
        let text = l.bundle.format_pattern(pattern, Some(&fargs), &mut errors);
        Some(text.into_owned())
    }

    /// The sentence `key` in `locale`, or `key` itself when no locale has
    /// it (a bug the catalogue tests catch; never a panic).
    pub fn text(&self, locale: &str, key: &str, args: &[(&str, String)]) -> String {
        self.get(locale, key, args)
            .unwrap_or_else(|| key.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locales(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_shipped_catalogue_is_complete_and_translated() {
        let c = Catalogue::default();
        let en = c.keys("en");
        assert!(en.len() > 20, "{en:?}");
        for locale in SHIPPED {
            assert_eq!(c.keys(locale), en, "{locale} has the same keys as English");
            if *locale == REFERENCE {
                continue;
            }
            for key in &en {
                let ours = c.text(locale, key, &[]);
                let english = c.text("en", key, &[]);
                assert!(
                    ours != english || SAME_AS_ENGLISH.contains(key),
                    "{locale}: `{key}` reads as in English: {ours:?}"
                );
            }
        }
    }

    #[test]
    fn a_locale_missing_a_key_is_refused_with_the_key_named() {
        let err = Builder::new()
            .builtin("en", "x.ftl", "extra-key = Extra\n")
            .build(&locales(&["en", "de"]))
            .unwrap_err();
        assert_eq!(
            err,
            I18nError::MissingKey {
                locale: "de".into(),
                key: "extra-key".into(),
                why: "every locale needs every key of the built-in English catalogue; add it to the theme's locales/ folder".into(),
            }
        );
        // a locale without any catalogue lacks everything
        let err = Builder::new().build(&locales(&["en", "es"])).unwrap_err();
        assert!(
            matches!(err, I18nError::MissingKey { ref locale, .. } if locale == "es"),
            "{err}"
        );
        // a theme completing the locale makes it usable
        let mut es = String::new();
        for key in Catalogue::default().keys("en") {
            es.push_str(&format!("{key} = es {key}\n"));
        }
        let c = Builder::new()
            .theme("es", "theme/locales/es/mail.ftl", es)
            .build(&locales(&["en", "es"]))
            .unwrap();
        assert_eq!(
            c.text("es", "mail-common-link_hint", &[]),
            "es mail-common-link_hint"
        );
    }

    #[test]
    fn a_theme_overrides_in_every_locale_or_start_up_stops() {
        let theme = |b: Builder, l: &str| {
            b.theme(
                l,
                &format!("t/{l}.ftl"),
                format!("mail-common-link_hint = Themed {l}\n"),
            )
        };
        let c = theme(theme(Builder::new(), "en"), "de")
            .build(&locales(&["en", "de"]))
            .unwrap();
        assert_eq!(c.text("de", "mail-common-link_hint", &[]), "Themed de");
        assert_eq!(c.text("en", "mail-common-link_hint", &[]), "Themed en");
        let err = theme(Builder::new(), "en")
            .build(&locales(&["en", "de"]))
            .unwrap_err();
        assert!(
            matches!(&err, I18nError::MissingKey { locale, key, .. } if locale == "de" && key == "mail-common-link_hint"),
            "{err}"
        );
        let err = Builder::new()
            .theme("en", "t/en.ftl", "broken = { $\n".into())
            .build(&locales(&["en"]))
            .unwrap_err();
        assert!(
            matches!(&err, I18nError::Syntax { origin, .. } if origin == "t/en.ftl"),
            "{err}"
        );
    }

    #[test]
    fn lookups_fall_back_to_the_language_then_the_default() {
        let c = Catalogue::default();
        for (wanted, got) in [
            ("de", "de"),
            ("DE-at", "de"),
            ("fr_CA", "fr"),
            ("es", "en"),
            ("", "en"),
            ("en-GB", "en"),
        ] {
            assert_eq!(c.resolve(wanted), got, "{wanted}");
        }
        let c = Builder::new().build(&locales(&["fr", "en"])).unwrap();
        assert_eq!(c.resolve("zz"), "fr", "the first configured is the default");
        assert_eq!(c.text("en", "no-such-key", &[]), "no-such-key");
        for bad in ["", "e", "english-language-x", "de/../x", "d1"] {
            assert!(!valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn variables_are_filled_in_without_isolation_marks() {
        let c = Catalogue::default();
        let s = c.text(
            "de",
            "mail-password_reset-subject",
            &[("product", "Acme".into())],
        );
        assert_eq!(s, "Ihr Acme-Passwort zurücksetzen");
    }
}
