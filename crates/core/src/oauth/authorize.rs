//! The authorization endpoint's rules (RFC 6749 §4.1.1, OpenID Connect
//! Core §3.1.2, RFC 7636, RFC 9700), as pure functions: which requests may
//! not even be answered with a redirect ([`PageError`]), which are refused
//! back at the client ([`RedirectError`]), and what a well-formed request
//! needs next given the person's browser session ([`Next::decide`]).

use time::OffsetDateTime;

use super::code::is_pkce_value;
use super::model::{GrantType, OAuthClient};

/// The longest `state`, `nonce` and `login_hint` accepted.
pub const MAX_PARAM_LEN: usize = 512;

/// The parameters of an authorization request, as sent (GET query or POST
/// form). Unknown parameters are ignored (RFC 6749 §3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct AuthorizeParams {
    /// `response_type`: only `code`.
    pub response_type: String,
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri`: required, matched exactly.
    pub redirect_uri: String,
    /// `scope`, space-separated.
    pub scope: String,
    /// `state`, echoed.
    pub state: String,
    /// `nonce`, into the ID token.
    pub nonce: String,
    /// PKCE `code_challenge`.
    pub code_challenge: String,
    /// PKCE `code_challenge_method`: only `S256`.
    pub code_challenge_method: String,
    /// `prompt`: `none`, `login`, `consent`, `select_account`.
    pub prompt: String,
    /// `max_age` in seconds.
    pub max_age: String,
    /// `login_hint`: prefills the sign-in form.
    pub login_hint: String,
    /// `acr_values`: `aal2` asks for the second factor.
    pub acr_values: String,
    /// `response_mode`: `query` (the default) or `form_post`.
    pub response_mode: String,
    /// `ui_locales`: the pages' language.
    pub ui_locales: String,
    /// RFC 8707 `resource`: the access tokens' audience.
    pub resource: String,
}

/// Why a request gets an error page and no redirect (RFC 6749 §4.1.2.1:
/// never redirect to an unverified URI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    /// No such client.
    UnknownClient,
    /// No `redirect_uri`, or one the client did not register.
    BadRedirectUri,
}

impl PageError {
    /// A stable machine word.
    pub fn code(self) -> &'static str {
        match self {
            PageError::UnknownClient => "unknown_client",
            PageError::BadRedirectUri => "invalid_redirect_uri",
        }
    }
}

/// An error returned to the client's redirect URI (RFC 6749 §4.1.2.1,
/// OpenID Connect Core §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectError {
    /// `error`.
    pub error: &'static str,
    /// `error_description` (no secret in it).
    pub description: &'static str,
}

const fn refuse(error: &'static str, description: &'static str) -> RedirectError {
    RedirectError { error, description }
}

/// How the authorization response travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the redirect URI's query.
    Query,
    /// In an auto-submitted HTML form (OAuth 2.0 Form Post Response Mode).
    FormPost,
}

/// A request that may be answered at its redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// The registered redirect URI it names.
    pub redirect_uri: String,
    /// The echoed `state` (`None` when absent).
    pub state: Option<String>,
    /// How to answer.
    pub mode: ResponseMode,
}

/// A well-formed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Where and how to answer.
    pub routed: Routed,
    /// The requested scopes, each allowed to the client, de-duplicated.
    pub scope: Vec<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// The S256 challenge, if sent.
    pub code_challenge: Option<String>,
    /// `prompt` values.
    pub prompt: Prompt,
    /// `max_age`.
    pub max_age: Option<u64>,
    /// Whether `aal2` was asked for in `acr_values`.
    pub wants_aal2: bool,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// RFC 8707 `resource`.
    pub resource: Option<String>,
}

/// The `prompt` parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: no page may be shown.
    pub none: bool,
    /// `login` (or `select_account`): sign in again.
    pub login: bool,
    /// `consent`: ask again even when a grant is remembered.
    pub consent: bool,
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Whether `s` is an absolute URI without a fragment (RFC 8707 §2).
pub(crate) fn is_resource(s: &str) -> bool {
    s.len() <= 2048
        && !s.contains('#')
        && url::Url::parse(s).is_ok_and(|u| !u.cannot_be_a_base() || u.scheme() == "urn")
}

impl AuthorizeParams {
    /// Where a refusal may go: the client must exist and the redirect URI
    /// be one it registered, else an error page ([`PageError`]).
    pub fn route(&self, client: Option<&OAuthClient>) -> Result<Routed, PageError> {
        let client = client.ok_or(PageError::UnknownClient)?;
        if self.redirect_uri.is_empty() || !client.settings.redirect_uri_allowed(&self.redirect_uri)
        {
            return Err(PageError::BadRedirectUri);
        }
        Ok(Routed {
            redirect_uri: self.redirect_uri.clone(),
            state: opt(&self.state),
            mode: if self.response_mode == "form_post" {
                ResponseMode::FormPost
            } else {
                ResponseMode::Query
            },
        })
    }

    /// Checks the rest of a routed request (RFC 9700 §2.1.1: PKCE S256,
    /// `plain` refused; no implicit or hybrid flows).
    pub fn check(&self, client: &OAuthClient, routed: Routed) -> Result<Checked, RedirectError> {
        if !matches!(self.response_mode.as_str(), "" | "query" | "form_post") {
            return Err(refuse(
                "invalid_request",
                "response_mode must be query or form_post",
            ));
        }
        if self.response_type != "code" {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        if !client.settings.allows_grant(GrantType::AuthorizationCode) {
            return Err(refuse(
                "unauthorized_client",
                "the client may not use the authorization code grant",
            ));
        }
        if [&self.state, &self.nonce, &self.login_hint]
            .iter()
            .any(|v| v.len() > MAX_PARAM_LEN)
        {
            return Err(refuse("invalid_request", "a parameter is too long"));
        }
        let mut scope: Vec<String> = Vec::new();
        for s in self.scope.split(' ').filter(|s| !s.is_empty()) {
            if !client.settings.scopes.iter().any(|a| a == s) {
                return Err(refuse(
                    "invalid_scope",
                    "a requested scope is not allowed to this client",
                ));
            }
            if !scope.iter().any(|x| x == s) {
                scope.push(s.to_owned());
            }
        }
        let code_challenge = match (
            self.code_challenge.as_str(),
            self.code_challenge_method.as_str(),
        ) {
            ("", "") => None,
            ("", _) => {
                return Err(refuse(
                    "invalid_request",
                    "code_challenge_method without code_challenge",
                ));
            }
            (c, "S256") if is_pkce_value(c) && c.len() == 43 => Some(c.to_owned()),
            (_, "S256") => return Err(refuse("invalid_request", "malformed code_challenge")),
            _ => {
                return Err(refuse(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
        };
        if code_challenge.is_none() && client.settings.pkce_required() {
            return Err(refuse(
                "invalid_request",
                "PKCE (code_challenge with S256) is required",
            ));
        }
        let mut prompt = Prompt::default();
        for p in self.prompt.split(' ').filter(|s| !s.is_empty()) {
            match p {
                "none" => prompt.none = true,
                "login" | "select_account" => prompt.login = true,
                "consent" => prompt.consent = true,
                _ => return Err(refuse("invalid_request", "unknown prompt value")),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(refuse(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            ));
        }
        let max_age =
            match self.max_age.as_str() {
                "" => None,
                s => Some(s.parse::<u64>().map_err(|_| {
                    refuse("invalid_request", "max_age must be a number of seconds")
                })?),
            };
        let resource = opt(&self.resource);
        if resource.as_deref().is_some_and(|r| !is_resource(r)) {
            return Err(refuse(
                "invalid_target",
                "resource must be an absolute URI without a fragment",
            ));
        }
        Ok(Checked {
            routed,
            scope,
            nonce: opt(&self.nonce),
            code_challenge,
            prompt,
            max_age,
            wants_aal2: self.acr_values.split(' ').any(|v| v == "aal2"),
            login_hint: opt(&self.login_hint),
            resource,
        })
    }

    /// The same request for `/login?return_to=`: without the parameters that
    /// asked for that sign-in (`prompt=login`, `max_age`, `acr_values`), so
    /// that coming back after it does not ask again. The fresh session's
    /// `auth_time` and `amr` say what happened; the ID token carries them.
    pub fn after_sign_in(&self) -> AuthorizeParams {
        AuthorizeParams {
            prompt: if self.prompt.split(' ').any(|p| p == "consent") {
                "consent".into()
            } else {
                String::new()
            },
            max_age: String::new(),
            acr_values: String::new(),
            ..self.clone()
        }
    }
}

/// The browser session an authorization request came with.
#[derive(Debug, Clone, Copy)]
pub struct Presence<'a> {
    /// When the person last signed in.
    pub auth_time: OffsetDateTime,
    /// How (RFC 8176).
    pub amr: &'a [String],
}

/// What an authorization request needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// To the sign-in page (and back).
    SignIn,
    /// The consent page.
    Consent,
    /// Issue a code.
    Issue,
    /// Refuse at the redirect URI (`prompt=none` that needs a page).
    Refuse(RedirectError),
}

impl Next {
    /// Decides (OpenID Connect Core §3.1.2.3): sign-in when there is no
    /// session, `prompt=login`, an expired `max_age` or `aal2` asked of an
    /// `aal1` session; then consent unless remembered (and not asked again)
    /// or first-party. `prompt=none` turns any page into an error.
    pub fn decide(
        req: &Checked,
        session: Option<Presence<'_>>,
        consented: bool,
        now: OffsetDateTime,
    ) -> Next {
        let sign_in = match session {
            None => true,
            Some(p) => {
                req.prompt.login
                    || req
                        .max_age
                        .is_some_and(|m| (now - p.auth_time).whole_seconds() > m as i64)
                    || (req.wants_aal2 && !p.amr.iter().any(|m| m == "mfa"))
            }
        };
        if sign_in {
            return if req.prompt.none {
                Next::Refuse(refuse("login_required", "the person must sign in"))
            } else {
                Next::SignIn
            };
        }
        if !consented || req.prompt.consent {
            return if req.prompt.none {
                Next::Refuse(refuse("consent_required", "the person must consent"))
            } else {
                Next::Consent
            };
        }
        Next::Issue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Client;
    use crate::oauth::model::{AuthMethod, ClientSettings, ClientType};
    use time::Duration;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client(public: bool) -> OAuthClient {
        OAuthClient {
            client: Client {
                id: "app".into(),
                name: "App".into(),
                secret_hash: String::new(),
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            settings: ClientSettings {
                client_type: if public {
                    ClientType::Public
                } else {
                    ClientType::Confidential
                },
                token_endpoint_auth_method: if public {
                    AuthMethod::None
                } else {
                    AuthMethod::ClientSecretBasic
                },
                redirect_uris: vec!["https://app.ex.com/cb".into()],
                grant_types: vec![GrantType::AuthorizationCode],
                scopes: vec!["openid".into(), "profile".into()],
                ..ClientSettings::default()
            },
        }
    }

    fn params(f: impl FnOnce(&mut AuthorizeParams)) -> AuthorizeParams {
        let mut p = AuthorizeParams {
            response_type: "code".into(),
            client_id: "app".into(),
            redirect_uri: "https://app.ex.com/cb".into(),
            scope: "openid".into(),
            code_challenge: CHALLENGE.into(),
            code_challenge_method: "S256".into(),
            ..AuthorizeParams::default()
        };
        f(&mut p);
        p
    }

    #[test]
    fn unverified_clients_and_redirect_uris_get_a_page() {
        let c = client(false);
        for uri in [
            "",
            "https://app.ex.com/cb/",
            "https://APP.ex.com/cb",
            "https://app.ex.com/cb?x=1",
            "https://app.ex.com/cb#f",
            "https://app.ex.com.evil.com/cb",
            "https://app.ex.com@evil.com/cb",
            "//evil.com/cb",
            "https://app.ex.com/cb/..;/x",
            "https://app.ex.com/cb/../cb",
            "http://app.ex.com/cb",
        ] {
            let p = params(|p| p.redirect_uri = uri.into());
            assert_eq!(p.route(Some(&c)), Err(PageError::BadRedirectUri), "{uri}");
        }
        assert_eq!(params(|_| {}).route(None), Err(PageError::UnknownClient));
        assert!(params(|_| {}).route(Some(&c)).is_ok());
    }

    #[test]
    fn requests_are_checked() {
        let check = |public: bool, p: AuthorizeParams| {
            let c = client(public);
            let routed = p.route(Some(&c)).expect("routed");
            p.check(&c, routed).map(|_| ()).map_err(|e| e.error)
        };
        for (public, p, expected) in [
            (true, params(|_| {}), Ok(())),
            (
                true,
                params(|p| p.response_type = "token".into()),
                Err("unsupported_response_type"),
            ),
            (
                true,
                params(|p| p.response_type = "code id_token".into()),
                Err("unsupported_response_type"),
            ),
            (
                true,
                params(|p| p.code_challenge_method = "plain".into()),
                Err("invalid_request"),
            ),
            (
                true,
                params(|p| p.code_challenge_method = String::new()),
                Err("invalid_request"),
            ),
            (
                true,
                params(|p| {
                    p.code_challenge = String::new();
                    p.code_challenge_method = String::new();
                }),
                Err("invalid_request"),
            ),
            (
                false,
                params(|p| {
                    p.code_challenge = String::new();
                    p.code_challenge_method = String::new();
                }),
                Ok(()),
            ),
            (
                true,
                params(|p| p.code_challenge = "short".into()),
                Err("invalid_request"),
            ),
            (
                true,
                params(|p| p.scope = "openid admin".into()),
                Err("invalid_scope"),
            ),
            (
                true,
                params(|p| p.prompt = "none login".into()),
                Err("invalid_request"),
            ),
            (
                true,
                params(|p| p.max_age = "-1".into()),
                Err("invalid_request"),
            ),
            (
                true,
                params(|p| p.response_mode = "fragment".into()),
                Err("invalid_request"),
            ),
            (
                true,
                params(|p| p.resource = "api".into()),
                Err("invalid_target"),
            ),
            (
                true,
                params(|p| p.resource = "https://api.ex.com/".into()),
                Ok(()),
            ),
        ] {
            assert_eq!(check(public, p.clone()), expected, "{p:?}");
        }
    }

    #[test]
    fn the_next_step_follows_session_prompt_max_age_and_acr() {
        let c = client(true);
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let pwd = vec!["pwd".to_owned()];
        let mfa = vec!["pwd".to_owned(), "mfa".to_owned()];
        let at = |secs_ago: i64, amr: &'static [String]| {
            Some(Presence {
                auth_time: now - Duration::seconds(secs_ago),
                amr,
            })
        };
        let pwd: &'static [String] = Box::leak(pwd.into_boxed_slice());
        let mfa: &'static [String] = Box::leak(mfa.into_boxed_slice());
        let req = |f: fn(&mut AuthorizeParams)| {
            let p = params(f);
            let routed = p.route(Some(&c)).unwrap();
            p.check(&c, routed).unwrap()
        };
        let refused = |e| Next::Refuse(refuse(e, ""));
        let same = |a: Next, b: Next| match (a, b) {
            (Next::Refuse(x), Next::Refuse(y)) => x.error == y.error,
            (a, b) => a == b,
        };
        for (r, session, consented, expected) in [
            (req(|_| {}), None, true, Next::SignIn),
            (req(|_| {}), at(5, pwd), true, Next::Issue),
            (req(|_| {}), at(5, pwd), false, Next::Consent),
            (
                req(|p| p.prompt = "none".into()),
                None,
                true,
                refused("login_required"),
            ),
            (
                req(|p| p.prompt = "none".into()),
                at(5, pwd),
                false,
                refused("consent_required"),
            ),
            (
                req(|p| p.prompt = "login".into()),
                at(0, pwd),
                true,
                Next::SignIn,
            ),
            (
                req(|p| p.prompt = "consent".into()),
                at(0, pwd),
                true,
                Next::Consent,
            ),
            (
                req(|p| p.max_age = "1".into()),
                at(2, pwd),
                true,
                Next::SignIn,
            ),
            (
                req(|p| p.max_age = "1".into()),
                at(1, pwd),
                true,
                Next::Issue,
            ),
            (
                req(|p| p.acr_values = "aal2".into()),
                at(1, pwd),
                true,
                Next::SignIn,
            ),
            (
                req(|p| p.acr_values = "aal2".into()),
                at(1, mfa),
                true,
                Next::Issue,
            ),
        ] {
            let got = Next::decide(&r, session, consented, now);
            assert!(same(got, expected), "{r:?}: {got:?}");
        }
    }

    #[test]
    fn coming_back_from_sign_in_does_not_ask_for_it_again() {
        let p = params(|p| {
            p.prompt = "login consent".into();
            p.max_age = "1".into();
            p.acr_values = "aal2".into();
            p.state = "s".into();
        });
        let back = p.after_sign_in();
        assert_eq!(back.prompt, "consent");
        assert!(back.max_age.is_empty() && back.acr_values.is_empty());
        assert_eq!(back.state, "s");
    }
}
