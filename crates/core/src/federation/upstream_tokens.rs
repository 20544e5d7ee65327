//! What a provider says of a linked identity at each sign-in, kept for
//! later (issue 17 items 4 and 5): the profile (name, picture URL), synced
//! to the account's name when the provider has `sync_profile`; and, when it
//! has `store_tokens`, its access and refresh tokens, SEALED under the
//! master key with the identity's id as associated data, so that the app
//! can get a fresh upstream access token
//! (`GET /v1/account/identities/{id}/token`) to call the provider's API.
//!
//! A refresh happens once per identity at a time on a node (the others
//! wait for it, then read its result); across nodes the store replaces the
//! tokens only if nothing else wrote them meanwhile, and a node whose
//! refresh lost (or whose refresh token the provider rotated away) reads
//! the winner's tokens. No token is ever logged: errors carry no token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use latchkey_tokens::Sealer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::FederationError;
use super::model::{FlowMode, Provider, Upstreamer};
use super::service::Federation;
use super::store::UpstreamRecord;
use crate::error::SharedError;
use crate::user::User;

/// The sealing purpose of upstream tokens.
const PURPOSE: &str = "latchkey/upstream-tokens/v1";
/// An access token this close to its expiry is refreshed first.
pub const EXPIRY_MARGIN: time::Duration = time::Duration::seconds(30);
/// How long a picture URL may be to be kept.
const MAX_URL: usize = 2048;

/// The refreshes in progress on this node, one lock per identity.
pub(super) type Refreshing = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// The provider's tokens as kept (sealed).
#[derive(Clone, Serialize, Deserialize)]
struct Kept {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// Unix seconds; `None`: the provider said nothing (used until refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

impl Kept {
    /// The tokens of a token response, keeping `previous`'s refresh token
    /// (and scope) when the response carries none (RFC 6749 §6: the
    /// provider may keep the refresh token it issued).
    fn from_response(r: &Map<String, Value>, now: i64, previous: Option<&Kept>) -> Option<Kept> {
        let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
        let access_token = text("access_token").filter(|t| !t.is_empty())?;
        let expires_at = r
            .get("expires_in")
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
            .filter(|s| *s > 0)
            .map(|s| now.saturating_add(s));
        Some(Kept {
            access_token,
            refresh_token: text("refresh_token").or_else(|| previous?.refresh_token.clone()),
            expires_at,
            scope: text("scope").or_else(|| previous?.scope.clone()),
        })
    }
}

/// What to do with kept tokens at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// The access token is good for more than [`EXPIRY_MARGIN`] (or the
    /// provider gave no lifetime).
    Fresh,
    /// It is (nearly) expired and a refresh token is kept.
    Refresh,
    /// It is (nearly) expired and there is no refresh token: the person
    /// signs in with the provider again.
    Expired,
}

impl Freshness {
    /// The rule, pure: `expires_at` in unix seconds.
    pub fn decide(expires_at: Option<i64>, now: i64, has_refresh_token: bool) -> Freshness {
        match expires_at {
            Some(at) if at - EXPIRY_MARGIN.whole_seconds() <= now => {
                if has_refresh_token {
                    Freshness::Refresh
                } else {
                    Freshness::Expired
                }
            }
            _ => Freshness::Fresh,
        }
    }
}

/// A fresh upstream access token for the app.
#[derive(Clone)]
pub struct UpstreamAccess {
    /// The provider's access token.
    pub access_token: String,
    /// When it expires, if the provider said.
    pub expires_at: Option<OffsetDateTime>,
    /// The scopes it carries, if the provider said.
    pub scope: Option<String>,
}

impl std::fmt::Debug for UpstreamAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamAccess")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

fn text_claim(claims: &Map<String, Value>, name: &str, max: usize) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= max)
        .map(str::to_owned)
}

impl Federation {
    fn sealer(&self) -> Sealer {
        // `device_key` is the master key (see `Context::new`)
        Sealer::new(&self.inner.ctx.device_key, PURPOSE)
    }

    fn seal(&self, identity_id: &str, kept: &Kept) -> Result<Vec<u8>, FederationError> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(kept).map_err(|e| SharedError::Internal(e.to_string()))?,
        );
        Ok(self.sealer().seal(&plain, identity_id.as_bytes()))
    }

    fn open(&self, identity_id: &str, sealed: &[u8]) -> Result<Kept, FederationError> {
        let plain = self
            .sealer()
            .open(sealed, identity_id.as_bytes())
            .map_err(|_| SharedError::Internal("upstream tokens do not unseal".into()))?;
        serde_json::from_slice(&plain)
            .map_err(|_| SharedError::Internal("upstream tokens unreadable".into()).into())
    }

    /// After a callback: records what the provider said of the identity
    /// (profile; tokens when `store_tokens`, else none, dropping any kept
    /// before), and on a sign-in with `sync_profile` sets the account's
    /// name from the provider's.
    pub(super) async fn remember_upstream(
        &self,
        p: &Provider,
        person: &Upstreamer,
        claims: &Map<String, Value>,
        tokens: &Map<String, Value>,
        mode: &FlowMode,
        user: &mut User,
    ) -> Result<(), FederationError> {
        let ctx = &self.inner.ctx;
        let Some(identity) = ctx
            .store
            .identity_by_subject(&p.name, &person.subject)
            .await?
        else {
            return Ok(());
        };
        let now = ctx.now();
        let tokens_sealed = match p.store_tokens {
            true => match Kept::from_response(tokens, now.unix_timestamp(), None) {
                Some(kept) => Some(self.seal(&identity.id, &kept)?),
                None => None,
            },
            false => None,
        };
        let name = person
            .name
            .as_deref()
            .and_then(|n| crate::validate::name(n, &mut Vec::new()));
        let picture = text_claim(claims, &p.claims.picture, MAX_URL)
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
        let record = UpstreamRecord {
            name: name.clone(),
            picture,
            tokens_sealed,
            version: 0,
            updated_at: now,
        };
        ctx.store.record_upstream(&identity.id, &record).await?;
        let signing_in = !matches!(mode, FlowMode::Link { .. });
        if signing_in && p.sync_profile && name.is_some() && name != user.name {
            user.name = name;
            user.updated_at = now;
            ctx.store.update_user(user, None).await?;
        }
        Ok(())
    }

    /// The profile the provider asserted at the identity's last sign-in
    /// (name, picture URL), if recorded.
    pub async fn upstream_profile(
        &self,
        identity_id: &str,
    ) -> Result<(Option<String>, Option<String>), FederationError> {
        let record = self.inner.ctx.store.upstream_of(identity_id).await?;
        Ok(record.map(|r| (r.name, r.picture)).unwrap_or_default())
    }

    /// A fresh access token of `user_id`'s identity `identity_id` at its
    /// provider: the kept one while it is good, else one refreshed with the
    /// kept refresh token (once per identity at a time; a refresh that
    /// another node won, or whose refresh token was rotated away by it,
    /// yields the winner's token). `IdentityNotFound` for an identity of
    /// another account; `TokensNotStored` when the provider keeps none;
    /// `UpstreamTokenExpired` when it cannot be refreshed.
    pub async fn upstream_token(
        &self,
        user_id: &str,
        identity_id: &str,
    ) -> Result<UpstreamAccess, FederationError> {
        let ctx = &self.inner.ctx;
        let identity = ctx
            .store
            .identities_of(user_id)
            .await?
            .into_iter()
            .find(|i| i.id == identity_id)
            .ok_or(FederationError::IdentityNotFound)?;
        let p = self
            .provider(&identity.provider)
            .map_err(|_| FederationError::TokensNotStored)?;
        if !p.store_tokens {
            return Err(FederationError::TokensNotStored);
        }
        let lock = self
            .inner
            .refreshing
            .lock()
            .expect("refresh locks")
            .entry(identity.id.clone())
            .or_default()
            .clone();
        let result = {
            let _one_at_a_time = lock.lock().await;
            self.fresh_token(p, &identity.id).await
        };
        let mut locks = self.inner.refreshing.lock().expect("refresh locks");
        // the map's entry and this `lock`: nobody else waits
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&identity.id);
        }
        result
    }

    async fn kept(&self, identity_id: &str) -> Result<(Kept, i64), FederationError> {
        let record = self.inner.ctx.store.upstream_of(identity_id).await?;
        let (sealed, version) = record
            .and_then(|r| Some((r.tokens_sealed?, r.version)))
            .ok_or(FederationError::TokensNotStored)?;
        Ok((self.open(identity_id, &sealed)?, version))
    }

    async fn fresh_token(
        &self,
        p: &Provider,
        identity_id: &str,
    ) -> Result<UpstreamAccess, FederationError> {
        let ctx = &self.inner.ctx;
        let (kept, version) = self.kept(identity_id).await?;
        let now = ctx.now().unix_timestamp();
        let refresh_token =
            match Freshness::decide(kept.expires_at, now, kept.refresh_token.is_some()) {
                Freshness::Fresh => return Ok(access(kept)),
                Freshness::Expired => {
                    return Err(FederationError::UpstreamTokenExpired("no refresh token"));
                }
                Freshness::Refresh => kept.refresh_token.clone().unwrap_or_default(),
            };
        let endpoints = self.endpoints(p).await?;
        let answer = self
            .inner
            .upstream
            .post_form(
                &endpoints.token_endpoint,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh_token),
                ],
                Some((&p.client_id, &p.client_secret)),
            )
            .await;
        let refreshed = match answer {
            Ok(body) => serde_json::from_slice::<Map<String, Value>>(&body)
                .ok()
                .and_then(|r| Kept::from_response(&r, now, Some(&kept)))
                .ok_or_else(|| FederationError::Upstream("refresh response unreadable".into()))?,
            Err(e) => {
                // another node may have refreshed (and rotated the refresh
                // token) meanwhile: its tokens are good
                let (latest, latest_version) = self.kept(identity_id).await?;
                if latest_version != version
                    && Freshness::decide(latest.expires_at, now, false) == Freshness::Fresh
                {
                    return Ok(access(latest));
                }
                metrics::counter!("latchkey_federation_token_refreshes_total", "provider" => p.name.clone(), "outcome" => "refused").increment(1);
                // RFC 6749 §5.2: invalid_grant and its kind
                return Err(if e.0.contains("status 400") {
                    FederationError::UpstreamTokenExpired("the provider refused the refresh (400)")
                } else if e.0.contains("status 401") {
                    FederationError::UpstreamTokenExpired("the provider refused the refresh (401)")
                } else {
                    FederationError::Upstream(format!("refresh: {e}"))
                });
            }
        };
        let sealed = self.seal(identity_id, &refreshed)?;
        let stored = ctx
            .store
            .replace_upstream_tokens(identity_id, version, &sealed, ctx.now())
            .await?;
        metrics::counter!("latchkey_federation_token_refreshes_total", "provider" => p.name.clone(), "outcome" => "refreshed").increment(1);
        if stored {
            return Ok(access(refreshed));
        }
        // a sign-in or another node wrote first: theirs is the newer
        let (latest, _) = self.kept(identity_id).await?;
        Ok(access(latest))
    }
}

fn access(k: Kept) -> UpstreamAccess {
    UpstreamAccess {
        access_token: k.access_token,
        expires_at: k
            .expires_at
            .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok()),
        scope: k.scope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_by_expiry_margin_and_refresh_token() {
        let now = 1_000_000;
        let cases = [
            (None, false, Freshness::Fresh),
            (None, true, Freshness::Fresh),
            (Some(now + 3600), false, Freshness::Fresh),
            (Some(now + 31), true, Freshness::Fresh),
            (Some(now + 30), true, Freshness::Refresh),
            (Some(now + 30), false, Freshness::Expired),
            (Some(now - 10), true, Freshness::Refresh),
            (Some(now - 10), false, Freshness::Expired),
        ];
        for (expires_at, refresh, want) in cases {
            assert_eq!(
                Freshness::decide(expires_at, now, refresh),
                want,
                "{expires_at:?} {refresh}"
            );
        }
    }

    #[test]
    fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
        let before = Kept {
            access_token: "a1".into(),
            refresh_token: Some("r1".into()),
            expires_at: Some(10),
            scope: Some("openid".into()),
        };
        let r: Map<String, Value> =
            serde_json::from_str(r#"{"access_token":"a2","expires_in":60}"#).unwrap();
        let after = Kept::from_response(&r, 100, Some(&before)).unwrap();
        assert_eq!(after.access_token, "a2");
        assert_eq!(after.refresh_token.as_deref(), Some("r1"));
        assert_eq!(after.expires_at, Some(160));
        assert_eq!(after.scope.as_deref(), Some("openid"));
        let rotated: Map<String, Value> =
            serde_json::from_str(r#"{"access_token":"a3","refresh_token":"r2"}"#).unwrap();
        let after = Kept::from_response(&rotated, 100, Some(&before)).unwrap();
        assert_eq!(
            (after.refresh_token.as_deref(), after.expires_at),
            (Some("r2"), None)
        );
        let empty: Map<String, Value> = serde_json::from_str(r#"{"access_token":""}"#).unwrap();
        assert!(Kept::from_response(&empty, 100, None).is_none());
    }
}
