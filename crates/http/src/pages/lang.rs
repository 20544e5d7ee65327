//! The language of a page: `?lang=` first (remembered in a cookie), then
//! the cookie, then `Accept-Language` by its q-values, then the default
//! (the first of `pages.locales`). Only configured locales are chosen; a
//! region without a catalogue of its own (`de-CH`) takes its language.
//!
//! The request pipeline chooses once per request and puts the [`Lang`] in
//! the request's extensions (handlers take it as an extractor; the error
//! renderer gets it from the pipeline), and sets the cookie on an HTML
//! answer when `?lang=` chose.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use latchkey_core::i18n::Catalogue;

use crate::cookies::cookie_value;

/// How long the language cookie is kept (a year).
pub const COOKIE_MAX_AGE_SECS: i64 = 365 * 24 * 3600;

/// The language of this request's pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lang {
    /// A configured locale.
    pub tag: String,
    /// Whether `?lang=` chose it (then the cookie remembers it).
    pub from_query: bool,
    /// Whether the request asked for it (`?lang=`, the cookie or
    /// `Accept-Language`), rather than getting the default.
    pub negotiated: bool,
}

impl Lang {
    /// Chooses from the query string, the language cookie `cookie` and
    /// `Accept-Language`.
    pub fn choose(
        catalogue: &Catalogue,
        query: Option<&str>,
        headers: &HeaderMap,
        cookie: &str,
    ) -> Lang {
        if let Some(tag) = query
            .and_then(query_lang)
            .and_then(|q| catalogue.supported(&q))
        {
            return Lang {
                tag: tag.to_owned(),
                from_query: true,
                negotiated: true,
            };
        }
        let remembered = cookie_value(headers, cookie);
        let accepted = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(accept_language)
            .unwrap_or_default();
        let asked = remembered
            .into_iter()
            .chain(accepted)
            .find_map(|wanted| catalogue.supported(&wanted).map(str::to_owned));
        Lang {
            negotiated: asked.is_some(),
            tag: asked.unwrap_or_else(|| catalogue.default_locale().to_owned()),
            from_query: false,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // the pipeline chose it; a router without the pipeline (a unit
        // test) gets English
        Ok(parts.extensions.get::<Lang>().cloned().unwrap_or(Lang {
            tag: latchkey_core::i18n::REFERENCE.to_owned(),
            from_query: false,
            negotiated: false,
        }))
    }
}

/// The first of an OpenID Connect `ui_locales` (space-separated tags, most
/// wanted first) that `catalogue` ships, if any.
pub fn from_ui_locales<'c>(catalogue: &'c Catalogue, ui_locales: &str) -> Option<&'c str> {
    ui_locales
        .split(' ')
        .filter(|t| latchkey_core::i18n::valid_tag(t))
        .find_map(|t| catalogue.supported(t))
}

/// The value of `lang=` in a query string, if it is a language tag.
fn query_lang(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "lang")
        .map(|(_, v)| v.to_owned())
        .filter(|v| latchkey_core::i18n::valid_tag(v))
}

/// The tags of an `Accept-Language` header, most wanted first (by q-value;
/// equal ones in the header's order; `q=0` and `*` dropped).
pub fn accept_language(header: &str) -> Vec<String> {
    let mut tags: Vec<(u16, usize, String)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, item)| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_q)?;
            (q > 0 && tag != "*" && latchkey_core::i18n::valid_tag(tag))
                .then(|| (q, i, tag.to_owned()))
        })
        .collect();
    tags.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    tags.into_iter().map(|(_, _, t)| t).collect()
}

/// A q-value in thousandths; `None` when it is not one (RFC 9110 §12.4.2).
fn parse_q(q: &str) -> Option<u16> {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac),
        "1" if frac == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn accept_language_is_ordered_by_q_values() {
        for (header, expected) in [
            ("de", vec!["de"]),
            ("fr;q=0.5, de;q=0.9, en", vec!["en", "de", "fr"]),
            ("en;q=0.8, fr-CA, de;q=0.8", vec!["fr-CA", "en", "de"]),
            ("de;q=0, fr;q=0.001", vec!["fr"]),
            ("*, de;q=0.1", vec!["de"]),
            ("de;q=2, fr;q=abc, en;q=0.1234, it;q=1.000", vec!["it"]),
            ("", vec![]),
            ("<script>, de", vec!["de"]),
        ] {
            assert_eq!(accept_language(header), expected, "{header}");
        }
    }

    #[test]
    fn the_query_then_the_cookie_then_the_header_then_the_default() {
        let catalogue = Catalogue::default();
        let choose = |query: Option<&str>, cookie: Option<&str>, accept: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(c) = cookie {
                h.insert(
                    header::COOKIE,
                    HeaderValue::from_str(&format!("latchkey_lang={c}")).unwrap(),
                );
            }
            if let Some(a) = accept {
                h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(a).unwrap());
            }
            let l = Lang::choose(&catalogue, query, &h, "latchkey_lang");
            (l.tag, l.from_query)
        };
        let lang = |t: &str, q: bool| (t.to_owned(), q);
        assert_eq!(
            choose(Some("lang=fr"), Some("de"), Some("en")),
            lang("fr", true)
        );
        assert_eq!(choose(Some("x=1&lang=de-AT"), None, None), lang("de", true));
        assert_eq!(
            choose(Some("lang=es"), Some("de"), Some("fr")),
            lang("de", false),
            "an unconfigured ?lang= is ignored"
        );
        assert_eq!(choose(None, Some("fr"), Some("de")), lang("fr", false));
        assert_eq!(
            choose(None, Some("xx"), Some("es, de;q=0.5")),
            lang("de", false)
        );
        assert_eq!(choose(None, None, Some("es, it")), lang("en", false));
        assert_eq!(choose(Some("lang=%3Cb%3E"), None, None), lang("en", false));
    }
}
