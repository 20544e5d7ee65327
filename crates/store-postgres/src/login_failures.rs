//! [`LoginFailureStore`] on PostgreSQL.

use async_trait::async_trait;
use latchkey_core::abuse::brute_force::LoginFailures;
use latchkey_core::store::{LoginFailureStore, StoreError, truncate_to_millis};
use time::OffsetDateTime;

use crate::{PgStore, settle};

const GET: &str = "SELECT failures, last_failure_at, next_attempt_at, locked_at
                   FROM login_failures WHERE key = $1";
const INSERT_IF_ZERO: &str =
    "INSERT INTO login_failures (key, failures, last_failure_at, next_attempt_at, locked_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key) DO UPDATE SET failures = EXCLUDED.failures,
         last_failure_at = EXCLUDED.last_failure_at,
         next_attempt_at = EXCLUDED.next_attempt_at,
         locked_at = EXCLUDED.locked_at
     WHERE login_failures.failures = 0";
const UPDATE_IF: &str = "UPDATE login_failures
     SET failures = $2, last_failure_at = $3, next_attempt_at = $4, locked_at = $5
     WHERE key = $1 AND failures = $6";
const CLEAR: &str = "DELETE FROM login_failures WHERE key = $1";
const PURGE: &str = "DELETE FROM login_failures WHERE last_failure_at < $1 AND locked_at IS NULL";

fn to_i32(n: u32) -> Result<i32, StoreError> {
    i32::try_from(n).map_err(|_| StoreError::Backend(format!("failures {n} out of range")))
}

#[async_trait]
impl LoginFailureStore for PgStore {
    async fn login_failures(&self, key: &str) -> Result<Option<LoginFailures>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(GET).await?;
                client.query_opt(&stmt, &[&key]).await
            })
            .await;
        let row = settle(client, result)?;
        let Some(r) = row else {
            return Ok(None);
        };
        let get = |e: tokio_postgres::Error| StoreError::Backend(e.to_string());
        let failures: i32 = r.try_get(0).map_err(get)?;
        Ok(Some(LoginFailures {
            key: key.to_owned(),
            failures: u32::try_from(failures)
                .map_err(|_| StoreError::Backend(format!("failures {failures} out of range")))?,
            last_failure_at: r.try_get(1).map_err(get)?,
            next_attempt_at: r.try_get(2).map_err(get)?,
            locked_at: r.try_get(3).map_err(get)?,
        }))
    }

    async fn swap_login_failures(
        &self,
        key: &str,
        expected: u32,
        new: &LoginFailures,
    ) -> Result<bool, StoreError> {
        let failures = to_i32(new.failures)?;
        let expected_i = to_i32(expected)?;
        let last = truncate_to_millis(new.last_failure_at);
        let next = truncate_to_millis(new.next_attempt_at);
        let locked = new.locked_at.map(truncate_to_millis);
        let client = self.client().await?;
        let result = self
            .bounded(async {
                if expected == 0 {
                    let stmt = client.prepare_cached(INSERT_IF_ZERO).await?;
                    client
                        .execute(&stmt, &[&key, &failures, &last, &next, &locked])
                        .await
                } else {
                    let stmt = client.prepare_cached(UPDATE_IF).await?;
                    client
                        .execute(
                            &stmt,
                            &[&key, &failures, &last, &next, &locked, &expected_i],
                        )
                        .await
                }
            })
            .await;
        settle(client, result.map(|n| n == 1))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(CLEAR).await?;
                client.execute(&stmt, &[&key]).await
            })
            .await;
        settle(client, result.map(|n| n > 0))
    }

    async fn purge_login_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let before = truncate_to_millis(before);
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(PURGE).await?;
                client.execute(&stmt, &[&before]).await
            })
            .await;
        settle(client, result)
    }
}
