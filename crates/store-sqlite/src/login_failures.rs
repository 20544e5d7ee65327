//! [`LoginFailureStore`] on SQLite.

use async_trait::async_trait;
use latchkey_core::abuse::brute_force::LoginFailures;
use latchkey_core::store::{LoginFailureStore, StoreError, from_unix_millis, to_unix_millis};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::{SqliteStore, map_err};

const GET: &str = "SELECT failures, last_failure_at, next_attempt_at, locked_at
                   FROM login_failures WHERE key = ?1";
const INSERT_IF_ZERO: &str =
    "INSERT INTO login_failures (key, failures, last_failure_at, next_attempt_at, locked_at)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
         last_failure_at = excluded.last_failure_at,
         next_attempt_at = excluded.next_attempt_at,
         locked_at = excluded.locked_at
     WHERE login_failures.failures = 0";
const UPDATE_IF: &str = "UPDATE login_failures
     SET failures = ?2, last_failure_at = ?3, next_attempt_at = ?4, locked_at = ?5
     WHERE key = ?1 AND failures = ?6";
const CLEAR: &str = "DELETE FROM login_failures WHERE key = ?1";
const PURGE: &str = "DELETE FROM login_failures WHERE last_failure_at < ?1 AND locked_at IS NULL";

#[async_trait]
impl LoginFailureStore for SqliteStore {
    async fn login_failures(&self, key: &str) -> Result<Option<LoginFailures>, StoreError> {
        let key = key.to_owned();
        self.read(move |c| {
            let row = c
                .prepare_cached(GET)
                .map_err(map_err)?
                .query_row(params![key], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                })
                .optional()
                .map_err(map_err)?;
            let Some((failures, last, next, locked)) = row else {
                return Ok(None);
            };
            Ok(Some(LoginFailures {
                key,
                failures: u32::try_from(failures).map_err(|_| {
                    StoreError::Backend(format!("failures {failures} out of range"))
                })?,
                last_failure_at: from_unix_millis(last)?,
                next_attempt_at: from_unix_millis(next)?,
                locked_at: locked.map(from_unix_millis).transpose()?,
            }))
        })
        .await
    }

    async fn swap_login_failures(
        &self,
        key: &str,
        expected: u32,
        new: &LoginFailures,
    ) -> Result<bool, StoreError> {
        let key = key.to_owned();
        let new = new.clone();
        self.write(move |c| {
            let values = (
                i64::from(new.failures),
                to_unix_millis(new.last_failure_at),
                to_unix_millis(new.next_attempt_at),
                new.locked_at.map(to_unix_millis),
            );
            let changed = if expected == 0 {
                c.prepare_cached(INSERT_IF_ZERO)
                    .map_err(map_err)?
                    .execute(params![key, values.0, values.1, values.2, values.3])
            } else {
                c.prepare_cached(UPDATE_IF)
                    .map_err(map_err)?
                    .execute(params![
                        key,
                        values.0,
                        values.1,
                        values.2,
                        values.3,
                        i64::from(expected)
                    ])
            }
            .map_err(map_err)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn clear_login_failures(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.write(move |c| {
            let n = c
                .prepare_cached(CLEAR)
                .map_err(map_err)?
                .execute(params![key])
                .map_err(map_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn purge_login_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.write(move |c| {
            let n = c
                .prepare_cached(PURGE)
                .map_err(map_err)?
                .execute(params![to_unix_millis(before)])
                .map_err(map_err)?;
            Ok(n as u64)
        })
        .await
    }
}
