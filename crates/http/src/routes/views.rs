//! Response bodies shared by several routes.

use latchkey_core::session::Session;
use latchkey_core::user::User;
use serde::{Deserialize, Deserializer, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "email": "ada@example.com", "email_verified": false,
    "username": "ada", "name": "Ada Lovelace",
    "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z"
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
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

/// One session of the user.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60", "created_at": "2026-11-22T10:00:00Z",
    "last_seen_at": "2026-11-22T10:15:00Z", "expires_at": "2026-12-22T10:00:00Z",
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
