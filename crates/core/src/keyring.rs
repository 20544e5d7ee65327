//! The signing keys in use: parsed once, shared by every request.
//!
//! Keys live in the store, their private halves sealed under the master key.
//! The keyring holds the parsed active key (for signing) and every published
//! public key (for verification and `/.well-known/jwks.json`). Several nodes
//! share one store: a node that meets an unknown `kid` reloads from the
//! store (at most every few seconds, so random `kid`s cannot make it hammer
//! the database).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration as StdDuration, Instant};

use latchkey_tokens::{Alg, Jwk, Jwks, Sealer, SigningKey, VerifyingKey};
use time::{Duration, OffsetDateTime};

use crate::id;
use crate::keys::StoredKey;
use crate::store::{Store, StoreError};

/// How long a retired key stays published beyond the access-token lifetime:
/// the nodes' 10-minute full reload interval (a rotation itself reaches
/// every node within [`FOLLOW_INTERVAL`]; the slack is kept for nodes that
/// cannot read the store meanwhile), the 5-minute JWKS cache, and a minute
/// of clock skew.
pub const PUBLISH_SLACK: Duration = Duration::minutes(16);

/// How often a server compares its active key with the store's
/// ([`Keyring::follow`]), so a rotation anywhere is in force everywhere
/// within this time.
pub const FOLLOW_INTERVAL: StdDuration = StdDuration::from_secs(2);

/// The least time between two reloads triggered by unknown `kid`s.
const RELOAD_INTERVAL: StdDuration = StdDuration::from_secs(5);

/// What can go wrong with keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored key cannot be opened or parsed (wrong master key, corruption).
    #[error("signing key {kid}: {reason}")]
    Broken {
        /// The key.
        kid: String,
        /// Why.
        reason: String,
    },
    /// There is no active key (the store holds none).
    #[error("no active signing key")]
    NoActiveKey,
}

struct KeySet {
    active: Arc<SigningKey>,
    published: Vec<(Jwk, VerifyingKey, Option<OffsetDateTime>)>,
    by_kid: HashMap<String, VerifyingKey>,
}

/// Which stored keys a keyring holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyTable {
    /// `signing_keys`: access tokens (the configured algorithm).
    Access,
    /// `oauth_signing_keys`: the OAuth provider's RS256 ID tokens.
    IdToken,
}

/// The parsed keys, shared by all requests.
pub struct Keyring {
    sealer: Sealer,
    alg: Alg,
    table: KeyTable,
    set: RwLock<Option<Arc<KeySet>>>,
    last_reload: Mutex<Option<Instant>>,
    /// Held by [`Keyring::init`]: requests that arrive together before the
    /// first load wait for one of them instead of each making a key.
    init: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn aad(kid: &str) -> Vec<u8> {
    format!("latchkey signing key {kid}").into_bytes()
}

impl Keyring {
    /// A keyring whose private keys are sealed with `master_key`, signing new
    /// keys with `alg`.
    pub fn new(master_key: &[u8; 32], alg: Alg) -> Keyring {
        Keyring {
            sealer: Sealer::new(master_key, "latchkey/signing-keys/v1"),
            alg,
            table: KeyTable::Access,
            set: RwLock::new(None),
            last_reload: Mutex::new(None),
            init: tokio::sync::Mutex::new(()),
        }
    }

    /// The OAuth provider's ID-token keys: RSA (RS256, 3072 bits), in their
    /// own table, generated, sealed, rotated and retired like the others.
    pub fn for_id_tokens(master_key: &[u8; 32]) -> Keyring {
        Keyring {
            table: KeyTable::IdToken,
            ..Keyring::new(master_key, Alg::RS256)
        }
    }

    /// Whether the keys have been loaded.
    pub fn is_loaded(&self) -> bool {
        self.current().is_ok()
    }

    async fn stored(&self, store: &dyn Store) -> Result<Vec<StoredKey>, StoreError> {
        match self.table {
            KeyTable::Access => store.signing_keys().await,
            KeyTable::IdToken => store.id_token_keys().await,
        }
    }

    /// Loads the keys, creating the first one (or a new one, when the
    /// configured algorithm changed) if needed.
    pub async fn init(
        &self,
        store: &dyn Store,
        now: OffsetDateTime,
        max_token_ttl: Duration,
    ) -> Result<(), KeyError> {
        // one initialisation at a time on this node; whoever waited finds
        // the keys loaded (key generation is the cost: RSA-3072 takes up to
        // seconds of CPU, and sixteen first requests made sixteen keys)
        let _one = self.init.lock().await;
        if self.is_loaded() {
            return Ok(());
        }
        let keys = self.stored(store).await?;
        let active = keys.iter().find(|k| k.retired_at.is_none());
        match active {
            Some(k) if k.alg == self.alg.as_str() => {}
            // no key yet, or the configured algorithm changed: rotate now
            Some(_) => {
                self.rotate(store, now, None, max_token_ttl).await?;
            }
            None => {
                // "only if the active key predates the epoch": i.e. only if there is
                // none, so nodes starting together create one key between them
                self.rotate(store, now, Some(OffsetDateTime::UNIX_EPOCH), max_token_ttl)
                    .await?;
            }
        }
        self.reload(store, now).await
    }

    /// Makes a new active key. With `only_if_created_before`, does nothing
    /// unless the active key is older than that (scheduled rotation, safe on
    /// many nodes). The previous key stays published for `max_token_ttl`.
    pub async fn rotate(
        &self,
        store: &dyn Store,
        now: OffsetDateTime,
        only_if_created_before: Option<OffsetDateTime>,
        max_token_ttl: Duration,
    ) -> Result<bool, KeyError> {
        let kid = id::new_id();
        // key generation is CPU work (RSA-3072: a prime search of up to
        // seconds): off the async runtime
        let (alg, new_kid) = (self.alg, kid.clone());
        let (_key, pkcs8) = tokio::task::spawn_blocking(move || SigningKey::generate(alg, new_kid))
            .await
            .map_err(|e| KeyError::Broken {
                kid: kid.clone(),
                reason: e.to_string(),
            })?
            .map_err(|e| KeyError::Broken {
                kid: kid.clone(),
                reason: e.to_string(),
            })?;
        let public = SigningKey::from_pkcs8(self.alg, kid.clone(), &pkcs8)
            .map_err(|e| KeyError::Broken {
                kid: kid.clone(),
                reason: e.to_string(),
            })?
            .public_jwk();
        let stored = StoredKey {
            kid: kid.clone(),
            alg: self.alg.as_str().to_owned(),
            private_sealed: self.sealer.seal(&pkcs8, &aad(&kid)),
            public_jwk: serde_json::to_string(&public).map_err(|e| KeyError::Broken {
                kid: kid.clone(),
                reason: e.to_string(),
            })?,
            created_at: crate::store::truncate_to_millis(now),
            retired_at: None,
            publish_until: None,
        };
        // The retired key must outlive every token it signed, including the
        // ones other nodes sign with it until they follow (within
        // FOLLOW_INTERVAL, or at their periodic reload), plus clock skew.
        let publish_until = now + max_token_ttl + PUBLISH_SLACK;
        let rotated = match self.table {
            KeyTable::Access => {
                store
                    .rotate_signing_key(&stored, only_if_created_before, publish_until)
                    .await?
            }
            KeyTable::IdToken => {
                store
                    .rotate_id_token_key(&stored, only_if_created_before, publish_until)
                    .await?
            }
        };
        if rotated {
            tracing::info!(kid = %kid, alg = self.alg.as_str(), "signing key rotated");
            self.reload(store, now).await?;
        }
        Ok(rotated)
    }

    /// Re-reads every key from the store.
    pub async fn reload(&self, store: &dyn Store, now: OffsetDateTime) -> Result<(), KeyError> {
        let keys = self.stored(store).await?;
        let mut active = None;
        let mut published = Vec::new();
        let mut by_kid = HashMap::new();
        for k in keys {
            let visible =
                k.retired_at.is_none() || k.publish_until.is_some_and(|until| until > now);
            if !visible {
                continue;
            }
            let broken = |reason: String| KeyError::Broken {
                kid: k.kid.clone(),
                reason,
            };
            let jwk: Jwk =
                serde_json::from_str(&k.public_jwk).map_err(|e| broken(e.to_string()))?;
            let verifying = VerifyingKey::from_jwk(&jwk).map_err(|e| broken(e.to_string()))?;
            if k.retired_at.is_none() {
                let alg: Alg = k
                    .alg
                    .parse()
                    .map_err(|_| broken(format!("unknown alg {}", k.alg)))?;
                let der = self
                    .sealer
                    .open(&k.private_sealed, &aad(&k.kid))
                    .map_err(|_| {
                        broken(
                            "cannot be opened: is the master key the one it was sealed with?"
                                .into(),
                        )
                    })?;
                let signing = SigningKey::from_pkcs8(alg, k.kid.clone(), &der)
                    .map_err(|e| broken(e.to_string()))?;
                active = Some(Arc::new(signing));
            }
            by_kid.insert(k.kid.clone(), verifying.clone());
            published.push((jwk, verifying, k.publish_until));
        }
        let active = active.ok_or(KeyError::NoActiveKey)?;
        let set = KeySet {
            active,
            published,
            by_kid,
        };
        *self.set.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(set));
        *self.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        Ok(())
    }

    /// Reloads when the store's active key is not the one this keyring signs
    /// with (a rotation by another node or by `latchkey keys rotate`): one
    /// indexed single-row read when nothing changed. Servers call it every
    /// [`FOLLOW_INTERVAL`]. Returns whether it reloaded.
    pub async fn follow(&self, store: &dyn Store, now: OffsetDateTime) -> Result<bool, KeyError> {
        let stored = match self.table {
            KeyTable::Access => store.active_signing_kid().await?,
            KeyTable::IdToken => store.active_id_token_kid().await?,
        };
        let ours = self.current().ok().map(|set| set.active.kid().to_owned());
        if stored.is_none() || stored == ours {
            return Ok(false);
        }
        self.reload(store, now).await?;
        Ok(true)
    }

    /// Reloads when a token names an unknown key, at most every few seconds.
    /// Returns whether it reloaded.
    pub async fn reload_for_unknown_kid(&self, store: &dyn Store, now: OffsetDateTime) -> bool {
        {
            let mut last = self.last_reload.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < RELOAD_INTERVAL) {
                return false;
            }
            *last = Some(Instant::now());
        }
        self.reload(store, now).await.is_ok()
    }

    fn current(&self) -> Result<Arc<KeySet>, KeyError> {
        self.set
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(KeyError::NoActiveKey)
    }

    /// The key that signs new tokens.
    pub fn active(&self) -> Result<Arc<SigningKey>, KeyError> {
        Ok(self.current()?.active.clone())
    }

    /// The verifying key for `kid`, if published.
    pub fn verifying_key(&self, kid: &str) -> Option<VerifyingKey> {
        self.current().ok()?.by_kid.get(kid).cloned()
    }

    /// The published keys at `now`, for `/.well-known/jwks.json`.
    pub fn jwks(&self, now: OffsetDateTime) -> Jwks {
        let keys = match self.current() {
            Ok(set) => set
                .published
                .iter()
                .filter(|(_, _, until)| until.is_none_or(|u| u > now))
                .map(|(jwk, _, _)| jwk.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        Jwks { keys }
    }
}
