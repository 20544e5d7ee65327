//! [`FederationStore`] on SQLite: linked identities and the one-time rows of
//! a flow. Each decision (take a row, unlink unless last, by
//! [`latchkey_core::ways_in`]) is one transaction on the single writer thread.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::federation::{FederationStore, Identity};
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use latchkey_core::user::User;
use latchkey_core::ways_in::{LastWayIn, Removal};
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::lifecycle::immediate;
use crate::users::insert_user;
use crate::{SqliteStore, map_err};

const COLUMNS: &str = "id, user_id, provider, subject, email, email_verified, linked_at";
const INSERT: &str = "INSERT INTO identities \
     (id, user_id, provider, subject, email, email_verified, linked_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const DELETE: &str = "DELETE FROM identities WHERE user_id = ?1 AND id = ?2";
const PUT_PENDING: &str = "INSERT INTO federation_pending (key_hash, purpose, data, expires_at) \
     VALUES (?1, ?2, ?3, ?4)";
const DROP_EXPIRED: &str = "DELETE FROM federation_pending WHERE expires_at <= ?1";
const TAKE_PENDING: &str = "DELETE FROM federation_pending \
     WHERE key_hash = ?1 AND purpose = ?2 AND expires_at > ?3 RETURNING data";

fn identity(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Identity, i64)> {
    Ok((
        Identity {
            id: r.get(0)?,
            user_id: r.get(1)?,
            provider: r.get(2)?,
            subject: r.get(3)?,
            email: r.get(4)?,
            email_verified: r.get(5)?,
            linked_at: OffsetDateTime::UNIX_EPOCH,
        },
        r.get(6)?,
    ))
}

fn timed((mut i, at): (Identity, i64)) -> Result<Identity, StoreError> {
    i.linked_at = from_unix_millis(at)?;
    Ok(i)
}

fn insert_identity(c: &Connection, i: &Identity) -> Result<(), StoreError> {
    c.prepare_cached(INSERT)
        .map_err(map_err)?
        .execute(params![
            i.id,
            i.user_id,
            i.provider,
            i.subject,
            i.email,
            i.email_verified,
            to_unix_millis(i.linked_at),
        ])
        .map_err(|e| match map_err(e) {
            StoreError::Conflict("unique") => StoreError::Conflict("identity"),
            e => e,
        })?;
    Ok(())
}

#[async_trait]
impl FederationStore for SqliteStore {
    async fn identity_by_subject(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let (provider, subject) = (provider.to_owned(), subject.to_owned());
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM identities WHERE provider = ?1 AND subject = ?2"
            ))
            .map_err(map_err)?
            .query_row(params![provider, subject], identity)
            .optional()
            .map_err(map_err)?
            .map(timed)
            .transpose()
        })
        .await
    }

    async fn identities_of(&self, user_id: &str) -> Result<Vec<Identity>, StoreError> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM identities WHERE user_id = ?1 ORDER BY linked_at, id"
                ))
                .map_err(map_err)?;
            let rows = stmt
                .query_map(params![user_id], identity)
                .map_err(map_err)?;
            rows.map(|r| timed(r.map_err(map_err)?)).collect()
        })
        .await
    }

    async fn link_identity(
        &self,
        identity: &Identity,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (i, e) = (identity.clone(), event.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            insert_identity(&tx, &i)?;
            insert_event(&tx, &e)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn create_user_with_identity(
        &self,
        user: &User,
        identity: &Identity,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (u, i, e) = (user.clone(), identity.clone(), event.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            insert_user(&tx, &u)?;
            insert_identity(&tx, &i)?;
            insert_event(&tx, &e)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn unlink_identity(
        &self,
        user_id: &str,
        id: &str,
        rule: LastWayIn,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.delete_way_in(DELETE, user_id, id, (rule, Removal::Identity), event)
            .await
    }

    async fn put_federation_pending(
        &self,
        key_hash: &str,
        purpose: &str,
        data: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (k, p, d) = (key_hash.to_owned(), purpose.to_owned(), data.to_owned());
        let (expires, now) = (to_unix_millis(expires_at), to_unix_millis(now));
        self.write(move |c| {
            let tx = immediate(c)?;
            tx.execute(DROP_EXPIRED, params![now]).map_err(map_err)?;
            tx.execute(PUT_PENDING, params![k, p, d, expires])
                .map_err(map_err)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn take_federation_pending(
        &self,
        key_hash: &str,
        purpose: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let (k, p, now) = (key_hash.to_owned(), purpose.to_owned(), to_unix_millis(now));
        self.write(move |c| {
            c.query_row(TAKE_PENDING, params![k, p, now], |r| r.get(0))
                .optional()
                .map_err(map_err)
        })
        .await
    }
}
