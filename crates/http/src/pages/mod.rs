//! HTML, built in one place: templates rendered by minijinja. The built-in
//! templates (`crates/http/templates/`) and stylesheet are embedded in the
//! binary; a theme directory holds files of the same names that replace
//! them at run time (see [`Pages::themed`]). Every value a template prints
//! is escaped by the engine (auto-escaping is on for `.html`); nothing else
//! in `http` writes HTML.
//!
//! Every page answer carries a fresh CSP nonce (the only scripts and styles
//! a page may load are its own, marked with it), `frame-ancestors 'none'`
//! and `Cache-Control: no-store`. Forms carry a CSRF token (see [`csrf`]).
//!
//! Every sentence comes from the message catalogue
//! (`crates/http/locales/<lang>/pages.ftl`, see `latchkey_core::i18n`):
//! templates call `t("key")` (or `t("key", name=value)`) in the page's
//! language ([`lang`]); handlers pass keys for titles and translate the
//! texts they choose with [`Pages::t`].

pub mod contract;
pub mod csrf;
pub mod lang;
pub mod return_to;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use latchkey_core::i18n::{Builder, Catalogue, I18nError};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use minijinja::{Environment, Value, context};

/// The built-in templates, by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("message.html", include_str!("../../templates/message.html")),
    ("link.html", include_str!("../../templates/link.html")),
    (
        "passwordless.html",
        include_str!("../../templates/passwordless.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("logout.html", include_str!("../../templates/logout.html")),
    ("account.html", include_str!("../../templates/account.html")),
    ("forgot.html", include_str!("../../templates/forgot.html")),
    (
        "register.html",
        include_str!("../../templates/register.html"),
    ),
    (
        "registered.html",
        include_str!("../../templates/registered.html"),
    ),
    (
        "activity.html",
        include_str!("../../templates/activity.html"),
    ),
    ("deleted.html", include_str!("../../templates/deleted.html")),
    ("mfa.html", include_str!("../../templates/mfa.html")),
    ("consent.html", include_str!("../../templates/consent.html")),
    (
        "form_post.html",
        include_str!("../../templates/form_post.html"),
    ),
];

/// The page catalogue, by locale (the mail catalogue is core's).
pub const CATALOGUE: &[(&str, &str)] = &[
    ("en", include_str!("../../locales/en/pages.ftl")),
    ("de", include_str!("../../locales/de/pages.ftl")),
    ("fr", include_str!("../../locales/fr/pages.ftl")),
];

/// The catalogue of pages and mail for `locales` (the first is the
/// default): the built-in one, overridden by the `.ftl` files in the
/// theme's `locales/<lang>/`. Fails on a locale that lacks a key, naming it.
pub fn catalogue(theme: Option<&Path>, locales: &[String]) -> Result<Catalogue, I18nError> {
    let mut builder = Builder::new();
    for (locale, text) in CATALOGUE {
        builder = builder.builtin(locale, "pages.ftl", text);
    }
    for (locale, path, text) in theme_catalogue(theme)? {
        builder = builder.theme(&locale, &path, text);
    }
    builder.build(locales)
}

/// The `.ftl` files of a theme's `locales/<lang>/` folders: (locale, path,
/// text), sorted by path.
fn theme_catalogue(theme: Option<&Path>) -> Result<Vec<(String, String, String)>, I18nError> {
    let Some(dir) = theme.map(|t| t.join("locales")) else {
        return Ok(Vec::new());
    };
    let unreadable = |path: &Path, e: std::io::Error| I18nError::Syntax {
        origin: path.display().to_string(),
        message: format!("cannot be read: {e}"),
    };
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(unreadable(&dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(&dir, e))?;
        let locale = entry.file_name().to_string_lossy().into_owned();
        if !entry.path().is_dir() {
            continue;
        }
        if !latchkey_core::i18n::valid_tag(&locale) {
            return Err(I18nError::BadLocale(format!(
                "{} (a folder of {})",
                locale,
                dir.display()
            )));
        }
        let inner = std::fs::read_dir(entry.path()).map_err(|e| unreadable(&entry.path(), e))?;
        for file in inner {
            let path = file.map_err(|e| unreadable(&entry.path(), e))?.path();
            if path.extension().is_some_and(|x| x == "ftl") {
                let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
                files.push((locale.clone(), path.display().to_string(), text));
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(files)
}

/// The built-in stylesheet, served at `/assets/latchkey.css`.
const STYLESHEET: &str = include_str!("../../assets/latchkey.css");

/// The file name of the stylesheet in a theme directory.
const STYLESHEET_FILE: &str = "latchkey.css";

/// The page renderer: the templates (built-in, or a theme's where it has
/// one of the same name) and the values every page receives.
pub struct Pages {
    env: Environment<'static>,
    theme: Option<PathBuf>,
    catalogue: Arc<Catalogue>,
    branding: Branding,
    return_origins: Vec<String>,
}

/// The look shared by pages and mail (`[branding]`), checked when the
/// configuration is loaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Branding {
    /// The product's name, atop every page and in every title.
    pub product_name: String,
    /// The accent colour (buttons, links), `#rrggbb`; `None`: the stylesheet's.
    pub color: Option<String>,
    /// The page background, `#rrggbb`; `None`: the stylesheet's.
    pub background_color: Option<String>,
    /// A stylesheet served at `/assets/custom.css` after the built-in one
    /// (from latchkey's origin, so the CSP stays strict).
    #[serde(serialize_with = "is_some")]
    pub custom_css: Option<String>,
}

fn is_some<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(v.is_some())
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            product_name: "latchkey".to_owned(),
            color: None,
            background_color: None,
            custom_css: None,
        }
    }
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("theme", &self.theme)
            .field("branding", &self.branding.product_name)
            .finish_non_exhaustive()
    }
}

impl Default for Pages {
    fn default() -> Self {
        Pages::builtin()
    }
}

/// How a page is sent.
#[derive(Debug, Clone, Copy)]
pub struct PageOptions {
    /// The HTTP status.
    pub status: StatusCode,
    /// `Referrer-Policy`: `same-origin` lets forms post their `Origin`;
    /// pages whose URL holds a secret (the mailed links) say `no-referrer`.
    pub referrer: &'static str,
}

impl PageOptions {
    /// 200, `same-origin`.
    pub const OK: PageOptions = PageOptions {
        status: StatusCode::OK,
        referrer: "same-origin",
    };

    /// This page with another status.
    pub const fn status(self, status: StatusCode) -> PageOptions {
        PageOptions { status, ..self }
    }
}

impl Pages {
    /// The built-in templates and catalogue (every shipped locale).
    pub fn builtin() -> Pages {
        Pages::new(None, Arc::new(builtin_catalogue()))
    }

    /// The templates of theme directory `dir`, and the built-in ones for
    /// names the theme does not have, with the built-in catalogue (see
    /// [`Pages::new`] for the theme's). Files are read when first used.
    pub fn themed(dir: PathBuf) -> Pages {
        Pages::new(Some(dir), Arc::new(builtin_catalogue()))
    }

    /// The templates of `theme` (or the built-in ones) speaking from
    /// `catalogue` (see [`catalogue`]; shared with mail).
    pub fn new(theme: Option<PathBuf>, catalogue: Arc<Catalogue>) -> Pages {
        let mut env = Environment::new();
        let words = catalogue.clone();
        env.add_function(
            "t",
            move |state: &minijinja::State,
                  key: &str,
                  kwargs: minijinja::value::Kwargs|
                  -> Result<String, minijinja::Error> {
                let lang = state
                    .lookup("lang")
                    .and_then(|l| l.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let args: Vec<(&str, String)> = kwargs
                    .args()
                    .map(|name| {
                        let value: Value = kwargs.get(name).unwrap_or_default();
                        (name, value.to_string())
                    })
                    .collect();
                words.get(&lang, key, &args).ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::UndefinedError,
                        format!("no message `{key}` in the catalogue"),
                    )
                })
            },
        );
        let dir = theme.clone();
        env.set_loader(move |name| {
            if let Some(text) = theme_file(dir.as_ref(), name)? {
                return Ok(Some(text));
            }
            Ok(TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| (*text).to_owned()))
        });
        Pages {
            env,
            theme,
            catalogue,
            branding: Branding::default(),
            return_origins: Vec::new(),
        }
    }

    /// Sets the product name, colours and custom stylesheet.
    pub fn with_branding(mut self, branding: Branding) -> Pages {
        self.branding = branding;
        self
    }

    /// The custom stylesheet (`branding.custom_css`), if there is one.
    pub fn custom_css(&self) -> Option<&str> {
        self.branding.custom_css.as_deref()
    }

    /// Makes a variable or attribute a template uses without it being
    /// given an error, instead of empty text (`latchkey theme check`).
    pub fn strict(mut self) -> Pages {
        self.env
            .set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        self
    }

    /// Sets the origins `/login?return_to=` may send people back to
    /// (`pages.allowed_return_origins`), besides latchkey's own.
    pub fn with_return_origins(mut self, origins: Vec<String>) -> Pages {
        self.return_origins = origins;
        self
    }

    /// Where to go after sign-in, for a `return_to` (see [`return_to`]).
    pub fn return_target(&self, return_to: &str, own_origin: &str) -> String {
        return_to::target(return_to, own_origin, &self.return_origins)
    }

    /// The stylesheet: the theme's `latchkey.css`, else the built-in one.
    pub fn stylesheet(&self) -> String {
        match theme_file(self.theme.as_ref(), STYLESHEET_FILE) {
            Ok(Some(css)) => css,
            _ => STYLESHEET.to_owned(),
        }
    }

    /// The catalogue of pages and mail.
    pub fn catalogue(&self) -> &Arc<Catalogue> {
        &self.catalogue
    }

    /// The sentence `key` in `lang` (see [`Catalogue::text`]).
    pub fn t(&self, lang: &str, key: &str) -> String {
        self.catalogue.text(lang, key, &[])
    }

    /// Renders template `name` in `lang` with `ctx` (plus `nonce`,
    /// `product_name`, `lang`, `locales` and `title`, the sentence of
    /// `title_key`) into a page answer. A template that fails (a theme's
    /// mistake) is logged and answered with a plain 500.
    pub fn render(
        &self,
        lang: &str,
        name: &str,
        title_key: &str,
        ctx: Value,
        options: PageOptions,
    ) -> Response {
        self.render_posting_to(lang, name, title_key, ctx, options, None)
    }

    /// [`Pages::render`] for a page whose form (or the redirect after it)
    /// goes to `origin` too (an OAuth client's redirect URI): the policy's
    /// `form-action` names it.
    pub fn render_posting_to(
        &self,
        lang: &str,
        name: &str,
        title_key: &str,
        ctx: Value,
        options: PageOptions,
        origin: Option<&str>,
    ) -> Response {
        let nonce = random_b64::<16>();
        let ctx_return_to = ctx
            .get_attr("return_to")
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        let full = context! {
            nonce => &nonce,
            product_name => &self.branding.product_name,
            branding => Value::from_serialize(&self.branding),
            lang => lang,
            locales => self.catalogue.locales(),
            title => self.t(lang, title_key),
            ..ctx
        };
        match self.env.get_template(name).and_then(|t| t.render(full)) {
            Ok(html) => {
                let mut response = (options.status, html).into_response();
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                let mut origins = self.return_origins.clone();
                origins.extend(origin.map(str::to_owned));
                origins.extend(authorization_return_origin(&ctx_return_to));
                if let Ok(csp) = HeaderValue::from_str(&csp(&nonce, &origins)) {
                    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
                }
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static(options.referrer),
                );
                response
            }
            Err(error) => {
                tracing::error!(
                    template = name,
                    error = format!("{error:#}"),
                    "page template failed"
                );
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CACHE_CONTROL, "no-store")],
                    "This page could not be shown; the server's log says why.",
                )
                    .into_response()
            }
        }
    }
}

fn builtin_catalogue() -> Catalogue {
    let shipped: Vec<String> = latchkey_core::i18n::SHIPPED
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    catalogue(None, &shipped).expect("the built-in catalogue is complete")
}

/// A theme's file `name`, if the theme has it. Names are the built-in ones;
/// anything that could leave the directory is not looked up.
fn theme_file(dir: Option<&PathBuf>, name: &str) -> Result<Option<String>, minijinja::Error> {
    let Some(dir) = dir else { return Ok(None) };
    if name.contains(['/', '\\']) || name.starts_with('.') {
        return Ok(None);
    }
    match std::fs::read_to_string(dir.join(name)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(minijinja::Error::new(
            minijinja::ErrorKind::TemplateNotFound,
            format!("the theme's {name} cannot be read"),
        )
        .with_source(e)),
    }
}

/// The origin a sign-in page's form may end at when its `return_to` is an
/// OAuth authorization request: browsers apply `form-action` to every
/// redirect after a form (sign-in → `/oauth2/authorize` → the client's
/// `redirect_uri`), and without it a person who signs in in the middle of
/// an authorization request is stopped before the client. The request is
/// not checked against the client's registration here (rendering has no
/// store): the authorization endpoint refuses an unregistered URI with a
/// page, never a redirect, so this adds nothing but where this one page's
/// form may lead; only an absolute http(s) URI counts.
fn authorization_return_origin(return_to: &Option<String>) -> Option<String> {
    let query = return_to.as_deref()?.strip_prefix("/oauth2/authorize?")?;
    let (_, redirect) =
        url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "redirect_uri")?;
    web_origin(&redirect)
}

/// The origin (`scheme://host[:port]`, as CSP sources name it) of an
/// absolute http(s) URI; `None` for anything else (a native app's
/// private-use scheme, a relative path).
pub(crate) fn web_origin(uri: &str) -> Option<String> {
    let uri = url::Url::parse(uri).ok()?;
    if !matches!(uri.scheme(), "http" | "https") || uri.host().is_none() {
        return None;
    }
    Some(uri.origin().ascii_serialization())
}

/// The policy of a page: its own stylesheet, scripts only with this
/// answer's nonce, forms posting back here, never framed. `form-action`
/// also names the allowed return origins: browsers apply it to the
/// redirect that follows a form (sign-in going on to `return_to`), and
/// would otherwise stop the person at latchkey.
fn csp(nonce: &str, return_origins: &[String]) -> String {
    let mut form_action = String::from("'self'");
    for origin in return_origins {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; form-action {form_action}; base-uri 'none'; \
         frame-ancestors 'none'"
    )
}

/// `N` random bytes, base64url without padding.
pub(crate) fn random_b64<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A page to show again after a refusal: its template, title and context;
/// the refusal's field errors are added as `errors` (see `render`).
#[derive(Debug, Clone)]
pub struct Retry {
    /// The template.
    pub template: &'static str,
    /// The page title's catalogue key.
    pub title: &'static str,
    /// The template's values (without `errors`).
    pub context: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_for_an_authorization_request_may_end_at_its_client() {
        let of = |r: &str| authorization_return_origin(&Some(r.to_owned()));
        assert_eq!(
            of(
                "/oauth2/authorize?client_id=c&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb&state=s"
            ),
            Some("http://127.0.0.1:8080".to_owned())
        );
        assert_eq!(
            of("/oauth2/authorize?redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"),
            Some("https://app.example.com".to_owned())
        );
        for none in [
            "/account",
            "/oauth2/authorize?client_id=c",
            "/oauth2/authorize?redirect_uri=javascript%3Aalert(1)",
            "/oauth2/authorize?redirect_uri=%2Frelative",
            "/elsewhere?/oauth2/authorize?redirect_uri=https%3A%2F%2Fevil.example",
            "https://evil.example/oauth2/authorize?redirect_uri=https%3A%2F%2Fevil.example",
        ] {
            assert_eq!(of(none), None, "{none}");
        }
        assert_eq!(authorization_return_origin(&None), None);
    }

    async fn body(response: Response) -> String {
        let (_, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn every_page_sentence_is_in_every_shipped_language_and_translated() {
        let pages = Pages::builtin();
        let c = pages.catalogue();
        let english = c.keys("en");
        assert!(
            english.iter().any(|k| k.starts_with("login-")),
            "the pages' keys are in"
        );
        for lang in latchkey_core::i18n::SHIPPED {
            assert_eq!(c.keys(lang), english, "{lang} has exactly the English keys");
            if *lang == latchkey_core::i18n::REFERENCE {
                continue;
            }
            for key in &english {
                let (ours, en) = (c.text(lang, key, &[]), c.text("en", key, &[]));
                assert!(
                    ours != en || latchkey_core::i18n::SAME_AS_ENGLISH.contains(key),
                    "{lang}: `{key}` reads as in English ({ours:?}); translate it or add it to the reviewed list"
                );
            }
        }
        // and every key a built-in template asks for exists
        for (name, text) in TEMPLATES {
            for part in text.split("t(\"").skip(1) {
                let key = part.split('"').next().unwrap_or_default();
                assert!(c.has("en", key), "{name} uses the unknown key `{key}`");
            }
        }
    }

    #[test]
    fn every_built_in_template_compiles() {
        let pages = Pages::builtin();
        for (name, _) in TEMPLATES {
            if let Err(e) = pages.env.get_template(name) {
                panic!("{name}: {e:#}");
            }
        }
    }

    #[tokio::test]
    async fn text_is_escaped_wherever_it_goes() {
        let evil = "\"><script>alert(1)</script>";
        let r = Pages::builtin().render(
            "en",
            "link.html",
            evil,
            context! { paragraphs => [evil], action => "/x", csrf => evil, token => evil,
            button => evil, errors => Vec::<Value>::new(), new_password => evil },
            PageOptions::OK,
        );
        assert_eq!(r.status(), StatusCode::OK);
        let markup = body(r).await;
        assert!(!markup.contains("<script>"), "{markup}");
        assert!(markup.contains("&lt;script&gt;"), "{markup}");
    }

    #[tokio::test]
    async fn every_page_has_a_fresh_nonce_in_its_policy() {
        let pages = Pages::builtin();
        let ctx = || context! { paragraphs => ["x"] };
        let a = pages.render("en", "message.html", "t", ctx(), PageOptions::OK);
        let b = pages.render("en", "message.html", "t", ctx(), PageOptions::OK);
        let policy = |r: &Response| r.headers()[header::CONTENT_SECURITY_POLICY].clone();
        assert_ne!(policy(&a), policy(&b));
        let p = policy(&a);
        let p = p.to_str().unwrap();
        assert!(p.contains("frame-ancestors 'none'"), "{p}");
        let nonce = p
            .split("'nonce-")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        assert!(nonce.len() >= 22, "{nonce}");
        assert!(body(a).await.contains(&format!("nonce=\"{nonce}\"")));
        assert_eq!(b.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn forms_may_lead_on_to_the_allowed_return_origins_only() {
        let pages =
            Pages::builtin().with_return_origins(vec!["https://app.example.com".to_owned()]);
        let r = pages.render("en", "message.html", "t", context! {}, PageOptions::OK);
        let p = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            p.contains("form-action 'self' https://app.example.com;"),
            "{p}"
        );
        let r = Pages::builtin().render("en", "message.html", "t", context! {}, PageOptions::OK);
        let p = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(p.contains("form-action 'self';"), "{p}");
    }

    #[tokio::test]
    async fn a_theme_replaces_the_templates_it_has() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("message.html"),
            "{% extends \"layout.html\" %}{% block content %}THEMED {{ paragraphs[0] }}{% endblock %}",
        )
        .unwrap();
        std::fs::write(dir.path().join("latchkey.css"), "body{color:red}").unwrap();
        let pages = Pages::themed(dir.path().to_owned());
        let html = body(pages.render(
            "en",
            "message.html",
            "t",
            context! { paragraphs => ["<b>"] },
            PageOptions::OK,
        ))
        .await;
        assert!(html.contains("THEMED &lt;b&gt;"), "{html}");
        assert!(
            html.contains("<!DOCTYPE html>"),
            "the built-in layout: {html}"
        );
        assert_eq!(pages.stylesheet(), "body{color:red}");
        assert_eq!(Pages::builtin().stylesheet(), STYLESHEET);
        // a broken theme template is a 500 page, never a panic
        std::fs::write(dir.path().join("error.html"), "{% if %}").unwrap();
        let r = pages.render("en", "error.html", "t", context! {}, PageOptions::OK);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
