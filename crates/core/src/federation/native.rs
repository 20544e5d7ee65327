//! Native apps (issue 17 item 3): an app signs in with the ID token a
//! platform SDK (Sign in with Google on Android, Sign in with Apple on
//! iOS) gave it. The app first gets a nonce from latchkey (one-time, for
//! one provider, [`NONCE_TTL`]) and hands it to the SDK; the token is then
//! validated exactly as the callback's (the provider's JWKS, `iss`, `aud`
//! or one of the provider's `native_client_ids`, `azp`, `exp`, the nonce,
//! the algorithm bound to the key) and the one linking rule decides the
//! account. The session starts in the same sign-in step as every other
//! (the http route calls [`Federation::sign_in`]), so a second factor
//! still applies.

use latchkey_tokens::{random_token, sha256_hex};
use time::Duration;

use super::FederationError;
use super::id_token::{self, Nonce};
use super::model::{FlowMode, ProviderKind};
use super::service::{Federation, outcome};
use crate::client_info::ClientInfo;
use crate::user::User;

/// How long a native app's nonce is good for.
pub const NONCE_TTL: Duration = Duration::minutes(5);
const NONCE: &str = "nonce";
/// The longest ID token read (a few claims signed with RSA are ~1 KiB).
const MAX_ID_TOKEN: usize = 16 * 1024;

impl Federation {
    /// A nonce for the platform SDK's sign-in with `provider`, stored
    /// (hashed) for [`NONCE_TTL`] and taken by the first
    /// [`Federation::native`] that presents it.
    pub async fn native_nonce(&self, provider: &str) -> Result<String, FederationError> {
        let p = self.provider(provider)?;
        if p.kind != ProviderKind::Oidc {
            return Err(FederationError::NativeUnsupported);
        }
        let nonce = random_token();
        let now = self.ctx().now();
        self.ctx()
            .store
            .put_federation_pending(
                &sha256_hex(nonce.as_bytes()),
                NONCE,
                &p.name,
                now,
                now + NONCE_TTL,
            )
            .await?;
        Ok(nonce)
    }

    /// The account of a platform SDK's `id_token` from `provider`, issued
    /// with `nonce` (taken once, whatever the outcome; the token's `nonce`
    /// claim is the nonce or its hex SHA-256, as Apple's iOS SDK takes it):
    /// found, created or linked by the one linking rule.
    pub async fn native(
        &self,
        provider: &str,
        id_token: &str,
        nonce: &str,
        client: &ClientInfo,
    ) -> Result<User, FederationError> {
        let p = self.provider(provider)?;
        if p.kind != ProviderKind::Oidc {
            return Err(FederationError::NativeUnsupported);
        }
        if nonce.is_empty() || nonce.len() > 128 {
            return Err(FederationError::NonceUnknown);
        }
        let now = self.ctx().now();
        let for_provider = self
            .ctx()
            .store
            .take_federation_pending(&sha256_hex(nonce.as_bytes()), NONCE, now)
            .await?;
        if for_provider.as_deref() != Some(p.name.as_str()) {
            return Err(FederationError::NonceUnknown);
        }
        let refused = |e| match e {
            FederationError::InvalidIdToken(why) => FederationError::IdTokenRefused(why),
            e => e,
        };
        if id_token.len() > MAX_ID_TOKEN {
            return Err(FederationError::IdTokenRefused("malformed"));
        }
        let endpoints = self.endpoints(p).await?;
        let audiences: Vec<&str> = std::iter::once(p.client_id.as_str())
            .chain(p.dialect.native_client_ids.iter().map(String::as_str))
            .collect();
        let claims = self
            .id_token_claims(
                p,
                &endpoints,
                id_token,
                Nonce::ExactOrSha256(nonce),
                &audiences,
                now,
            )
            .await
            .map_err(refused)?;
        let person = id_token::upstreamer(&claims, &p.claims).map_err(refused)?;
        // not a link: the rule only reads the mode for linking
        let mode = FlowMode::Cookie {
            return_to: String::new(),
        };
        let arrived = self.arrive(p, &person, &mode, client).await;
        let label = match &arrived {
            Ok(_) => "success",
            Err(e) => outcome(e),
        };
        metrics::counter!("latchkey_federation_native_total", "provider" => p.name.clone(), "outcome" => label).increment(1);
        arrived
    }
}
