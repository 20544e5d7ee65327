//! [`UserStore`] on SQLite.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::store::{StoreError, UserStore, from_unix_millis, to_unix_millis};
use latchkey_core::user::{Suspension, User};
use rusqlite::{OptionalExtension, Row, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::credentials::void_tokens;
use crate::roles::assign;
use crate::{SqliteStore, map_err};

/// The columns written by `insert_user` (a new account is never suspended).
const INSERT_COLUMNS: &str = "id, email, email_normalized, email_verified, username, \
                              username_normalized, name, password_hash, created_at, updated_at, \
                              locale";

/// The columns every user read selects, in [`raw_user`]'s order.
pub(crate) const COLUMNS: &str = "id, email, email_normalized, email_verified, username, \
                       username_normalized, name, password_hash, created_at, updated_at, \
                       suspended_at, suspended_until, suspension_reason, locale";

/// The raw row; timestamps are converted after the rusqlite callback so that
/// an out-of-range value becomes a `StoreError` rather than a panic.
pub(crate) struct RawUser(User, i64, i64, Option<(i64, Option<i64>, String)>);

pub(crate) fn raw_user(r: &Row<'_>) -> rusqlite::Result<RawUser> {
    let suspended_at: Option<i64> = r.get(10)?;
    Ok(RawUser(
        User {
            id: r.get(0)?,
            email: r.get(1)?,
            email_normalized: r.get(2)?,
            email_verified: r.get(3)?,
            username: r.get(4)?,
            username_normalized: r.get(5)?,
            name: r.get(6)?,
            password_hash: r.get(7)?,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
            suspension: None,
            locale: r.get(13)?,
        },
        r.get(8)?,
        r.get(9)?,
        match suspended_at {
            Some(at) => Some((
                at,
                r.get(11)?,
                r.get::<_, Option<String>>(12)?.unwrap_or_default(),
            )),
            None => None,
        },
    ))
}

pub(crate) fn finish(raw: RawUser) -> Result<User, StoreError> {
    let RawUser(mut user, created, updated, suspension) = raw;
    user.created_at = from_unix_millis(created)?;
    user.updated_at = from_unix_millis(updated)?;
    user.suspension = match suspension {
        Some((at, until, reason)) => Some(Suspension {
            suspended_at: from_unix_millis(at)?,
            until: until.map(from_unix_millis).transpose()?,
            reason,
        }),
        None => None,
    };
    Ok(user)
}

/// Inserts a user row (also used inside the admin store's transactions).
pub(crate) fn insert_user(c: &rusqlite::Connection, u: &User) -> Result<(), StoreError> {
    c.prepare_cached(&format!(
        "INSERT INTO users ({INSERT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))
    .map_err(map_err)?
    .execute(params![
        u.id,
        u.email,
        u.email_normalized,
        u.email_verified,
        u.username,
        u.username_normalized,
        u.name,
        u.password_hash,
        to_unix_millis(u.created_at),
        to_unix_millis(u.updated_at),
        u.locale,
    ])
    .map_err(map_err)?;
    Ok(())
}

/// Replaces the profile fields of a user; `NotFound` if there is none.
/// A new address voids the user's outstanding credential tokens (run inside
/// the caller's transaction).
pub(crate) fn update_user(c: &rusqlite::Connection, u: &User) -> Result<(), StoreError> {
    let moved = c
        .prepare_cached("SELECT 1 FROM users WHERE id = ?1 AND email_normalized IS NOT ?2")
        .map_err(map_err)?
        .exists(params![u.id, u.email_normalized])
        .map_err(map_err)?;
    if moved {
        void_tokens(c, &u.id, to_unix_millis(u.updated_at))?;
    }
    // password_hash, created_at and the suspension are deliberately not touched.
    let changed = c
        .prepare_cached(
            "UPDATE users SET email = ?2, email_normalized = ?3, email_verified = ?4, \
             username = ?5, username_normalized = ?6, name = ?7, updated_at = ?8, \
             locale = ?9 WHERE id = ?1",
        )
        .map_err(map_err)?
        .execute(params![
            u.id,
            u.email,
            u.email_normalized,
            u.email_verified,
            u.username,
            u.username_normalized,
            u.name,
            to_unix_millis(u.updated_at),
            u.locale,
        ])
        .map_err(map_err)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

impl SqliteStore {
    async fn user_where(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<User>, StoreError> {
        let value = value.to_owned();
        self.read(move |c| {
            let sql = format!("SELECT {COLUMNS} FROM users WHERE {column} = ?1");
            let raw = c
                .prepare_cached(&sql)
                .map_err(map_err)?
                .query_row(params![value], raw_user)
                .optional()
                .map_err(map_err)?;
            raw.map(finish).transpose()
        })
        .await
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(
        &self,
        user: &User,
        roles: &[String],
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let (u, roles, event) = (user.clone(), roles.to_vec(), event.cloned());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            insert_user(&tx, &u)?;
            assign(&tx, &u.id, &roles, u.created_at)?;
            if let Some(e) = &event {
                insert_event(&tx, e)?;
            }
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.user_where("id", id).await
    }

    async fn user_by_email(&self, email_normalized: &str) -> Result<Option<User>, StoreError> {
        self.user_where("email_normalized", email_normalized).await
    }

    async fn user_by_username(
        &self,
        username_normalized: &str,
    ) -> Result<Option<User>, StoreError> {
        self.user_where("username_normalized", username_normalized)
            .await
    }

    async fn list_users(
        &self,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let after = after_id.unwrap_or("").to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"
                ))
                .map_err(map_err)?;
            let rows = stmt
                .query_map(params![after, limit], raw_user)
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(finish)).collect()
        })
        .await
    }

    async fn update_user(&self, user: &User, event: Option<&AuditEvent>) -> Result<(), StoreError> {
        let (u, event) = (user.clone(), event.cloned());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            update_user(&tx, &u)?;
            if let Some(e) = &event {
                insert_event(&tx, e)?;
            }
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn set_password_hash(
        &self,
        user_id: &str,
        replaced: &str,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (id, replaced, hash, now) = (
            user_id.to_owned(),
            replaced.to_owned(),
            hash.to_owned(),
            to_unix_millis(now),
        );
        self.write(move |c| {
            let changed = c
                .prepare_cached(
                    "UPDATE users SET password_hash = ?2, updated_at = ?3 \
                     WHERE id = ?1 AND password_hash = ?4",
                )
                .map_err(map_err)?
                .execute(params![id, hash, now, replaced])
                .map_err(map_err)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }
}
