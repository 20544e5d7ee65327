//! The real router against its own OpenAPI document. Every operation of
//! `/openapi.json` is called with malformed and refused input (paths,
//! queries, bodies, credentials, limits); every answer must be well formed
//! (problem+json with a `code` on the JSON API, never a 5xx) and must be a
//! status the document lists for that operation.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use latchkey_core::ManualClock;
use latchkey_core::abuse::{ChallengePolicy, GuardConfig};
use latchkey_core::admin::Actor;
use latchkey_http::{Limits, Network};
use latchkey_testkit::{Options, TestApp, TestResponse};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const MAX_BODY: usize = 4096;

/// One documented operation.
struct Op {
    method: String,
    /// The path template, e.g. `/v1/admin/users/{id}`.
    path: String,
    doc: Value,
}

impl Op {
    fn name(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    fn is_page(&self) -> bool {
        self.doc["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "pages"))
    }

    fn is_oauth(&self) -> bool {
        self.path.starts_with("/oauth2/")
    }

    /// The path with every parameter replaced by `value`.
    fn at(&self, value: &str) -> String {
        let mut out = String::new();
        let mut rest = self.path.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("a closing brace") + start;
            out.push_str(value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn query_params(&self) -> Vec<String> {
        self.doc["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    }

    fn documents(&self, status: u16) -> bool {
        self.doc["responses"].get(status.to_string()).is_some()
    }
}

fn operations(doc: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            ops.push(Op {
                method: method.clone(),
                path: path.clone(),
                doc: op.clone(),
            });
        }
    }
    assert!(ops.len() > 40, "only {} operations found", ops.len());
    ops
}

/// The example of an operation's JSON body, from its schema.
fn example_body(doc: &Value, op: &Op) -> Option<Value> {
    let schema = &op.doc["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    };
    schema
        .get("example")
        .or_else(|| schema["examples"].get(0))
        .cloned()
}

async fn document(app: &TestApp) -> Value {
    let r = app.get("/openapi.json").await;
    assert_eq!(r.status, 200);
    r.json()
}

/// A signed-in user: (user id, access token).
async fn user(app: &TestApp, email: &str, roles: &[&str]) -> (String, String) {
    let id = app.register(email, PASSWORD).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if !roles.is_empty() {
        let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        app.auth
            .admin()
            .admin_set_roles(&Actor::command_line(), &id, &roles, false)
            .await
            .expect("grant roles");
    }
    let token = app.login(email, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, token)
}

/// A request to `op` at `uri`.
struct Call<'a> {
    method: &'a str,
    uri: String,
    bearer: Option<&'a str>,
    content_type: Option<&'a str>,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl<'a> Call<'a> {
    fn new(op: &'a Op, uri: String, bearer: Option<&'a str>) -> Call<'a> {
        Call {
            method: &op.method,
            uri,
            bearer,
            content_type: None,
            body: Vec::new(),
            headers: Vec::new(),
        }
    }

    fn json(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some("application/json");
        self.body = body.into();
        self
    }

    fn content_type(mut self, content_type: &'a str, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some(content_type);
        self.body = body.into();
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    async fn send(self, app: &TestApp, from: Option<SocketAddr>) -> TestResponse {
        let mut req = Request::builder()
            .method(self.method.to_uppercase().as_str())
            .uri(&self.uri);
        if let Some(t) = self.bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = self.content_type {
            req = req.header("content-type", ct);
        }
        for (name, value) in self.headers {
            req = req.header(name, value);
        }
        let req = req.body(Body::from(self.body)).expect("a request");
        match from {
            Some(peer) => app.call_from(peer, req).await,
            None => app.call(req).await,
        }
    }
}

/// Problems found, reported together.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    /// Checks the shape of an answer: never a 5xx (but the 503 of an
    /// exhausted time limit when `allow_503`), and an error of the JSON API
    /// is problem+json with a `code` and its status.
    fn shape(&mut self, op: &Op, what: &str, r: &TestResponse, allow_503: bool) {
        let status = r.status.as_u16();
        if status >= 500 && !(allow_503 && status == 503) {
            self.0
                .push(format!("{} ({what}): {status} {}", op.name(), r.text()));
        }
        if status < 400 {
            return;
        }
        let ct = r.header("content-type").unwrap_or("");
        if ct == "application/problem+json" {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            let code = body["code"].as_str().unwrap_or("");
            if code.is_empty() || body["status"] != status {
                self.0.push(format!(
                    "{} ({what}): {status} problem without code/status: {}",
                    op.name(),
                    r.text()
                ));
            }
        } else if op.is_page() && ct.starts_with("text/html") {
            // the pages mailed links open answer in HTML
        } else if matches!(op.path.as_str(), "/oauth2/authorize" | "/oauth2/logout")
            && ct.starts_with("text/html")
        {
            // RFC 6749 §4.1.2.1 (and RP-initiated logout): what cannot go
            // back to a verified URI is shown to the person, never redirected
        } else if op.is_oauth()
            && ct.starts_with("application/json")
            && serde_json::from_slice::<Value>(&r.body)
                .is_ok_and(|b| b["error"].as_str().is_some_and(|e| !e.is_empty()))
        {
            // RFC 6749 §5.2 error bodies on the OAuth endpoints
        } else {
            self.0.push(format!(
                "{} ({what}): {status} {ct:?} is not problem+json: {}",
                op.name(),
                r.text()
            ));
        }
    }

    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} problems:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// Bodies no handler accepts: (what, content type, bytes).
fn malformed_bodies() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        ("not JSON", "application/json", b"{\"a\":".to_vec()),
        ("trailing garbage", "application/json", b"{} {}".to_vec()),
        ("an array", "application/json", b"[1, 2]".to_vec()),
        ("a string", "application/json", b"\"text\"".to_vec()),
        ("null", "application/json", b"null".to_vec()),
        (
            "wrong types",
            "application/json",
            br#"{"email": 5, "password": [], "identifier": {}, "token": true, "name": 1.5, "roles": "admin", "refresh_token": null}"#.to_vec(),
        ),
        (
            "unknown fields",
            "application/json",
            br#"{"is_admin": true, "user_id": "someone"}"#.to_vec(),
        ),
        (
            "nested past serde's limit",
            "application/json",
            format!("{}{}", "[".repeat(200), "]".repeat(200)).into_bytes(),
        ),
        (
            "deeply nested",
            "application/json",
            format!("{{\"a\":{}1{}}}", "[".repeat(2_000), "]".repeat(2_000)).into_bytes(),
        ),
        ("not UTF-8", "application/json", vec![b'"', 0xff, 0xfe, b'"']),
        ("wrong content type", "text/plain", b"{}".to_vec()),
        ("form content type", "application/x-www-form-urlencoded", b"a=1".to_vec()),
        (
            "over the body limit",
            "application/json",
            format!("\"{}\"", "a".repeat(MAX_BODY * 2)).into_bytes(),
        ),
    ]
}

fn options() -> Options {
    Options {
        limits: Limits {
            max_body_bytes: MAX_BODY,
            ..Limits::default()
        },
        ..Options::default()
    }
}

/// Issue 11, item 10: malformed paths, queries and bodies on every route
/// get problem+json with a `code`, never a plain-text 400 or a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_is_refused_with_problems_on_every_route() {
    let app = TestApp::sqlite_with(options(), |r| r).await;
    let doc = document(&app).await;
    let mut findings = Findings::default();
    for (n, op) in operations(&doc).iter().enumerate() {
        // a fresh administrator per operation: some operations end the
        // caller's session or account
        let (_, token) = user(&app, &format!("admin{n}@example.com"), &["admin"]).await;
        let t = Some(token.as_str());
        let mut calls: Vec<(String, Call)> = Vec::new();
        if op.path.contains('{') {
            for (what, segment) in [
                ("invalid percent-encoding", "%ff".to_owned()),
                ("an overlong UTF-8 sequence", "%c0%af".to_owned()),
                ("an encoded NUL", "a%00b".to_owned()),
                ("an encoded slash", "a%2fb".to_owned()),
                ("an overlong segment", "a".repeat(10_000)),
            ] {
                calls.push((what.into(), Call::new(op, op.at(&segment), t)));
            }
        }
        let base = op.at("nothing-here");
        let mut queries = vec![
            "zzz_unknown=1".to_owned(),
            "%ff=%ff".to_owned(),
            "a=%zz".to_owned(),
        ];
        for p in op.query_params() {
            queries.extend([
                format!("{p}=maybe"),
                format!("{p}=%ff"),
                format!("{p}=-1"),
                format!("{p}=99999999999999999999"),
                format!("{p}=1&{p}=2"),
                format!("{p}[]=1"),
            ]);
        }
        for q in queries {
            calls.push((
                format!("query {q}"),
                Call::new(op, format!("{base}?{q}"), t),
            ));
        }
        for (what, content_type, body) in malformed_bodies() {
            calls.push((
                format!("body: {what}"),
                Call::new(op, base.clone(), t).content_type(content_type, body),
            ));
        }
        for (what, call) in calls {
            let r = call.send(&app, None).await;
            findings.shape(op, &what, &r, false);
        }
    }
    findings.assert_none();
}

/// The three rejections issue 11 names, each with its code.
#[tokio::test]
async fn the_reported_rejections_are_problems_with_codes() {
    let app = TestApp::sqlite().await;
    let (_, token) = user(&app, "root@example.com", &["admin"]).await;
    let problem = |r: &TestResponse, status: u16, code: &str| {
        assert_eq!(r.status.as_u16(), status, "{}", r.text());
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        assert_eq!(r.code(), code, "{}", r.text());
    };
    // a challenge asked for without an action
    let r = app.get("/v1/auth/challenge").await;
    problem(&r, 422, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "query", "{}", r.text());
    // a boolean that is not one
    let r = app
        .send(
            "DELETE",
            "/v1/account/sessions?include_current=maybe",
            Some(&token),
        )
        .await;
    problem(&r, 422, "validation_failed");
    // a path that is not UTF-8, on every operation of the JSON API that
    // reads one (from the document, so a new route cannot be missed)
    let doc = document(&app).await;
    let mut with_path = 0;
    for op in operations(&doc) {
        if !op.path.contains('{') || op.is_page() || op.is_oauth() {
            continue;
        }
        with_path += 1;
        let r = Call::new(&op, op.at("%ff"), Some(&token))
            .json("{}")
            .send(&app, None)
            .await;
        assert_eq!(r.status.as_u16(), 400, "{}: {}", op.name(), r.text());
        problem(&r, 400, "invalid_path");
    }
    assert!(with_path >= 4, "only {with_path} operations read a path");
    // the session survived all of it
    assert_eq!(
        app.send("GET", "/v1/account", Some(&token)).await.status,
        200
    );
}

/// Records each status an operation answered, with what provoked it.
#[derive(Default)]
struct Statuses(BTreeMap<(String, String), BTreeMap<u16, String>>);

impl Statuses {
    fn saw(&mut self, op: &Op, what: &str, r: &TestResponse) {
        self.0
            .entry((op.path.clone(), op.method.clone()))
            .or_default()
            .entry(r.status.as_u16())
            .or_insert_with(|| {
                format!("{what}: {}", r.text().chars().take(200).collect::<String>())
            });
    }

    fn all(&self) -> BTreeSet<u16> {
        self.0.values().flat_map(|s| s.keys().copied()).collect()
    }
}

/// Issue 11, item 13: every status the router answers is documented for
/// its operation. Each operation is called without credentials, as a user
/// without permissions, as an administrator with good and bad input, with a
/// cookie session without CSRF token, over the limits (body, headers, rate,
/// time) and from a refused address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_the_router_answers_is_documented() {
    let mut seen = Statuses::default();

    // the credentials, body, path and query checks
    let app = TestApp::sqlite_with(options(), |r| r).await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    for (n, op) in ops.iter().enumerate() {
        let (_, admin) = user(&app, &format!("admin{n}@example.com"), &["admin"]).await;
        let (target, plain) = user(&app, &format!("user{n}@example.com"), &[]).await;
        let cookie = app
            .login_cookie(&format!("user{n}@example.com"), PASSWORD)
            .await;
        let example = example_body(&doc, op)
            .map(|b| b.to_string())
            .unwrap_or_else(|| "{}".to_owned());
        let real = op.at(&target);
        let mut calls: Vec<(&str, Call)> = vec![
            (
                "no credentials",
                Call::new(op, real.clone(), None).json(example.clone()),
            ),
            (
                "a user without permissions",
                Call::new(op, real.clone(), Some(&plain)).json(example.clone()),
            ),
            (
                "a cookie session without CSRF token",
                Call::new(op, real.clone(), None)
                    .json(example.clone())
                    .header("cookie", cookie.clone()),
            ),
            (
                "an unknown object",
                Call::new(op, op.at("nothing-here"), Some(&admin)).json(example.clone()),
            ),
            (
                "an administrator with the example body",
                Call::new(op, real.clone(), Some(&admin)).json(example.clone()),
            ),
            (
                "the example body again",
                Call::new(op, real.clone(), Some(&admin)).json(example.clone()),
            ),
            (
                "an invalid path",
                Call::new(op, op.at("%ff"), Some(&admin)).json(example.clone()),
            ),
            (
                "oversized headers",
                Call::new(op, real.clone(), Some(&admin))
                    .json(example.clone())
                    .header("x-filler", "a".repeat(16 * 1024)),
            ),
        ];
        for p in op.query_params() {
            for value in ["maybe", "0", "-1", "100000", "1&{p}=2"] {
                calls.push((
                    "a bad query",
                    Call::new(
                        op,
                        format!("{real}?{p}={}", value.replace("{p}", &p)),
                        Some(&admin),
                    )
                    .json(example.clone()),
                ));
            }
        }
        for (what, content_type, body) in malformed_bodies() {
            let _ = what;
            calls.push((
                "a malformed body",
                Call::new(op, real.clone(), Some(&admin)).content_type(content_type, body),
            ));
        }
        for (what, call) in calls {
            let r = call.send(&app, None).await;
            seen.saw(op, what, &r);
        }
    }

    // rate limits and address lists: one request per route class and
    // address is allowed, the next refused
    let one_per_minute = "ip=1/min";
    let limited = TestApp::sqlite_with(
        Options {
            clock: Some(Arc::new(ManualClock::at_unix(1_800_000_000))),
            guard: GuardConfig {
                login: one_per_minute.parse().unwrap(),
                register: one_per_minute.parse().unwrap(),
                mail: one_per_minute.parse().unwrap(),
                token: one_per_minute.parse().unwrap(),
                api: one_per_minute.parse().unwrap(),
                challenge: ChallengePolicy {
                    enabled: false,
                    ..ChallengePolicy::default()
                },
                ..GuardConfig::default()
            },
            network: Network {
                deny: "198.51.100.0/24".parse().unwrap(),
                ..Network::default()
            },
            ..Options::default()
        },
        |r| r,
    )
    .await;
    let denied = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)), 1);
    for (n, op) in ops.iter().enumerate() {
        let n = u8::try_from(n + 1).expect("fewer than 255 operations");
        let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)), 1);
        let call = || Call::new(op, op.at("nothing-here"), None).json("{}");
        for what in ["first request of the class", "second request of the class"] {
            let r = call().send(&limited, Some(from)).await;
            seen.saw(op, what, &r);
        }
        let r = call().send(&limited, Some(denied)).await;
        seen.saw(op, "a denied address", &r);
    }

    // a request that cannot finish in time: no time at all, and hashing
    // (sign-in, sign-up) made costly enough (hundreds of milliseconds) that
    // those requests certainly outlast the timer whatever the machine's load
    let slow = TestApp::sqlite_with(
        Options {
            limits: Limits {
                request_timeout: Duration::ZERO,
                ..Limits::default()
            },
            hash: latchkey_core::password::HashParams {
                m_cost_kib: 64 * 1024,
                t_cost: 4,
                p_cost: 1,
            },
            ..Options::default()
        },
        |r| r,
    )
    .await;
    for op in &ops {
        let example = example_body(&doc, op).unwrap_or_else(|| json!({}));
        let r = Call::new(op, op.at("nothing-here"), None)
            .json(example.to_string())
            .send(&slow, None)
            .await;
        seen.saw(op, "no time to answer", &r);
    }

    // the walk provoked every kind of answer it means to
    let all = seen.all();
    for status in [
        200, 201, 204, 400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 503,
    ] {
        assert!(
            all.contains(&status),
            "no operation answered {status}: {all:?}"
        );
    }
    let mut undocumented = Vec::new();
    for op in &ops {
        for (status, how) in seen
            .0
            .get(&(op.path.clone(), op.method.clone()))
            .into_iter()
            .flatten()
        {
            if !op.documents(*status) {
                undocumented.push(format!("{} answered {status} to {how}", op.name()));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "{} undocumented answers:\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
}

/// Issue 11, item 13: a `limit` query parameter documents its range, and
/// the server accepts exactly that range.
#[tokio::test]
async fn limit_ranges_are_documented_as_enforced() {
    let app = TestApp::sqlite().await;
    let doc = document(&app).await;
    let (_, token) = user(&app, "root@example.com", &["admin"]).await;
    let mut checked = 0;
    for op in operations(&doc) {
        let Some(limit) = op.doc["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["in"] == "query" && p["name"] == "limit")
        else {
            continue;
        };
        let schema = &limit["schema"];
        let (Some(min), Some(max)) = (schema["minimum"].as_i64(), schema["maximum"].as_i64())
        else {
            panic!("{}: `limit` has no documented range: {limit}", op.name());
        };
        for (value, ok) in [(min - 1, false), (min, true), (max, true), (max + 1, false)] {
            let r = app
                .send(
                    &op.method.to_uppercase(),
                    &format!("{}?limit={value}", op.path),
                    Some(&token),
                )
                .await;
            if ok {
                assert_eq!(r.status, 200, "{} limit={value}: {}", op.name(), r.text());
            } else {
                assert_eq!(r.status, 422, "{} limit={value}: {}", op.name(), r.text());
            }
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} operations take a limit");
}

/// Parameters are documented where the server reads them: a path
/// parameter for each `{name}` of the path and nothing else (the query
/// parameters were documented as required path parameters).
#[tokio::test]
async fn parameters_are_documented_where_they_are_read() {
    let app = TestApp::sqlite().await;
    let doc = document(&app).await;
    for op in operations(&doc) {
        let in_template: BTreeSet<String> = op
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        let params = op.doc["parameters"].as_array().cloned().unwrap_or_default();
        let in_path: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(in_path, in_template, "{}: path parameters", op.name());
    }
}

/// Issue 11, item 13: no date in the document (examples included) is in
/// the past, or will be for a long time: dates written as RFC 3339 and Unix
/// times (ten digits, such as `exp` or the expiry inside a challenge token).
#[tokio::test]
async fn no_date_in_the_document_is_in_the_past() {
    let app = TestApp::sqlite().await;
    let text = app.get("/openapi.json").await.text();
    let horizon = time::OffsetDateTime::now_utc() + time::Duration::days(365 * 50);
    let bytes = text.as_bytes();
    let digits_at =
        |i: usize, n: usize| i + n <= bytes.len() && bytes[i..i + n].iter().all(u8::is_ascii_digit);
    let mut dates = 0;
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = digits_at(i, 1) && (i == 0 || !bytes[i - 1].is_ascii_digit());
        let found = if starts_number
            && digits_at(i, 4)
            && bytes.get(i + 4) == Some(&b'-')
            && digits_at(i + 5, 2)
            && bytes.get(i + 7) == Some(&b'-')
            && digits_at(i + 8, 2)
        {
            let date = time::Date::parse(
                &text[i..i + 10],
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", &text[i..i + 10]));
            Some(date.midnight().assume_utc())
        } else if starts_number && digits_at(i, 10) && !digits_at(i + 10, 1) {
            let secs: i64 = text[i..i + 10].parse().unwrap();
            Some(time::OffsetDateTime::from_unix_timestamp(secs).unwrap())
        } else {
            None
        };
        if let Some(at) = found {
            assert!(
                at > horizon,
                "{}: a date in the past or near future",
                &text[i..i + 10]
            );
            dates += 1;
            i += 10;
            continue;
        }
        i += 1;
    }
    assert!(dates > 10, "only {dates} dates found: the scan is broken");
}
