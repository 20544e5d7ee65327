//! A password sign-in attempt and what a sign-in gives.

use latchkey_proto::TokenResponse;

use crate::client_info::ClientInfo;
use crate::session::{Session, SessionKind};

/// A cookie session just created.
#[derive(Debug, Clone)]
pub struct CookieSession {
    /// The session.
    pub session: Session,
    /// The cookie's value (256 random bits); stored only as a hash.
    pub cookie_token: String,
    /// The CSRF token to send in `X-CSRF-Token` on unsafe requests.
    pub csrf_token: String,
}

/// The outcome of a password login.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// Bearer mode: tokens in the body.
    Tokens(TokenResponse),
    /// Cookie mode: a session cookie.
    Cookie(Box<CookieSession>),
    /// The account has a second factor: no session yet; the second step
    /// (`POST /v1/auth/login/mfa`) answers this challenge.
    MfaRequired(Box<crate::mfa::MfaRequired>),
}

/// A password sign-in attempt.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// Email address or username.
    pub identifier: &'a str,
    /// The password as typed.
    pub password: &'a str,
    /// Where the request came from.
    pub client: &'a ClientInfo,
    /// Bearer or cookie session.
    pub kind: SessionKind,
    /// The device cookie the client sent, if any.
    pub device_cookie: Option<&'a str>,
}

/// A successful password sign-in.
#[derive(Debug, Clone)]
pub struct LoginSuccess {
    /// The session's credentials.
    pub outcome: LoginOutcome,
    /// A fresh device cookie for this client (see [`crate::abuse::device`]).
    pub device_cookie: String,
}
