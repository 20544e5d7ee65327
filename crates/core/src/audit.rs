//! The audit log: one append-only record per security-relevant event.
//!
//! Every event names *what* happened ([`EventType`]), *who did it* (the
//! actor: a user id, or none for the command line, the system or an
//! anonymous caller), *to whom* (the subject), and *from where* (IP,
//! User-Agent, request id). Events are never changed; the retention sweep
//! (`AuditStore::purge_audit_events`, run by
//! [`crate::jobs::purge_audit_events_older_than`]) is the only deletion.
//!
//! Decisions:
//! - Where the event is the consequence of a store write made for an
//!   administrator (roles, suspension, deletion) or for the account's own
//!   lifecycle (password change and reset, email verification and change,
//!   deletion, deactivation), it is written in the same transaction as the
//!   change: no change without its trace, no trace of a change that did not
//!   happen. Sign-in, sign-out and refresh events are one extra insert after
//!   the change, so the hot paths pay one statement.
//! - Lifecycle events never carry an email address (only the subject's id):
//!   the log outlives a deletion, and an address is personal data.
//! - A failed sign-in records the account it named (as subject) when there
//!   is one, but never the identifier typed for an unknown account: that
//!   string is sometimes a password typed into the wrong field.
//! - Events keep user ids, not foreign keys: the log outlives the accounts
//!   it mentions.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::client_info::ClientInfo;
use crate::id;

/// What happened. The stored form is [`EventType::as_str`]; the store keeps
/// any string, so events added later need no migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A new account registered itself.
    UserRegistered,
    /// A password sign-in succeeded (`session_id` is the new session).
    LoginSucceeded,
    /// A password sign-in failed; `reason` says why.
    LoginFailed,
    /// A session was ended by its own user signing out.
    Logout,
    /// One session was ended by its user or an administrator.
    SessionRevoked,
    /// Several sessions of a user were ended at once.
    SessionsRevoked,
    /// A used refresh token was presented again; its session was ended.
    RefreshTokenReused,
    /// The user changed their own profile.
    AccountUpdated,
    /// An administrator (or the command line) created an account.
    UserCreated,
    /// An administrator changed an account's profile.
    UserUpdated,
    /// An administrator deleted an account.
    UserDeleted,
    /// An account was suspended (its sessions ended).
    UserSuspended,
    /// An account's suspension was lifted.
    UserUnsuspended,
    /// A user's roles were changed.
    UserRolesChanged,
    /// A role was created.
    RoleCreated,
    /// A role was changed.
    RoleUpdated,
    /// A role was deleted.
    RoleDeleted,
    /// An OAuth client was registered.
    ClientCreated,
    /// An OAuth client's registration was changed.
    ClientUpdated,
    /// An OAuth client was deleted.
    ClientDeleted,
    /// An OAuth client's secret was replaced.
    ClientSecretRotated,
    /// A person consented to a client's scopes (the consent page's Allow).
    ConsentGranted,
    /// A person revoked a client's grant (its tokens ended with it).
    ConsentRevoked,
    /// The user changed their password (with the current one).
    PasswordChanged,
    /// A password reset link was mailed (asked for by the user, or sent by
    /// an administrator: then the actor).
    PasswordResetRequested,
    /// A password was set with a reset link; every session ended.
    PasswordResetCompleted,
    /// The address was confirmed with the mailed link.
    EmailVerified,
    /// The user asked to move the account to a new address (a link went there).
    EmailChangeRequested,
    /// The new address was confirmed; the account uses it now.
    EmailChangeConfirmed,
    /// The user asked for the account's deletion; it is pending.
    AccountDeletionScheduled,
    /// A pending deletion was cancelled with the mailed link.
    AccountDeletionCancelled,
    /// The personal data of an account pending deletion was removed: it is a
    /// tombstone now.
    AccountDeleted,
    /// The user deactivated the account (every session ended).
    AccountDeactivated,
    /// A deactivated account was reactivated by signing in.
    AccountReactivated,
    /// A second factor (TOTP) was confirmed and is now required at sign-in.
    MfaEnabled,
    /// The user turned their second factor off.
    MfaDisabled,
    /// A backup code was used (sign-in or re-authentication).
    MfaBackupCodeUsed,
    /// The user replaced their backup codes.
    MfaBackupCodesRegenerated,
    /// An administrator removed a user's second factors.
    MfaReset,
    /// A wrong second-factor code was presented; `reason` says where.
    MfaFailed,
    /// A passkey was registered to the account.
    PasskeyAdded,
    /// A passkey was removed from the account.
    PasskeyRemoved,
    /// A passkey was renamed.
    PasskeyRenamed,
    /// A passkey ceremony was refused; `reason` says why (e.g. `sign_count_regressed`).
    PasskeyFailed,
    /// An upstream provider's identity was linked to the account.
    IdentityLinked,
    /// A linked identity was removed from the account.
    IdentityUnlinked,
    /// A webhook endpoint was registered.
    WebhookCreated,
    /// A webhook endpoint was changed.
    WebhookUpdated,
    /// A webhook endpoint was deleted.
    WebhookDeleted,
    /// A webhook endpoint's signing secret was replaced.
    WebhookSecretRotated,
    /// A webhook endpoint was disabled after a day of failed deliveries.
    WebhookDisabled,
}

impl EventType {
    /// Every event type, for documentation and query validation.
    pub const ALL: &'static [EventType] = &[
        EventType::UserRegistered,
        EventType::LoginSucceeded,
        EventType::LoginFailed,
        EventType::Logout,
        EventType::SessionRevoked,
        EventType::SessionsRevoked,
        EventType::RefreshTokenReused,
        EventType::AccountUpdated,
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeleted,
        EventType::UserSuspended,
        EventType::UserUnsuspended,
        EventType::UserRolesChanged,
        EventType::RoleCreated,
        EventType::RoleUpdated,
        EventType::RoleDeleted,
        EventType::ClientCreated,
        EventType::ClientUpdated,
        EventType::ClientDeleted,
        EventType::ClientSecretRotated,
        EventType::ConsentGranted,
        EventType::ConsentRevoked,
        EventType::PasswordChanged,
        EventType::PasswordResetRequested,
        EventType::PasswordResetCompleted,
        EventType::EmailVerified,
        EventType::EmailChangeRequested,
        EventType::EmailChangeConfirmed,
        EventType::AccountDeletionScheduled,
        EventType::AccountDeletionCancelled,
        EventType::AccountDeleted,
        EventType::AccountDeactivated,
        EventType::AccountReactivated,
        EventType::MfaEnabled,
        EventType::MfaDisabled,
        EventType::MfaBackupCodeUsed,
        EventType::MfaBackupCodesRegenerated,
        EventType::MfaReset,
        EventType::MfaFailed,
        EventType::PasskeyAdded,
        EventType::PasskeyRemoved,
        EventType::PasskeyRenamed,
        EventType::PasskeyFailed,
        EventType::IdentityLinked,
        EventType::IdentityUnlinked,
        EventType::WebhookCreated,
        EventType::WebhookUpdated,
        EventType::WebhookDeleted,
        EventType::WebhookSecretRotated,
        EventType::WebhookDisabled,
    ];

    /// The stored and wire form, e.g. `login.failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserRegistered => "user.registered",
            EventType::LoginSucceeded => "login.succeeded",
            EventType::LoginFailed => "login.failed",
            EventType::Logout => "logout",
            EventType::SessionRevoked => "session.revoked",
            EventType::SessionsRevoked => "sessions.revoked",
            EventType::RefreshTokenReused => "refresh_token.reused",
            EventType::AccountUpdated => "account.updated",
            EventType::UserCreated => "user.created",
            EventType::UserUpdated => "user.updated",
            EventType::UserDeleted => "user.deleted",
            EventType::UserSuspended => "user.suspended",
            EventType::UserUnsuspended => "user.unsuspended",
            EventType::UserRolesChanged => "user.roles_changed",
            EventType::RoleCreated => "role.created",
            EventType::RoleUpdated => "role.updated",
            EventType::RoleDeleted => "role.deleted",
            EventType::ClientCreated => "client.created",
            EventType::ClientUpdated => "client.updated",
            EventType::ClientDeleted => "client.deleted",
            EventType::ClientSecretRotated => "client.secret_rotated",
            EventType::ConsentGranted => "consent.granted",
            EventType::ConsentRevoked => "consent.revoked",
            EventType::PasswordChanged => "password.changed",
            EventType::PasswordResetRequested => "password_reset.requested",
            EventType::PasswordResetCompleted => "password_reset.completed",
            EventType::EmailVerified => "email.verified",
            EventType::EmailChangeRequested => "email_change.requested",
            EventType::EmailChangeConfirmed => "email_change.confirmed",
            EventType::AccountDeletionScheduled => "account.deletion_scheduled",
            EventType::AccountDeletionCancelled => "account.deletion_cancelled",
            EventType::AccountDeleted => "account.deleted",
            EventType::AccountDeactivated => "account.deactivated",
            EventType::AccountReactivated => "account.reactivated",
            EventType::MfaEnabled => "mfa.enabled",
            EventType::MfaDisabled => "mfa.disabled",
            EventType::MfaBackupCodeUsed => "mfa.backup_code_used",
            EventType::MfaBackupCodesRegenerated => "mfa.backup_codes_regenerated",
            EventType::MfaReset => "mfa.reset",
            EventType::MfaFailed => "mfa.failed",
            EventType::PasskeyAdded => "passkey.added",
            EventType::PasskeyRemoved => "passkey.removed",
            EventType::PasskeyRenamed => "passkey.renamed",
            EventType::PasskeyFailed => "passkey.failed",
            EventType::IdentityLinked => "identity.linked",
            EventType::IdentityUnlinked => "identity.unlinked",
            EventType::WebhookCreated => "webhook.created",
            EventType::WebhookUpdated => "webhook.updated",
            EventType::WebhookDeleted => "webhook.deleted",
            EventType::WebhookSecretRotated => "webhook.secret_rotated",
            EventType::WebhookDisabled => "webhook.disabled",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.iter().copied().find(|e| e.as_str() == s)
    }
}

/// One event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Identifier (UUIDv7: ordered by time).
    pub id: String,
    /// When it happened (millisecond precision).
    pub at: OffsetDateTime,
    /// What happened, e.g. `login.failed` (see [`EventType`]).
    pub event: String,
    /// Who did it: a user id; `None` for the command line, the system, or
    /// an unauthenticated caller.
    pub actor_id: Option<String>,
    /// The account it concerns.
    pub subject_id: Option<String>,
    /// The session it concerns or was made in.
    pub session_id: Option<String>,
    /// The caller's IP address.
    pub ip: Option<String>,
    /// The caller's User-Agent.
    pub user_agent: Option<String>,
    /// The request id (the `x-request-id` of the response).
    pub request_id: Option<String>,
    /// A short machine word for why, e.g. `invalid_credentials`.
    pub reason: Option<String>,
    /// Event-specific facts (a JSON object), e.g. the roles added.
    pub details: Map<String, Value>,
}

impl AuditEvent {
    /// A new event of `event` at `at`, from the caller described by `client`.
    pub fn new(event: EventType, at: OffsetDateTime, client: &ClientInfo) -> AuditEvent {
        AuditEvent {
            id: id::new_id(),
            at,
            event: event.as_str().to_owned(),
            actor_id: None,
            subject_id: None,
            session_id: None,
            ip: client.ip.clone(),
            user_agent: client
                .user_agent
                .as_deref()
                .map(|ua| ua.chars().take(512).collect()),
            request_id: client.request_id.clone(),
            reason: None,
            details: Map::new(),
        }
    }

    /// Sets the actor.
    pub fn actor(mut self, user_id: Option<&str>) -> Self {
        self.actor_id = user_id.map(str::to_owned);
        self
    }

    /// Sets the subject.
    pub fn subject(mut self, user_id: &str) -> Self {
        self.subject_id = Some(user_id.to_owned());
        self
    }

    /// Sets the session.
    pub fn session(mut self, session_id: &str) -> Self {
        self.session_id = Some(session_id.to_owned());
        self
    }

    /// Sets the reason.
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// Adds a detail.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The event as one JSON object (the export and API shape).
    pub fn to_json(&self) -> Value {
        let at = self
            .at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        serde_json::json!({
            "id": self.id,
            "at": at,
            "event": self.event,
            "actor_id": self.actor_id,
            "subject_id": self.subject_id,
            "session_id": self.session_id,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "request_id": self.request_id,
            "reason": self.reason,
            "details": self.details,
        })
    }
}

/// Which events to read. Empty filters match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Events whose subject is this user.
    pub subject_id: Option<String>,
    /// Events whose actor is this user.
    pub actor_id: Option<String>,
    /// Events whose subject *or* actor is this user.
    pub involving: Option<String>,
    /// Only these event types.
    pub events: Vec<String>,
    /// At or after this instant.
    pub since: Option<OffsetDateTime>,
    /// Before this instant.
    pub until: Option<OffsetDateTime>,
    /// Continue after this event id (exclusive) in the chosen order.
    pub after_id: Option<String>,
    /// Oldest first (exports) instead of newest first.
    pub oldest_first: bool,
    /// At most this many.
    pub limit: u32,
}

/// An event by the user about their own account.
pub(crate) fn own_event(
    kind: EventType,
    now: OffsetDateTime,
    client: &ClientInfo,
    user_id: &str,
) -> AuditEvent {
    AuditEvent::new(kind, now, client)
        .actor(Some(user_id))
        .subject(user_id)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::EventType;

    /// Every event type, from the real list: its stored form parses back to
    /// it, no two share a form, and the administrators' guide names it.
    #[test]
    fn every_event_type_round_trips_and_is_documented() {
        let docs = include_str!("../../../docs/administration.md");
        let mut seen = HashSet::new();
        for &event in EventType::ALL {
            let name = event.as_str();
            assert_eq!(EventType::parse(name), Some(event), "{name}");
            assert!(seen.insert(name), "{name} is used twice");
            assert!(
                docs.contains(&format!("`{name}`")),
                "docs/administration.md does not describe `{name}`"
            );
        }
        assert_eq!(EventType::parse("DROP TABLE"), None);
    }
}
