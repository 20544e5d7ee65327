//! Test support shared by latchkey's crates. Dev-only: nothing ships with it.
//!
//! - [`TestApp`]: the real router over a real store (a fresh SQLite file, or a
//!   fresh PostgreSQL database), assembled by the server's own builder
//!   (`latchkey_http::app`) and called in-process with `oneshot`.
//! - [`postgres`]: fresh, isolated databases on the test server started by
//!   `scripts/test.sh`.
//! - [`raw_http`]: a deliberately small HTTP/1.1 client for tests that talk to
//!   a real listening server (the binary, or `serve`).
//! - [`mailbox`]: mail delivered to the test SMTP server, decoded.
//! - [`ShiftedClock`]: the system clock plus an offset tests can move, to
//!   reach expiries and grace periods without sleeping.

pub mod mailbox;
pub mod postgres;
pub mod raw_http;
pub mod scopes;
mod shifted_clock;
mod webhooks;

pub use shifted_clock::ShiftedClock;
pub use webhooks::WebhookHosts;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
pub use latchkey_core::ManualClock;
use latchkey_core::abuse::brute_force::BruteForcePolicy;
use latchkey_core::abuse::limiter::CounterBackend;
use latchkey_core::abuse::{Guard, GuardConfig};
use latchkey_core::auth::{AuthConfig, Keyring, LifecycleConfig, Protection};
use latchkey_core::jobs::{Jobs, JobsConfig};
use latchkey_core::mail::MailTransport;
use latchkey_core::password::{HashParams, LengthPolicy, PoolConfig};
use latchkey_core::services::Services;
use latchkey_core::{Clock, Store};
use latchkey_http::{AppSettings, AppState, AuthParts, CookieSettings, Limits, Network};
use latchkey_store_sqlite::SqliteStore;
use latchkey_tokens::Alg;
use time::Duration;
use tower::ServiceExt;

/// Which database a [`TestApp`] runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// An SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database (its URL).
    Postgres(String),
}

/// An application over a real store, for in-process tests.
pub struct TestApp {
    /// The router under test.
    pub router: Router,
    /// The store behind it, for arranging and checking data directly.
    pub store: Arc<dyn Store>,
    /// The account service behind it.
    pub auth: Arc<Services>,
    /// The background job runner (tests run due jobs with [`TestApp::run_jobs`]).
    pub jobs: Jobs,
    /// The rate limits and challenges in force.
    pub guard: Arc<Guard>,
    /// The clock the app runs on (tests move it with `advance`).
    pub clock: Arc<ShiftedClock>,
    /// The database.
    pub backend: Option<Backend>,
    master: [u8; 32],
    webhook_hosts: WebhookHosts,
    _dir: Option<tempfile::TempDir>,
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON; panics with the body text if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The problem `code` of an error body ("" when there is none).
    pub fn code(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The peer address requests appear to come from.
pub const PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)), 40_000);

/// The User-Agent [`TestApp::json`] sends.
pub const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// The issuer and public URL of test apps.
pub const ISSUER: &str = "http://latchkey.test";

/// Knobs for a test app.
pub struct Options {
    /// Request limits.
    pub limits: Limits,
    /// Refresh grace window.
    pub refresh_grace: Duration,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Signing algorithm.
    pub alg: Alg,
    /// Password hashing: small parameters keep the suite fast; the real
    /// defaults are exercised by the password module's own tests.
    pub hash: HashParams,
    /// Hash queue length.
    pub hash_queue: usize,
    /// Whether access tokens carry a `permissions` claim.
    pub include_permissions: bool,
    /// A clock to run on instead of the system clock.
    pub clock: Option<Arc<ManualClock>>,
    /// Rate limits and challenges. Off by default: tests of other features
    /// send many requests from one address ([`PEER`]); the abuse tests turn
    /// them on.
    pub guard: GuardConfig,
    /// Sign-in failure counters (on by default, as in production).
    pub brute_force: BruteForcePolicy,
    /// Proxies, IP lists, CORS, HSTS.
    pub network: Network,
    /// Shared counters (Redis) behind the limiter.
    pub shared_counters: Option<Arc<dyn CounterBackend>>,
    /// Lifecycle rules (verification, reset, deletion, mail theme).
    pub lifecycle: LifecycleConfig,
    /// The job runner's tuning.
    pub jobs: JobsConfig,
    /// Upstream providers (none by default).
    pub federation: latchkey_core::federation::FederationConfig,
    /// Names the webhook client resolves itself ([`WebhookHosts`]).
    pub webhook_hosts: WebhookHosts,
    /// The scope catalogue (default: [`scopes::test_scopes`]).
    pub scopes: latchkey_core::oauth::scopes::ScopeCatalogue,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            refresh_grace: Duration::seconds(10),
            access_ttl: Duration::minutes(15),
            alg: Alg::EdDSA,
            hash: HashParams {
                m_cost_kib: 1024,
                t_cost: 1,
                p_cost: 1,
            },
            hash_queue: 256,
            include_permissions: false,
            clock: None,
            guard: GuardConfig::off(),
            brute_force: BruteForcePolicy::default(),
            network: Network::default(),
            shared_counters: None,
            lifecycle: LifecycleConfig::default(),
            jobs: JobsConfig::default(),
            federation: latchkey_core::federation::FederationConfig::default(),
            webhook_hosts: WebhookHosts::default(),
            scopes: scopes::test_scopes(),
        }
    }
}

impl TestApp {
    /// The real router on a fresh, migrated SQLite file with default options.
    pub async fn sqlite() -> TestApp {
        Self::sqlite_from(Options::default()).await
    }

    /// Like [`TestApp::sqlite`], with options and extra routes merged into
    /// the real ones (for exercising the pipeline).
    pub async fn sqlite_with(
        options: Options,
        extra: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("latchkey.db"), 2).expect("open SQLite");
        store.migrate().await.expect("migrate");
        let mut app = Self::over(Arc::new(store), options, extra).await;
        app.backend = Some(Backend::Sqlite(dir.path().join("latchkey.db")));
        app._dir = Some(dir);
        app
    }

    /// The real router on a fresh, migrated SQLite file with these options.
    pub async fn sqlite_from(options: Options) -> TestApp {
        Self::sqlite_with(options, |routes| routes).await
    }

    /// The real router on a fresh, migrated PostgreSQL database on the test
    /// server (see [`postgres::fresh_database`]).
    pub async fn postgres(options: Options) -> TestApp {
        let url = postgres::fresh_database().await;
        let store = latchkey_store_postgres::PgStore::connect(&url, 8)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate");
        let mut app = Self::over(Arc::new(store), options, |r| r).await;
        app.backend = Some(Backend::Postgres(url));
        app
    }

    /// The real router over an already migrated store (e.g. a
    /// `PgStore` on [`postgres::fresh_database`]).
    pub async fn with_store(store: Arc<dyn Store>, options: Options) -> TestApp {
        Self::over(store, options, |r| r).await
    }

    /// A second node of this PostgreSQL app: its own connection pool, key
    /// ring, services and router over the same database and master key, as
    /// another server process behind the same load balancer would be.
    pub async fn another_node(&self, options: Options) -> TestApp {
        let Some(Backend::Postgres(url)) = &self.backend else {
            panic!("another node needs a PostgreSQL app");
        };
        let store = latchkey_store_postgres::PgStore::connect(url, 8)
            .await
            .expect("connect to the test database");
        let mut app = Self::over_with_master(Arc::new(store), options, self.master, |r| r).await;
        app.backend = self.backend.clone();
        app
    }

    async fn over(
        store: Arc<dyn Store>,
        options: Options,
        extra: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> TestApp {
        let mut master = [0u8; 32];
        getrandom::fill(&mut master).expect("OS random source");
        Self::over_with_master(store, options, master, extra).await
    }

    async fn over_with_master(
        store: Arc<dyn Store>,
        options: Options,
        master: [u8; 32],
        extra: impl FnOnce(Router<AppState>) -> Router<AppState>,
    ) -> TestApp {
        let clock = Arc::new(ShiftedClock {
            base: options.clock.clone(),
            offset: Mutex::new(Duration::ZERO),
        });
        let keys = Keyring::new(&master, options.alg);
        keys.init(store.as_ref(), clock.now(), options.access_ttl)
            .await
            .expect("signing keys");
        let config = AuthConfig {
            issuer: ISSUER.into(),
            audience: ISSUER.into(),
            first_party_client_id: "latchkey".into(),
            scope: "openid profile email".into(),
            access_ttl: options.access_ttl,
            session_ttl: Duration::days(30),
            session_idle_ttl: Duration::days(7),
            refresh_grace: options.refresh_grace,
            password_policy: LengthPolicy::default(),
            include_permissions: options.include_permissions,
            scopes: options.scopes.clone(),
        };
        // Mail goes to the test SMTP server when the test scripts started
        // one; elsewhere (a single test run by hand) to files, and the
        // mailbox helpers say what is missing.
        let transport: Arc<dyn MailTransport> = match std::env::var(mailbox::PORT_VAR) {
            Ok(port) => Arc::new(
                latchkey_mail::SmtpTransport::new(
                    &latchkey_mail::SmtpSettings {
                        host: "127.0.0.1".into(),
                        port: port.parse().expect("a port number"),
                        security: latchkey_mail::SmtpSecurity::None,
                        username: None,
                        password: None,
                        timeout: std::time::Duration::from_secs(10),
                        ca_file: None,
                        hello_name: "latchkey.test".into(),
                    },
                    latchkey_mail::parse_mailbox("latchkey <no-reply@latchkey.test>")
                        .expect("sender"),
                )
                .expect("SMTP transport"),
            ),
            Err(_) => Arc::new(latchkey_mail::FileTransport::new(
                &std::env::temp_dir().join("latchkey-test-mail"),
                latchkey_mail::parse_mailbox("latchkey <no-reply@latchkey.test>").expect("sender"),
                "latchkey.test",
            )),
        };
        let app = latchkey_http::app(
            AppSettings {
                auth: AuthParts {
                    store: store.clone(),
                    clock: clock.clone(),
                    keys: Arc::new(keys),
                    passwords: PoolConfig {
                        workers: 2,
                        queue_capacity: options.hash_queue,
                        params: options.hash,
                    },
                    config,
                    protection: Protection {
                        brute_force: options.brute_force.clone(),
                        ..Protection::default()
                    },
                    lifecycle: options.lifecycle.clone(),
                },
                shared_counters: options.shared_counters.clone(),
                max_keys: 100_000,
                guard: options.guard.clone(),
                network: options.network.clone(),
                limits: options.limits,
                cookies: CookieSettings {
                    secure: false,
                    origin: ISSUER.into(),
                },
                mail: transport,
                jobs: options.jobs,
                pages: latchkey_http::Pages::builtin(),
                federation: options.federation.clone(),
                webhooks: webhooks::transport(
                    &options.webhook_hosts,
                    options.lifecycle.webhooks.allow_private,
                ),
            },
            &master,
        )
        .expect("password hasher");
        let router = latchkey_http::with_middleware(extra(latchkey_http::routes()), app.state);
        let (auth, jobs, guard) = (app.auth, app.jobs, app.guard);
        TestApp {
            router,
            store,
            auth,
            jobs,
            guard,
            clock,
            backend: None,
            master,
            webhook_hosts: options.webhook_hosts.clone(),
            _dir: None,
        }
    }

    /// The webhook client's resolver: a test maps names to addresses, and
    /// may change them while the app runs.
    pub fn webhook_hosts(&self) -> &WebhookHosts {
        &self.webhook_hosts
    }

    /// Runs every due background job (mail delivery, reset requests,
    /// sweeps) to completion; returns how many ran.
    pub async fn run_jobs(&self) -> usize {
        self.jobs.run_due(10_000).await.expect("run jobs")
    }

    /// Every row of every table, as text, read with the backend's own SQL
    /// (to prove that data is gone from all of them).
    pub async fn all_rows_as_text(&self) -> String {
        match self
            .backend
            .as_ref()
            .expect("an app made by sqlite() or postgres()")
        {
            Backend::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open SQLite");
                let tables: Vec<String> = conn
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .expect("list tables")
                    .query_map([], |r| r.get(0))
                    .expect("list tables")
                    .collect::<Result<_, _>>()
                    .expect("list tables");
                let mut out = String::new();
                for table in tables {
                    let mut stmt = conn
                        .prepare(&format!("SELECT * FROM \"{table}\""))
                        .expect("select");
                    let columns = stmt.column_count();
                    let mut rows = stmt.query([]).expect("select");
                    while let Some(row) = rows.next().expect("row") {
                        out.push_str(&table);
                        for i in 0..columns {
                            use rusqlite::types::ValueRef;
                            out.push('|');
                            match row.get_ref(i).expect("value") {
                                ValueRef::Null => {}
                                ValueRef::Integer(n) => out.push_str(&n.to_string()),
                                ValueRef::Real(f) => out.push_str(&f.to_string()),
                                ValueRef::Text(t) | ValueRef::Blob(t) => {
                                    out.push_str(&String::from_utf8_lossy(t))
                                }
                            }
                        }
                        out.push('\n');
                    }
                }
                out
            }
            Backend::Postgres(url) => postgres::all_rows_as_text(url).await,
        }
    }

    /// Sends a request through the router, as if from [`PEER`].
    pub async fn call(&self, request: Request<Body>) -> TestResponse {
        self.call_from(PEER, request).await
    }

    /// Registers an OAuth client (a resource server); returns its
    /// `Authorization: Basic` header value.
    pub async fn client_basic_auth(&self, name: &str) -> String {
        let (client, secret) = self
            .auth
            .sessions()
            .create_client(name)
            .await
            .expect("client");
        basic_auth(&client.id, &secret)
    }

    /// Registers a resource server that may read the revocation stream
    /// (`events`); returns its client id and secret.
    pub async fn events_client(&self, name: &str) -> (String, String) {
        let (client, secret) = self
            .auth
            .oauth()
            .create_client(
                &latchkey_core::admin::Actor::command_line(),
                latchkey_core::oauth::NewClient {
                    name: name.to_owned(),
                    settings: latchkey_core::oauth::ClientSettings {
                        events: true,
                        ..Default::default()
                    },
                },
            )
            .await
            .expect("client");
        (client.client.id, secret.expect("a confidential client"))
    }

    /// [`TestApp::events_client`]'s `Authorization: Basic` header value.
    pub async fn events_basic_auth(&self, name: &str) -> String {
        let (id, secret) = self.events_client(name).await;
        basic_auth(&id, &secret)
    }

    /// Sends a request through the router, as if from [`PEER`], and returns
    /// the response unread: for streams (Server-Sent Events), read as they come.
    pub async fn open(&self, mut request: Request<Body>) -> axum::response::Response {
        request.extensions_mut().insert(ConnectInfo(PEER));
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible")
    }

    /// Sends a request through the router, as if from `peer`. The body of
    /// a Server-Sent Events answer is not read (it never ends): use
    /// [`TestApp::open`] to read a stream.
    pub async fn call_from(&self, peer: SocketAddr, mut request: Request<Body>) -> TestResponse {
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        if headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
        {
            return TestResponse {
                status,
                headers,
                body: Vec::new(),
            };
        }
        let body = response
            .into_body()
            .collect()
            .await
            .expect("read the body")
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    /// `method path` with a JSON body and optional bearer token.
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        body: serde_json::Value,
        bearer: Option<&str>,
    ) -> TestResponse {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("user-agent", USER_AGENT);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        self.call(req.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    /// Registers an account; panics unless it is created. Returns the user.
    pub async fn register(&self, email: &str, password: &str) -> serde_json::Value {
        let r = self
            .json(
                "POST",
                "/v1/auth/register",
                serde_json::json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(r.status, 201, "register {email}: {}", r.text());
        r.json()
    }

    /// Signs in (bearer mode); panics unless it succeeds. Returns the token response.
    pub async fn login(&self, identifier: &str, password: &str) -> serde_json::Value {
        let r = self
            .json(
                "POST",
                "/v1/auth/login",
                serde_json::json!({"identifier": identifier, "password": password}),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "login {identifier}: {}", r.text());
        r.json()
    }

    /// Exchanges a refresh token at `POST /v1/auth/refresh`, whatever the answer.
    pub async fn refresh(&self, refresh_token: &str) -> TestResponse {
        self.json(
            "POST",
            "/v1/auth/refresh",
            serde_json::json!({"refresh_token": refresh_token}),
            None,
        )
        .await
    }

    /// Signs in in cookie mode from latchkey's own origin; panics unless it
    /// succeeds. Returns the `name=value` of the session cookie.
    pub async fn login_cookie(&self, identifier: &str, password: &str) -> String {
        let body =
            serde_json::json!({"identifier": identifier, "password": password, "mode": "cookie"});
        let r = self
            .call(
                Request::post("/v1/auth/login")
                    .header("content-type", "application/json")
                    .header("origin", ISSUER)
                    .body(Body::from(body.to_string()))
                    .expect("request"),
            )
            .await;
        assert_eq!(r.status, 200, "cookie login {identifier}: {}", r.text());
        r.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next())
            .find(|c| c.contains("latchkey_session="))
            .expect("a session cookie")
            .to_owned()
    }

    /// Opens page `path` as a browser would and returns what its form
    /// needs: the CSRF cookie it set (or `cookie`, when given) and the
    /// form's hidden `csrf` token.
    pub async fn page_form(&self, path: &str, cookie: Option<&str>) -> PageForm {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let r = self.call(req.body(Body::empty()).expect("request")).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        let set = r
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next())
            .find(|c| c.contains("latchkey_csrf="))
            .map(str::to_owned);
        let cookies = [cookie.map(str::to_owned), set]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ");
        let text = r.text();
        let csrf = text
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{path} has a form with a CSRF token: {text}"))
            .to_owned();
        PageForm {
            cookie: cookies,
            csrf,
        }
    }

    /// POSTs a page form (urlencoded `body`, to which the CSRF token is
    /// added) from latchkey's own origin with `form`'s cookies.
    pub async fn post_page(&self, path: &str, form: &PageForm, body: &str) -> TestResponse {
        let body = if body.is_empty() {
            format!("csrf={}", form.csrf)
        } else {
            format!("{body}&csrf={}", form.csrf)
        };
        self.call(
            Request::post(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", ISSUER)
                .header("cookie", &form.cookie)
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// The TOTP code an authenticator app shows for `secret` (base32, as
    /// enrolment answers it) at the app's clock moved by `offset_secs`.
    pub fn totp_code(&self, secret: &str, offset_secs: i64) -> String {
        let g = latchkey_core::mfa::totp::Generator::from_base32(secret, "latchkey", "test")
            .expect("a base32 TOTP secret");
        let t = self.clock.now().unix_timestamp() + offset_secs;
        g.code_at(u64::try_from(t).expect("after 1970"))
    }

    /// `method path` with no body and optional bearer token.
    pub async fn send(&self, method: &str, path: &str, bearer: Option<&str>) -> TestResponse {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        self.call(req.body(Body::empty()).expect("request")).await
    }
}

/// An `Authorization: Basic` header value for `id` and `secret`.
pub fn basic_auth(id: &str, secret: &str) -> String {
    use base64::Engine;
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// What a page's form needs to be sent: the browser's cookies and the
/// form's CSRF token (see [`TestApp::page_form`]).
#[derive(Debug, Clone)]
pub struct PageForm {
    /// The `Cookie` header: `name=value` pairs joined by `; `.
    pub cookie: String,
    /// The hidden `csrf` field's value.
    pub csrf: String,
}

/// Serves `router` on a real listener at `addr` (`127.0.0.1:0` for any free
/// port), with the peer address its handlers see, for clients outside the
/// process (a resource server's JWKS fetches, nginx). Returns the address.
pub async fn serve(router: Router, addr: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    let bound = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    bound
}

/// Runs each named case on a fresh SQLite file only, as
/// `on_sqlite_only::case`: for tests of what the HTTP layer and `core` decide,
/// which the store only keeps (routes, validation, tokens, cookies, pages,
/// rate limits, mail contents). What a backend could get wrong belongs in
/// [`both_backends!`] or the store conformance suite.
///
/// A case is an `async fn(TestApp)` in the calling module and may name the
/// [`Options`] it runs with: `case(Options { .. })`. With `factory:` first,
/// each case is instead an `async fn(impl AsyncFn(Options) -> TestApp)` and
/// builds its own apps (several nodes, options decided in the body).
#[macro_export]
macro_rules! sqlite_only {
    (factory: $($case:ident),* $(,)?) => {
        $crate::__backend_cases!(on_sqlite_only, factory, $crate::TestApp::sqlite_from; $($case),*);
    };
    ($($case:ident $(($options:expr))?),* $(,)?) => {
        $crate::__backend_cases!(on_sqlite_only, app, $crate::TestApp::sqlite_from; $($case $(($options))?),*);
    };
}

/// Runs each named case on a fresh SQLite file and on a fresh PostgreSQL
/// database, as `on_sqlite::case` and `on_postgres::case`: for what depends
/// on the backend — concurrency (races, concurrent refreshes), jobs,
/// transactions, constraint conflicts, searches and paging, single-use
/// links, the failure counters, and anything that reads the database
/// itself. Everything else uses [`sqlite_only!`]. Cases are written as for
/// [`sqlite_only!`] (`case(Options { .. })`, or `factory:` first).
#[macro_export]
macro_rules! both_backends {
    (factory: $($case:ident),* $(,)?) => {
        $crate::__backend_cases!(on_sqlite, factory, $crate::TestApp::sqlite_from; $($case),*);
        $crate::__backend_cases!(on_postgres, factory, $crate::TestApp::postgres; $($case),*);
    };
    ($($case:ident $(($options:expr))?),* $(,)?) => {
        $crate::__backend_cases!(on_sqlite, app, $crate::TestApp::sqlite_from; $($case $(($options))?),*);
        $crate::__backend_cases!(on_postgres, app, $crate::TestApp::postgres; $($case $(($options))?),*);
    };
}

/// The module of tests [`sqlite_only!`] and [`both_backends!`] expand to:
/// one `#[tokio::test]` per case, its app made by `$make` (an
/// `async fn(Options) -> TestApp`).
#[doc(hidden)]
#[macro_export]
macro_rules! __backend_cases {
    ($module:ident, factory, $make:path; $($case:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($make).await;
                }
            )*
        }
    };
    ($module:ident, app, $make:path; $($case:ident $(($options:expr))?),*) => {
        mod $module {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    #[allow(unused_mut, unused_assignments)]
                    let mut options = $crate::Options::default();
                    $( options = $options; )?
                    super::$case($make(options).await).await;
                }
            )*
        }
    };
}
