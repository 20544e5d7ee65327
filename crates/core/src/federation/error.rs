//! The federation slice's failures.

use crate::error::{SharedError, shared_sources};
use crate::sign_in::SignInError;

/// What can go wrong signing in with (or linking) an upstream provider.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// No provider of that name is configured.
    #[error("unknown provider")]
    UnknownProvider,
    /// The callback came without `state`, without the browser's flow
    /// cookie, or with a `state` that is not the cookie's (another browser,
    /// login CSRF, another provider's callback).
    #[error("state missing or not this browser's")]
    StateMismatch,
    /// The `state` is unknown: expired, or used already (a replay).
    #[error("state unknown, expired or used")]
    StateUnknown,
    /// The provider answered the authorization request with an error
    /// (the person cancelled, or the provider refused).
    #[error("the provider refused the sign-in")]
    Denied,
    /// RFC 9207: the `iss` of the authorization response is not this
    /// provider's (a mix-up), or missing where the provider promised it.
    #[error("authorization response from another issuer")]
    IssuerMismatch,
    /// The ID token failed validation (signature, `iss`, `aud`, `azp`,
    /// `exp`, `nonce`, algorithm); the reason is logged, never sent.
    #[error("invalid ID token: {0}")]
    InvalidIdToken(&'static str),
    /// The provider could not be reached in time, or answered something
    /// other than its protocol says.
    #[error("upstream provider unavailable: {0}")]
    Upstream(String),
    /// The address the provider asserted belongs to an existing account
    /// that this provider may not link on its own: sign in to that account
    /// first, then link the provider from the account.
    #[error("an account with this address exists: sign in to it, then link")]
    LinkRequired,
    /// The upstream account is linked to another local account already.
    #[error("this upstream account is linked to another account")]
    AlreadyLinked,
    /// A new account would be needed, and this provider may not create one
    /// (or the provider asserted no usable address).
    #[error("sign-up through this provider is closed")]
    SignUpClosed,
    /// The one-time code of the API mode is unknown, used, expired, or its
    /// `code_verifier` does not match.
    #[error("invalid or expired code")]
    InvalidCode,
    /// API mode was asked for with a `redirect_uri` that is not configured.
    #[error("redirect_uri not allowed")]
    RedirectUriNotAllowed,
    /// Unlinking would leave the account without a way to sign in.
    #[error("the last way to sign in cannot be removed")]
    LastWayIn,
    /// No such linked identity on this account.
    #[error("identity not found")]
    IdentityNotFound,
    /// Native apps: the provider is not OpenID Connect (no platform SDK
    /// ID tokens).
    #[error("native sign-in needs an OpenID Connect provider")]
    NativeUnsupported,
    /// Native apps: the nonce is unknown, used, expired, or another
    /// provider's.
    #[error("nonce unknown, expired or used")]
    NonceUnknown,
    /// Native apps: the app's ID token failed validation (the reason is
    /// logged, never sent).
    #[error("ID token refused: {0}")]
    IdTokenRefused(&'static str),
    /// The provider keeps no tokens for this identity (`store_tokens`
    /// off, or none received since it was turned on).
    #[error("no upstream tokens are kept for this identity")]
    TokensNotStored,
    /// The kept access token expired and cannot be refreshed (no refresh
    /// token, or the provider refused it): sign in with the provider again.
    /// The reason is logged, never sent.
    #[error("the upstream token expired and cannot be refreshed: {0}")]
    UpstreamTokenExpired(&'static str),
    /// A refusal of the sign-in gate (suspended, pending deletion, ...).
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// A failure every slice shares.
    #[error(transparent)]
    Shared(#[from] SharedError),
}

shared_sources!(FederationError);
