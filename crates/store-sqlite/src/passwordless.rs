//! [`PasswordlessStore`] on SQLite: each decision reads the row and writes
//! the step in one immediate transaction on the single writer thread, so
//! concurrent attempts and uses are serialized.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::lifecycle::{NewJob, QueuedMail};
use latchkey_core::passwordless::{
    AttemptTarget, Kind, PasswordlessStore, PasswordlessToken, Refusal, Step,
};
use latchkey_core::store::{StoreError, from_unix_millis, to_unix_millis};
use latchkey_core::ways_in::{LastWayIn, Removal};
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::credentials::void_tokens;
use crate::lifecycle::{immediate, insert_mail, revoke_all};
use crate::ways_in::remove_way_in;
use crate::{SqliteStore, map_err};

const COLUMNS: &str = "id, kind, token_hash, email, user_id, code_hash, browser_hash, \
     code_challenge, redirect_to, attempts, created_at, expires_at, used_at";
const INSERT: &str = "INSERT INTO passwordless_tokens (id, kind, token_hash, email, user_id, \
     code_hash, browser_hash, code_challenge, redirect_to, attempts, created_at, expires_at, \
     used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
const SUPERSEDE: &str = "UPDATE passwordless_tokens SET used_at = ?3 \
     WHERE email = ?1 AND kind = ?2 AND used_at IS NULL";
const COUNT_ATTEMPT: &str = "UPDATE passwordless_tokens SET attempts = attempts + 1 WHERE id = ?1";
const MARK_USED: &str = "UPDATE passwordless_tokens SET used_at = ?2 WHERE id = ?1";
/// A used link or code proves the mailbox of the address it was mailed to.
const VERIFY_ADDRESS: &str = "UPDATE users SET email_verified = 1, updated_at = ?3 \
     WHERE id = ?1 AND email_normalized = ?2 AND email_verified = 0";
const REMOVE_PASSWORD: &str = "UPDATE users SET password_hash = NULL, updated_at = ?3 \
     WHERE id = ?1 AND password_hash = ?2";

fn select(filter: &str) -> String {
    format!("SELECT {COLUMNS} FROM passwordless_tokens WHERE {filter}")
}

fn token_of(r: &Row<'_>) -> rusqlite::Result<(PasswordlessToken, String, i64, i64, Option<i64>)> {
    Ok((
        PasswordlessToken {
            id: r.get(0)?,
            kind: Kind::Link,
            token_hash: r.get(2)?,
            email: r.get(3)?,
            user_id: r.get(4)?,
            code_hash: r.get(5)?,
            browser_hash: r.get(6)?,
            code_challenge: r.get(7)?,
            redirect_to: r.get(8)?,
            attempts: r.get(9)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH,
            used_at: None,
        },
        r.get(1)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
    ))
}

fn one(c: &Connection, sql: &str, key: &str) -> Result<Option<PasswordlessToken>, StoreError> {
    let Some((mut t, kind, created, expires, used)) = c
        .prepare_cached(sql)
        .map_err(map_err)?
        .query_row(params![key], token_of)
        .optional()
        .map_err(map_err)?
    else {
        return Ok(None);
    };
    t.kind = Kind::parse(&kind).ok_or_else(|| StoreError::Backend(format!("kind {kind:?}")))?;
    t.created_at = from_unix_millis(created)?;
    t.expires_at = from_unix_millis(expires)?;
    t.used_at = used.map(from_unix_millis).transpose()?;
    Ok(Some(t))
}

fn by_id(c: &Connection, id: &str) -> Result<Option<PasswordlessToken>, StoreError> {
    one(c, &select("id = ?1"), id)
}

#[async_trait]
impl PasswordlessStore for SqliteStore {
    async fn insert_passwordless_token(
        &self,
        token: &PasswordlessToken,
        mail: &QueuedMail,
        job: &NewJob,
    ) -> Result<bool, StoreError> {
        let (t, mail, job) = (token.clone(), mail.clone(), job.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            // first the delivery job: its key says whether this was made before
            if !insert_mail(&tx, &mail, &job)? {
                return Ok(false);
            }
            let now = to_unix_millis(t.created_at);
            tx.prepare_cached(SUPERSEDE)
                .map_err(map_err)?
                .execute(params![t.email, t.kind.as_str(), now])
                .map_err(map_err)?;
            tx.prepare_cached(INSERT)
                .map_err(map_err)?
                .execute(params![
                    t.id,
                    t.kind.as_str(),
                    t.token_hash,
                    t.email,
                    t.user_id,
                    t.code_hash,
                    t.browser_hash,
                    t.code_challenge,
                    t.redirect_to,
                    t.attempts,
                    now,
                    to_unix_millis(t.expires_at),
                    t.used_at.map(to_unix_millis),
                ])
                .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }

    async fn passwordless_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<PasswordlessToken>, StoreError> {
        let hash = token_hash.to_owned();
        self.read(move |c| one(c, &select("token_hash = ?1"), &hash))
            .await
    }

    async fn reserve_passwordless_attempt(
        &self,
        target: AttemptTarget<'_>,
        now: OffsetDateTime,
    ) -> Result<Result<PasswordlessToken, Option<Refusal>>, StoreError> {
        let (sql, key) = match target {
            AttemptTarget::Link(id) => (select("id = ?1 AND kind = 'link'"), id.to_owned()),
            AttemptTarget::Code(email) => (
                select(
                    "email = ?1 AND kind = 'code' AND used_at IS NULL \
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                ),
                email.to_owned(),
            ),
        };
        self.write(move |c| {
            let tx = immediate(c)?;
            let Some(mut t) = one(&tx, &sql, &key)? else {
                return Ok(Err(None));
            };
            if let Err(refusal) = t.decide(Step::Attempt, now) {
                return Ok(Err(Some(refusal)));
            }
            tx.prepare_cached(COUNT_ATTEMPT)
                .map_err(map_err)?
                .execute(params![t.id])
                .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            t.attempts += 1;
            Ok(Ok(t))
        })
        .await
    }

    async fn use_passwordless_token(
        &self,
        id: &str,
        now: OffsetDateTime,
        verified: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let (id, verified) = (id.to_owned(), verified.clone());
        self.write(move |c| {
            let tx = immediate(c)?;
            let Some(t) = by_id(&tx, &id)? else {
                return Ok(false);
            };
            if t.decide(Step::Use, now).is_err() {
                return Ok(false);
            }
            let now = to_unix_millis(now);
            tx.prepare_cached(MARK_USED)
                .map_err(map_err)?
                .execute(params![id, now])
                .map_err(map_err)?;
            let proven = tx
                .prepare_cached(VERIFY_ADDRESS)
                .map_err(map_err)?
                .execute(params![t.user_id, t.email, now])
                .map_err(map_err)?;
            if proven > 0 {
                insert_event(&tx, &verified)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
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
        let (id, hash, keep) = (
            user_id.to_owned(),
            password_hash.to_owned(),
            keep.to_owned(),
        );
        let event = event.clone();
        let now = to_unix_millis(now);
        self.write(move |c| {
            let tx = immediate(c)?;
            let remove = |c: &Connection| {
                c.prepare_cached(REMOVE_PASSWORD)
                    .map_err(map_err)?
                    .execute(params![id, hash, now])
                    .map_err(map_err)
            };
            if !remove_way_in(&tx, &id, rule, Removal::Password, remove)? {
                return Ok(false);
            }
            void_tokens(&tx, &id, now)?;
            revoke_all(&tx, &id, Some(&keep), now, "password_changed")?;
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(true)
        })
        .await
    }
}
