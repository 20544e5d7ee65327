//! Cookies, read and written with the `cookie` crate: the session and
//! device cookies are HttpOnly, `SameSite=Lax`, `Path=/`, and `Secure` (with
//! the `__Host-` prefix, see [`crate::state::CookieSettings`]) under https.

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, CookieBuilder, SameSite};

/// The value of cookie `name`, if the request sent it.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Appends a `Set-Cookie` for one of latchkey's cookies; `max_age_secs` 0
/// deletes it.
pub fn set_cookie(
    headers: &mut HeaderMap,
    name: &str,
    value: &str,
    max_age_secs: i64,
    secure: bool,
) {
    append(
        headers,
        latchkey_cookie(name, value, secure).max_age(time::Duration::seconds(max_age_secs)),
    );
}

/// Appends a `Set-Cookie` for a cookie that must come with a cross-site
/// POST (a `form_post` callback): `SameSite=None` with `Secure` under
/// https; over plain http (development) browsers refuse `None` without
/// `Secure`, so it is `Lax` there.
pub fn set_cross_site_cookie(
    headers: &mut HeaderMap,
    name: &str,
    value: &str,
    max_age_secs: i64,
    secure: bool,
) {
    let same_site = if secure {
        SameSite::None
    } else {
        SameSite::Lax
    };
    append(
        headers,
        latchkey_cookie(name, value, secure)
            .same_site(same_site)
            .max_age(time::Duration::seconds(max_age_secs)),
    );
}

/// Appends a `Set-Cookie` for one of latchkey's cookies without `Max-Age`:
/// the browser forgets it when it closes.
pub fn set_browser_session_cookie(headers: &mut HeaderMap, name: &str, value: &str, secure: bool) {
    append(headers, latchkey_cookie(name, value, secure));
}

fn latchkey_cookie<'c>(name: &'c str, value: &'c str, secure: bool) -> CookieBuilder<'c> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
}

fn append(headers: &mut HeaderMap, cookie: CookieBuilder<'_>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.build().to_string()) {
        headers.append(header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cross_site_cookie_is_same_site_none_and_secure_under_https() {
        let set = |secure| {
            let mut h = HeaderMap::new();
            set_cross_site_cookie(&mut h, "latchkey_fed", "s", 600, secure);
            h.get(header::SET_COOKIE)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        let https = set(true);
        assert!(
            https.contains("SameSite=None") && https.contains("Secure"),
            "{https}"
        );
        assert!(https.contains("HttpOnly") && https.contains("Max-Age=600"));
        // browsers refuse SameSite=None without Secure: Lax over plain http
        assert!(set(false).contains("SameSite=Lax"));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-latchkey_session=tok; b=2"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("latchkey_session_x=no"),
        );
        assert_eq!(
            cookie_value(&h, "__Host-latchkey_session").as_deref(),
            Some("tok")
        );
        assert_eq!(cookie_value(&h, "latchkey_session"), None);
        assert_eq!(cookie_value(&h, "b").as_deref(), Some("2"));
        // pieces that are not cookies are skipped, not fatal
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("junk; =x; c = 3 "));
        assert_eq!(cookie_value(&h, "c").as_deref(), Some("3"));
    }

    #[test]
    fn set_cookie_carries_the_attributes() {
        for (secure, expected) in [
            (false, "n=v; HttpOnly; SameSite=Lax; Path=/; Max-Age=60"),
            (
                true,
                "n=v; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=60",
            ),
        ] {
            let mut h = HeaderMap::new();
            set_cookie(&mut h, "n", "v", 60, secure);
            assert_eq!(h[header::SET_COOKIE], expected);
        }
        let mut h = HeaderMap::new();
        set_browser_session_cookie(&mut h, "n", "v", true);
        assert_eq!(
            h[header::SET_COOKIE],
            "n=v; HttpOnly; SameSite=Lax; Secure; Path=/"
        );
    }
}
