//! [`PasskeySignupStore`] on SQLite: the tickets, and the account made
//! with its first passkey in one transaction on the writer thread.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::passkeys::{Passkey, PasskeySignupStore, SignupTicket};
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use latchkey_core::user::User;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::lifecycle::immediate;
use crate::passkeys::insert_row;
use crate::users::insert_user;
use crate::{SqliteStore, map_err};

const DROP_EXPIRED: &str = "DELETE FROM passkey_signup_tickets WHERE expires_at <= ?1";
const INSERT: &str = "INSERT INTO passkey_signup_tickets \
     (ticket_hash, email, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)";
const SELECT: &str = "SELECT ticket_hash, email, user_id, created_at, expires_at \
     FROM passkey_signup_tickets \
     WHERE ticket_hash = ?1 AND expires_at > ?2";
const USE: &str = "DELETE FROM passkey_signup_tickets \
     WHERE ticket_hash = ?1 AND expires_at > ?2 AND email = ?3 AND user_id = ?4";

#[async_trait]
impl PasskeySignupStore for SqliteStore {
    async fn insert_signup_ticket(&self, t: &SignupTicket) -> Result<(), StoreError> {
        let t = t.clone();
        self.write(move |c| {
            let created = to_unix_millis(t.created_at);
            c.prepare_cached(DROP_EXPIRED)
                .map_err(map_err)?
                .execute(params![created])
                .map_err(map_err)?;
            c.prepare_cached(INSERT)
                .map_err(map_err)?
                .execute(params![
                    t.ticket_hash,
                    t.email,
                    t.user_id,
                    created,
                    to_unix_millis(t.expires_at)
                ])
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn signup_ticket(
        &self,
        ticket_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<SignupTicket>, StoreError> {
        let (hash, now) = (ticket_hash.to_owned(), to_unix_millis(now));
        let row = self
            .read(move |c| {
                c.prepare_cached(SELECT)
                    .map_err(map_err)?
                    .query_row(params![hash, now], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    })
                    .optional()
                    .map_err(map_err)
            })
            .await?;
        row.map(|(ticket_hash, email, user_id, created, expires)| {
            Ok(SignupTicket {
                ticket_hash,
                email,
                user_id,
                created_at: from_unix_millis(created)?,
                expires_at: from_unix_millis(expires)?,
            })
        })
        .transpose()
    }

    async fn sign_up_with_passkey(
        &self,
        ticket_hash: &str,
        now: OffsetDateTime,
        user: &User,
        passkey: &Passkey,
        events: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        let (hash, user, passkey, events) = (
            ticket_hash.to_owned(),
            user.clone(),
            passkey.clone(),
            events.to_vec(),
        );
        self.write(move |c| {
            let tx = immediate(c)?;
            let used = tx
                .prepare_cached(USE)
                .map_err(map_err)?
                .execute(params![
                    hash,
                    to_unix_millis(now),
                    user.email_normalized,
                    user.id
                ])
                .map_err(map_err)?;
            if used == 0 {
                return Ok(false);
            }
            insert_user(&tx, &user)?;
            insert_row(&tx, &passkey)?;
            for e in &events {
                insert_event(&tx, e)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }
}
