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

#[tokio::test]
async fn every_page_form_refuses_cross_site_posts_with_a_readable_page() {
    let app = TestApp::sqlite().await;
    for path in page_routes("post") {
        let form: PageForm = app.page_form(&format!("{path}?token=t"), None).await;
        let wrong = {
            let mut t = form.csrf.clone().into_bytes();
            t[0] = if t[0] == b'A' { b'B' } else { b'A' };
            String::from_utf8(t).unwrap()
        };
        let other = app.page_form(&format!("{path}?token=t"), None).await;
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
        // the browser's own form, from this site, gets through the check
        // (and is then refused for its made-up link token)
        let r = app.post_page(&path, &form, "token=t").await;
        assert_eq!(r.status, 400, "POST {path}: {}", r.text());
        assert!(r.text().contains("This link does not work"), "{}", r.text());
        // the link pages are sent with no-referrer, under which browsers
        // post `Origin: null`: accepted there, with the right token
        let r = post(
            &app,
            &path,
            Some("null"),
            &form.cookie,
            &format!("token=t&csrf={}", form.csrf),
        )
        .await;
        assert_eq!(r.status, 400, "POST {path} (Origin null): {}", r.text());
    }
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
