//! `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a client
//! authenticates with a JWT it signed with its own key.
//!
//! Decisions:
//! - The key comes from the client's registration only: its `jwks`, or its
//!   `jwks_uri` fetched through [`Upstream`] (the bounded client and JWKS
//!   cache of upstream calls, https or http on loopback). `jku`, `x5u` and
//!   `jwk` headers are ignored; `kid` is required and only a lookup key.
//! - The algorithm is the one bound to that key (EdDSA, ES256 or RS256):
//!   never `none`, never an HMAC (`client_secret_jwt` is not offered).
//! - `iss` and `sub` are the client id; `aud` is the token endpoint or the
//!   issuer; `exp` is required and at most [`MAX_ASSERTION_LIFETIME`] ahead;
//!   `jti` is required and used once: it is stored until `exp` with one
//!   atomic insert ([`ClientAssertionStore`]), so of two presentations on
//!   any nodes exactly one passes.
//! - Every refusal is `invalid_client`; the reason goes to the log, never
//!   the assertion.

use async_trait::async_trait;
use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_tokens::{
    Jwks, Validation, VerifyError, VerifyingKey, decode_header_unverified, verify_jwt_typ_optional,
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use url::Url;

use super::error::OAuthError;
use super::model::{AuthMethod, ClientSettings, ClientType, OAuthClient};
use super::service::OAuth;
use crate::federation::Upstream;
use crate::store::StoreError;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How far ahead an assertion's `exp` may be (its `jti` is kept that long).
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::hours(1);
/// The most keys a client may register in `jwks`.
pub const MAX_CLIENT_KEYS: usize = 10;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: i64 = 30;
/// The longest assertion read.
const MAX_ASSERTION_LEN: usize = 8 * 1024;

/// Remembers the `jti`s of client assertions until they expire.
#[async_trait]
pub trait ClientAssertionStore: Send + Sync {
    /// Records `jti` of `client_id` until `expires_at`, in one atomic step:
    /// `true` if it was not recorded yet (or only with an `expires_at` at
    /// or before `now`), `false` if it was (a replay). Of concurrent calls
    /// with one `jti`, exactly one gets `true`. Also forgets the client's
    /// expired `jti`s.
    async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// The claims checked here besides those [`verify_jwt_typ_optional`] checks.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    jti: String,
    exp: i64,
}

/// The client id an assertion names (`sub`, else `iss`), unverified: only
/// to find the key that verifies it.
fn named_client(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Named {
        iss: Option<String>,
        sub: Option<String>,
    }
    let payload = assertion.split('.').nth(1)?;
    let json = Base64UrlUnpadded::decode_vec(payload).ok()?;
    let named: Named = serde_json::from_slice(&json).ok()?;
    named.sub.or(named.iss)
}

/// Checks the keys of a registration: a `private_key_jwt` client is
/// confidential with exactly one of `jwks` (1 to [`MAX_CLIENT_KEYS`] usable
/// signing keys with distinct `kid`s) and `jwks_uri`; other clients have
/// neither.
pub(crate) fn check_keys(s: &ClientSettings) -> Result<(), OAuthError> {
    let invalid = |field, reason: &str| OAuthError::invalid(field, "invalid_client_keys", reason);
    if s.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt {
        if s.jwks.is_some() || s.jwks_uri.is_some() {
            return Err(invalid(
                "jwks",
                "jwks and jwks_uri are for private_key_jwt clients",
            ));
        }
        return Ok(());
    }
    if s.client_type != ClientType::Confidential {
        return Err(invalid(
            "token_endpoint_auth_method",
            "private_key_jwt is for confidential clients",
        ));
    }
    match (&s.jwks, &s.jwks_uri) {
        (Some(jwks), None) => {
            if jwks.keys.is_empty() || jwks.keys.len() > MAX_CLIENT_KEYS {
                return Err(invalid("jwks", "1 to 10 keys"));
            }
            for (i, key) in jwks.keys.iter().enumerate() {
                if key.kid.is_empty() || jwks.keys[..i].iter().any(|k| k.kid == key.kid) {
                    return Err(invalid("jwks", "every key needs a kid of its own"));
                }
                VerifyingKey::from_jwk(key).map_err(|e| {
                    invalid(
                        "jwks",
                        &format!("key {:?}: {e} (EdDSA, ES256 or RS256 public keys)", key.kid),
                    )
                })?;
            }
            Ok(())
        }
        (None, Some(uri)) => {
            let url = Url::parse(uri).map_err(|_| invalid("jwks_uri", "not a URL"))?;
            let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            match url.scheme() {
                "https" if url.host_str().is_some() => {}
                "http" if loopback => {}
                _ => {
                    return Err(invalid(
                        "jwks_uri",
                        "must be https (http only on a loopback host)",
                    ));
                }
            }
            if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
                return Err(invalid("jwks_uri", "no user info or fragment"));
            }
            Ok(())
        }
        _ => Err(invalid(
            "jwks",
            "a private_key_jwt client registers exactly one of jwks and jwks_uri",
        )),
    }
}

/// Why an assertion was refused (for the log).
fn refused(why: &'static str) -> OAuthError {
    tracing::info!(reason = why, "client assertion refused");
    OAuthError::InvalidClient
}

impl OAuth {
    /// Authenticates a client by its `private_key_jwt` assertion (see the
    /// module's rules). `client_id`, when the request named one, must be
    /// the assertion's. `upstream` fetches a `jwks_uri`.
    pub async fn authenticate_assertion(
        &self,
        assertion: &str,
        client_id: Option<&str>,
        upstream: &dyn Upstream,
    ) -> Result<OAuthClient, OAuthError> {
        if assertion.len() > MAX_ASSERTION_LEN {
            return Err(refused("too long"));
        }
        let named = named_client(assertion).ok_or_else(|| refused("no iss or sub"))?;
        if client_id.is_some_and(|id| id != named) {
            return Err(refused("client_id is not the assertion's"));
        }
        let client = match self.registered(&named).await {
            Ok(c) => c,
            Err(OAuthError::UnknownClient) => return Err(refused("unknown client")),
            Err(e) => return Err(e),
        };
        let s = &client.settings;
        if s.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt {
            return Err(refused("the client did not register private_key_jwt"));
        }
        let kid = decode_header_unverified(assertion)
            .ok()
            .and_then(|h| h.kid)
            .ok_or_else(|| refused("no kid"))?;
        let key = match (&s.jwks, &s.jwks_uri) {
            (Some(jwks), _) => registered_key(jwks, &kid),
            (None, Some(uri)) => match Url::parse(uri) {
                Ok(url) => upstream.signing_key(&url, &kid).await,
                Err(_) => None,
            },
            (None, None) => None,
        }
        .ok_or_else(|| refused("no registered key with that kid"))?;

        let issuer = self.config().issuer.trim_end_matches('/').to_owned();
        let token_endpoint = format!("{issuer}/oauth2/token");
        let now = self.now();
        let verify = |audience: &str| {
            verify_jwt_typ_optional::<Claims>(
                assertion,
                |k| (k == key.kid()).then(|| key.clone()),
                &Validation {
                    issuer: &client.client.id,
                    audience,
                    typ: "JWT",
                    now: now.unix_timestamp(),
                    leeway_secs: LEEWAY_SECS,
                },
            )
        };
        let claims = match verify(&token_endpoint) {
            Err(VerifyError::Audience) => verify(&issuer),
            other => other,
        }
        .map_err(|e| {
            tracing::info!(error = %e, "client assertion refused");
            OAuthError::InvalidClient
        })?;
        if claims.sub != client.client.id {
            return Err(refused("sub is not the client id"));
        }
        if claims.jti.is_empty() || claims.jti.len() > 256 {
            return Err(refused("jti missing or over 256 bytes"));
        }
        let latest = now + MAX_ASSERTION_LIFETIME + Duration::seconds(LEEWAY_SECS);
        let expires_at = OffsetDateTime::from_unix_timestamp(claims.exp)
            .ok()
            .filter(|exp| *exp <= latest)
            .ok_or_else(|| refused("exp more than an hour ahead"))?;
        if !self
            .store()
            .use_client_assertion(&client.client.id, &claims.jti, expires_at, now)
            .await?
        {
            tracing::warn!(client_id = %client.client.id, "client assertion replayed (jti used before)");
            return Err(OAuthError::InvalidClient);
        }
        Ok(client)
    }
}

fn registered_key(jwks: &Jwks, kid: &str) -> Option<VerifyingKey> {
    jwks.find(kid).and_then(|k| VerifyingKey::from_jwk(k).ok())
}

#[cfg(test)]
mod tests {
    use latchkey_tokens::{Alg, SigningKey};

    use super::*;

    fn settings(f: impl FnOnce(&mut ClientSettings)) -> ClientSettings {
        let mut s = ClientSettings {
            token_endpoint_auth_method: AuthMethod::PrivateKeyJwt,
            ..ClientSettings::default()
        };
        f(&mut s);
        s
    }

    fn jwks(n: usize, same_kid: bool) -> Jwks {
        Jwks {
            keys: (0..n)
                .map(|i| {
                    let kid = if same_kid {
                        "k".into()
                    } else {
                        format!("k{i}")
                    };
                    SigningKey::generate(Alg::ES256, kid)
                        .unwrap()
                        .0
                        .public_jwk()
                })
                .collect(),
        }
    }

    #[test]
    fn registrations_of_client_keys() {
        let uri = |u: &str| Some(u.to_owned());
        for (case, s, ok) in [
            ("jwks", settings(|s| s.jwks = Some(jwks(1, false))), true),
            (
                "https uri",
                settings(|s| s.jwks_uri = uri("https://rp.example/jwks")),
                true,
            ),
            (
                "loopback http",
                settings(|s| s.jwks_uri = uri("http://127.0.0.1:9/jwks")),
                true,
            ),
            (
                "plain http",
                settings(|s| s.jwks_uri = uri("http://rp.example/jwks")),
                false,
            ),
            (
                "user info",
                settings(|s| s.jwks_uri = uri("https://a@rp.example/jwks")),
                false,
            ),
            (
                "file",
                settings(|s| s.jwks_uri = uri("file:///etc/passwd")),
                false,
            ),
            ("neither", settings(|_| {}), false),
            (
                "both",
                settings(|s| {
                    s.jwks = Some(jwks(1, false));
                    s.jwks_uri = uri("https://rp.example/jwks");
                }),
                false,
            ),
            (
                "no keys",
                settings(|s| s.jwks = Some(jwks(0, false))),
                false,
            ),
            (
                "eleven keys",
                settings(|s| s.jwks = Some(jwks(11, false))),
                false,
            ),
            (
                "one kid twice",
                settings(|s| s.jwks = Some(jwks(2, true))),
                false,
            ),
            (
                "public",
                settings(|s| {
                    s.client_type = ClientType::Public;
                    s.jwks = Some(jwks(1, false));
                }),
                false,
            ),
            (
                "keys without private_key_jwt",
                settings(|s| {
                    s.token_endpoint_auth_method = AuthMethod::ClientSecretBasic;
                    s.jwks = Some(jwks(1, false));
                }),
                false,
            ),
            (
                "a symmetric key",
                settings(|s| {
                    let mut j = jwks(1, false);
                    j.keys[0].kty = "oct".into();
                    s.jwks = Some(j);
                }),
                false,
            ),
        ] {
            assert_eq!(check_keys(&s).is_ok(), ok, "{case}");
        }
    }

    #[test]
    fn the_named_client_is_sub_else_iss() {
        let jwt = |claims: &str| {
            format!(
                "e30.{}.sig",
                Base64UrlUnpadded::encode_string(claims.as_bytes())
            )
        };
        assert_eq!(
            named_client(&jwt(r#"{"iss":"a","sub":"b"}"#)).as_deref(),
            Some("b")
        );
        assert_eq!(named_client(&jwt(r#"{"iss":"a"}"#)).as_deref(), Some("a"));
        assert_eq!(named_client(&jwt("{}")), None);
        assert_eq!(named_client("not a jwt"), None);
    }
}
