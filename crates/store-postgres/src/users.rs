//! [`UserStore`] on PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use latchkey_core::audit::AuditEvent;
use latchkey_core::store::{StoreError, UserStore, truncate_to_millis};
use latchkey_core::user::{Suspension, User};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::audit::insert_event;
use crate::credentials::credential_purposes;
use crate::roles::assign;
use crate::{PgStore, map_err, settle};

/// The column list, as a macro so that the statements below are `&'static str`
/// constants: `prepare_cached` keys its cache on the text, and nothing is
/// formatted on the hot path.
macro_rules! columns {
    () => {
        columns!("")
    };
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "email, ",
            $p,
            "email_normalized, ",
            $p,
            "email_verified, ",
            $p,
            "username, ",
            $p,
            "username_normalized, ",
            $p,
            "name, ",
            $p,
            "password_hash, ",
            $p,
            "created_at, ",
            $p,
            "updated_at, ",
            $p,
            "suspended_at, ",
            $p,
            "suspended_until, ",
            $p,
            "suspension_reason, ",
            $p,
            "locale"
        )
    };
}
pub(crate) use columns as user_columns;

/// The columns every user read selects, in [`user_from`]'s order.
pub(crate) const COLUMNS: &str = columns!();

/// How many columns [`COLUMNS`] has (a joined read's next column).
pub(crate) const USER_COLUMN_COUNT: usize = 14;

/// A new account is never suspended: the suspension columns stay NULL.
const INSERT: &str = "INSERT INTO users (id, email, email_normalized, email_verified, \
     username, username_normalized, name, password_hash, created_at, updated_at, locale) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const BY_ID: &str = concat!("SELECT ", columns!(), " FROM users WHERE id = $1");
const BY_EMAIL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE email_normalized = $1"
);
const BY_USERNAME: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE username_normalized = $1"
);
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM users WHERE id > $1 ORDER BY id LIMIT $2"
);

/// Profile fields only: `password_hash` and `created_at` are never touched here.
/// Replaces the profile fields; a new address also voids the user's
/// outstanding credential tokens of the purposes in `$9`, and its magic
/// links and email codes (one statement:
/// every part sees the row as it was before the update).
pub(crate) const UPDATE: &str = "WITH moved AS (SELECT 1 FROM users \
     WHERE id = $1 AND email_normalized IS DISTINCT FROM $3), \
     voided AS (UPDATE account_tokens SET used_at = $8 \
     WHERE user_id = $1 AND used_at IS NULL AND purpose = ANY($9) AND EXISTS (SELECT 1 FROM moved)), \
     voided_links AS (UPDATE passwordless_tokens SET used_at = $8 \
     WHERE user_id = $1 AND used_at IS NULL AND EXISTS (SELECT 1 FROM moved)) \
     UPDATE users SET email = $2, email_normalized = $3, email_verified = $4, \
     username = $5, username_normalized = $6, name = $7, updated_at = $8, locale = $10 \
     WHERE id = $1";
const SET_PASSWORD_HASH: &str =
    "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 AND password_hash = $4";

/// The parameters of [`INSERT`], in order.
fn insert_params<'a>(
    u: &'a User,
    created_at: &'a OffsetDateTime,
    updated_at: &'a OffsetDateTime,
) -> [&'a (dyn ToSql + Sync); 11] {
    [
        &u.id,
        &u.email,
        &u.email_normalized,
        &u.email_verified,
        &u.username,
        &u.username_normalized,
        &u.name,
        &u.password_hash,
        created_at,
        updated_at,
        &u.locale,
    ]
}

/// The parameters of [`UPDATE`], in order.
pub(crate) fn update_params<'a>(
    u: &'a User,
    updated_at: &'a OffsetDateTime,
    purposes: &'a Vec<&'static str>,
) -> [&'a (dyn ToSql + Sync); 10] {
    [
        &u.id,
        &u.email,
        &u.email_normalized,
        &u.email_verified,
        &u.username,
        &u.username_normalized,
        &u.name,
        updated_at,
        purposes,
        &u.locale,
    ]
}

/// Inserts a user row inside a transaction (an administrator's create, a
/// registration with its mail).
pub(crate) async fn insert_user_in(tx: &Transaction<'_>, u: &User) -> Result<(), StoreError> {
    let created_at = truncate_to_millis(u.created_at);
    let updated_at = truncate_to_millis(u.updated_at);
    let stmt = tx.prepare_cached(INSERT).await.map_err(map_err)?;
    tx.execute(&stmt, &insert_params(u, &created_at, &updated_at))
        .await
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn user_from(r: &Row) -> Result<User, tokio_postgres::Error> {
    let suspended_at: Option<OffsetDateTime> = r.try_get(10)?;
    let suspension = match suspended_at {
        Some(suspended_at) => Some(Suspension {
            suspended_at,
            until: r.try_get(11)?,
            reason: r.try_get::<_, Option<String>>(12)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(User {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        email_normalized: r.try_get(2)?,
        email_verified: r.try_get(3)?,
        username: r.try_get(4)?,
        username_normalized: r.try_get(5)?,
        name: r.try_get(6)?,
        password_hash: r.try_get(7)?,
        created_at: r.try_get(8)?,
        updated_at: r.try_get(9)?,
        suspension,
        locale: r.try_get(13)?,
    })
}

impl PgStore {
    async fn user_where(&self, sql: &'static str, value: &str) -> Result<Option<User>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(sql).await?;
                client
                    .query_opt(&stmt, &[&value])
                    .await?
                    .as_ref()
                    .map(user_from)
                    .transpose()
            })
            .await;
        settle(client, result)
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn insert_user(
        &self,
        u: &User,
        roles: &[String],
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        let created_at = truncate_to_millis(u.created_at);
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                insert_user_in(&tx, u).await?;
                assign(&tx, &u.id, roles, created_at).await?;
                if let Some(event) = event {
                    insert_event(&tx, event).await?;
                }
                tx.commit().await.map_err(map_err)
            })
            .await;
        settle(client, result)
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.user_where(BY_ID, id).await
    }

    async fn user_by_email(&self, email_normalized: &str) -> Result<Option<User>, StoreError> {
        self.user_where(BY_EMAIL, email_normalized).await
    }

    async fn user_by_username(
        &self,
        username_normalized: &str,
    ) -> Result<Option<User>, StoreError> {
        self.user_where(BY_USERNAME, username_normalized).await
    }

    async fn list_users(
        &self,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let after = after_id.unwrap_or("");
        let limit = i64::from(limit);
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(LIST).await?;
                client
                    .query(&stmt, &[&after, &limit])
                    .await?
                    .iter()
                    .map(user_from)
                    .collect::<Result<Vec<_>, _>>()
            })
            .await;
        settle(client, result)
    }

    async fn update_user(&self, u: &User, event: Option<&AuditEvent>) -> Result<(), StoreError> {
        let updated_at = truncate_to_millis(u.updated_at);
        let purposes = credential_purposes();
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                let stmt = tx.prepare_cached(UPDATE).await.map_err(map_err)?;
                let n = tx
                    .execute(&stmt, &update_params(u, &updated_at, &purposes))
                    .await
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                if let Some(event) = event {
                    insert_event(&tx, event).await?;
                }
                tx.commit().await.map_err(map_err)
            })
            .await;
        settle(client, result)
    }

    async fn set_password_hash(
        &self,
        user_id: &str,
        replaced: &str,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let now = truncate_to_millis(now);
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(SET_PASSWORD_HASH).await?;
                client
                    .execute(&stmt, &[&user_id, &hash, &now, &replaced])
                    .await
            })
            .await;
        match settle(client, result)? {
            0 => Err(StoreError::NotFound),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod column_tests {
    use super::*;

    #[test]
    fn the_column_count_is_the_columns() {
        assert_eq!(COLUMNS.split(',').count(), USER_COLUMN_COUNT);
    }
}
