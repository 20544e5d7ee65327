//! The hosted pages' foundation, walked over the real router: every form
//! POST of a page refuses a missing or wrong CSRF token and a foreign
//! `Origin` with a readable 403 page, and every HTML answer has a CSP with
//! a fresh nonce, `frame-ancestors 'none'` and `Cache-Control: no-store`.

use axum::body::Body;
use axum::http::Request;
use latchkey_testkit::{ISSUER, PageForm, TestApp, TestResponse};

/// The page routes of the OpenAPI document (tag `pages`), by method.
fn page_routes(method: &str) -> Vec<String> {
    let doc = serde_json::to_value(latchkey_http::openapi()).unwrap();
    let mut paths = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if let Some(op) = item.get(method)
            && op["tags"].as_array().unwrap().iter().any(|t| t == "pages")
        {
            paths.push(path.clone());
        }
    }
    assert!(!paths.is_empty(), "some {method} pages exist");
    paths
}

async fn post(
    app: &TestApp,
    path: &str,
    origin: Option<&str>,
    cookie: &str,
    body: &str,
) -> TestResponse {
    let mut req = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    if !cookie.is_empty() {
        req = req.header("cookie", cookie);
    }
    app.call(req.body(Body::from(body.to_owned())).unwrap())
        .await
}

fn assert_page_headers(r: &TestResponse, what: &str) -> String {
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("text/html"),
        "{what}: {:?}",
        r.header("content-type")
    );
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    let csp = r.header("content-security-policy").unwrap_or("").to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|n| n.split('\'').next())
        .unwrap_or_else(|| panic!("{what}: a nonce in {csp}"));
    assert!(nonce.len() >= 22, "{what}: {nonce}");
    assert!(
        r.text().contains(&format!("nonce=\"{nonce}\"")),
        "{what}: the page uses it"
    );
    nonce.to_owned()
}

/// The form a browser would have for POST `path`: the page of the same
/// path when it has a form, else the sign-in page's (one CSRF cookie per
/// browser serves every form before sign-in). Also whether that page is
/// sent with `no-referrer` (its forms then post `Origin: null`).
async fn form_for(app: &TestApp, path: &str) -> (PageForm, bool) {
    let own = app.get(&format!("{path}?token=t")).await;
    let page = if own.text().contains("name=\"csrf\"") {
        format!("{path}?token=t")
    } else {
        "/login".to_owned()
    };
    let no_referrer = app.get(&page).await.header("referrer-policy") == Some("no-referrer");
    (app.page_form(&page, None).await, no_referrer)
}

#[tokio::test]
async fn every_page_form_refuses_cross_site_posts_with_a_readable_page() {
    let app = TestApp::sqlite().await;
    for path in page_routes("post") {
        let (form, no_referrer) = form_for(&app, &path).await;
        let wrong = {
            let mut t = form.csrf.clone().into_bytes();
            t[0] = if t[0] == b'A' { b'B' } else { b'A' };
            String::from_utf8(t).unwrap()
        };
        let (other, _) = form_for(&app, &path).await;
        for (case, origin, cookie, body) in [
            (
                "no token",
                Some(ISSUER),
                form.cookie.clone(),
                "token=t".to_owned(),
            ),
            (
                "wrong token",
                Some(ISSUER),
                form.cookie.clone(),
                format!("token=t&csrf={wrong}"),
            ),
            // a token valid for another browser's cookie
            (
                "another browser's token",
                Some(ISSUER),
                form.cookie.clone(),
                format!("token=t&csrf={}", other.csrf),
            ),
            (
                "no cookie",
                Some(ISSUER),
                String::new(),
                format!("token=t&csrf={}", form.csrf),
            ),
            (
                "foreign origin",
                Some("https://evil.example"),
                form.cookie.clone(),
                format!("token=t&csrf={}", form.csrf),
            ),
            (
                "look-alike origin",
                Some("http://latchkey.test.evil.example"),
                form.cookie.clone(),
                format!("token=t&csrf={}", form.csrf),
            ),
            (
                "no origin",
                None,
                form.cookie.clone(),
                format!("token=t&csrf={}", form.csrf),
            ),
        ] {
            let r = post(&app, &path, origin, &cookie, &body).await;
            let what = format!("POST {path} ({case})");
            assert_eq!(r.status, 403, "{what}: {}", r.text());
            assert_page_headers(&r, &what);
            assert!(
                r.text().contains("This form has expired"),
                "{what}: {}",
                r.text()
            );
        }
        // the browser's own form, from this site, gets past the check
        let r = app.post_page(&path, &form, "token=t").await;
        assert_ne!(r.status, 403, "POST {path}: {}", r.text());
        // pages sent with no-referrer make browsers post `Origin: null`:
        // accepted there (with the right token), refused everywhere else
        let r = post(
            &app,
            &path,
            Some("null"),
            &form.cookie,
            &format!("token=t&csrf={}", form.csrf),
        )
        .await;
        assert_eq!(
            r.status == 403,
            !no_referrer,
            "POST {path} (Origin null): {}",
            r.text()
        );
    }
}

/// Signs in through the page; returns the answer.
async fn sign_in(app: &TestApp, email: &str, password: &str, extra: &str) -> TestResponse {
    let form = app.page_form("/login", None).await;
    let body = format!(
        "identifier={}&password={}{extra}",
        email.replace('@', "%40"),
        password.replace(' ', "+")
    );
    app.post_page("/login", &form, &body).await
}

/// The `Set-Cookie` of the answer for cookie `name`, if any.
fn set_cookie(r: &TestResponse, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn session_cookie(r: &TestResponse) -> (String, String) {
    let set = set_cookie(r, "latchkey_session").expect("a session cookie");
    (set.split(';').next().unwrap().to_owned(), set)
}

async fn page_with(app: &TestApp, path: &str, cookie: &str) -> TestResponse {
    app.call(
        Request::get(path)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn sign_in_page_account_and_sign_out() {
    let app = TestApp::sqlite().await;
    let email = "page@example.com";
    app.register(email, PASSWORD).await;

    // a wrong password: the form again, the reason above it, the address kept
    let r = sign_in(&app, email, "wrong password here", "").await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_page_headers(&r, "refused sign-in");
    assert!(r.text().contains("role=\"alert\""), "{}", r.text());
    assert!(
        r.text().contains("value=\"page@example.com\""),
        "{}",
        r.text()
    );
    assert!(r.text().contains("name=\"csrf\""), "the form again");

    // without "keep me signed in": a cookie for the browser session
    let r = sign_in(&app, email, PASSWORD, "").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/account"));
    let (cookie, set) = session_cookie(&r);
    assert!(!set.contains("Max-Age"), "{set}");
    // with it: a cookie that outlives the browser session
    let r = sign_in(&app, email, PASSWORD, "&remember=1").await;
    let (_, kept) = session_cookie(&r);
    assert!(kept.contains("Max-Age="), "{kept}");

    // the account page shows the account; without a session it sends to sign-in
    let r = page_with(&app, "/account", &cookie).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_page_headers(&r, "/account");
    assert!(r.text().contains("page@example.com"));
    let r = app.get("/account").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login?return_to=/account"));

    // signing out: GET only asks; the form, with the session's token, acts
    let r = page_with(&app, "/logout", &cookie).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        page_with(&app, "/account", &cookie).await.status,
        200,
        "GET changed nothing"
    );
    let form = app.page_form("/logout", Some(&cookie)).await;
    let pre = app.page_form("/login", None).await;
    let mixed = PageForm {
        cookie: format!("{cookie}; {}", pre.cookie),
        csrf: pre.csrf,
    };
    let r = app.post_page("/logout", &mixed, "").await;
    assert_eq!(r.status, 403, "a signed-in form needs the session's token");
    let r = app.post_page("/logout", &form, "").await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/login"));
    assert_eq!(
        page_with(&app, "/account", &cookie).await.status,
        303,
        "the session ended"
    );
}

#[tokio::test]
async fn sign_in_returns_only_to_allowed_places() {
    let app = TestApp::sqlite().await;
    app.register("back@example.com", PASSWORD).await;
    for (return_to, expected) in [
        ("%2Faccount%3Ftab%3D1", "/account?tab=1"),
        ("http%3A%2F%2Flatchkey.test%2Fx", "http://latchkey.test/x"),
        ("%2F%2Fevil.example", "/account"),
        ("https%3A%2F%2Fevil.example%2F", "/account"),
        ("http%3A%2F%2Flatchkey.test%40evil.example%2F", "/account"),
        ("http%3A%2F%2Flatchkey.test.evil.example%2F", "/account"),
    ] {
        let r = sign_in(
            &app,
            "back@example.com",
            PASSWORD,
            &format!("&return_to={return_to}"),
        )
        .await;
        assert_eq!(r.status, 303, "{return_to}: {}", r.text());
        assert_eq!(r.header("location"), Some(expected), "{return_to}");
    }
    // the page carries return_to into its form, escaped
    let r = app.get("/login?return_to=%2Fx%22%3E%3Cscript%3E").await;
    assert!(!r.text().contains("<script>"), "{}", r.text());
}

#[tokio::test]
async fn the_json_login_without_remember_issues_no_refresh_token() {
    let app = TestApp::sqlite().await;
    app.register("short@example.com", PASSWORD).await;
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            serde_json::json!({"identifier": "short@example.com", "password": PASSWORD, "remember": false}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["access_token"].is_string());
    assert!(r.json().get("refresh_token").is_none(), "{}", r.text());
    // remembered (the default): a refresh token as before
    let r = app.login("short@example.com", PASSWORD).await;
    assert!(r["refresh_token"].is_string());
    // cookie mode: a cookie without Max-Age
    let r = app
        .call(
            Request::post("/v1/auth/login")
                .header("content-type", "application/json")
                .header("origin", ISSUER)
                .body(Body::from(
                    serde_json::json!({"identifier": "short@example.com", "password": PASSWORD, "mode": "cookie", "remember": false})
                        .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, set) = session_cookie(&r);
    assert!(!set.contains("Max-Age"), "{set}");
}

#[tokio::test]
async fn every_html_answer_has_a_fresh_nonce_no_framing_and_no_store() {
    let app = TestApp::sqlite().await;
    for path in page_routes("get") {
        let url = format!("{path}?token=t");
        let r = app.get(&url).await;
        if !r
            .header("content-type")
            .unwrap_or("")
            .starts_with("text/html")
        {
            continue; // the stylesheet
        }
        let first = assert_page_headers(&r, &url);
        let second = assert_page_headers(&app.get(&url).await, &url);
        assert_ne!(first, second, "{url}: a fresh nonce per answer");
        if !r.text().contains("name=\"csrf\"") {
            continue; // no form (the sign-out page of a signed-out browser)
        }
        // the CSRF cookie lasts the browser session and is HttpOnly
        let cookie = r.header("set-cookie").unwrap_or("");
        assert!(cookie.starts_with("latchkey_csrf="), "{url}: {cookie}");
        assert!(
            cookie.contains("HttpOnly") && !cookie.contains("Max-Age"),
            "{cookie}"
        );
        // a browser that has the cookie keeps it
        let form = app.page_form(&url, None).await;
        let again = app.page_form(&url, Some(&form.cookie)).await;
        assert_eq!(again.cookie, form.cookie, "{url}: no second cookie");
    }
    let css = app.get("/assets/latchkey.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
}

#[tokio::test]
async fn forgot_password_mails_a_link_and_says_the_same_for_unknown_addresses() {
    let app = TestApp::sqlite().await;
    let email = format!("forgot-{}@example.com", latchkey_core::id::new_id());
    app.register(&email, PASSWORD).await;
    app.run_jobs().await;
    let before = latchkey_testkit::mailbox::messages_to(&email).len();
    let form = app.page_form("/forgot-password", None).await;
    let known = app
        .post_page(
            "/forgot-password",
            &form,
            &format!("email={}", email.replace('@', "%40")),
        )
        .await;
    assert_eq!(known.status, 200, "{}", known.text());
    assert_page_headers(&known, "/forgot-password");
    let unknown = app
        .post_page("/forgot-password", &form, "email=nobody%40example.com")
        .await;
    assert_eq!(unknown.status, 200);
    let strip = |t: String| t.split("nonce=").next().unwrap_or("").to_owned();
    assert_eq!(
        strip(known.text()),
        strip(unknown.text()),
        "the same page either way"
    );
    app.run_jobs().await;
    let mails = latchkey_testkit::mailbox::messages_to(&email);
    assert_eq!(mails.len(), before + 1);
    let token = mails[before]
        .token(&format!("{ISSUER}/reset-password?token="))
        .expect("a reset link");
    // the link's page, then sign in with the new password
    let reset = app
        .page_form(&format!("/reset-password?token={token}"), None)
        .await;
    let r = app
        .post_page(
            "/reset-password",
            &reset,
            &format!("token={token}&new_password=a+fresh+long+passphrase"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sign_in(&app, &email, "a fresh long passphrase", "").await;
    assert_eq!(r.status, 303, "{}", r.text());
}

/// `<html lang="…">` of a page.
fn html_lang(r: &TestResponse) -> String {
    let text = r.text();
    text.split("<html lang=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap_or_else(|| panic!("no <html lang>: {text}"))
        .to_owned()
}

/// The English sentences (of the built-in catalogue) a page in `lang`
/// shows although `lang` says them otherwise.
fn english_left_in(page: &str, lang: &str) -> Vec<String> {
    let pages = latchkey_http::Pages::builtin();
    let c = pages.catalogue();
    c.keys("en")
        .into_iter()
        .map(|k| (c.text("en", k, &[]), c.text(lang, k, &[])))
        .filter(|(en, ours)| en != ours && en.len() > 4 && !en.contains('{'))
        .filter(|(en, _)| contains_words(page, &minijinja_escape(en)))
        .map(|(en, _)| en)
        .collect()
}

/// Whether `text` holds `words` not as part of a longer word ("Confirm"
/// is not in "Confirmer").
fn contains_words(text: &str, words: &str) -> bool {
    text.match_indices(words).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + words.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn minijinja_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

#[tokio::test]
async fn every_page_renders_in_every_shipped_language() {
    let app = TestApp::sqlite().await;
    let email = "lang@example.com";
    app.register(email, PASSWORD).await;
    let (session, _) = session_cookie(&sign_in(&app, email, PASSWORD, "").await);
    for lang in latchkey_core::i18n::SHIPPED {
        let mut pages: Vec<(String, TestResponse)> = Vec::new();
        for path in page_routes("get") {
            let url = format!("{path}?token=t&lang={lang}");
            let r = app.get(&url).await;
            if r.header("content-type")
                .unwrap_or("")
                .starts_with("text/html")
            {
                pages.push((url, r));
            }
        }
        for path in ["/account", "/logout"] {
            let url = format!("{path}?lang={lang}");
            pages.push((
                format!("{url} (signed in)"),
                page_with(&app, &url, &session).await,
            ));
        }
        // a refusal, and an error page
        let form = app.page_form(&format!("/login?lang={lang}"), None).await;
        let lang_cookie = PageForm {
            cookie: format!("{}; latchkey_lang={lang}", form.cookie),
            csrf: form.csrf.clone(),
        };
        let body = format!(
            "identifier={}&password=wrong+password+here",
            email.replace('@', "%40")
        );
        pages.push((
            "refused sign-in".into(),
            app.post_page("/login", &lang_cookie, &body).await,
        ));
        pages.push((
            "expired form".into(),
            post(
                &app,
                "/verify-email",
                Some(ISSUER),
                &format!("latchkey_lang={lang}"),
                "token=t",
            )
            .await,
        ));
        for (what, r) in &pages {
            assert!(r.status != 500 && r.status != 404, "{what}: {}", r.status);
            assert_eq!(html_lang(r), *lang, "{what}");
            let left = english_left_in(&r.text(), lang);
            assert!(left.is_empty(), "{what} in {lang} still says {left:?}");
        }
        let r = &pages[0].1;
        let set = set_cookie(r, "latchkey_lang")
            .unwrap_or_else(|| panic!("?lang= is remembered: {:?}", r.headers));
        assert!(set.starts_with(&format!("latchkey_lang={lang};")), "{set}");
        assert!(
            set.contains("Max-Age=") && set.contains("HttpOnly"),
            "{set}"
        );
    }
}

#[tokio::test]
async fn the_language_is_the_query_then_the_cookie_then_accept_language_then_the_default() {
    let app = TestApp::sqlite().await;
    let get = |query: &'static str, cookie: &'static str, accept: &'static str| {
        let mut req = Request::get(format!("/login{query}"));
        if !cookie.is_empty() {
            req = req.header("cookie", cookie);
        }
        if !accept.is_empty() {
            req = req.header("accept-language", accept);
        }
        let app = &app;
        async move { app.call(req.body(Body::empty()).unwrap()).await }
    };
    for (query, cookie, accept, expected) in [
        ("", "", "", "en"),
        ("", "", "fr;q=0.4, de-CH;q=0.9, es", "de"),
        ("", "", "es, it", "en"),
        ("", "latchkey_lang=fr", "de", "fr"),
        ("", "latchkey_lang=zz", "de", "de"),
        ("?lang=fr", "latchkey_lang=de", "de", "fr"),
        ("?lang=es", "latchkey_lang=de", "fr", "de"),
    ] {
        let r = get(query, cookie, accept).await;
        assert_eq!(r.status, 200);
        assert_eq!(html_lang(&r), expected, "{query} {cookie} {accept}");
        let remembered = set_cookie(&r, "latchkey_lang").is_some();
        assert_eq!(
            remembered,
            query == "?lang=fr",
            "{query}: only a usable ?lang= sets the cookie"
        );
    }
    // the JSON API is never given a language cookie
    let r = app.get("/health/live?lang=de").await;
    assert!(r.header("set-cookie").is_none());
}
