//! Response bodies shared by several routes.

use latchkey_core::audit::AuditEvent;
use latchkey_core::session::Session;
use latchkey_core::user::User;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub(crate) use crate::timefmt::rfc3339;

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "email": "ada@example.com", "email_verified": false,
    "username": "ada", "name": "Ada Lovelace",
    "created_at": "2126-11-22T10:00:00Z", "updated_at": "2126-11-22T10:00:00Z"
}))]
pub struct UserView {
    /// User id.
    pub id: String,
    /// Email address.
    pub email: String,
    /// Whether the address is confirmed.
    pub email_verified: bool,
    /// Username, if any.
    pub username: Option<String>,
    /// Display name, if any.
    pub name: Option<String>,
    /// The language of the account's mail, if it has one of its own.
    pub locale: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            email_verified: u.email_verified,
            username: u.username,
            name: u.name,
            locale: u.locale,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

/// One session of the user.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "created_at": "2126-11-22T10:00:00Z",
    "last_seen_at": "2126-11-22T10:15:00Z", "expires_at": "2126-12-22T10:00:00Z",
    "ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "device": "Firefox on Linux", "amr": ["pwd"], "kind": "bearer", "current": true
}))]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// RFC 3339.
    pub created_at: String,
    /// Last refresh (bearer) or use (cookie), RFC 3339.
    pub last_seen_at: String,
    /// When it ends at the latest (the earlier of the absolute and idle ends), RFC 3339.
    pub expires_at: String,
    /// IP at sign-in.
    pub ip: Option<String>,
    /// User-Agent at sign-in.
    pub user_agent: Option<String>,
    /// Readable device label.
    pub device: Option<String>,
    /// Authentication methods.
    pub amr: Vec<String>,
    /// `bearer` or `cookie`.
    pub kind: &'static str,
    /// Whether this is the session making the request.
    pub current: bool,
}

impl SessionView {
    pub(crate) fn new(s: Session, current_id: &str) -> Self {
        SessionView {
            current: s.id == current_id,
            expires_at: rfc3339(s.expires_at.min(s.idle_expires_at)),
            id: s.id,
            created_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
            ip: s.ip,
            user_agent: s.user_agent,
            device: s.device_label,
            amr: s.amr,
            kind: s.kind.as_str(),
        }
    }
}

/// A page of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Deserializes a field that may be absent (outer `None`), null (`Some(None)`)
/// or a value.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A suspension, as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspensionView {
    /// When it began, RFC 3339.
    pub suspended_at: String,
    /// When it ends, RFC 3339; null: until lifted.
    pub until: Option<String>,
    /// Why.
    pub reason: String,
    /// Whether it is in force now (false once `until` has passed).
    pub active: bool,
}

/// An account as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "email": "ada@example.com", "email_verified": true,
    "username": "ada", "name": "Ada Lovelace",
    "created_at": "2126-11-22T10:00:00Z", "updated_at": "2126-11-22T10:00:00Z",
    "roles": ["moderator", "user"], "suspension": null
}))]
pub struct AdminUserView {
    /// User id.
    pub id: String,
    /// Email address.
    pub email: String,
    /// Whether the address is confirmed.
    pub email_verified: bool,
    /// Username, if any.
    pub username: Option<String>,
    /// Display name, if any.
    pub name: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Assigned roles, the implicit `user` included.
    pub roles: Vec<String>,
    /// The suspension, if the account has one.
    pub suspension: Option<SuspensionView>,
    /// Assigned and inherited roles (single-user reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_roles: Option<Vec<String>>,
    /// Every permission the roles grant (single-user reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

impl AdminUserView {
    pub(crate) fn new(u: User, roles: Vec<String>) -> Self {
        let now = time::OffsetDateTime::now_utc();
        AdminUserView {
            suspension: u.suspension.as_ref().map(|s| SuspensionView {
                suspended_at: rfc3339(s.suspended_at),
                until: s.until.map(rfc3339),
                reason: s.reason.clone(),
                active: s.is_active(now),
            }),
            id: u.id,
            email: u.email,
            email_verified: u.email_verified,
            username: u.username,
            name: u.name,
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
            roles,
            effective_roles: None,
            permissions: None,
        }
    }

    pub(crate) fn with_access(u: User, access: &latchkey_core::roles::Access) -> Self {
        let mut v = AdminUserView::new(u, access.assigned.iter().cloned().collect());
        v.effective_roles = Some(access.roles.iter().cloned().collect());
        v.permissions = Some(access.permissions.iter().cloned().collect());
        v
    }
}

/// A role.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "name": "support", "description": "First-line support", "parent": "moderator",
    "permissions": ["tickets:read"], "builtin": false,
    "created_at": "2126-11-22T10:00:00Z", "updated_at": "2126-11-22T10:00:00Z"
}))]
pub struct RoleView {
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The role it inherits every permission from.
    pub parent: Option<String>,
    /// Its own permissions (the parent's come on top).
    pub permissions: Vec<String>,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl From<latchkey_core::roles::Role> for RoleView {
    fn from(r: latchkey_core::roles::Role) -> Self {
        RoleView {
            name: r.name,
            description: r.description,
            parent: r.parent,
            permissions: r.permissions,
            builtin: r.builtin,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// A permission.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"name": "users:read", "description": "List and read users, their roles and sessions", "builtin": true}))]
pub struct PermissionView {
    /// `resource:action`.
    pub name: String,
    /// What it allows.
    pub description: String,
    /// Whether latchkey itself checks it (otherwise it is for resource
    /// servers, carried by a custom role).
    pub builtin: bool,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "at": "2126-11-22T10:00:00.123Z",
    "event": "user.suspended", "actor_id": "019a8d6e-0000-7000-8000-000000000001",
    "subject_id": "019a8d6e-0000-7000-8000-000000000002", "session_id": null,
    "ip": "203.0.113.7", "user_agent": "curl/8.5.0", "request_id": "0190c1a2b3c4d5e6f708192a3b4c5d6e",
    "reason": "spam", "details": {"until": "2126-12-01T00:00:00Z"}
}))]
pub struct AuditEventView {
    /// Event id (time-ordered).
    pub id: String,
    /// RFC 3339 with milliseconds.
    pub at: String,
    /// What happened, e.g. `login.failed`.
    pub event: String,
    /// Who did it (null: the command line, the system, or an anonymous caller).
    pub actor_id: Option<String>,
    /// The account concerned.
    pub subject_id: Option<String>,
    /// The session concerned.
    pub session_id: Option<String>,
    /// The caller's IP.
    pub ip: Option<String>,
    /// The caller's User-Agent.
    pub user_agent: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// Why, as a machine word.
    pub reason: Option<String>,
    /// Event-specific facts.
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        AuditEventView {
            id: e.id,
            at: rfc3339(e.at),
            event: e.event,
            actor_id: e.actor_id,
            subject_id: e.subject_id,
            session_id: e.session_id,
            ip: e.ip,
            user_agent: e.user_agent,
            request_id: e.request_id,
            reason: e.reason,
            details: e.details,
        }
    }
}

/// One event of the user's own security log.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "at": "2126-11-22T10:00:00.123Z",
    "event": "login.failed", "by": "unknown", "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "reason": "invalid_credentials", "session_id": null
}))]
pub struct ActivityView {
    /// Event id.
    pub id: String,
    /// RFC 3339.
    pub at: String,
    /// What happened.
    pub event: String,
    /// `you`, `administrator`, or `unknown` (someone not signed in, e.g.
    /// a failed sign-in).
    pub by: &'static str,
    /// The caller's IP (not shown for an administrator's actions).
    pub ip: Option<String>,
    /// The caller's User-Agent (not shown for an administrator's actions).
    pub user_agent: Option<String>,
    /// Why, as a machine word (not shown for an administrator's actions).
    pub reason: Option<String>,
    /// The session concerned.
    pub session_id: Option<String>,
}

impl ActivityView {
    pub(crate) fn new(e: AuditEvent, me: &str) -> Self {
        let by = match e.actor_id.as_deref() {
            Some(a) if a == me => "you",
            Some(_) => "administrator",
            None if e.details.get("via").is_some_and(|v| v == "command_line") => "administrator",
            None => "unknown",
        };
        let shown = by != "administrator";
        ActivityView {
            id: e.id,
            at: rfc3339(e.at),
            event: e.event,
            by,
            ip: e.ip.filter(|_| shown),
            user_agent: e.user_agent.filter(|_| shown),
            reason: e.reason.filter(|_| shown),
            session_id: e.session_id.filter(|_| shown),
        }
    }
}
