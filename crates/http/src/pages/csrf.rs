//! CSRF on page forms. Every form carries a token in its hidden `csrf`
//! field, and every form POST must come from latchkey's own origin.
//!
//! - Signed in: the session's CSRF token (the one the JSON API sends as
//!   `X-CSRF-Token`).
//! - Before sign-in: a signed double-submit token. The browser holds a
//!   random value in the HttpOnly CSRF cookie (`__Host-latchkey_csrf`); the
//!   form carries HMAC(server key, value). Another site can neither read
//!   the cookie nor compute the token for it.
//!
//! `Origin` must be exactly latchkey's. Pages whose URL holds a mailed
//! secret are sent with `Referrer-Policy: no-referrer`, under which
//! browsers send `Origin: null` with their forms: those forms
//! ([`OriginRule::ExactOrNull`]) also accept `null`, and rest on the token.

use axum::http::{HeaderMap, header};
use axum::response::Response;

use crate::cookies::{cookie_value, set_browser_session_cookie};
use crate::error::ApiError;
use crate::pages::PageOptions;
use crate::principal::csrf_failed;
use crate::state::AppState;

/// The name of the hidden field.
pub const FIELD: &str = "csrf";

/// Which `Origin` a form POST may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginRule {
    /// latchkey's origin, exactly.
    Exact,
    /// latchkey's origin, or `null` (a page sent with `no-referrer`).
    ExactOrNull,
}

/// The double-submit value of a browser before sign-in.
#[derive(Debug, Clone)]
pub struct PreSignIn {
    value: String,
    fresh: bool,
}

impl PreSignIn {
    /// The browser's value, or a new one (set by [`PreSignIn::keep`]).
    pub fn of(state: &AppState, headers: &HeaderMap) -> PreSignIn {
        match cookie_value(headers, state.cookies().csrf_name()).filter(|v| sane(v)) {
            Some(value) => PreSignIn {
                value,
                fresh: false,
            },
            None => PreSignIn {
                value: super::random_b64::<32>(),
                fresh: true,
            },
        }
    }

    /// The token a form carries for this browser.
    pub fn token(&self, state: &AppState) -> String {
        state.auth().csrf_token(&subject(&self.value))
    }

    /// Renders a form page before sign-in in `lang`: `context` gets the
    /// form's token, and the browser keeps (or gets) its CSRF cookie.
    #[allow(clippy::too_many_arguments)]
    pub fn form_page(
        state: &AppState,
        headers: &HeaderMap,
        lang: &str,
        template: &str,
        title: &str,
        options: PageOptions,
        context: impl FnOnce(&str) -> minijinja::Value,
    ) -> Response {
        let pre = PreSignIn::of(state, headers);
        let page = state
            .pages()
            .render(lang, template, title, context(&pre.token(state)), options);
        pre.keep(state, page)
    }

    /// Sets the cookie on `response` if the browser had none.
    pub fn keep(&self, state: &AppState, mut response: Response) -> Response {
        if self.fresh {
            let cookies = state.cookies();
            set_browser_session_cookie(
                response.headers_mut(),
                cookies.csrf_name(),
                &self.value,
                cookies.secure,
            );
        }
        response
    }
}

/// What a CSRF token is bound to: the HMAC input, apart from session ids
/// (UUIDs, which never start with `form:`).
fn subject(value: &str) -> String {
    format!("form:{value}")
}

/// A value this server could have made (43 base64url characters).
fn sane(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a form POST: its `Origin`, then its token, bound to the signed-in
/// session `session_id` or, without one, to the browser's CSRF cookie.
pub fn check(
    state: &AppState,
    headers: &HeaderMap,
    rule: OriginRule,
    session_id: Option<&str>,
    presented: &str,
) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).map(|o| o.as_bytes());
    let own = state.cookies().origin.as_bytes();
    let origin_ok = match origin {
        Some(o) if o == own => true,
        Some(b"null") => rule == OriginRule::ExactOrNull,
        _ => false,
    };
    if !origin_ok {
        return Err(csrf_failed("the Origin is not this site"));
    }
    let auth = state.auth();
    let token_ok = match session_id {
        Some(id) => auth.sessions().check_csrf(id, presented),
        None => cookie_value(headers, state.cookies().csrf_name())
            .is_some_and(|v| sane(&v) && auth.sessions().check_csrf(&subject(&v), presented)),
    };
    if token_ok {
        Ok(())
    } else {
        Err(csrf_failed("the form's CSRF token is missing or wrong"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_values_of_our_shape_are_used() {
        let ours = crate::pages::random_b64::<32>();
        for (value, ok) in [
            (ours.as_str(), true),
            ("", false),
            ("short", false),
            (&"a".repeat(44), false),
            (&format!("{}!", &ours[..42]), false),
        ] {
            assert_eq!(sane(value), ok, "{value:?}");
        }
    }
}
