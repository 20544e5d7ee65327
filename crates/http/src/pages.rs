//! HTML, built in one place: the page frame of the pages mailed links open,
//! their forms, and the one escaping helper every interpolated value goes
//! through ([`escape`]). The hosted pages (issue 13) replace this with
//! templates; until then nothing else in `http` writes HTML.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The policy of these pages: inline styles only, forms posting back here.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    latchkey_core::mail::escape(text)
}

/// A fragment of HTML: either written here, or text escaped on the way in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Markup written in this crate (never data from a request or the store).
    pub const fn trusted(markup: String) -> Html {
        Html(markup)
    }

    /// A paragraph of text, escaped.
    pub fn paragraph(text: &str) -> Html {
        Html(format!("<p>{}</p>", escape(text)))
    }

    /// This fragment followed by `next`.
    pub fn then(mut self, next: &Html) -> Html {
        self.0.push_str(&next.0);
        self
    }
}

/// A whole page: the frame, the title (escaped) and the body.
pub fn page(status: StatusCode, title: &str, body: &Html) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
         <style>body{{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1f2328}}\
         button{{padding:.6rem 1.2rem;font-size:1rem}}input{{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;margin:.4rem 0 1rem}}</style>\
         </head><body><h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title),
        body = body.0,
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        html,
    )
        .into_response()
}

/// A form posting a mailed link's token back to `action`, with extra
/// `fields` (markup of this crate) and a submit button.
pub fn token_form(action: &'static str, token: &str, fields: &Html, button: &str) -> Html {
    Html(format!(
        "<form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">{fields}\
         <button type=\"submit\">{button}</button></form>",
        token = escape(token),
        fields = fields.0,
        button = escape(button),
    ))
}

/// A page to show again after a refusal: its title and its form; the
/// refusal's messages go above the form (see `render`).
#[derive(Debug, Clone)]
pub struct Retry {
    /// The page title.
    pub title: &'static str,
    /// The form to fill in again.
    pub form: Html,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_wherever_it_goes() {
        let evil = "\"><script>alert(1)</script>";
        let form = token_form("/x", evil, &Html::paragraph(evil), evil);
        let Html(markup) = &form;
        assert!(!markup.contains("<script>"), "{markup}");
        assert!(markup.contains("&lt;script&gt;"), "{markup}");
    }
}
