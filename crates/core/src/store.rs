//! The store contract: what latchkey needs from persistence.
//!
//! Every backend crate implements these traits, and the conformance suite in
//! `latchkey-store-tests` runs the same cases against each of them. Business
//! code only ever sees `dyn Store`; there is no `if postgres` anywhere above
//! this line.
//!
//! Contract details every backend honours:
//! - timestamps are stored with millisecond precision (truncated on write);
//! - unique-constraint violations come back as [`StoreError::Conflict`] naming
//!   the field (`"email"`, `"username"`, `"id"`), never as a backend error;
//! - a dropped connection or an unreachable server is
//!   [`StoreError::Unavailable`], which the HTTP layer turns into 503 with
//!   `Retry-After`;
//! - migrations are forward-only, recorded with a checksum, and safe to run
//!   from several nodes at once (the backend takes a lock).

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::abuse::failures::LoginFailures;
use crate::audit::{AuditEvent, AuditQuery};
use crate::keys::{Client, StoredKey};
use crate::lifecycle::{
    AccountState, AccountToken, ClaimedJob, JobRecord, NewJob, OutboxMessage, QueuedMail, Redeemed,
    Redemption, SweepPlan, SweepReport, TokenPurpose,
};
use crate::roles::{Role, UserRoleGraph};
use crate::session::{
    IssueSuccessor, RefreshToken, RotateOutcome, Rotation, Session, SessionCreated, SessionKey,
    WhichSessions,
};
use crate::user::{Suspension, User, UserSearch};

/// What can go wrong in a store, in terms the domain can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (for updates and deletes; lookups return `None`).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; the value names the field.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The backend cannot be reached right now; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug, corrupt data, a failed migration. Logged, never shown.
    #[error("store backend error: {0}")]
    Backend(String),
}

/// The outcome of applying migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Names of the migrations applied by this call, in order.
    pub applied: Vec<String>,
    /// How many migrations were already in place before this call.
    pub already_applied: usize,
}

/// The whole store: every repository trait plus lifecycle operations.
#[async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + KeyStore
    + ClientStore
    + RoleStore
    + AuditStore
    + AdminStore
    + LoginFailureStore
    + LifecycleStore
    + crate::mfa::MfaStore
    + crate::passkeys::PasskeyStore
    + crate::passkeys::PasskeySignupStore
    + crate::events::EventStore
    + crate::oauth::OAuthStore
    + crate::oauth::OAuthGrantStore
    + crate::oauth::ClientAssertionStore
    + crate::legacy_hashes::LegacyHashStore
    + crate::user_transfer::UserTransferStore
    + crate::federation::FederationStore
    + crate::federation::IdentityUpstreamStore
    + crate::passwordless::PasswordlessStore
    + crate::ways_in::WaysInStore
    + crate::webhooks::WebhookStore
    + Send
    + Sync
    + 'static
{
    /// Short backend name for logs and metrics (`"sqlite"`, `"postgres"`).
    fn backend(&self) -> &'static str;

    /// A cheap round trip proving the database answers (used by `/health/ready`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies every pending migration under a lock; returns what it did.
    async fn migrate(&self) -> Result<MigrationReport, StoreError>;

    /// Names of migrations known to this binary but not yet applied.
    async fn pending_migrations(&self) -> Result<Vec<String>, StoreError>;
}

/// Persistence of user accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a new user with assigned `roles` and, when given, the audit
    /// event recording it, in one transaction. Fails with
    /// `Conflict("email")` or `Conflict("username")` when a normalized value
    /// is taken; `NotFound` for an unknown role (and nothing is stored).
    async fn insert_user(
        &self,
        user: &User,
        roles: &[String],
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError>;

    /// Looks a user up by id.
    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;

    /// Looks a user up by normalized email.
    async fn user_by_email(&self, email_normalized: &str) -> Result<Option<User>, StoreError>;

    /// Looks a user up by normalized username.
    async fn user_by_username(&self, username_normalized: &str)
    -> Result<Option<User>, StoreError>;

    /// Users in id order after `after_id` (exclusive), at most `limit`.
    async fn list_users(&self, after_id: Option<&str>, limit: u32)
    -> Result<Vec<User>, StoreError>;

    /// Replaces the profile fields (`email`, `email_normalized`,
    /// `email_verified`, `username`, `username_normalized`, `name`,
    /// `updated_at`) of an existing user, with the audit event recording it
    /// when given, in one transaction. `NotFound` if there is none;
    /// `Conflict("username")`/`Conflict("email")` as for inserts. When
    /// `email_normalized` changes, the user's outstanding credential tokens
    /// (see [`CREDENTIAL_TOKENS`](crate::lifecycle::CREDENTIAL_TOKENS)) are
    /// voided in the same transaction.
    async fn update_user(&self, user: &User, event: Option<&AuditEvent>) -> Result<(), StoreError>;

    /// Replaces the password hash `replaced` with `hash` (a rehash on login
    /// under new parameters), only while the stored hash is still
    /// `replaced`: a password change or reset that committed meanwhile wins,
    /// and an old password is never written back. `NotFound` when the user
    /// is unknown or its hash is no longer `replaced`.
    async fn set_password_hash(
        &self,
        user_id: &str,
        replaced: &str,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Persistence of sessions and their refresh tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session and, for bearer sessions, its first refresh
    /// token, in one transaction, unless the user is suspended at
    /// `session.created_at` ([`SessionCreated::UserSuspended`], nothing
    /// stored): the check and the insert are atomic with respect to
    /// [`AdminStore::suspend_user`], so a sign-in racing a suspension cannot
    /// leave a live session behind.
    async fn create_session(
        &self,
        session: &Session,
        first_refresh: Option<&RefreshToken>,
    ) -> Result<SessionCreated, StoreError>;

    /// Looks a session up by id (whatever its state).
    async fn session_by_id(&self, id: &str) -> Result<Option<Session>, StoreError>;

    /// Looks a session up by the hash of its cookie token (whatever its state).
    async fn session_by_cookie_hash(&self, hash: &str) -> Result<Option<Session>, StoreError>;

    /// A session (whatever its state) with its user, in one read: the
    /// token check of every authenticated request.
    async fn session_with_user(
        &self,
        key: SessionKey<'_>,
    ) -> Result<Option<(Session, User)>, StoreError>;

    /// The user's sessions that are active at `now`, newest first.
    async fn active_sessions_of_user(
        &self,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, StoreError>;

    /// Records use of an active session: `last_seen_at = now` and the new
    /// sliding end. No effect on an ended session.
    async fn touch_session(
        &self,
        id: &str,
        now: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Ends one session. Returns whether it was still unrevoked.
    async fn revoke_session(
        &self,
        id: &str,
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<bool, StoreError>;

    /// Ends the user's unrevoked sessions that `which` selects (one of
    /// theirs, or all but one) and, when any ended and `event` is given,
    /// records it in the same transaction. Returns how many ended.
    async fn revoke_sessions(
        &self,
        user_id: &str,
        which: WhichSessions<'_>,
        now: OffsetDateTime,
        reason: &str,
        event: Option<&AuditEvent>,
    ) -> Result<u64, StoreError>;

    /// A refresh token by hash, with its session.
    async fn refresh_token(
        &self,
        hash: &str,
    ) -> Result<Option<(RefreshToken, Session)>, StoreError>;

    /// Exchanges a refresh token for its successor atomically, in one call
    /// (on SQLite, one job on the writer): reads the presented token, its
    /// session and whether its successor is still unused, and executes what
    /// [`crate::session::PresentedToken::decide`] says, in one transaction. To rotate, it
    /// reads the user's role graph in that transaction and asks `issue` for
    /// the [`Rotation`] (signed access token, successor, sealed grace
    /// response); an `Err` from `issue` writes nothing. Of any number of
    /// concurrent exchanges of one token exactly one gets `Rotated`; the
    /// others get `GraceRetry` (within the grace window, while the successor
    /// is unused) or end the session (`Reused`). The exchange records the
    /// successor's hash on the used token, caps what it stores with
    /// [`Rotation::capped`], and ignores the presented hash and the session
    /// id of the issued rotation (the ones read are used).
    async fn exchange_refresh_token(
        &self,
        presented_hash: &str,
        now: OffsetDateTime,
        issue: Arc<IssueSuccessor>,
    ) -> Result<RotateOutcome, StoreError>;

    /// [`SessionStore::exchange_refresh_token`] with a rotation made in
    /// advance (tests, tools).
    async fn rotate_refresh_token(&self, rotation: &Rotation) -> Result<RotateOutcome, StoreError> {
        let prepared = rotation.clone();
        let issue: Arc<IssueSuccessor> = Arc::new(move |_, _| Ok(prepared.clone()));
        self.exchange_refresh_token(&rotation.presented_hash, rotation.now, issue)
            .await
    }
}

/// Persistence of token-signing keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every stored key, newest first.
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError>;

    /// The `kid` of the active key, if any: the cheap "keys version" every
    /// node polls to pick up a rotation made elsewhere (another node, or
    /// `latchkey keys rotate`) within seconds.
    async fn active_signing_kid(&self) -> Result<Option<String>, StoreError>;

    /// Makes `new` the active key, atomically retiring the current one
    /// (`retired_at = new.created_at`, `publish_until = previous_publish_until`),
    /// but only when there is no active key or the active one was created
    /// before `rotate_if_created_before` (`None`: unconditionally). Safe when
    /// several nodes try at once: at most one of them rotates. Returns
    /// whether it rotated.
    async fn rotate_signing_key(
        &self,
        new: &StoredKey,
        rotate_if_created_before: Option<OffsetDateTime>,
        previous_publish_until: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// Persistence of OAuth clients.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Stores a new client; `Conflict("id")` if the id is taken.
    async fn insert_client(&self, client: &Client) -> Result<(), StoreError>;

    /// Looks a client up by id.
    async fn client_by_id(&self, id: &str) -> Result<Option<Client>, StoreError>;

    /// Every client, by id.
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
}

/// Persistence of roles and users' role assignments.
///
/// The store keeps a row for each built-in role (so that custom roles can
/// name one as parent); their definitions are in code ([`crate::roles`]).
/// Every write takes the audit event recording it and stores both in one
/// transaction.
#[async_trait]
pub trait RoleStore: Send + Sync {
    /// Every role, built-in ones included, by name.
    async fn list_roles(&self) -> Result<Vec<Role>, StoreError>;

    /// One role by name.
    async fn role_by_name(&self, name: &str) -> Result<Option<Role>, StoreError>;

    /// Stores a new role; `Conflict("name")` if the name is taken.
    async fn insert_role(&self, role: &Role, event: &AuditEvent) -> Result<(), StoreError>;

    /// Replaces `description`, `parent`, `permissions` and `updated_at`;
    /// `NotFound` if there is no such role.
    async fn update_role(&self, role: &Role, event: &AuditEvent) -> Result<(), StoreError>;

    /// Deletes a role and every assignment of it; returns how many users
    /// had it. `NotFound` if there is none; `Conflict("parent")` while
    /// another role names it as parent.
    async fn delete_role(&self, name: &str, event: &AuditEvent) -> Result<u64, StoreError>;

    /// The roles assigned to the user and every role reachable from them by
    /// parent links, in one read.
    async fn user_role_graph(&self, user_id: &str) -> Result<UserRoleGraph, StoreError>;

    /// `(user_id, role)` for every role assigned to any of these users.
    async fn assigned_roles_of_users(
        &self,
        user_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Replaces the user's assigned roles with `roles` at `now`; with
    /// `end_sessions`, also ends every session of the user (that reason).
    /// Returns how many sessions were ended. `NotFound` if the user or one
    /// of the roles does not exist (and nothing changes).
    async fn set_user_roles(
        &self,
        user_id: &str,
        roles: &[String],
        end_sessions: Option<&str>,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, StoreError>;
}

/// The append-only audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one event.
    async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// Events matching the query, newest first (or oldest first), paged by id.
    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;

    /// Deletes at most `limit` of the events older than `before` (the
    /// retention sweep); returns how many. Safe to run from several nodes.
    async fn purge_audit_events(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError>;
}

/// The user search of the admin API, and the writes made on a user's
/// account by an administrator or by the user, each with its audit event in
/// the same transaction.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Users matching the search, in id order after `after_id`.
    async fn search_users(&self, search: &UserSearch) -> Result<Vec<User>, StoreError>;

    /// Deletes a user (sessions, tokens and role assignments go with it)
    /// and records `event`; `NotFound` if there is none. Audit events about
    /// the user stay.
    async fn delete_user(&self, user_id: &str, event: &AuditEvent) -> Result<(), StoreError>;

    /// Suspends a user, ends every session of theirs (reason `suspended`)
    /// and voids their outstanding credential tokens at
    /// `suspension.suspended_at`; returns how many sessions ended.
    /// `NotFound` if there is no such user.
    async fn suspend_user(
        &self,
        user_id: &str,
        suspension: &Suspension,
        event: &AuditEvent,
    ) -> Result<u64, StoreError>;

    /// Lifts a suspension (a no-op on an unsuspended user); `NotFound` if
    /// there is no such user.
    async fn unsuspend_user(
        &self,
        user_id: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
}

/// Persistence of sign-in failure counters (see [`crate::abuse::brute_force`]).
#[async_trait]
pub trait LoginFailureStore: Send + Sync {
    /// The counter under `key`, if any.
    async fn login_failures(&self, key: &str) -> Result<Option<LoginFailures>, StoreError>;

    /// Replaces the counter under `key` with `new` (whose `key` is the
    /// same), but only if its stored `failures` is `expected`; a missing row
    /// counts as 0. Returns whether it replaced. Of several concurrent calls
    /// with the same `expected`, exactly one succeeds.
    async fn swap_login_failures(
        &self,
        key: &str,
        expected: u32,
        new: &LoginFailures,
    ) -> Result<bool, StoreError>;

    /// Deletes the counter under `key` (a success, an unlock). Returns
    /// whether there was one.
    async fn clear_login_failures(&self, key: &str) -> Result<bool, StoreError>;

    /// Deletes unlocked counters whose last failure is before `before`.
    /// Returns how many.
    async fn purge_login_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Persistence of the account lifecycle: account tokens, account state,
/// the mail outbox and background jobs.
///
/// Every method that changes more than one row does so in one transaction;
/// an audit event passed with a change is stored in that transaction, and
/// only when the change happens. Whoever adds a table holding personal data
/// must also clear it in [`LifecycleStore::anonymize_user`].
#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// Stores a token and the mail carrying it, in one transaction, first
    /// voiding (marking used) the user's unused tokens of the same purpose:
    /// a newer link supersedes older ones; with `notice`, queues that
    /// message too (the email change's notice to the old address); with
    /// `event`, records it too. When the mail's delivery job has an
    /// idempotency key that exists already (a retried job that made this
    /// token before), nothing at all is stored and the answer is `false`:
    /// the first run's token and mail stand.
    async fn insert_account_token(
        &self,
        token: &AccountToken,
        mail: &QueuedMail,
        job: &NewJob,
        notice: Option<(&QueuedMail, &NewJob)>,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError>;

    /// Registers a user: the user row, its verification token, the mail
    /// carrying the link (with its delivery job) and `event`, in one
    /// transaction, so that no committed account lacks its mail.
    /// `Conflict("email")` / `Conflict("username")` as for
    /// [`UserStore::insert_user`], and then nothing is stored.
    async fn register_user(
        &self,
        user: &User,
        token: &AccountToken,
        mail: &QueuedMail,
        job: &NewJob,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// A token by hash, whatever its state.
    async fn account_token(&self, hash: &str) -> Result<Option<AccountToken>, StoreError>;

    /// Redeems a token atomically: reads the token and its owner (locked
    /// against concurrent redemptions) and executes what
    /// [`Redemption::decide`] says in one transaction: marks the token used,
    /// applies the [`crate::lifecycle::RedemptionWrite`], records `event` and
    /// queues `notice`. `None` (and no change) when core refuses. A
    /// redemption that changes the password or the address voids every other
    /// outstanding credential token of the user (see
    /// [`CREDENTIAL_TOKENS`](crate::lifecycle::CREDENTIAL_TOKENS)).
    async fn redeem_account_token(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        action: &Redemption,
        notice: Option<(&QueuedMail, &NewJob)>,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<Option<Redeemed>, StoreError>;

    /// The account's lifecycle state; `None` for an unknown user.
    async fn account_state(&self, user_id: &str) -> Result<Option<AccountState>, StoreError>;

    /// Sets the password and ends every session of the user except `keep`,
    /// voids the user's outstanding credential tokens, queues `notice` and
    /// records `event`, in one transaction. Returns the sessions ended.
    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
        notice: Option<(&QueuedMail, &NewJob)>,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, StoreError>;

    /// Records a fresh authentication on an unrevoked session (`auth_time`).
    /// Returns whether there was such a session.
    async fn set_session_auth_time(
        &self,
        session_id: &str,
        auth_time: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Whether the user has any session (in any state) and whether one of
    /// them came from this device label and IP: `(any, seen)`.
    async fn device_seen(
        &self,
        user_id: &str,
        device_label: Option<&str>,
        ip: Option<&str>,
    ) -> Result<(bool, bool), StoreError>;

    /// Schedules the deletion of the account for when the `cancel` token
    /// expires (`cancel.expires_at`), ends every session, voids the user's
    /// outstanding credential tokens, stores the cancel token with its mail
    /// and records `event`, in one transaction.
    /// `NotFound` for an unknown or already deleted user.
    async fn schedule_deletion(
        &self,
        user_id: &str,
        cancel: &AccountToken,
        mail: &QueuedMail,
        job: &NewJob,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Deactivates the account and ends every session (`Some`), or
    /// reactivates it (`None`), recording `event` in the same transaction.
    /// `NotFound` for an unknown user.
    async fn set_deactivated(
        &self,
        user_id: &str,
        at: Option<OffsetDateTime>,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Ids of users whose deletion is due at `now`, at most `limit`.
    async fn deletions_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;

    /// Turns the user into a tombstone, in one transaction: the row stays
    /// (so ids in logs still resolve) with no email, username, name or
    /// password (nor suspension note), and every row hanging off it
    /// (sessions and their refresh tokens, account tokens, outbox messages,
    /// role assignments, its sign-in failure counter, linked identities) is deleted; `event` is
    /// recorded. Only when the deletion is due at `now`; returns whether it
    /// happened. Audit events about the account stay (they hold no address).
    async fn anonymize_user(
        &self,
        user_id: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Queues a message and its delivery job in one transaction. `false`
    /// (nothing stored) when the job's idempotency key exists already.
    async fn enqueue_mail(&self, mail: &QueuedMail, job: &NewJob) -> Result<bool, StoreError>;

    /// An outbox message by id.
    async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>, StoreError>;

    /// Records that the transport accepted the message and wipes its sealed
    /// content. Returns whether it was unsent until now.
    async fn mark_mail_sent(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Stores a job unless one with its idempotency key exists; returns
    /// whether it was stored.
    async fn enqueue_job(&self, job: &NewJob) -> Result<bool, StoreError>;

    /// Claims up to `limit` unfinished jobs due at `now` whose lease is free
    /// (never taken, or expired), earliest first: each gets `worker` and
    /// `lease_until` and one more attempt. Concurrent claims (other
    /// handles, other nodes) never get the same job while its lease runs.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError>;

    /// Finishes a job as done (and empties its payload), if `worker` still
    /// holds it. Returns whether it did.
    async fn complete_job(
        &self,
        id: &str,
        worker: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Releases a failed attempt, if `worker` still holds it: runs again at
    /// `retry_at`, or, with `None`, finishes as failed (payload emptied).
    async fn fail_job(
        &self,
        id: &str,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// A job by id, for inspection.
    async fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError>;

    /// Removes what `plan` says ([`crate::lifecycle::SweepCutoffs::plan`] decides it; the
    /// predicates of [`SweepPlan`] are the rule each statement runs), in one
    /// transaction, and reports it. Ended suspensions are left as they are: they are
    /// inactive by their `suspended_until`, and administrators still see
    /// the last one (`active: false`) until the next suspension replaces it
    /// or an unsuspension clears it (with its audit event).
    async fn sweep(&self, plan: SweepPlan) -> Result<SweepReport, StoreError>;
}

/// Truncates a timestamp to the millisecond precision every backend stores.
pub fn truncate_to_millis(t: OffsetDateTime) -> OffsetDateTime {
    let nanos = t.nanosecond();
    t.replace_nanosecond(nanos - nanos % 1_000_000)
        .expect("a smaller nanosecond value is always valid")
}

/// Milliseconds since the Unix epoch, the on-disk form used by SQLite.
pub fn to_unix_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The inverse of [`to_unix_millis`]. Out-of-range values become a backend error.
pub fn from_unix_millis(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::Backend(format!("timestamp {ms} out of range: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn applied_migrations_are_checked_against_the_binary() {
        let known = [Migration {
            name: "0001_a",
            sql: "CREATE TABLE a (x INTEGER);",
        }];
        let ok = [("0001_a".to_owned(), known[0].checksum())];
        assert!(check_applied(&known, &ok).is_ok());
        assert!(check_applied(&known, &[]).is_ok());
        let edited = [("0001_a".to_owned(), known[0].checksum() ^ 1)];
        let e = check_applied(&known, &edited).unwrap_err().to_string();
        assert!(e.contains("checksum mismatch"), "{e}");
        let newer = [ok[0].clone(), ("0002_b".to_owned(), 7)];
        let e = check_applied(&known, &newer).unwrap_err().to_string();
        assert!(e.contains("newer latchkey"), "{e}");
    }

    #[test]
    fn millis_round_trip() {
        let t = datetime!(2026-11-22 10:11:12.345678901 UTC);
        let ms = to_unix_millis(t);
        assert_eq!(from_unix_millis(ms).unwrap(), truncate_to_millis(t));
        assert_eq!(
            truncate_to_millis(t),
            datetime!(2026-11-22 10:11:12.345 UTC)
        );
    }
}

/// One forward-only schema migration, embedded in a backend crate.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The file stem, e.g. `0001_users`; identical across backends.
    pub name: &'static str,
    /// The SQL to run, in one transaction.
    pub sql: &'static str,
}

/// Refuses a database touched by a newer binary (an applied migration
/// `known` lacks) or by an edited migration (a checksum that differs).
/// `applied` lists `(name, checksum)` as the backend's ledger records them.
pub fn check_applied(known: &[Migration], applied: &[(String, i64)]) -> Result<(), StoreError> {
    for (name, checksum) in applied {
        match known.iter().find(|m| m.name == name) {
            None => {
                return Err(StoreError::Backend(format!(
                    "the database has migration {name}, which this binary does not know: \
                     it was migrated by a newer latchkey; run that version or newer"
                )));
            }
            Some(m) if m.checksum() != *checksum => {
                return Err(StoreError::Backend(format!(
                    "migration {name} was changed after it was applied (checksum mismatch); \
                     migrations are forward-only: add a new one instead"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

impl Migration {
    /// A stable checksum of the SQL, recorded when applied so that an edited
    /// migration is detected instead of silently diverging (FNV-1a, 64 bits:
    /// this guards against accidents, not attackers).
    pub fn checksum(&self) -> i64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.sql.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h as i64
    }
}
