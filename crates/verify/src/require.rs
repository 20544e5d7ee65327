//! The axum extractors: [`Verified`] (any valid token) and the typed
//! requirements [`RequireScope`], [`RequireRole`] and [`RequireAal`]. A
//! handler's signature says what it requires.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use latchkey_proto::token::AccessClaims;

use crate::{Rejection, Verifier};

/// The token of an `Authorization: Bearer <token>` header.
#[must_use]
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The claims of a verified access token. As an extractor it reuses the
/// claims a [`VerifyLayer`](crate::VerifyLayer) found, or verifies the
/// bearer token with the state's [`Verifier`].
#[derive(Clone, Debug)]
pub struct Verified(pub Arc<AccessClaims>);

impl<S> FromRequestParts<S> for Verified
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        if let Some(v) = parts.extensions.get::<Verified>() {
            return Ok(v.clone());
        }
        let token = bearer_token(&parts.headers).ok_or(Rejection::Missing)?;
        let claims = Verifier::from_ref(state).verify(token).await?;
        let verified = Verified(claims);
        parts.extensions.insert(verified.clone());
        Ok(verified)
    }
}

/// A scope, named by a type: `struct ReadPosts; impl ScopeName for
/// ReadPosts { const NAME: &'static str = "posts:read"; }`.
pub trait ScopeName: Send + Sync + 'static {
    /// The scope as it appears in the token's `scope` claim.
    const NAME: &'static str;
}

/// A role, named by a type (see [`ScopeName`]).
pub trait RoleName: Send + Sync + 'static {
    /// The role as it appears in the token's `roles` claim.
    const NAME: &'static str;
}

/// An assurance level, named by a type: the `acr` required, and optionally
/// how recent the authentication must be.
pub trait AalLevel: Send + Sync + 'static {
    /// The required `acr`: `aal1`, `aal2` or `aal3`; a higher level satisfies
    /// a lower one.
    const ACR: &'static str;
    /// The longest time since the user authenticated (`auth_time`), in seconds.
    const MAX_AGE: Option<u64> = None;
}

/// AAL2: signed in with a second factor, at any time.
#[derive(Debug)]
pub struct Aal2;
impl AalLevel for Aal2 {
    const ACR: &'static str = "aal2";
}

fn aal_rank(acr: &str) -> u8 {
    match acr {
        "aal1" => 1,
        "aal2" => 2,
        "aal3" => 3,
        _ => 0,
    }
}

/// Checks that `claims` carry `scope` (a space-separated list).
///
/// # Errors
///
/// [`Rejection::InsufficientScope`].
pub fn check_scope(claims: &AccessClaims, scope: &'static str) -> Result<(), Rejection> {
    if claims.scope.split(' ').any(|s| s == scope) {
        Ok(())
    } else {
        Err(Rejection::InsufficientScope(scope))
    }
}

/// Checks that `claims` carry `role` (inherited roles are listed in tokens).
///
/// # Errors
///
/// [`Rejection::MissingRole`].
pub fn check_role(claims: &AccessClaims, role: &'static str) -> Result<(), Rejection> {
    if claims.roles.iter().any(|r| r == role) {
        Ok(())
    } else {
        Err(Rejection::MissingRole(role))
    }
}

/// Checks that the sign-in behind `claims` reached `acr`, within `max_age`
/// seconds of `now` when given.
///
/// # Errors
///
/// [`Rejection::InsufficientAuthentication`], answered as the RFC 9470
/// step-up challenge.
pub fn check_aal(
    claims: &AccessClaims,
    acr: &'static str,
    max_age: Option<u64>,
    now: i64,
) -> Result<(), Rejection> {
    let strong_enough = aal_rank(&claims.acr) >= aal_rank(acr) && aal_rank(acr) > 0;
    let recent_enough = max_age.is_none_or(|age| {
        now.saturating_sub(claims.auth_time) <= i64::try_from(age).unwrap_or(i64::MAX)
    });
    if strong_enough && recent_enough {
        Ok(())
    } else {
        Err(Rejection::InsufficientAuthentication { acr, max_age })
    }
}

macro_rules! requirement {
    ($(#[$doc:meta])* $name:ident < $bound:ident >, |$claims:ident| $check:expr) => {
        $(#[$doc])*
        pub struct $name<T> {
            /// The verified claims.
            pub claims: Arc<AccessClaims>,
            _required: PhantomData<fn() -> T>,
        }

        impl<T> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("sub", &self.claims.sub).finish()
            }
        }

        impl<T: $bound, S> FromRequestParts<S> for $name<T>
        where
            Verifier: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = Rejection;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
                let Verified($claims) = Verified::from_request_parts(parts, state).await?;
                $check?;
                Ok($name {
                    claims: $claims,
                    _required: PhantomData,
                })
            }
        }
    };
}

requirement!(
    /// A verified token carrying the scope `T` (else 403 `insufficient_scope`).
    RequireScope<ScopeName>,
    |claims| check_scope(&claims, T::NAME)
);

requirement!(
    /// A verified token of a user holding the role `T` (else 403).
    RequireRole<RoleName>,
    |claims| check_role(&claims, T::NAME)
);

requirement!(
    /// A verified token of a sign-in at level `T` (else 401 with the RFC 9470
    /// `insufficient_user_authentication` challenge).
    RequireAal<AalLevel>,
    |claims| check_aal(&claims, T::ACR, T::MAX_AGE, crate::unix_now())
);
