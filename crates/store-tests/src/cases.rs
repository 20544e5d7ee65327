//! The conformance cases. Each takes a fresh [`TestDb`] and panics on failure.

use std::sync::Arc;

use latchkey_core::abuse::brute_force::LoginFailures;
use latchkey_core::keys::StoredKey;
use latchkey_core::session::{RefreshToken, Rotation, Session, SessionKind};
use latchkey_core::store::{Store, truncate_to_millis};
use latchkey_core::user::{User, normalize_email, normalize_username};
use latchkey_core::{Clock, SystemClock, id};
use time::{Duration, OffsetDateTime};

use crate::db::TestDb;

/// The last-way-in rule while sign-in by mail is off: only credentials
/// count (shared by the removal cases of several slices).
pub(crate) const NO_MAIL: latchkey_core::ways_in::LastWayIn = latchkey_core::ways_in::LastWayIn {
    email_sign_in: false,
};

mod migrations;
pub use migrations::*;
mod users;
pub use users::*;
mod sessions;
pub use sessions::*;
mod exchange;
pub use exchange::*;
mod keys_clients;
pub use keys_clients::*;
mod login_failures;
pub use login_failures::*;
mod account_state;
mod credential_tokens;
mod events;
pub use events::*;
mod legacy_hashes;
pub use legacy_hashes::*;
mod user_transfer;
pub use user_transfer::*;
mod lifecycle;
pub use account_state::*;
mod client_assertions;
mod federation;
mod federation_native;
mod identity_upstream;
mod jobs;
mod mfa;
mod oauth;
mod oauth_grants;
mod passkey_signup;
mod passkeys;
mod passwordless;
mod ways_in;
pub use client_assertions::*;
pub use credential_tokens::*;
pub use federation::*;
pub use federation_native::*;
pub use identity_upstream::*;
pub use jobs::*;
pub use lifecycle::*;
pub use mfa::*;
pub use oauth::*;
pub use oauth_grants::*;
pub use passkey_signup::*;
pub use passkeys::*;
pub use passwordless::*;
pub use ways_in::*;
mod roles_audit;
pub use roles_audit::*;
mod rotation;
mod session_reads;
pub use session_reads::*;
mod i18n;
mod webhooks;
pub use webhooks::*;
mod sweep;
pub use i18n::*;
pub use rotation::*;
pub use sweep::*;

async fn migrated(db: &dyn TestDb) -> Arc<dyn Store> {
    let store = db.open().await;
    store
        .migrate()
        .await
        .expect("migrations apply on an empty database");
    store
}

/// A user with millisecond timestamps, as the contract stores them.
pub fn sample_user(email: &str, username: Option<&str>) -> User {
    let now = truncate_to_millis(SystemClock.now());
    User {
        id: id::new_id(),
        email: email.trim().to_owned(),
        email_normalized: normalize_email(email),
        email_verified: false,
        username: username.map(str::to_owned),
        username_normalized: username.map(normalize_username),
        name: Some("Sample Person".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        created_at: now,
        updated_at: now,
        suspension: None,
        locale: None,
    }
}

/// The base instant of a case, millisecond-aligned so that every time built
/// from it round-trips exactly on every backend.
fn base_now() -> OffsetDateTime {
    truncate_to_millis(SystemClock.now())
}

/// Inserts a fresh user and returns it.
async fn stored_user(store: &dyn Store) -> User {
    let user = sample_user(&format!("{}@example.com", id::new_id()), None);
    store.insert_user(&user, &[], None).await.unwrap();
    user
}

/// A bearer session of `user_id` created at `now`: 30 days absolute, 7 days idle.
pub fn sample_session(user_id: &str, now: OffsetDateTime) -> Session {
    Session {
        id: id::new_id(),
        user_id: user_id.to_owned(),
        kind: SessionKind::Bearer,
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::days(30),
        idle_expires_at: now + Duration::days(7),
        auth_time: now - Duration::seconds(5),
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0".into()),
        device_label: Some("Firefox on Linux".into()),
        cookie_token_hash: None,
        revoked_at: None,
        revoked_reason: None,
    }
}

/// A fresh refresh-token hash (unique per call).
fn token_hash(label: &str) -> String {
    format!("{label}-{}", id::new_id())
}

/// An unused refresh token of `session_id` issued at `now`, valid 30 days.
pub fn sample_token(session_id: &str, now: OffsetDateTime) -> RefreshToken {
    RefreshToken {
        token_hash: token_hash("rt"),
        session_id: session_id.to_owned(),
        created_at: now,
        expires_at: now + Duration::days(30),
        used_at: None,
    }
}

/// An exchange of `presented` at `now` with a fresh successor, a grace
/// window of `grace` and a 7-day idle extension.
fn rotation_at(presented: &str, now: OffsetDateTime, grace: Duration, sealed: &[u8]) -> Rotation {
    Rotation {
        presented_hash: presented.to_owned(),
        successor: RefreshToken {
            token_hash: token_hash("succ"),
            // the store uses the presented token's session, whatever this says
            session_id: "not-the-session".into(),
            created_at: now,
            expires_at: now + Duration::days(30),
            used_at: None,
        },
        successor_sealed: sealed.to_vec(),
        grace_until: now + grace,
        idle_expires_at: now + Duration::days(7),
        now,
    }
}

/// A user with one bearer session (created at `now`) and its first refresh token.
async fn bearer_session(store: &dyn Store, now: OffsetDateTime) -> (Session, RefreshToken) {
    let user = stored_user(store).await;
    let session = sample_session(&user.id, now);
    let token = sample_token(&session.id, now);
    store.create_session(&session, Some(&token)).await.unwrap();
    (session, token)
}

/// A signing key made at `created_at`.
pub fn sample_key(created_at: OffsetDateTime) -> StoredKey {
    let kid = id::new_id();
    StoredKey {
        public_jwk: format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"AAAA"}}"#),
        kid,
        alg: "EdDSA".into(),
        private_sealed: vec![0, 1, 2, 254, 255, 42],
        created_at,
        retired_at: None,
        publish_until: None,
    }
}

fn failures_row(key: &str, failures: u32, at: OffsetDateTime, locked: bool) -> LoginFailures {
    LoginFailures {
        key: key.to_owned(),
        failures,
        last_failure_at: at,
        next_attempt_at: at + Duration::seconds(i64::from(failures)),
        locked_at: locked.then_some(at),
    }
}
