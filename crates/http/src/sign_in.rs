//! The sign-in step: what every way of signing in goes through, whatever
//! proves the user (a password today; the hosted pages, magic links, email
//! codes and passkeys next).
//!
//! [`SignIn::run`] does, in order: the login-CSRF check of a cookie
//! session (its `Origin` must be latchkey's), the proof-of-work challenge
//! when the server is under pressure, the per-account quotas of the `login`
//! class, the caller's check (given the device cookie), the outcome metric,
//! the pressure of a failure, and on success the replacement of the
//! browser's previous cookie session. [`SignedIn`] then carries the
//! `Set-Cookie` and `RateLimit` headers for whatever answer the caller
//! builds (JSON here, a redirect on a hosted page).

use std::future::Future;
use std::net::IpAddr;

use axum::http::HeaderMap;
use axum::response::Response;
use latchkey_core::abuse::challenge::ChallengeAction;
use latchkey_core::abuse::{Dimension, RouteClass};
use latchkey_core::auth::ClientInfo;
use latchkey_core::error::SharedError;
use latchkey_core::mfa::{MFA_TOKEN_TTL, MfaError, SecondStep};
use latchkey_core::passkeys::{AssertionResponse, PasskeyError, PasskeyStep};
use latchkey_core::session::SessionKind;
use latchkey_core::sign_in::{LoginAttempt, LoginOutcome, LoginSuccess, SignInError};

use crate::abuse::{add_ratelimit_headers, challenge_refusal, check_limit, pow_solution};
use crate::cookies::{cookie_value, set_browser_session_cookie, set_cookie};
use crate::error::ApiError;
use crate::principal::check_origin;
use crate::state::AppState;

/// A refusal of a sign-in check, as the step counts it: the outcome label
/// of `latchkey_logins_total`, and whether it was a guess (which adds to
/// the pressure behind challenges).
pub trait CheckError: Into<ApiError> {
    /// The `outcome` label.
    fn outcome(&self) -> &'static str;
    /// Whether the refusal is a wrong secret (or a throttle or lock from
    /// earlier wrong ones).
    fn is_guess(&self) -> bool;
}

impl CheckError for SignInError {
    fn outcome(&self) -> &'static str {
        match self {
            SignInError::InvalidCredentials => "invalid_credentials",
            SignInError::Throttled { .. } => "throttled",
            SignInError::AccountLocked => "locked",
            SignInError::Shared(SharedError::Busy { .. }) => "busy",
            SignInError::Suspended { .. } => "suspended",
            _ => "error",
        }
    }

    fn is_guess(&self) -> bool {
        matches!(
            self,
            SignInError::InvalidCredentials
                | SignInError::Throttled { .. }
                | SignInError::AccountLocked
        )
    }
}

impl CheckError for MfaError {
    fn outcome(&self) -> &'static str {
        match self {
            MfaError::InvalidCode => "invalid_code",
            MfaError::InvalidMfaToken => "invalid_mfa_token",
            MfaError::SignIn(e) => e.outcome(),
            MfaError::Shared(SharedError::Busy { .. }) => "busy",
            _ => "error",
        }
    }

    fn is_guess(&self) -> bool {
        match self {
            MfaError::InvalidCode | MfaError::InvalidMfaToken => true,
            MfaError::SignIn(e) => e.is_guess(),
            _ => false,
        }
    }
}

/// A sign-in about to be attempted.
#[derive(Clone, Copy)]
pub struct SignIn<'a> {
    /// The application.
    pub state: &'a AppState,
    /// The request's headers (challenge solution, cookies, `Origin`).
    pub headers: &'a HeaderMap,
    /// Where the request came from.
    pub client: &'a ClientInfo,
    /// The client IP.
    pub ip: Option<IpAddr>,
    /// The account as typed (address or username), for its quotas.
    pub account: &'a str,
    /// Bearer tokens or a cookie session.
    pub kind: SessionKind,
    /// A challenge solution from the body, if any (the `Latchkey-Pow`
    /// header is read too).
    pub pow: Option<&'a str>,
    /// "Keep me signed in": off, a cookie session's cookie lasts the
    /// browser session (no `Max-Age`) and bearer sessions get no refresh
    /// token.
    pub remember: bool,
}

/// A session started: its credentials, and the headers of the answer.
#[derive(Debug)]
pub struct SignedIn {
    /// The session's credentials.
    pub outcome: LoginOutcome,
    headers: HeaderMap,
}

impl SignedIn {
    /// Adds the cookies and `RateLimit` headers to the answer.
    pub fn respond(self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        for (name, value) in self.headers.iter() {
            headers.append(name.clone(), value.clone());
        }
        response
    }
}

impl SignIn<'_> {
    /// Runs the step around `check`, which proves the user given the
    /// device cookie the client sent.
    pub async fn run<F, Fut, E>(self, check: F) -> Result<SignedIn, ApiError>
    where
        F: FnOnce(Option<String>) -> Fut,
        Fut: Future<Output = Result<LoginSuccess, E>>,
        E: CheckError,
    {
        if self.kind == SessionKind::Cookie {
            // login CSRF: a cookie session may only be started from our own pages
            check_origin(self.headers, &self.state.cookies().origin)?;
        }
        self.run_bound(check).await
    }

    /// [`SignIn::run`] for a sign-in whose login-CSRF defence is a binding
    /// of its own rather than `Origin`: the federation callback, a
    /// navigation from the provider's site, whose `state` must equal the
    /// flow cookie of the browser that started it (checked by the caller
    /// before).
    pub async fn run_bound<F, Fut, E>(self, check: F) -> Result<SignedIn, ApiError>
    where
        F: FnOnce(Option<String>) -> Fut,
        Fut: Future<Output = Result<LoginSuccess, E>>,
        E: CheckError,
    {
        let state = self.state;
        let cookies = state.cookies();
        let guard = &state.protection().guard;
        guard
            .demand_challenge(
                ChallengeAction::Login,
                self.ip,
                pow_solution(self.headers, self.pow),
            )
            .await
            .map_err(|d| challenge_refusal(&d))?;
        let account = latchkey_core::user::normalize_email(self.account);
        let mut verdicts = Vec::new();
        for dim in [Dimension::Account, Dimension::IpAccount] {
            verdicts
                .extend(check_limit(guard, RouteClass::Login, dim, self.ip, Some(&account)).await?);
        }
        let result = check(cookie_value(self.headers, cookies.device_name())).await;
        let outcome = match &result {
            Ok(LoginSuccess {
                outcome: LoginOutcome::MfaRequired(_),
                ..
            }) => "mfa_required",
            Ok(_) => "success",
            Err(e) => e.outcome(),
        };
        metrics::counter!("latchkey_logins_total", "outcome" => outcome).increment(1);
        if result.as_ref().is_err_and(CheckError::is_guess) {
            guard.record_pressure(self.ip, 1).await;
        }
        let success = result.map_err(Into::into)?;
        let mut headers = HeaderMap::new();
        if let LoginOutcome::MfaRequired(m) = &success.outcome
            && let Some(binding) = &m.binding_cookie
        {
            // the second step must come from this browser: the mfa_token
            // alone (in a log, another browser) is useless
            set_cookie(
                &mut headers,
                cookies.mfa_name(),
                binding,
                MFA_TOKEN_TTL.whole_seconds(),
                cookies.secure,
            );
        }
        if let LoginOutcome::Cookie(c) = &success.outcome {
            // A new sign-in replaces the browser's previous cookie session:
            // end it, so a stolen copy of the old cookie stops working too.
            if let Some(old) = cookie_value(self.headers, cookies.name())
                && let Ok(previous) = state.sessions().authenticate_cookie(&old).await
            {
                state.sessions().logout(&previous, self.client).await?;
            }
            if self.remember {
                let max_age = (c.session.expires_at - c.session.created_at).whole_seconds();
                set_cookie(
                    &mut headers,
                    cookies.name(),
                    &c.cookie_token,
                    max_age,
                    cookies.secure,
                );
            } else {
                set_browser_session_cookie(
                    &mut headers,
                    cookies.name(),
                    &c.cookie_token,
                    cookies.secure,
                );
            }
        }
        let ttl = state.auth().device_cookies().max_age().whole_seconds();
        set_cookie(
            &mut headers,
            cookies.device_name(),
            &success.device_cookie,
            ttl,
            cookies.secure,
        );
        for v in &verdicts {
            add_ratelimit_headers(&mut headers, v);
        }
        let mut outcome = success.outcome;
        if let (LoginOutcome::Tokens(tokens), false) = (&mut outcome, self.remember) {
            // the session ends with its access token; the refresh token
            // core minted is dropped unseen (a 256-bit value no one holds)
            tokens.refresh_token.clear();
        }
        Ok(SignedIn { outcome, headers })
    }

    /// Runs the step with a password check of `identifier` and `password`.
    pub async fn with_password(
        self,
        identifier: &str,
        password: &str,
    ) -> Result<SignedIn, ApiError> {
        let auth = self.state.auth();
        let (client, kind) = (self.client, self.kind);
        self.run(|device_cookie| async move {
            auth.sessions()
                .login_with(LoginAttempt {
                    identifier,
                    password,
                    client,
                    kind,
                    device_cookie: device_cookie.as_deref(),
                })
                .await
        })
        .await
    }

    /// Runs the step with the second factor of a sign-in that answered
    /// `mfa_required`: its `mfa_token` (and, in cookie mode, the binding
    /// cookie it set) and a code of `method`.
    pub async fn with_second_factor(
        self,
        mfa_token: &str,
        method: &str,
        code: &str,
    ) -> Result<SignedIn, ApiError> {
        let mfa = self.state.mfa();
        let binding = cookie_value(self.headers, self.state.cookies().mfa_name());
        let (client, kind) = (self.client, self.kind);
        self.run(|_device_cookie| async move {
            mfa.complete_sign_in(SecondStep {
                mfa_token,
                binding_cookie: binding.as_deref(),
                kind,
                method,
                code,
                client,
            })
            .await
        })
        .await
    }

    /// Runs the step with a passkey answering the second factor of a
    /// sign-in that answered `mfa_required` (`method` `webauthn`).
    pub async fn with_passkey_second_factor(
        self,
        mfa_token: &str,
        answer: Result<AssertionResponse, PasskeyError>,
    ) -> Result<SignedIn, ApiError> {
        let passkeys = self.state.passkeys();
        let binding = cookie_value(self.headers, self.state.cookies().mfa_name());
        let (client, kind) = (self.client, self.kind);
        self.run(|_device_cookie| async move {
            let step = PasskeyStep {
                mfa_token,
                binding_cookie: binding.as_deref(),
                kind,
                client,
            };
            passkeys.complete_second_factor(step, &answer?).await
        })
        .await
    }
}
