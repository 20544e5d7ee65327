//! `latchkey seed --users N`: realistic test data for development and the
//! scale benchmarks — accounts (most verified, some with a username, a few
//! moderators), their `user.registered` audit events, and a signed-in
//! session with its `login.succeeded` event for every third account.
//!
//! Speed comes from hashing once: every seeded account shares one argon2id
//! hash of [`SEED_PASSWORD`] (made on the hash pool with the configured
//! parameters, so signing in as a seeded user costs what a real sign-in
//! costs), and the writes go to the store in batches of one transaction
//! each (`UserTransferStore::insert_accounts`). Production
//! refuses to seed: a known password on many accounts is test data only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_core::audit::{AuditEvent, EventType};
use latchkey_core::auth::ClientInfo;
use latchkey_core::id::new_id;
use latchkey_core::password::{LengthPolicy, Password};
use latchkey_core::services::Services;
use latchkey_core::session::{Session, SessionKind, device_label};
use latchkey_core::user::{User, normalize_email, normalize_username};
use latchkey_core::user_transfer::{BATCH, NewAccount};
use time::OffsetDateTime;

use crate::config::{Config, Profile};
use crate::start::StartError;

/// The password of every seeded account.
pub const SEED_PASSWORD: &str = "latchkey seed password";

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Edsger",
    "Frances",
    "Grace",
    "Hedy",
    "Ken",
    "Katherine",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Shafi",
    "Tim",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Lamarr",
    "Thompson",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Goldwasser",
    "Berners-Lee",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
];

/// What `seed` made.
#[derive(Debug)]
pub struct SeedReport {
    /// Accounts created.
    pub users: u64,
    /// Sessions created.
    pub sessions: u64,
    /// The address of the first account (the rest follow its pattern).
    pub first_email: String,
    /// How long it took.
    pub elapsed: Duration,
}

/// Refuses the production profile, before anything is opened or written.
pub fn refuse_production(config: &Config) -> Result<(), StartError> {
    if config.server.profile == Profile::Production {
        return Err(StartError(
            "seed refuses the production profile: seeded accounts share a known password".into(),
        ));
    }
    Ok(())
}

/// Seeds `count` accounts; refuses in production.
pub async fn seed(
    config: &Config,
    auth: Arc<Services>,
    count: u64,
) -> Result<SeedReport, StartError> {
    refuse_production(config)?;
    let started = Instant::now();
    let password = Password::new(SEED_PASSWORD, &LengthPolicy::default())
        .map_err(|e| StartError(format!("the seed password: {e}")))?;
    let hash: Arc<str> = auth
        .hasher()
        .hash(password)
        .await
        .map_err(|e| StartError(format!("cannot hash the seed password: {e}")))?
        .into();
    // A tag per run keeps a second run's addresses apart from the first's.
    let tag = &latchkey_tokens::sha256_hex(new_id().as_bytes())[..6];
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let store = auth.store();
    let mut sessions = 0u64;
    let mut done = 0u64;
    let step = (count / 10).max(1);
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..count {
        batch.push(seed_one(i, tag, &hash, now));
        if batch.len() == BATCH || i + 1 == count {
            sessions += batch.iter().filter(|a| a.session.is_some()).count() as u64;
            store
                .insert_accounts(&batch)
                .await
                .map_err(|e| StartError(format!("cannot seed accounts up to {i}: {e}")))?;
            let before = done;
            done += batch.len() as u64;
            batch.clear();
            if done / step > before / step {
                eprintln!("seeded {done} of {count} accounts");
            }
        }
    }
    Ok(SeedReport {
        users: count,
        sessions,
        first_email: email(0, tag),
        elapsed: started.elapsed(),
    })
}

fn email(i: u64, tag: &str) -> String {
    format!("user{i}.{tag}@example.test")
}

/// One account with its event, and every third one signed in.
fn seed_one(i: u64, tag: &str, hash: &str, now: OffsetDateTime) -> NewAccount {
    // spread over the past year, deterministic per index
    let created_at = now - time::Duration::minutes(((i * 7_919) % 525_600) as i64);
    let first = FIRST_NAMES[(i % FIRST_NAMES.len() as u64) as usize];
    let last = LAST_NAMES[((i / FIRST_NAMES.len() as u64) % LAST_NAMES.len() as u64) as usize];
    let username = i
        .is_multiple_of(2)
        .then(|| format!("{}{i}{tag}", first.to_lowercase()));
    let email = email(i, tag);
    let user = User {
        id: new_id(),
        email_normalized: normalize_email(&email),
        email,
        email_verified: !i.is_multiple_of(10),
        username_normalized: username.as_deref().map(normalize_username),
        username,
        name: Some(format!("{first} {last}")),
        password_hash: Some(hash.to_owned()),
        created_at,
        updated_at: created_at,
        suspension: None,
        locale: None,
    };
    let client = ClientInfo {
        ip: Some(format!("198.51.100.{}", i % 254 + 1)),
        user_agent: Some(USER_AGENTS[(i % USER_AGENTS.len() as u64) as usize].to_owned()),
        request_id: None,
    };
    let roles: Vec<String> = if i % 100 == 99 {
        vec!["moderator".into()]
    } else {
        Vec::new()
    };
    let event = AuditEvent::new(EventType::UserRegistered, created_at, &client)
        .actor(Some(&user.id))
        .subject(&user.id);
    if !i.is_multiple_of(3) {
        return NewAccount {
            user,
            roles,
            events: vec![event],
            session: None,
            identities: Vec::new(),
        };
    }
    let signed_in = now - time::Duration::minutes(((i * 31) % 1_440) as i64);
    let session = Session {
        id: new_id(),
        user_id: user.id.clone(),
        kind: SessionKind::Cookie,
        created_at: signed_in,
        last_seen_at: signed_in,
        expires_at: signed_in + time::Duration::days(30),
        idle_expires_at: signed_in + time::Duration::days(7),
        auth_time: signed_in,
        amr: vec!["pwd".into()],
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        device_label: client.user_agent.as_deref().map(device_label),
        cookie_token_hash: Some(latchkey_tokens::sha256_hex(
            latchkey_tokens::random_token().as_bytes(),
        )),
        revoked_at: None,
        revoked_reason: None,
    };
    let login = AuditEvent::new(EventType::LoginSucceeded, signed_in, &client)
        .actor(Some(&user.id))
        .subject(&user.id)
        .session(&session.id);
    NewAccount {
        user,
        roles,
        events: vec![event, login],
        session: Some(session),
        identities: Vec::new(),
    }
}
