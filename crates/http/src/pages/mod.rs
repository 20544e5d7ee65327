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

pub mod csrf;
pub mod return_to;

use std::path::PathBuf;

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
];

/// The built-in stylesheet, served at `/assets/latchkey.css`.
const STYLESHEET: &str = include_str!("../../assets/latchkey.css");

/// The file name of the stylesheet in a theme directory.
const STYLESHEET_FILE: &str = "latchkey.css";

/// The page renderer: the templates (built-in, or a theme's where it has
/// one of the same name) and the values every page receives.
pub struct Pages {
    env: Environment<'static>,
    theme: Option<PathBuf>,
    product_name: String,
    return_origins: Vec<String>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("theme", &self.theme)
            .field("product_name", &self.product_name)
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
    /// The built-in templates.
    pub fn builtin() -> Pages {
        Pages::build(None)
    }

    /// The templates of theme directory `dir`, and the built-in ones for
    /// names the theme does not have. Files are read when first used.
    pub fn themed(dir: PathBuf) -> Pages {
        Pages::build(Some(dir))
    }

    fn build(theme: Option<PathBuf>) -> Pages {
        let mut env = Environment::new();
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
            product_name: "latchkey".to_owned(),
            return_origins: Vec::new(),
        }
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

    /// Renders template `name` with `ctx` (plus `nonce`, `product_name`,
    /// `lang` and `title`) into a page answer. A template that fails (a
    /// theme's mistake) is logged and answered with a plain 500.
    pub fn render(&self, name: &str, title: &str, ctx: Value, options: PageOptions) -> Response {
        let nonce = random_b64::<16>();
        let full = context! {
            nonce => &nonce,
            product_name => &self.product_name,
            lang => "en",
            title => title,
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
                if let Ok(csp) = HeaderValue::from_str(&csp(&nonce, &self.return_origins)) {
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
    /// The page title.
    pub title: &'static str,
    /// The template's values (without `errors`).
    pub context: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> String {
        let (_, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
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
        let a = pages.render("message.html", "t", ctx(), PageOptions::OK);
        let b = pages.render("message.html", "t", ctx(), PageOptions::OK);
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
        let r = pages.render("message.html", "t", context! {}, PageOptions::OK);
        let p = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            p.contains("form-action 'self' https://app.example.com;"),
            "{p}"
        );
        let r = Pages::builtin().render("message.html", "t", context! {}, PageOptions::OK);
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
        let r = pages.render("error.html", "t", context! {}, PageOptions::OK);
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
