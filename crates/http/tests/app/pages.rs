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

pub(crate) async fn page_with(app: &TestApp, path: &str, cookie: &str) -> TestResponse {
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

// ---------------------------------------------------------------------------
// /register and the account center
// ---------------------------------------------------------------------------

/// `s` percent-encoded for a form body.
fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `s` as the pages print it in an attribute (the engine escapes `/`).
fn attr(s: &str) -> String {
    s.replace('/', "&#x2f;")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", latchkey_core::id::new_id())
}

/// A page without its nonce (which differs on every answer).
fn without_nonce(text: &str) -> String {
    text.split("nonce=\"")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once('"').map_or("", |(_, rest)| rest)
            }
        })
        .collect()
}

/// The token of the last mailed link to `email` starting with `path`.
async fn mailed_token(app: &TestApp, email: &str, path: &str) -> String {
    app.run_jobs().await;
    latchkey_testkit::mailbox::messages_to(email)
        .iter()
        .rev()
        .find_map(|m| m.token(&format!("{ISSUER}{path}?token=")))
        .unwrap_or_else(|| panic!("a {path} link mailed to {email}"))
}

/// Opens a mailed link's page and submits its form, as a person would.
async fn follow_link(app: &TestApp, path: &str, token: &str, extra: &str) -> TestResponse {
    let form = app.page_form(&format!("{path}?token={token}"), None).await;
    app.post_page(path, &form, &format!("token={token}{extra}"))
        .await
}

/// The `<input>` tag of the field with id `id` in `html`.
fn input_tag<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<input id=\"{id}\""))
        .unwrap_or_else(|| panic!("no input #{id}: {html}"));
    let len = html[start..].find('>').expect("the tag ends");
    &html[start..start + len]
}

#[tokio::test]
async fn register_page_makes_an_account_and_tells_nothing_about_taken_addresses() {
    let app = TestApp::sqlite().await;
    let r = app.get("/register").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_page_headers(&r, "/register");
    for field in ["email", "password", "username", "name"] {
        assert!(
            r.text().contains(&format!("<label for=\"{field}\">")),
            "{field} is labelled"
        );
    }
    assert!(r.text().contains("<legend>"), "optional fields grouped");
    let form = app.page_form("/register", None).await;
    let body = |email: &str, extra: &str| {
        format!("email={}&password={}{extra}", enc(email), enc(PASSWORD))
    };

    // a new address, then the same address again: the same page
    let email = unique("reg");
    let new = app
        .post_page(
            "/register",
            &form,
            &body(&email, "&username=reg-page&name=Reg"),
        )
        .await;
    assert_eq!(new.status, 200, "{}", new.text());
    assert_page_headers(&new, "registered");
    assert!(new.text().contains("id=\"registered\""), "{}", new.text());
    let again = app
        .post_page("/register", &form, &body(&email.to_uppercase(), ""))
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(
        without_nonce(&new.text()),
        without_nonce(&again.text()),
        "a taken address gets the same page"
    );

    // refusals: the form again, each reason beside its field, what was
    // typed kept (never the password)
    let other = unique("reg-other");
    for (case, extra, status, field) in [
        ("short password", "", 422, "password"),
        ("taken username", "&username=reg-page", 409, "username"),
        ("bad username", "&username=a", 422, "username"),
    ] {
        let b = if case == "short password" {
            format!("email={}&password=short{extra}", enc(&other))
        } else {
            body(&other, extra)
        };
        let r = app.post_page("/register", &form, &b).await;
        let text = r.text();
        assert_eq!(r.status, status, "{case}: {text}");
        assert_page_headers(&r, case);
        assert!(
            text.contains(&format!("id=\"{field}-error\"")),
            "{case}: {text}"
        );
        assert!(
            text.contains(&format!("aria-describedby=\"{field}-error")),
            "{case}: the field points at its error: {text}"
        );
        assert!(text.contains(&format!("value=\"{other}\"")), "{case}");
        assert_eq!(text.matches(" autofocus").count(), 1, "{case}: {text}");
        assert!(
            input_tag(&text, field).contains(" autofocus"),
            "{case}: the refused field has the focus: {text}"
        );
        assert!(
            !text.contains(PASSWORD),
            "{case}: the password is not echoed"
        );
        assert!(text.contains("name=\"csrf\""), "{case}: the form again");
    }
    let r = app
        .post_page("/register", &form, &body("not-an-address", ""))
        .await;
    refused_at(&r, 422, "email");
    assert!(input_tag(&r.text(), "email").contains(" autofocus"));

    // the mailed link confirms the address; then sign in
    let token = mailed_token(&app, &email, "/verify-email").await;
    let r = follow_link(&app, "/verify-email", &token, "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = sign_in(&app, &email, PASSWORD, "").await;
    assert_eq!(r.status, 303, "{}", r.text());
    let (cookie, _) = session_cookie(&r);
    let page = page_with(&app, "/account", &cookie).await;
    assert!(page.text().contains("(confirmed)"), "{}", page.text());
    assert!(
        page.text().contains("value=\"reg-page\""),
        "{}",
        page.text()
    );

    // return_to rides along to the sign-in link, only when allowed
    for (return_to, link) in [
        (
            "/account/activity",
            "/login?return_to=%2Faccount%2Factivity",
        ),
        ("https://evil.example/", "/login"),
        ("//evil.example", "/login"),
    ] {
        let r = app
            .get(&format!("/register?return_to={}", enc(return_to)))
            .await;
        assert!(
            r.text().contains(&format!("href=\"{}\"", attr(link))),
            "{return_to}: {}",
            r.text()
        );
        let r = app
            .post_page(
                "/register",
                &form,
                &body(
                    &unique("reg-back"),
                    &format!("&return_to={}", enc(return_to)),
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(
            r.text().contains(&format!("href=\"{}\"", attr(link))),
            "{return_to}: {}",
            r.text()
        );
    }
    // and from the sign-in page to the sign-up page
    let r = app.get("/login?return_to=%2Faccount%2Factivity").await;
    assert!(
        r.text()
            .contains(&attr("href=\"/register?return_to=%2Faccount%2Factivity\"")),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn register_page_asks_for_the_challenge_when_the_server_does() {
    use latchkey_core::abuse::{ChallengePolicy, GuardConfig};
    let app = TestApp::sqlite_from(latchkey_testkit::Options {
        guard: GuardConfig {
            challenge: ChallengePolicy {
                enabled: true,
                ip_threshold: 1,
                global_threshold: 1000,
                base_difficulty: 1,
                max_difficulty: 1,
                ..ChallengePolicy::default()
            },
            ..GuardConfig::off()
        },
        ..latchkey_testkit::Options::default()
    })
    .await;
    let form = app.page_form("/register", None).await;
    // the first sign-up makes the pressure that asks the next for a puzzle
    let first = format!(
        "email={}&password={}",
        enc(&unique("reg-pow")),
        enc(PASSWORD)
    );
    let r = app.post_page("/register", &form, &first).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let email = unique("reg-pow");
    let body = format!("email={}&password={}", enc(&email), enc(PASSWORD));
    let r = app.post_page("/register", &form, &body).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("role=\"alert\""), "{}", r.text());
    assert!(
        r.text().contains("data-latchkey-pow=\"register\""),
        "the form again, with the solver: {}",
        r.text()
    );
    // what the solver does: fetch a puzzle, solve it, send it in `pow`
    let c = app.get("/v1/auth/challenge?action=register").await.json();
    let token = c["token"].as_str().unwrap();
    let solution = (0u64..)
        .map(|n| format!("{token}:{n}"))
        .find(|s| latchkey_tokens::sha256_hex(s.as_bytes()).as_bytes()[0] < b'8')
        .unwrap();
    let r = app
        .post_page(
            "/register",
            &form,
            &format!("{body}&pow={}", enc(&solution)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A refused form: `status`, the page again, the reason beside `field`
/// and the field pointing at it.
fn refused_at(r: &TestResponse, status: u16, field: &str) {
    let text = r.text();
    assert_eq!(r.status, status, "{text}");
    assert_page_headers(r, field);
    assert!(text.contains(&format!("id=\"{field}-error\"")), "{text}");
    assert!(
        text.contains(&format!("aria-describedby=\"{field}-error")),
        "{text}"
    );
}

/// Signs in through the page; the session cookie.
async fn signed_in_cookie(app: &TestApp, email: &str, password: &str) -> String {
    let r = sign_in(app, email, password, "").await;
    assert_eq!(r.status, 303, "sign in {email}: {}", r.text());
    session_cookie(&r).0
}

/// Posts account form `path` with the session's form token.
async fn account_post(app: &TestApp, cookie: &str, path: &str, body: &str) -> TestResponse {
    let form = app.page_form("/account", Some(cookie)).await;
    app.post_page(path, &form, body).await
}

/// The account page after a form's redirect, as the browser shows it.
async fn after(app: &TestApp, r: &TestResponse, cookie: &str) -> TestResponse {
    assert_eq!(r.status, 303, "{}", r.text());
    let location = r.header("location").unwrap().to_owned();
    assert!(location.starts_with("/account#"), "{location}");
    let flash = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("latchkey_flash="))
        .expect("a notice cookie");
    assert!(flash.contains("HttpOnly"), "{flash}");
    let flash = flash.split(';').next().unwrap();
    let page = page_with(app, "/account", &format!("{cookie}; {flash}")).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_page_headers(&page, "/account after a form");
    let cleared = page.header("set-cookie").unwrap_or("");
    assert!(
        cleared.starts_with("latchkey_flash=;") && cleared.contains("Max-Age=0"),
        "shown once: {cleared}"
    );
    page
}

fn notice(page: &TestResponse) -> String {
    let text = page.text();
    text.split("id=\"notice\">")
        .nth(1)
        .and_then(|t| t.split("</p>").next())
        .unwrap_or("")
        .trim()
        .to_owned()
}

// the account journey touches every kind of write a backend could get
// wrong (sessions, single-use links, deletion), so it runs on both
latchkey_testkit::both_backends!(account_center_end_to_end);

async fn account_center_end_to_end(app: TestApp) {
    let email = unique("center");
    app.register(&email, PASSWORD).await;
    let token = mailed_token(&app, &email, "/verify-email").await;
    assert_eq!(
        follow_link(&app, "/verify-email", &token, "").await.status,
        200
    );
    let cookie = signed_in_cookie(&app, &email, PASSWORD).await;
    let other = signed_in_cookie(&app, &email, PASSWORD).await;
    let third = signed_in_cookie(&app, &email, PASSWORD).await;

    // the page: every section, labelled fields, this device marked
    let page = page_with(&app, "/account", &cookie).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_page_headers(&page, "/account");
    let text = page.text();
    for id in [
        "profile-form",
        "email-form",
        "password-form",
        "end-others-form",
        "delete-form",
        "session-list",
        "activity-link",
    ] {
        assert!(text.contains(&format!("id=\"{id}\"")), "{id}: {text}");
    }
    for field in [
        "username",
        "name",
        "new_email",
        "email_password",
        "current_password",
        "new_password",
        "delete_password",
    ] {
        assert!(
            text.contains(&format!("<label for=\"{field}\">")),
            "{field}"
        );
        assert!(text.contains(&format!("id=\"{field}\"")), "{field}");
    }
    assert_eq!(text.matches("This device").count(), 1, "{text}");
    assert_eq!(text.matches("class=\"end-session\"").count(), 2, "{text}");
    let from = format!("From {}", latchkey_testkit::PEER.ip());
    assert_eq!(
        text.matches(&from).count(),
        3,
        "where each session is: {text}"
    );

    // profile
    let r = account_post(
        &app,
        &cookie,
        "/account/profile",
        "username=center&name=Ada+C",
    )
    .await;
    let page = after(&app, &r, &cookie).await;
    assert_eq!(notice(&page), "Your profile is saved.");
    assert!(page.text().contains("value=\"center\"") && page.text().contains("value=\"Ada C\""));
    let r = account_post(&app, &cookie, "/account/profile", "username=%21%21").await;
    refused_at(&r, 422, "username");
    assert!(r.text().contains("value=\"!!\""), "what was typed stays");

    // email change: the password first, then the link to the new address
    let new_email = unique("center-new");
    let r = account_post(
        &app,
        &cookie,
        "/account/email",
        &format!("new_email={}&password=wrong+password+here", enc(&new_email)),
    )
    .await;
    refused_at(&r, 403, "email_password");
    assert!(
        r.text().contains("id=\"failed-summary\"") && r.text().contains("href=\"#email\""),
        "said at the top, linking to the form: {}",
        r.text()
    );
    assert_eq!(r.text().matches(" autofocus").count(), 1, "{}", r.text());
    assert!(
        r.text()
            .contains("aria-describedby=\"email_password-error\"")
    );
    assert!(r.text().contains(&format!("value=\"{new_email}\"")), "kept");
    let r = account_post(
        &app,
        &cookie,
        "/account/email",
        &format!("new_email={}&password=wrong+password+here", enc(&email)),
    )
    .await;
    assert!(r.status == 403 || r.status == 422, "{}", r.text());
    let r = account_post(
        &app,
        &cookie,
        "/account/email",
        &format!("new_email={}&password={}", enc(&new_email), enc(PASSWORD)),
    )
    .await;
    let page = after(&app, &r, &cookie).await;
    assert!(
        notice(&page).starts_with("We sent a confirmation link"),
        "{}",
        notice(&page)
    );
    assert!(
        page.text().contains(&email),
        "the address stays until the link is opened"
    );
    let token = mailed_token(&app, &new_email, "/verify-email").await;
    assert_eq!(
        follow_link(&app, "/verify-email", &token, "").await.status,
        200
    );
    let page = page_with(&app, "/account", &cookie).await;
    assert!(page.text().contains(&new_email), "{}", page.text());

    // password change: the current one checked, the other sessions end
    let r = account_post(
        &app,
        &cookie,
        "/account/password",
        "current_password=wrong+password+here&new_password=another+long+passphrase",
    )
    .await;
    refused_at(&r, 403, "current_password");
    let r = account_post(
        &app,
        &cookie,
        "/account/password",
        &format!("current_password={}&new_password=password", enc(PASSWORD)),
    )
    .await;
    refused_at(&r, 422, "new_password");
    assert!(
        r.text()
            .contains("aria-describedby=\"new_password-error new_password-hint\""),
        "{}",
        r.text()
    );
    let new_password = "another long passphrase";
    let r = account_post(
        &app,
        &cookie,
        "/account/password",
        &format!(
            "current_password={}&new_password={}",
            enc(PASSWORD),
            enc(new_password)
        ),
    )
    .await;
    let page = after(&app, &r, &cookie).await;
    assert!(notice(&page).starts_with("Your password is changed"));
    for ended in [&other, &third] {
        assert_eq!(
            page_with(&app, "/account", ended).await.status,
            303,
            "ended"
        );
    }
    assert_eq!(page.text().matches("class=\"end-session\"").count(), 0);

    // sessions: end one, then every other
    let second = signed_in_cookie(&app, &new_email, new_password).await;
    let third = signed_in_cookie(&app, &new_email, new_password).await;
    let page = page_with(&app, "/account", &cookie).await;
    let ids: Vec<String> = page
        .text()
        .split("name=\"session\" value=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{}", page.text());
    let r = account_post(
        &app,
        &cookie,
        "/account/sessions/end",
        &format!("session={}", ids[0]),
    )
    .await;
    let page = after(&app, &r, &cookie).await;
    assert_eq!(notice(&page), "The session has ended.");
    let statuses = [
        page_with(&app, "/account", &second).await.status,
        page_with(&app, "/account", &third).await.status,
    ];
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    // an unknown (or another user's) session: not found, said in its section
    let r = account_post(
        &app,
        &cookie,
        "/account/sessions/end",
        &format!("session={}", ids[0]),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("role=\"alert\""), "{}", r.text());
    // more sessions (and more events than one page of the log holds)
    for _ in 0..12 {
        signed_in_cookie(&app, &new_email, new_password).await;
    }
    let r = account_post(&app, &cookie, "/account/sessions/end-others", "").await;
    let page = after(&app, &r, &cookie).await;
    assert_eq!(notice(&page), "Every other session has ended.");
    for c in [&second, &third] {
        assert_eq!(page_with(&app, "/account", c).await.status, 303);
    }
    assert_eq!(
        page_with(&app, "/account", &cookie).await.status,
        200,
        "this one stays"
    );

    // the activity log, paged
    let r = page_with(&app, "/account/activity", &cookie).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_page_headers(&r, "/account/activity");
    for what in [
        "Password changed",
        "Email address changed",
        "Signed in",
        "A session was ended",
        "by you",
    ] {
        assert!(r.text().contains(what), "{what}: {}", r.text());
    }
    let older = r
        .text()
        .split("id=\"older\" href=\"")
        .nth(1)
        .map(|s| s.split('"').next().unwrap().replace("&#x2f;", "/"))
        .expect("more than one page of events");
    let r2 = page_with(&app, &older, &cookie).await;
    assert_eq!(r2.status, 200, "{}", r2.text());
    assert!(
        r2.text().contains("Account created"),
        "the oldest: {}",
        r2.text()
    );
    let r = page_with(&app, "/account/activity?cursor=%27%3B--", &cookie).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_page_headers(&r, "a bad cursor");
    assert_eq!(app.get("/account/activity").await.status, 303);

    // deletion: the password, then a page saying when and how to cancel
    let r = account_post(
        &app,
        &cookie,
        "/account/delete",
        "password=wrong+password+here",
    )
    .await;
    refused_at(&r, 403, "delete_password");
    assert_eq!(
        page_with(&app, "/account", &cookie).await.status,
        200,
        "nothing happened"
    );
    let r = account_post(
        &app,
        &cookie,
        "/account/delete",
        &format!("password={}", enc(new_password)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_page_headers(&r, "deleted");
    assert!(r.text().contains("id=\"deleted\""), "{}", r.text());
    assert!(r.text().contains(&new_email), "where the cancel link went");
    let (_, set) = session_cookie(&r);
    assert!(set.contains("Max-Age=0"), "{set}");
    assert_eq!(
        page_with(&app, "/account", &cookie).await.status,
        303,
        "signed out"
    );
    assert_eq!(
        sign_in(&app, &new_email, new_password, "").await.status,
        423
    );
    // the mailed link keeps the account
    let token = mailed_token(&app, &new_email, "/cancel-deletion").await;
    assert_eq!(
        follow_link(&app, "/cancel-deletion", &token, "")
            .await
            .status,
        200
    );
    assert_eq!(
        sign_in(&app, &new_email, new_password, "").await.status,
        303
    );
}

/// The form actions of a page, as a browser reads them.
fn form_actions(page: &TestResponse) -> std::collections::BTreeSet<String> {
    page.text()
        .split("action=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().replace("&#x2f;", "/"))
        .collect()
}

/// The form actions of the account page as an account turns two-step
/// sign-in on: while enrolling, and once it is on.
async fn security_section_actions(app: &TestApp) -> std::collections::BTreeSet<String> {
    let email = unique("walk-mfa");
    app.register(&email, PASSWORD).await;
    let cookie = app.login_cookie(&email, PASSWORD).await;
    let form = app.page_form("/account", Some(&cookie)).await;
    let r = app.post_page("/account/security/totp", &form, "").await;
    assert_eq!(r.status, 303, "{}", r.text());
    let enrolling = page_with(app, "/account", &cookie).await;
    let secret = enrolling
        .text()
        .split("<code id=\"totp-secret\">")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .expect("the key")
        .to_owned();
    let body = format!("code={}", app.totp_code(&secret, 0));
    let on = app
        .post_page("/account/security/totp/confirm", &form, &body)
        .await;
    assert_eq!(on.status, 200, "{}", on.text());
    let mut actions = form_actions(&enrolling);
    actions.extend(form_actions(&on));
    actions
}

/// A new account with a confirmed address, signed in through the page:
/// its address and session cookie.
async fn verified_cookie(app: &TestApp, tag: &str) -> (String, String) {
    let email = unique(tag);
    app.register(&email, PASSWORD).await;
    let token = mailed_token(app, &email, "/verify-email").await;
    let r = follow_link(app, "/verify-email", &token, "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cookie = signed_in_cookie(app, &email, PASSWORD).await;
    (email, cookie)
}

/// A verified account that removed its password in the account center
/// (sign-in by mail is its way in): its page.
async fn without_password(app: &TestApp) -> TestResponse {
    let (_, cookie) = verified_cookie(app, "no-password").await;
    let r = account_post(app, &cookie, "/account/password/remove", "password=").await;
    after(app, &r, &cookie).await
}

#[tokio::test]
async fn every_account_form_refuses_cross_site_posts_when_signed_in() {
    // a provider (never called) and a linked identity: the linked
    // providers' forms show
    let provider = latchkey_core::federation::Provider {
        name: "idp".into(),
        display_name: "IdP".into(),
        kind: latchkey_core::federation::ProviderKind::Oidc,
        issuer: Some("https://idp.example".into()),
        authorization_endpoint: None,
        token_endpoint: None,
        userinfo_endpoint: None,
        client_id: "latchkey".into(),
        client_secret: "secret".into(),
        scopes: vec!["openid".into()],
        claims: latchkey_core::federation::ClaimMapping::default(),
        link_policy: latchkey_core::federation::LinkPolicy::Never,
        sign_up: true,
        store_tokens: false,
        sync_profile: true,
        dialect: latchkey_core::federation::Dialect::default(),
    };
    let app = TestApp::sqlite_from(latchkey_testkit::Options {
        federation: latchkey_core::federation::FederationConfig {
            providers: vec![provider],
            ..Default::default()
        },
        ..latchkey_testkit::Options::default()
    })
    .await;
    let email = unique("walk");
    app.register(&email, PASSWORD).await; // unverified: the resend form shows
    let user = app.store.user_by_email(&email).await.unwrap().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let identity = latchkey_core::federation::Identity {
        id: latchkey_core::id::new_id(),
        user_id: user.id.clone(),
        provider: "other".into(),
        subject: "walker".into(),
        email: None,
        email_verified: false,
        linked_at: now,
    };
    let event = latchkey_core::audit::AuditEvent::new(
        latchkey_core::audit::EventType::IdentityLinked,
        now,
        &latchkey_core::auth::ClientInfo::default(),
    );
    app.store.link_identity(&identity, &event).await.unwrap();
    let cookie = signed_in_cookie(&app, &email, PASSWORD).await;
    let other = signed_in_cookie(&app, &email, PASSWORD).await;
    let page = page_with(&app, "/account", &cookie).await;
    let mut actions = form_actions(&page);
    // the security section's forms follow the account's state: add those
    // of another account's page as it turns two-step sign-in on
    actions.extend(security_section_actions(&app).await);
    // and those of an account without a password (setting one)
    actions.extend(form_actions(&without_password(&app).await));
    // every page form under /account is on the account page, so this walk
    // covers each one (a new form without a place there fails here)
    for path in page_routes("post") {
        if path.starts_with("/account") {
            assert!(
                actions.contains(&path),
                "{path} is not on /account: {actions:?}"
            );
        }
    }
    assert!(actions.len() >= 7, "{actions:?}");
    let form = app.page_form("/account", Some(&cookie)).await;
    let other_form = app.page_form("/account", Some(&other)).await;
    let pre = app.page_form("/login", None).await;
    let with_pre = format!("{cookie}; {}", pre.cookie);
    let wrong = {
        let mut t = form.csrf.clone().into_bytes();
        t[0] = if t[0] == b'A' { b'B' } else { b'A' };
        String::from_utf8(t).unwrap()
    };
    let fields = format!(
        "session=x&new_email={}&password={}&current_password={}&new_password=a+new+long+passphrase&username=walker",
        enc(&unique("walk-new")),
        enc(PASSWORD),
        enc(PASSWORD)
    );
    for path in &actions {
        for (case, origin, cookies, csrf) in [
            ("no token", Some(ISSUER), cookie.as_str(), None),
            (
                "wrong token",
                Some(ISSUER),
                cookie.as_str(),
                Some(wrong.as_str()),
            ),
            (
                "the browser's pre-sign-in token",
                Some(ISSUER),
                with_pre.as_str(),
                Some(pre.csrf.as_str()),
            ),
            (
                "another session's token",
                Some(ISSUER),
                cookie.as_str(),
                Some(other_form.csrf.as_str()),
            ),
            (
                "foreign origin",
                Some("https://evil.example"),
                cookie.as_str(),
                Some(form.csrf.as_str()),
            ),
            (
                "Origin null",
                Some("null"),
                cookie.as_str(),
                Some(form.csrf.as_str()),
            ),
            ("no origin", None, cookie.as_str(), Some(form.csrf.as_str())),
        ] {
            let body = match csrf {
                Some(t) => format!("{fields}&csrf={t}"),
                None => fields.clone(),
            };
            let r = post(&app, path, origin, cookies, &body).await;
            let what = format!("POST {path} signed in ({case})");
            assert_eq!(r.status, 403, "{what}: {}", r.text());
            assert_page_headers(&r, &what);
            assert!(
                r.text().contains("This form has expired"),
                "{what}: {}",
                r.text()
            );
        }
    }
    // nothing happened
    let page = page_with(&app, "/account", &cookie).await;
    assert_eq!(page.text().matches("class=\"end-session\"").count(), 1);
    assert!(page.text().contains(&email) && !page.text().contains("walker"));
    assert_eq!(page_with(&app, "/account", &other).await.status, 200);
}

#[tokio::test]
async fn no_page_form_fails_on_garbage() {
    let app = TestApp::sqlite().await;
    let email = unique("garbage");
    app.register(&email, PASSWORD).await;
    let long = "x".repeat(20_000);
    for path in page_routes("post") {
        // fresh for each path: signing out or deleting ends the session
        let cookie = signed_in_cookie(&app, &email, PASSWORD).await;
        let form = app.page_form("/account", Some(&cookie)).await;
        let pre = app.page_form("/login", None).await;
        let t = form.csrf.clone();
        for (signed_in, body) in [
            (true, "%%%&&==&=%".to_owned()),
            (true, format!("csrf={t}&csrf={t}")),
            (
                true,
                format!(
                    "csrf={t}&session=%00%FF&new_email=%E2%80%AE%FF&username=%00&name=%3Cscript%3E&password=&current_password=&new_password=%FF%FE&email=&identifier=&return_to=%2F%2Fevil"
                ),
            ),
            (
                true,
                format!(
                    "csrf={t}&session={long}&new_email={long}&username={long}&name={long}&password={long}&new_password={long}&email={long}&identifier={long}"
                ),
            ),
            (
                false,
                format!(
                    "csrf={}&email=%FF&password=%00&username=%0A&token=%FF",
                    pre.csrf
                ),
            ),
        ] {
            let cookies = if signed_in { &form.cookie } else { &pre.cookie };
            let r = post(&app, &path, Some(ISSUER), cookies, &body).await;
            let what = format!("POST {path} ({})", &body[..body.len().min(60)]);
            assert!(r.status.as_u16() < 500, "{what}: {} {}", r.status, r.text());
            if r.status != 303 {
                assert_page_headers(&r, &what);
            }
        }
        // a body that is not a form at all
        let r = app
            .call(
                Request::post(path.as_str())
                    .header("content-type", "application/json")
                    .header("origin", ISSUER)
                    .header("cookie", &form.cookie)
                    .body(Body::from("{\"csrf\": 1}"))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 400, "POST {path} as JSON: {}", r.text());
        assert_page_headers(&r, &path);
    }
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
    let two_step = "two-step@example.com";
    app.register(two_step, PASSWORD).await;
    let token = app.login(two_step, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = app
        .send("POST", "/v1/account/mfa/totp", Some(&token))
        .await
        .json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let confirm = serde_json::json!({ "code": app.totp_code(&secret, 0) });
    let r = app
        .json(
            "POST",
            "/v1/account/mfa/totp/confirm",
            confirm,
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
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
        for path in ["/account", "/account/activity", "/logout"] {
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
        // the second step of signing in, and its refusal
        let body = format!(
            "identifier={}&password={}",
            two_step.replace('@', "%40"),
            PASSWORD.replace(' ', "+")
        );
        let code_form = app.post_page("/login", &lang_cookie, &body).await;
        assert!(
            code_form.text().contains("action=\"/mfa\""),
            "{}",
            code_form.text()
        );
        let mfa_token = code_form
            .text()
            .split("name=\"mfa_token\" value=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap()
            .to_owned();
        let binding = set_cookie(&code_form, "latchkey_mfa").unwrap();
        let browser = PageForm {
            cookie: format!(
                "{}; {}",
                lang_cookie.cookie,
                binding.split(';').next().unwrap()
            ),
            csrf: lang_cookie.csrf.clone(),
        };
        let wrong = format!("mfa_token={mfa_token}&method=totp&code=000000");
        let refused = app.post_page("/mfa", &browser, &wrong).await;
        assert!(
            refused.text().contains("id=\"code-error\""),
            "{}",
            refused.text()
        );
        pages.push(("the code form".into(), code_form));
        pages.push(("a wrong code".into(), refused));
        // the account center's answers: a notice, a refusal beside its
        // field, the sign-up answer, the deletion page
        let with_lang = |cookie: &str| format!("{cookie}; latchkey_lang={lang}");
        let form = app.page_form("/account", Some(&with_lang(&session))).await;
        let saved = app.post_page("/account/profile", &form, "name=Ada").await;
        let flash = set_cookie(&saved, "latchkey_flash").expect("a notice");
        let flash = flash.split(';').next().unwrap();
        let page = page_with(
            &app,
            "/account",
            &format!("{}; {flash}", with_lang(&session)),
        )
        .await;
        assert!(page.text().contains("id=\"notice\""), "{}", page.text());
        pages.push(("a notice".into(), page));
        let refused = app
            .post_page(
                "/account/password",
                &form,
                "current_password=not+the+password&new_password=another+long+password",
            )
            .await;
        assert!(refused.text().contains("id=\"current_password-error\""));
        pages.push(("refused password change".into(), refused));
        let form = app
            .page_form("/register", Some(&format!("latchkey_lang={lang}")))
            .await;
        let leaving = format!("leaving-{lang}@example.com");
        let body = format!(
            "email={}&password={}",
            leaving.replace('@', "%40"),
            PASSWORD.replace(' ', "+")
        );
        let registered = app.post_page("/register", &form, &body).await;
        assert!(
            registered.text().contains("id=\"registered\""),
            "{}",
            registered.text()
        );
        pages.push(("registered".into(), registered));
        let gone = with_lang(&signed_in_cookie(&app, &leaving, PASSWORD).await);
        let form = app.page_form("/account", Some(&gone)).await;
        let body = format!("password={}", PASSWORD.replace(' ', "+"));
        let deleted = app.post_page("/account/delete", &form, &body).await;
        assert!(
            deleted.text().contains("id=\"deleted\""),
            "{}",
            deleted.text()
        );
        pages.push(("deleted".into(), deleted));
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

latchkey_testkit::sqlite_only!(the_account_center_sets_and_removes_a_password);

/// The account center's optional password: removing it needs a recent
/// sign-in or the password, and is refused with a readable page (in the
/// page's language) while it is the last way in; an account without one
/// sees a form that sets one.
async fn the_account_center_sets_and_removes_a_password(app: TestApp) {
    // unverified: sign-in by mail does not reach its owner, so the password is the only way in
    let alone = unique("last-way");
    app.register(&alone, PASSWORD).await;
    let cookie = signed_in_cookie(&app, &alone, PASSWORD).await;
    let page = page_with(&app, "/account", &cookie).await.text();
    assert!(
        page.contains("id=\"password-form\"") && page.contains("id=\"remove-password-form\""),
        "{page}"
    );
    assert!(!page.contains("id=\"set-password-form\""), "{page}");
    let r = account_post(&app, &cookie, "/account/password/remove", "password=").await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_page_headers(&r, "last way in");
    assert!(
        r.text().contains("This is your last way to sign in"),
        "{}",
        r.text()
    );
    let r = account_post(
        &app,
        &cookie,
        "/account/password/remove?lang=de",
        "password=",
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("Das ist Ihr letzter Weg"), "{}", r.text());
    assert_eq!(
        sign_in(&app, &alone, PASSWORD, "").await.status,
        303,
        "it stays"
    );

    // verified: a link by mail reaches its owner, so the password may go
    let (email, cookie) = verified_cookie(&app, "optional").await;
    // an old sign-in needs the password typed, and the right one
    app.clock.advance(time::Duration::minutes(11));
    let r = account_post(&app, &cookie, "/account/password/remove", "password=").await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        r.text().contains("Confirm with your password first"),
        "{}",
        r.text()
    );
    let r = account_post(
        &app,
        &cookie,
        "/account/password/remove",
        "password=wrong+one",
    )
    .await;
    refused_at(&r, 403, "remove_password");
    let body = format!("password={}", enc(PASSWORD));
    let r = account_post(&app, &cookie, "/account/password/remove", &body).await;
    let page = after(&app, &r, &cookie).await;
    assert!(
        notice(&page).starts_with("Your password is removed"),
        "{}",
        page.text()
    );
    let text = page.text();
    assert!(text.contains("id=\"set-password-form\""), "{text}");
    assert!(!text.contains("id=\"password-form\""), "{text}");
    assert_eq!(
        sign_in(&app, &email, PASSWORD, "").await.status,
        401,
        "gone"
    );

    // setting one: the rules of every new password, then it signs in
    let r = account_post(&app, &cookie, "/account/password/set", "new_password=short").await;
    refused_at(&r, 422, "new_password");
    let new_password = "another long passphrase";
    let body = format!("new_password={}", enc(new_password));
    let r = account_post(&app, &cookie, "/account/password/set", &body).await;
    let page = after(&app, &r, &cookie).await;
    assert!(
        notice(&page).starts_with("Your password is set"),
        "{}",
        page.text()
    );
    assert!(page.text().contains("id=\"remove-password-form\""));
    assert_eq!(sign_in(&app, &email, new_password, "").await.status, 303);
}
