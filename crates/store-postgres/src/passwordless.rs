//! [`PasswordlessStore`] on PostgreSQL: each decision reads the row
//! `FOR UPDATE` and writes the step in the same transaction, so concurrent
//! attempts and uses of one token wait for each other.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use latchkey_core::audit::AuditEvent;
use latchkey_core::lifecycle::{NewJob, QueuedMail};
use latchkey_core::passwordless::{
    AttemptTarget, Kind, PasswordlessStore, PasswordlessToken, Refusal, Step,
};
use latchkey_core::store::{StoreError, truncate_to_millis};
use latchkey_core::ways_in::{LastWayIn, Removal};
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::audit::insert_event;
use crate::credentials::void_tokens;
use crate::lifecycle::{exec, in_tx, insert_mail, revoke_all};
use crate::ways_in::remove_way_in;
use crate::{PgStore, map_err, settle};

const INSERT: &str = "INSERT INTO passwordless_tokens (id, kind, token_hash, email, user_id, \
     code_hash, browser_hash, code_challenge, redirect_to, attempts, created_at, expires_at, \
     used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
const SUPERSEDE: &str = "UPDATE passwordless_tokens SET used_at = $3 \
     WHERE email = $1 AND kind = $2 AND used_at IS NULL";
const BY_HASH: &str = "SELECT id, kind, token_hash, email, user_id, code_hash, browser_hash, \
     code_challenge, redirect_to, attempts, created_at, expires_at, used_at \
     FROM passwordless_tokens WHERE token_hash = $1";
const LINK_FOR_UPDATE: &str = "SELECT id, kind, token_hash, email, user_id, code_hash, \
     browser_hash, code_challenge, redirect_to, attempts, created_at, expires_at, used_at \
     FROM passwordless_tokens WHERE id = $1 AND kind = 'link' FOR UPDATE";
const CODE_FOR_UPDATE: &str = "SELECT id, kind, token_hash, email, user_id, code_hash, \
     browser_hash, code_challenge, redirect_to, attempts, created_at, expires_at, used_at \
     FROM passwordless_tokens WHERE email = $1 AND kind = 'code' AND used_at IS NULL \
     ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE";
const BY_ID_FOR_UPDATE: &str = "SELECT id, kind, token_hash, email, user_id, code_hash, \
     browser_hash, code_challenge, redirect_to, attempts, created_at, expires_at, used_at \
     FROM passwordless_tokens WHERE id = $1 FOR UPDATE";
const COUNT_ATTEMPT: &str = "UPDATE passwordless_tokens SET attempts = attempts + 1 WHERE id = $1";
const MARK_USED: &str = "UPDATE passwordless_tokens SET used_at = $2 WHERE id = $1";
/// A used link or code proves the mailbox of the address it was mailed to.
const VERIFY_ADDRESS: &str = "UPDATE users SET email_verified = true, updated_at = $3 \
     WHERE id = $1 AND email_normalized = $2 AND NOT email_verified";
const REMOVE_PASSWORD: &str = "UPDATE users SET password_hash = NULL, updated_at = $3 \
     WHERE id = $1 AND password_hash = $2";

fn token_of(r: &Row) -> Result<PasswordlessToken, StoreError> {
    let kind: String = r.try_get(1).map_err(map_err)?;
    let attempts: i32 = r.try_get(9).map_err(map_err)?;
    Ok(PasswordlessToken {
        id: r.try_get(0).map_err(map_err)?,
        kind: Kind::parse(&kind).ok_or_else(|| StoreError::Backend(format!("kind {kind:?}")))?,
        token_hash: r.try_get(2).map_err(map_err)?,
        email: r.try_get(3).map_err(map_err)?,
        user_id: r.try_get(4).map_err(map_err)?,
        code_hash: r.try_get(5).map_err(map_err)?,
        browser_hash: r.try_get(6).map_err(map_err)?,
        code_challenge: r.try_get(7).map_err(map_err)?,
        redirect_to: r.try_get(8).map_err(map_err)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        created_at: r.try_get(10).map_err(map_err)?,
        expires_at: r.try_get(11).map_err(map_err)?,
        used_at: r.try_get(12).map_err(map_err)?,
    })
}

async fn locked(
    tx: &Transaction<'_>,
    sql: &str,
    key: &str,
) -> Result<Option<PasswordlessToken>, StoreError> {
    let stmt = tx.prepare_cached(sql).await.map_err(map_err)?;
    tx.query_opt(&stmt, &[&key])
        .await
        .map_err(map_err)?
        .as_ref()
        .map(token_of)
        .transpose()
}

#[async_trait]
impl PasswordlessStore for PgStore {
    async fn insert_passwordless_token(
        &self,
        token: &PasswordlessToken,
        mail: &QueuedMail,
        job: &NewJob,
    ) -> Result<bool, StoreError> {
        let t = token;
        let now = truncate_to_millis(t.created_at);
        let expires = truncate_to_millis(t.expires_at);
        let used = t.used_at.map(truncate_to_millis);
        let attempts = i32::try_from(t.attempts).unwrap_or(i32::MAX);
        in_tx!(self, |tx| {
            // first the delivery job: its key says whether this was made before
            if !insert_mail(tx, mail, job).await? {
                return Ok(false);
            }
            exec(tx, SUPERSEDE, &[&t.email, &t.kind.as_str(), &now]).await?;
            exec(
                tx,
                INSERT,
                &[
                    &t.id,
                    &t.kind.as_str(),
                    &t.token_hash,
                    &t.email,
                    &t.user_id,
                    &t.code_hash,
                    &t.browser_hash,
                    &t.code_challenge,
                    &t.redirect_to,
                    &attempts,
                    &now,
                    &expires,
                    &used,
                ],
            )
            .await?;
            (true, true)
        })
    }

    async fn passwordless_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<PasswordlessToken>, StoreError> {
        let rows = self.query1(BY_HASH, &[&token_hash]).await?;
        rows.first().map(token_of).transpose()
    }

    async fn reserve_passwordless_attempt(
        &self,
        target: AttemptTarget<'_>,
        now: OffsetDateTime,
    ) -> Result<Result<PasswordlessToken, Option<Refusal>>, StoreError> {
        let (sql, key) = match target {
            AttemptTarget::Link(id) => (LINK_FOR_UPDATE, id),
            AttemptTarget::Code(email) => (CODE_FOR_UPDATE, email),
        };
        in_tx!(self, |tx| {
            let Some(mut t) = locked(tx, sql, key).await? else {
                return Ok(Err(None));
            };
            if let Err(refusal) = t.decide(Step::Attempt, now) {
                return Ok(Err(Some(refusal)));
            }
            exec(tx, COUNT_ATTEMPT, &[&t.id]).await?;
            t.attempts += 1;
            (true, Ok(t))
        })
    }

    async fn use_passwordless_token(
        &self,
        id: &str,
        now: OffsetDateTime,
        verified: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        in_tx!(self, |tx| {
            let Some(t) = locked(tx, BY_ID_FOR_UPDATE, id).await? else {
                return Ok(false);
            };
            if t.decide(Step::Use, now).is_err() {
                return Ok(false);
            }
            exec(tx, MARK_USED, &[&id, &now]).await?;
            if exec(tx, VERIFY_ADDRESS, &[&t.user_id, &t.email, &now]).await? > 0 {
                insert_event(tx, verified).await?;
            }
            (true, true)
        })
    }

    async fn remove_password(
        &self,
        user_id: &str,
        password_hash: &str,
        rule: LastWayIn,
        keep: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        in_tx!(self, |tx| {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
                [&user_id, &password_hash, &now];
            let (sql, way) = (REMOVE_PASSWORD, Removal::Password);
            if !remove_way_in(tx, user_id, rule, way, sql, &params).await? {
                return Ok(false);
            }
            void_tokens(tx, user_id, now).await?;
            revoke_all(tx, user_id, Some(keep), now, "password_changed").await?;
            insert_event(tx, event).await?;
            (true, true)
        })
    }
}
