//! [`UserTransferStore`] on SQLite: one transaction per batch on the writer.

use async_trait::async_trait;
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use latchkey_core::user_transfer::{LinkedIdentity, NewAccount, UserTransferStore};
use rusqlite::{OptionalExtension, params};

use crate::audit::insert_event;
use crate::roles::assign;
use crate::sessions::insert_session;
use crate::users::insert_user;
use crate::{SqliteStore, map_err};

const PRESENT: &str = "SELECT 1 FROM users WHERE email_normalized = ?1";
const USERNAME_TAKEN: &str = "SELECT 1 FROM users WHERE username_normalized = ?1";
const IDENTITY_TAKEN: &str = "SELECT 1 FROM identities WHERE provider = ?1 AND subject = ?2";
const INSERT_IDENTITY: &str = "INSERT INTO identities
    (id, user_id, provider, subject, email, email_verified, linked_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const IDENTITIES_OF: &str = "SELECT provider, subject, email, email_verified, linked_at
    FROM identities WHERE user_id = ?1 ORDER BY provider, subject";

#[async_trait]
impl UserTransferStore for SqliteStore {
    async fn insert_accounts(&self, accounts: &[NewAccount]) -> Result<u64, StoreError> {
        let accounts = accounts.to_vec();
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let mut inserted = 0;
            for a in &accounts {
                let present = tx
                    .prepare_cached(PRESENT)
                    .map_err(map_err)?
                    .query_row(params![a.user.email_normalized], |_| Ok(()))
                    .optional()
                    .map_err(map_err)?;
                if present.is_some() {
                    continue;
                }
                insert_user(&tx, &a.user)?;
                assign(&tx, &a.user.id, &a.roles, a.user.created_at)?;
                if let Some(s) = &a.session {
                    insert_session(&tx, s)?;
                }
                for e in &a.events {
                    insert_event(&tx, e)?;
                }
                for i in &a.identities {
                    tx.prepare_cached(INSERT_IDENTITY)
                        .map_err(map_err)?
                        .execute(params![
                            latchkey_core::id::new_id(),
                            a.user.id,
                            i.provider,
                            i.subject,
                            i.email,
                            i.email_verified,
                            to_unix_millis(i.linked_at),
                        ])
                        .map_err(map_err)?;
                }
                inserted += 1;
            }
            tx.commit().map_err(map_err)?;
            Ok(inserted)
        })
        .await
    }

    async fn taken(
        &self,
        emails: &[String],
        usernames: &[String],
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let (emails, usernames) = (emails.to_vec(), usernames.to_vec());
        self.read(move |c| {
            // one read transaction (one snapshot, one lock) for the batch
            let tx = c.unchecked_transaction().map_err(map_err)?;
            let stored = |sql: &str, values: Vec<String>| -> Result<Vec<String>, StoreError> {
                let mut stmt = tx.prepare_cached(sql).map_err(map_err)?;
                let mut found = Vec::new();
                for v in values {
                    if stmt.exists(params![v]).map_err(map_err)? {
                        found.push(v);
                    }
                }
                Ok(found)
            };
            let found = (stored(PRESENT, emails)?, stored(USERNAME_TAKEN, usernames)?);
            tx.rollback().map_err(map_err)?;
            Ok(found)
        })
        .await
    }

    async fn identities_taken(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let keys = keys.to_vec();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(IDENTITY_TAKEN).map_err(map_err)?;
            let mut found = Vec::new();
            for (provider, subject) in keys {
                if stmt.exists(params![provider, subject]).map_err(map_err)? {
                    found.push((provider, subject));
                }
            }
            Ok(found)
        })
        .await
    }

    async fn identities_of_users(
        &self,
        user_ids: &[String],
    ) -> Result<Vec<(String, LinkedIdentity)>, StoreError> {
        let user_ids = user_ids.to_vec();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(IDENTITIES_OF).map_err(map_err)?;
            let mut out = Vec::new();
            for id in user_ids {
                let rows = stmt
                    .query_map(params![id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, bool>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    })
                    .map_err(map_err)?;
                for row in rows {
                    let (provider, subject, email, email_verified, linked_at) =
                        row.map_err(map_err)?;
                    let identity = LinkedIdentity {
                        provider,
                        subject,
                        email,
                        email_verified,
                        linked_at: from_unix_millis(linked_at)?,
                    };
                    out.push((id.clone(), identity));
                }
            }
            Ok(out)
        })
        .await
    }
}
