//! How the presets speak to their providers where they depart from the
//! plain protocols: client authentication at the token endpoint as each
//! documents it (HTTP Basic, the body, Facebook's `GET`; Apple's ES256
//! client-secret JWT), the ID token's key and issuer (a multi-tenant
//! issuer by the token's `tid`, an issuer's other spellings), GitHub's
//! verified primary address, Apple's first-sign-in name.

use serde_json::{Map, Value};
use url::Url;

use super::FederationError;
use super::id_token::{self, Expected, Nonce};
use super::model::{AppleSecret, ClientAuth, Provider};
use super::service::{Endpoints, Federation};
use crate::error::SharedError;
use latchkey_tokens::decode_header_unverified;

impl Federation {
    /// Calls the token endpoint with `form` and the client authentication
    /// the provider documents.
    pub(super) async fn token_request(
        &self,
        p: &Provider,
        url: &Url,
        form: &[(&str, &str)],
        now: time::OffsetDateTime,
    ) -> Result<Vec<u8>, FederationError> {
        let secret = match &p.dialect.apple {
            Some(apple) => apple_client_secret(p, apple, now)?,
            None => p.client_secret.clone(),
        };
        let up = self.upstream();
        let own = [
            ("client_id", p.client_id.as_str()),
            ("client_secret", &secret),
        ];
        let answer = match p.dialect.client_auth {
            ClientAuth::Basic => up.post_form(url, form, Some((&p.client_id, &secret))).await,
            ClientAuth::Post => {
                let form: Vec<(&str, &str)> = form.iter().chain(&own).copied().collect();
                up.post_form(url, &form, None).await
            }
            ClientAuth::Query => {
                let mut url = url.clone();
                url.query_pairs_mut().extend_pairs(form.iter().chain(&own));
                up.get(&url, None).await
            }
        };
        answer.map_err(|e| FederationError::Upstream(format!("token endpoint: {e}")))
    }

    /// The claims of ID token `token` of provider `p`: its key from the
    /// provider's JWKS by `kid`, then every check of [`id_token::validate`]
    /// against the provider's issuer (a multi-tenant one's by the token's
    /// `tid`, or one of its aliases).
    pub(super) async fn id_token_claims(
        &self,
        p: &Provider,
        endpoints: &Endpoints,
        token: &str,
        nonce: Nonce<'_>,
        audiences: &[&str],
        now: time::OffsetDateTime,
    ) -> Result<Map<String, Value>, FederationError> {
        let kid = decode_header_unverified(token)
            .ok()
            .and_then(|h| h.kid)
            .unwrap_or_default();
        let key = match &endpoints.jwks_uri {
            Some(jwks) if !kid.is_empty() => self.upstream().signing_key(jwks, &kid).await,
            _ => None,
        };
        let tenant;
        let mut issuers = Vec::new();
        if let Some(t) = &p.dialect.tenant_issuer {
            tenant = id_token::tenant_issuer(t, &id_token::unverified_claims(token))?;
            issuers.push(tenant.as_str());
        } else {
            issuers.push(p.issuer.as_deref().unwrap_or_default());
            issuers.extend(p.dialect.issuer_aliases.iter().map(String::as_str));
        }
        id_token::validate(
            token,
            key,
            &Expected {
                issuers: &issuers,
                audiences,
                nonce,
                now: now.unix_timestamp(),
            },
        )
    }

    /// GitHub: the address is the primary one of the emails API, with its
    /// own `verified`; `/user`'s public `email` is never used.
    pub(super) async fn primary_email(
        &self,
        p: &Provider,
        url: &Url,
        access: &str,
        claims: &mut Map<String, Value>,
    ) -> Result<(), FederationError> {
        let body = self
            .upstream()
            .get(url, Some(access))
            .await
            .map_err(|e| FederationError::Upstream(format!("emails: {e}")))?;
        let emails: Vec<Value> = serde_json::from_slice(&body)
            .map_err(|_| FederationError::Upstream("emails is not a JSON array".into()))?;
        claims.remove(&p.claims.email);
        claims.remove(&p.claims.email_verified);
        let primary = emails
            .iter()
            .find(|e| e.get("primary") == Some(&Value::Bool(true)));
        if let Some(e) = primary {
            if let Some(address) = e.get("email") {
                claims.insert(p.claims.email.clone(), address.clone());
            }
            let verified = e.get("verified") == Some(&Value::Bool(true));
            claims.insert(p.claims.email_verified.clone(), Value::Bool(verified));
        }
        Ok(())
    }
}

/// Apple's client secret: an ES256 JWT of the developer's key, `iss` the
/// team id, `sub` our client id, `aud` Apple's issuer, good for five
/// minutes (Apple allows six months; each token request makes a new one).
fn apple_client_secret(
    p: &Provider,
    apple: &AppleSecret,
    now: time::OffsetDateTime,
) -> Result<String, FederationError> {
    let now = now.unix_timestamp();
    let claims = serde_json::json!({
        "iss": apple.team_id,
        "iat": now,
        "exp": now + 300,
        "aud": p.issuer.as_deref().unwrap_or_default(),
        "sub": p.client_id,
    });
    apple
        .key
        .sign_jwt("JWT", &claims)
        .map_err(|e| FederationError::Shared(SharedError::Internal(e.to_string())))
}
