//! [`UserTransferStore`] on SQLite: one transaction per batch on the writer.

use async_trait::async_trait;
use latchkey_core::store::StoreError;
use latchkey_core::user_transfer::{NewAccount, UserTransferStore};
use rusqlite::{OptionalExtension, params};

use crate::audit::insert_event;
use crate::roles::assign;
use crate::sessions::insert_session;
use crate::users::insert_user;
use crate::{SqliteStore, map_err};

const PRESENT: &str = "SELECT 1 FROM users WHERE email_normalized = ?1";
const USERNAME_TAKEN: &str = "SELECT 1 FROM users WHERE username_normalized = ?1";

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
}
