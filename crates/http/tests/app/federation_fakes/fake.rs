//! The protocol fakes: one axum server per provider on a loopback port,
//! checking latchkey's requests against the provider's documentation
//! (the links are in the parent module) and answering with its documented
//! samples and error shapes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use latchkey_core::federation::presets::{self, Settings};
use latchkey_core::federation::{FederationConfig, Provider, s256};
use latchkey_testkit::{ISSUER, Options, TestApp, TestResponse};
use latchkey_tokens::{
    Alg, Jwks, SigningKey, Validation, b64url_encode, hmac_sha256, random_token,
    verify_jwt_typ_optional,
};
use serde_json::{Value, json};

use crate::federation::{get, set_cookie};

pub(crate) const CLIENT_ID: &str = "latchkey-client-id";
pub(crate) const CLIENT_SECRET: &str = "latchkey-client-secret";
pub(crate) const APPLE_TEAM: &str = "TEAM123456";
pub(crate) const APPLE_KEY_ID: &str = "KEY1234567";
pub(crate) const TENANT_A: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub(crate) const TENANT_B: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
pub(crate) const CONSUMERS: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// Which provider a fake speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Google,
    Microsoft,
    Apple,
    GitHub,
    GitLab,
    Facebook,
    Discord,
}

impl Style {
    fn oidc(self) -> bool {
        matches!(
            self,
            Style::Google | Style::Microsoft | Style::Apple | Style::GitLab
        )
    }

    /// The authorization endpoint's path at the fake.
    fn authorize_path(self) -> &'static str {
        match self {
            Style::GitHub => "/login/oauth/authorize",
            Style::Facebook => "/v19.0/dialog/oauth",
            Style::Discord => "/oauth2/authorize",
            _ => "/authorize",
        }
    }

    /// The scopes the documentation says the sign-in needs.
    fn required_scopes(self) -> &'static [&'static str] {
        match self {
            Style::Google | Style::Microsoft | Style::GitLab => &["openid", "email"],
            Style::Apple => &["email", "name"],
            Style::GitHub => &["user:email"],
            Style::Facebook => &["email"],
            Style::Discord => &["identify", "email"],
        }
    }
}

/// How the fake spoils the next ID token it signs (the forged-token
/// attacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forge {
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with the provider's public key as the HMAC secret.
    Hs256WithPublicKey,
}

struct Grant {
    challenge: String,
    redirect_uri: String,
    nonce: Option<String>,
    person: Value,
}

#[derive(Default)]
struct Inner {
    codes: HashMap<String, Grant>,
    access: HashMap<String, Value>,
    violations: Vec<String>,
    forge: Option<Forge>,
    calls: Vec<String>,
}

/// A provider's fake.
pub(crate) struct Fake {
    pub(crate) style: Style,
    /// `http://127.0.0.1:port`.
    pub(crate) base: String,
    pub(crate) now: i64,
    apple_key: Option<latchkey_tokens::VerifyingKey>,
    inner: Mutex<Inner>,
}

/// One RS256 key for every fake (as Google, Microsoft, Apple and GitLab
/// sign); made once, RSA generation is slow.
fn rs256() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SigningKey::generate(Alg::RS256, "fake-rs256".into())
            .expect("key")
            .0
    })
}

fn form(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

impl Fake {
    /// Starts the fake of `style` on a loopback port; ID tokens are dated
    /// now (the test apps run on the system clock).
    pub(crate) async fn start(style: Style) -> Arc<Fake> {
        Fake::start_with(style, None).await
    }

    pub(crate) async fn start_with(
        style: Style,
        apple_key: Option<latchkey_tokens::VerifyingKey>,
    ) -> Arc<Fake> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let fake = Arc::new(Fake {
            style,
            base: format!("http://{}", listener.local_addr().expect("addr")),
            now: time::OffsetDateTime::now_utc().unix_timestamp(),
            apple_key,
            inner: Mutex::default(),
        });
        let router = axum::Router::new()
            .fallback(handle)
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        fake
    }

    /// Asserts that latchkey sent nothing the documentation does not allow.
    pub(crate) fn clean(&self) {
        let inner = self.inner.lock().unwrap();
        assert!(
            inner.violations.is_empty(),
            "{:?} fake: {:#?}",
            self.style,
            inner.violations
        );
    }

    /// The requests the fake answered, as `METHOD /path`.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// Spoils the next ID token.
    pub(crate) fn forge(&self, how: Forge) {
        self.inner.lock().unwrap().forge = Some(how);
    }

    fn violation(&self, what: String) {
        self.inner.lock().unwrap().violations.push(what);
    }

    fn check(&self, ok: bool, what: impl FnOnce() -> String) -> bool {
        if !ok {
            self.violation(what());
        }
        ok
    }

    /// The issuer ID tokens of `tid` carry (Microsoft's by tenant).
    fn issuer(&self, tid: Option<&str>) -> String {
        match (self.style, tid) {
            (Style::Microsoft, Some(tid)) => format!("{}/{tid}/v2.0", self.base),
            _ => self.base.clone(),
        }
    }

    /// The provider's settings as a deployment writes them, with the
    /// issuer or endpoints pointed at this fake.
    pub(crate) fn settings(&self) -> Settings {
        let base = &self.base;
        let at = |path: &str| Some(format!("{base}{path}"));
        let mut s = Settings {
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(CLIENT_SECRET.into()),
            ..Settings::default()
        };
        match self.style {
            Style::Google | Style::GitLab | Style::Apple => {
                s.kind = format!("{:?}", self.style).to_lowercase();
                s.issuer = Some(base.clone());
            }
            Style::Microsoft => {
                s.kind = "microsoft".into();
                s.issuer = Some(format!("{base}/{{tenant}}/v2.0"));
                s.tenant = Some("common".into());
            }
            Style::GitHub => {
                s.kind = "github".into();
                s.authorization_endpoint = at("/login/oauth/authorize");
                s.token_endpoint = at("/login/oauth/access_token");
                s.userinfo_endpoint = at("/user");
                s.emails_endpoint = at("/user/emails");
            }
            Style::Facebook => {
                s.kind = "facebook".into();
                s.authorization_endpoint = at("/v19.0/dialog/oauth");
                s.token_endpoint = at("/v19.0/oauth/access_token");
                s.userinfo_endpoint = at("/me?fields=id,name,email");
            }
            Style::Discord => {
                s.kind = "discord".into();
                s.authorization_endpoint = at("/oauth2/authorize");
                s.token_endpoint = at("/api/oauth2/token");
                s.userinfo_endpoint = at("/api/users/@me");
            }
        }
        s
    }

    /// The browser at the provider: checks latchkey's authorization request
    /// (`location`) and, the person having consented, returns the `code`
    /// and `state` the provider sends back. `person` is what the provider
    /// knows: the ID token's claims (OpenID Connect), the user object
    /// (OAuth 2.0; GitHub's as `{"user": …, "emails": […]}`).
    pub(crate) fn authorize(&self, location: &str, person: Value) -> (String, String) {
        let url = url::Url::parse(location).expect("an absolute URL");
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let at = format!("{}{}", &url[..url::Position::BeforePath], url.path());
        let expected = format!("{}{}", self.base, self.style.authorize_path());
        self.check(at == expected, || format!("authorization endpoint {at}"));
        let p = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
        self.check(p("response_type") == "code", || {
            format!("response_type {:?}", p("response_type"))
        });
        self.check(p("client_id") == CLIENT_ID, || {
            format!("client_id {:?}", p("client_id"))
        });
        let provider = p("redirect_uri")
            .strip_prefix(&format!("{ISSUER}/v1/auth/oauth/"))
            .and_then(|r| r.strip_suffix("/callback"))
            .unwrap_or_default();
        self.check(!provider.is_empty(), || {
            format!("redirect_uri {:?}", p("redirect_uri"))
        });
        let scopes: Vec<&str> = p("scope").split(' ').collect();
        for needed in self.style.required_scopes() {
            self.check(scopes.contains(needed), || {
                format!("scope {:?} lacks {needed}", p("scope"))
            });
        }
        self.check(!p("state").is_empty(), || "no state".into());
        self.check(
            p("code_challenge").len() == 43 && p("code_challenge_method") == "S256",
            || "PKCE S256 missing".into(),
        );
        let nonce = q.get("nonce").cloned();
        if self.style.oidc() {
            self.check(nonce.is_some(), || "no nonce".into());
        }
        if self.style == Style::Apple {
            // Apple: name or email scopes require form_post
            self.check(p("response_mode") == "form_post", || {
                format!("response_mode {:?}", p("response_mode"))
            });
        }
        let code = random_token();
        self.inner.lock().unwrap().codes.insert(
            code.clone(),
            Grant {
                challenge: p("code_challenge").to_owned(),
                redirect_uri: p("redirect_uri").to_owned(),
                nonce,
                person,
            },
        );
        (code, p("state").to_owned())
    }

    /// The ID token of `grant`, signed (or forged) as asked.
    fn id_token(&self, grant: &Grant) -> String {
        let tid = grant.person.get("tid").and_then(Value::as_str);
        let mut claims = json!({
            "iss": self.issuer(tid),
            "aud": CLIENT_ID,
            "iat": self.now,
            "exp": self.now + 3600,
            "nonce": grant.nonce,
        });
        for (k, v) in grant.person.as_object().expect("an object") {
            claims[k] = v.clone();
        }
        let key = rs256();
        let forge = self.inner.lock().unwrap().forge.take();
        let unsigned = |header: Value| {
            format!(
                "{}.{}",
                b64url_encode(header.to_string().as_bytes()),
                b64url_encode(claims.to_string().as_bytes())
            )
        };
        match forge {
            None => key.sign_jwt("JWT", &claims).expect("sign"),
            Some(Forge::AlgNone) => {
                format!("{}.", unsigned(json!({"alg": "none", "kid": key.kid()})))
            }
            Some(Forge::Hs256WithPublicKey) => {
                let input = unsigned(json!({"alg": "HS256", "typ": "JWT", "kid": key.kid()}));
                let secret = serde_json::to_vec(&key.public_jwk()).expect("jwk");
                let mac = hmac_sha256(&secret, input.as_bytes());
                format!("{input}.{}", b64url_encode(&mac))
            }
        }
    }

    /// The documented error answer of the token endpoint.
    fn token_error(&self, error: &str) -> Response {
        match self.style {
            // GitHub answers errors with 200 and a JSON error
            Style::GitHub => json_response(
                StatusCode::OK,
                &json!({
                    "error": error,
                    "error_description": "The code passed is incorrect or expired.",
                    "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"
                }),
            ),
            Style::Facebook => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": {
                    "message": "Invalid verification code format.",
                    "type": "OAuthException", "code": 100, "fbtrace_id": "AbCdEfGh123"
                }}),
            ),
            _ => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": error, "error_description": "Bad Request"}),
            ),
        }
    }

    /// The token endpoint: client authentication as documented, the code
    /// once, the same `redirect_uri`, the PKCE verifier.
    fn token(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &str) -> Response {
        let params = if self.style == Style::Facebook {
            self.check(*method == Method::GET, || format!("token request {method}"));
            form(uri.query().unwrap_or_default())
        } else {
            self.check(*method == Method::POST, || {
                format!("token request {method}")
            });
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            self.check(ct == Some("application/x-www-form-urlencoded"), || {
                format!("content-type {ct:?}")
            });
            form(body)
        };
        let p = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
        if self.style == Style::GitHub {
            // without it GitHub answers form-encoded
            let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
            self.check(accept == Some("application/json"), || {
                format!("accept {accept:?}")
            });
        }
        if !self.client_authenticated(headers, &params) {
            return match self.style {
                Style::GitHub | Style::Facebook => self.token_error("incorrect_client_credentials"),
                _ => json_response(
                    StatusCode::UNAUTHORIZED,
                    &json!({"error": "invalid_client"}),
                ),
            };
        }
        if self.style != Style::Facebook {
            self.check(p("grant_type") == "authorization_code", || {
                format!("grant_type {:?}", p("grant_type"))
            });
        }
        let Some(grant) = self.inner.lock().unwrap().codes.remove(p("code")) else {
            return self.token_error(match self.style {
                Style::GitHub => "bad_verification_code",
                _ => "invalid_grant",
            });
        };
        let ok = self.check(p("redirect_uri") == grant.redirect_uri, || {
            format!("redirect_uri {:?}", p("redirect_uri"))
        }) && self.check(s256(p("code_verifier")) == grant.challenge, || {
            "code_verifier does not match the challenge".into()
        });
        if !ok {
            return self.token_error("invalid_grant");
        }
        let access = random_token();
        let mut answer =
            json!({"access_token": access, "token_type": "Bearer", "expires_in": 3599});
        match self.style {
            s if s.oidc() => {
                answer["id_token"] = Value::String(self.id_token(&grant));
                answer["refresh_token"] = Value::String(random_token());
            }
            Style::GitHub => {
                answer = json!({"access_token": access, "scope": "read:user,user:email", "token_type": "bearer"});
            }
            Style::Facebook => answer["expires_in"] = json!(5_183_944),
            _ => answer["scope"] = json!("identify email"),
        }
        self.inner
            .lock()
            .unwrap()
            .access
            .insert(access, grant.person);
        json_response(StatusCode::OK, &answer)
    }

    fn client_authenticated(&self, headers: &HeaderMap, params: &HashMap<String, String>) -> bool {
        let p = |k: &str| params.get(k).map(String::as_str);
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok());
        match self.style {
            Style::Discord => {
                self.check(p("client_secret").is_none(), || {
                    "Discord: the secret belongs in Basic".into()
                });
                self.check(
                    basic.as_deref() == Some(&format!("{CLIENT_ID}:{CLIENT_SECRET}")),
                    || format!("Basic credentials {basic:?}"),
                )
            }
            Style::Apple => {
                self.check(basic.is_none(), || "Apple: no Basic".into());
                self.check(p("client_id") == Some(CLIENT_ID), || {
                    format!("client_id {:?}", p("client_id"))
                }) && self.apple_client_secret(p("client_secret").unwrap_or_default())
            }
            _ => {
                self.check(
                    basic.is_none() && !headers.contains_key(header::AUTHORIZATION),
                    || "the secret belongs in the body".into(),
                );
                self.check(
                    p("client_id") == Some(CLIENT_ID) && p("client_secret") == Some(CLIENT_SECRET),
                    || format!("client_id {:?} or client_secret", p("client_id")),
                )
            }
        }
    }

    /// Apple's client secret: ES256 with the developer's key (`kid` the key
    /// id), `iss` the team id, `sub` the client id, `aud` Apple, at most six
    /// months.
    fn apple_client_secret(&self, jwt: &str) -> bool {
        let key = self.apple_key.clone().expect("the Apple key");
        let v = Validation {
            issuer: APPLE_TEAM,
            audience: &self.base,
            typ: "JWT",
            now: time::OffsetDateTime::now_utc().unix_timestamp(),
            leeway_secs: 60,
        };
        let header = latchkey_tokens::decode_header_unverified(jwt);
        let alg_ok = header
            .as_ref()
            .is_ok_and(|h| h.alg == "ES256" && h.kid.as_deref() == Some(APPLE_KEY_ID));
        let claims: Result<Value, _> =
            verify_jwt_typ_optional(jwt, |kid| Some(key.clone()).filter(|k| k.kid() == kid), &v);
        match claims {
            Ok(c) => {
                let life = c["exp"].as_i64().unwrap_or(0) - c["iat"].as_i64().unwrap_or(0);
                self.check(alg_ok, || "client secret header".into())
                    && self.check(c["sub"] == CLIENT_ID, || format!("sub {}", c["sub"]))
                    && self.check((1..=15_777_000).contains(&life), || {
                        format!("client secret lives {life}s")
                    })
            }
            Err(e) => self.check(false, || format!("client secret refused: {e:?}")),
        }
    }

    /// The person behind a bearer token of the API calls.
    fn bearer(&self, uri: &Uri, headers: &HeaderMap) -> Option<Value> {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| {
                auth.strip_prefix("token ")
                    .filter(|_| self.style == Style::GitHub)
            })
            .map(str::to_owned)
            .or_else(|| {
                (self.style == Style::Facebook)
                    .then(|| form(uri.query().unwrap_or_default()).remove("access_token"))
                    .flatten()
            })?;
        self.inner.lock().unwrap().access.get(&token).cloned()
    }

    fn api(&self, uri: &Uri, headers: &HeaderMap) -> Response {
        if self.style == Style::GitHub {
            // "All API requests must include a valid User-Agent header"
            let ua_ok = headers
                .get(header::USER_AGENT)
                .is_some_and(|v| !v.is_empty());
            if !self.check(ua_ok, || "GitHub API without User-Agent".into()) {
                return json_response(
                    StatusCode::FORBIDDEN,
                    &json!({"message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"}),
                );
            }
        }
        let Some(person) = self.bearer(uri, headers) else {
            self.violation(format!("{} without a valid access token", uri.path()));
            return match self.style {
                Style::GitHub => json_response(
                    StatusCode::UNAUTHORIZED,
                    &json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
                ),
                Style::Facebook => json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190, "fbtrace_id": "AbCdEfGh123"}}),
                ),
                _ => json_response(
                    StatusCode::UNAUTHORIZED,
                    &json!({"message": "401: Unauthorized", "code": 0}),
                ),
            };
        };
        match (self.style, uri.path()) {
            (Style::GitHub, "/user") => json_response(StatusCode::OK, &person["user"]),
            (Style::GitHub, "/user/emails") => json_response(StatusCode::OK, &person["emails"]),
            (Style::Facebook, "/me") => {
                let fields = form(uri.query().unwrap_or_default())
                    .remove("fields")
                    .unwrap_or_default();
                self.check(fields.split(',').any(|f| f == "email"), || {
                    format!("/me fields {fields:?} lack email")
                });
                json_response(StatusCode::OK, &person)
            }
            (Style::Discord, "/api/users/@me") => json_response(StatusCode::OK, &person),
            (_, path) => {
                self.violation(format!("GET {path} is not an endpoint"));
                json_response(StatusCode::NOT_FOUND, &json!({"message": "Not Found"}))
            }
        }
    }

    /// The discovery document (OpenID Connect Discovery 1.0); Microsoft's
    /// `common` and `organizations` name the `{tenantid}` template.
    fn discovery(&self, path: &str) -> Response {
        let prefix = path.trim_end_matches("/.well-known/openid-configuration");
        let issuer = match (self.style, prefix) {
            (Style::Microsoft, "/common/v2.0" | "/organizations/v2.0") => {
                format!("{}/{{tenantid}}/v2.0", self.base)
            }
            _ => format!("{}{prefix}", self.base),
        };
        let base = &self.base;
        json_response(
            StatusCode::OK,
            &json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "jwks_uri": format!("{base}/jwks"),
                "response_types_supported": ["code"],
                "response_modes_supported": ["query", "form_post"],
                "subject_types_supported": ["public", "pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": match self.style {
                    Style::Apple => json!(["client_secret_post"]),
                    _ => json!(["client_secret_post", "client_secret_basic"]),
                },
                "code_challenge_methods_supported": ["S256"],
            }),
        )
    }
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    fake.inner
        .lock()
        .unwrap()
        .calls
        .push(format!("{method} {path}"));
    let body = String::from_utf8_lossy(&body);
    let oidc = fake.style.oidc();
    match path.as_str() {
        p if oidc && p.ends_with("/.well-known/openid-configuration") => fake.discovery(p),
        "/jwks" if oidc => json_response(
            StatusCode::OK,
            &serde_json::to_value(Jwks {
                keys: vec![rs256().public_jwk()],
            })
            .expect("jwks"),
        ),
        "/token" if oidc => fake.token(&method, &uri, &headers, &body),
        "/login/oauth/access_token" if fake.style == Style::GitHub => {
            fake.token(&method, &uri, &headers, &body)
        }
        "/v19.0/oauth/access_token" if fake.style == Style::Facebook => {
            fake.token(&method, &uri, &headers, &body)
        }
        "/api/oauth2/token" if fake.style == Style::Discord => {
            fake.token(&method, &uri, &headers, &body)
        }
        _ if method == Method::GET && !oidc => fake.api(&uri, &headers),
        _ => {
            fake.violation(format!("{method} {path} is not an endpoint"));
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

/// The provider `name` over the fake's settings, changed by `edit`.
pub(crate) fn provider(name: &str, fake: &Fake, edit: impl FnOnce(&mut Settings)) -> Provider {
    let mut s = fake.settings();
    edit(&mut s);
    presets::build(name, s).expect("a valid provider")
}

/// A test app with `providers`.
pub(crate) async fn app_with(providers: Vec<Provider>) -> TestApp {
    TestApp::sqlite_from(Options {
        federation: FederationConfig {
            providers,
            ..FederationConfig::default()
        },
        ..Options::default()
    })
    .await
}

/// A whole sign-in at `name` through `fake` as `person`, cookie mode: the
/// callback's answer. Apple's callback is a `form_post` with `user`.
pub(crate) async fn sign_in(
    app: &TestApp,
    fake: &Fake,
    name: &str,
    person: Value,
    user: Option<&str>,
) -> TestResponse {
    let r = get(app, &format!("/v1/auth/oauth/{name}/authorize"), None).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let flow = set_cookie(&r, "latchkey_fed").expect("the flow cookie");
    let (code, state) = fake.authorize(r.header("location").unwrap(), person);
    callback(app, fake, name, &code, &state, user, Some(&flow)).await
}

/// The provider's redirect back to latchkey: a `GET` with the query, or
/// Apple's cross-site `POST` (form_post) with `code`, `state`, `id_token`
/// and, on the first sign-in, `user`.
pub(crate) async fn callback(
    app: &TestApp,
    fake: &Fake,
    name: &str,
    code: &str,
    state: &str,
    user: Option<&str>,
    flow: Option<&str>,
) -> TestResponse {
    let path = format!("/v1/auth/oauth/{name}/callback");
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    pairs.append_pair("code", code).append_pair("state", state);
    let request = if fake.style == Style::Apple {
        // Apple also posts an id_token; latchkey uses the token endpoint's
        pairs.append_pair(
            "id_token",
            "eyJraWQiOiJXNldjT0tCIiwiYWxnIjoiUlMyNTYifQ.e30.c2ln",
        );
        if let Some(u) = user {
            pairs.append_pair("user", u);
        }
        Request::post(&path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", "https://appleid.apple.com")
    } else {
        Request::get(format!("{path}?{}", pairs.finish()))
    };
    let body = if fake.style == Style::Apple {
        pairs.finish()
    } else {
        String::new()
    };
    let mut request = request.header("user-agent", latchkey_testkit::USER_AGENT);
    if let Some(c) = flow {
        request = request.header("cookie", c);
    }
    app.call(request.body(Body::from(body)).unwrap()).await
}

impl Fake {
    /// The ID token a platform SDK hands the app: signed by the provider
    /// for `person`, with `nonce` as the app asked for it.
    pub(crate) fn sdk_token(&self, person: Value, nonce: &str) -> String {
        self.id_token(&Grant {
            challenge: String::new(),
            redirect_uri: String::new(),
            nonce: Some(nonce.to_owned()),
            person,
        })
    }
}
