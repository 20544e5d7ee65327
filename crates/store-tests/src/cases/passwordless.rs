//! Conformance cases of issue 15: magic links and email codes. A newer one
//! supersedes the older of its kind and address; a use and each attempt are
//! decided on the locked row, so of concurrent uses one wins and no more
//! than five attempts are reserved; they die with the account's other
//! credential tokens.

use std::sync::Arc;

use latchkey_core::audit::{AuditEvent, EventType};
use latchkey_core::id;
use latchkey_core::passwordless::{AttemptTarget, Kind, MAX_ATTEMPTS, PasswordlessToken, Refusal};
use latchkey_core::store::Store;
use latchkey_core::user::User;
use time::{Duration, OffsetDateTime};

use super::credential_tokens::{EVERY_CHANGE, apply, tokens_of_every_purpose};
use super::lifecycle::{ev, events_about, job, mail};
use super::{base_now, migrated, stored_user};
use crate::TestDb;

fn token(kind: Kind, email: &str, user: Option<&User>, now: OffsetDateTime) -> PasswordlessToken {
    let id = id::new_id();
    PasswordlessToken {
        token_hash: (kind == Kind::Link).then(|| format!("hash-{id}")),
        code_hash: format!("code-{id}"),
        id,
        kind,
        email: email.to_owned(),
        user_id: user.map(|u| u.id.clone()),
        browser_hash: Some("browser".into()),
        code_challenge: None,
        redirect_to: Some("/account".into()),
        attempts: 0,
        created_at: now,
        expires_at: now + Duration::minutes(15),
        used_at: None,
    }
}

/// The `email.verified` event of a use by `user`.
fn proven(user: &User, now: OffsetDateTime) -> AuditEvent {
    ev(EventType::EmailVerified, user, now)
}

async fn stored(store: &dyn Store, t: &PasswordlessToken) {
    let (m, j) = mail(None, t.created_at);
    assert!(store.insert_passwordless_token(t, &m, &j).await.unwrap());
}

async fn link_used_at(store: &dyn Store, t: &PasswordlessToken) -> Option<OffsetDateTime> {
    store
        .passwordless_link(t.token_hash.as_deref().unwrap())
        .await
        .unwrap()
        .expect("the row stays")
        .used_at
}

/// A link round-trips; a newer link to the address supersedes it (codes and
/// other addresses are untouched); a link is used once, never after it
/// expired; a retried job's mail stores nothing.
pub async fn passwordless_tokens_supersede_and_are_used_once(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let first = token(Kind::Link, &user.email_normalized, Some(&user), now);
    stored(store.as_ref(), &first).await;
    assert_eq!(
        store
            .passwordless_link(first.token_hash.as_deref().unwrap())
            .await
            .unwrap(),
        Some(first.clone())
    );
    let code = token(Kind::Code, &user.email_normalized, Some(&user), now);
    stored(store.as_ref(), &code).await;
    let elsewhere = token(Kind::Link, "other@example.com", None, now);
    stored(store.as_ref(), &elsewhere).await;
    let later = now + Duration::seconds(1);
    let second = token(Kind::Link, &user.email_normalized, Some(&user), later);
    stored(store.as_ref(), &second).await;
    assert_eq!(link_used_at(store.as_ref(), &first).await, Some(later));
    assert!(
        !store
            .use_passwordless_token(&first.id, later, &proven(&user, later))
            .await
            .unwrap()
    );
    assert_eq!(link_used_at(store.as_ref(), &elsewhere).await, None);
    assert!(
        store
            .reserve_passwordless_attempt(AttemptTarget::Code(&user.email_normalized), later)
            .await
            .unwrap()
            .is_ok(),
        "a new link leaves the code alone"
    );
    // a retried job: its mail's key exists, nothing is stored
    let (m, mut j) = mail(None, later);
    j.idempotency_key = "passwordless.request:job-1".into();
    let third = token(Kind::Link, &user.email_normalized, Some(&user), later);
    assert!(
        store
            .insert_passwordless_token(&third, &m, &j)
            .await
            .unwrap()
    );
    let (m2, _) = mail(None, later);
    let mut j2 = job("mail.send", "passwordless.request:job-1", later);
    j2.payload = m2.id.clone().into_bytes();
    let fourth = token(Kind::Link, &user.email_normalized, Some(&user), later);
    assert!(
        !store
            .insert_passwordless_token(&fourth, &m2, &j2)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .passwordless_link(fourth.token_hash.as_deref().unwrap())
            .await
            .unwrap(),
        None
    );
    // used once, not after expiry
    let expired = third.expires_at;
    assert!(
        !store
            .use_passwordless_token(&third.id, expired, &proven(&user, expired))
            .await
            .unwrap()
    );
    assert!(
        store
            .use_passwordless_token(&third.id, later, &proven(&user, later))
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_passwordless_token(&third.id, later, &proven(&user, later))
            .await
            .unwrap()
    );
    assert_eq!(link_used_at(store.as_ref(), &third).await, Some(later));
    // the use proved the mailbox: verified, recorded once
    let user = store.user_by_id(&user.id).await.unwrap().unwrap();
    assert!(user.email_verified);
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        ["email.verified"]
    );
    let fifth = token(Kind::Code, &user.email_normalized, Some(&user), later);
    stored(store.as_ref(), &fifth).await;
    assert!(
        store
            .use_passwordless_token(&fifth.id, later, &proven(&user, later))
            .await
            .unwrap()
    );
    assert_eq!(
        events_about(store.as_ref(), &user.id).await,
        ["email.verified"]
    );
}

/// At most five attempts are reserved for a code, also when fifty race; the
/// fifth may still be used; a code answers for its address only.
pub async fn passwordless_attempts_are_reserved_at_most_five_times(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let code = token(Kind::Code, &user.email_normalized, Some(&user), now);
    stored(store.as_ref(), &code).await;
    assert_eq!(
        store
            .reserve_passwordless_attempt(AttemptTarget::Code("someone@example.com"), now)
            .await
            .unwrap(),
        Err(None),
        "no code outstanding for the address"
    );
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            let email = user.email_normalized.clone();
            tokio::spawn(async move {
                store
                    .reserve_passwordless_attempt(AttemptTarget::Code(&email), now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(t) => counts.push(t.attempts),
            Err(why) => assert_eq!(why, Some(Refusal::Exhausted), "the rule says why"),
        }
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=MAX_ATTEMPTS).collect::<Vec<_>>());
    assert!(
        store
            .use_passwordless_token(&code.id, now, &proven(&user, now))
            .await
            .unwrap()
    );
    // a link's code, by id: the same rule
    let link = token(Kind::Link, &user.email_normalized, Some(&user), now);
    stored(store.as_ref(), &link).await;
    for n in 1..=MAX_ATTEMPTS {
        let t = store
            .reserve_passwordless_attempt(AttemptTarget::Link(&link.id), now)
            .await
            .unwrap()
            .expect("reserved");
        assert_eq!(t.attempts, n);
    }
    assert_eq!(
        store
            .reserve_passwordless_attempt(AttemptTarget::Link(&link.id), now)
            .await
            .unwrap(),
        Err(Some(Refusal::Exhausted))
    );
}

/// Of fifty concurrent uses of one link, exactly one wins.
pub async fn concurrent_uses_of_one_passwordless_token_admit_one(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let user = stored_user(store.as_ref()).await;
    let link = token(Kind::Link, &user.email_normalized, Some(&user), now);
    stored(store.as_ref(), &link).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            let id = link.id.clone();
            let proof = proven(&user, now);
            tokio::spawn(async move {
                store
                    .use_passwordless_token(&id, now, &proof)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

/// Every change that voids the account's credential tokens voids its links
/// and codes too, at the change's time; another account's stay.
pub async fn passwordless_tokens_die_with_every_change_of_address_or_password(db: &dyn TestDb) {
    let store = migrated(db).await;
    let now = base_now();
    let at = now + Duration::seconds(1);
    for change in EVERY_CHANGE {
        let user = stored_user(store.as_ref()).await;
        let bystander = stored_user(store.as_ref()).await;
        let tokens = tokens_of_every_purpose(store.as_ref(), &user, now).await;
        let mine = token(Kind::Link, &user.email_normalized, Some(&user), now);
        let theirs = token(
            Kind::Link,
            &bystander.email_normalized,
            Some(&bystander),
            now,
        );
        stored(store.as_ref(), &mine).await;
        stored(store.as_ref(), &theirs).await;
        apply(store.as_ref(), change, &user, &tokens, at).await;
        assert_eq!(
            link_used_at(store.as_ref(), &mine).await,
            Some(at),
            "{change:?}"
        );
        assert_eq!(
            link_used_at(store.as_ref(), &theirs).await,
            None,
            "{change:?}"
        );
    }
}
