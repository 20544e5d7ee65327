//! [`SessionStore`] on PostgreSQL.
//!
//! The refresh-token exchange is one transaction that first locks the
//! presented token's row (`SELECT … FOR UPDATE`), then its session's row. A
//! concurrent exchange of the same token waits on the first lock and, once
//! the winner has committed, reads the row again (READ COMMITTED re-checks a
//! locked row) and finds `used_at` set. Every path takes the token lock
//! before the session lock, so exchanges cannot deadlock with each other.

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use latchkey_core::audit::AuditEvent;
use latchkey_core::session::{
    IssueSuccessor, PresentedToken, RefreshToken, RotateOutcome, RotationDecision, Session,
    SessionCreated, SessionKey, SessionKind, WhichSessions,
};
use latchkey_core::store::{SessionStore, StoreError, truncate_to_millis};
use latchkey_core::user::User;
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::audit::insert_event;
use crate::roles::role_graph;
use crate::users::{USER_COLUMN_COUNT, user_columns, user_from};
use crate::{PgStore, map_err, settle};

/// The session columns with a table prefix, as a macro so that statements
/// are `&'static str` constants (the statement cache keys on the text).
macro_rules! session_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "user_id, ",
            $p,
            "kind, ",
            $p,
            "created_at, ",
            $p,
            "last_seen_at, ",
            $p,
            "expires_at, ",
            $p,
            "idle_expires_at, ",
            $p,
            "auth_time, ",
            $p,
            "amr, ",
            $p,
            "ip, ",
            $p,
            "user_agent, ",
            $p,
            "device_label, ",
            $p,
            "cookie_token_hash, ",
            $p,
            "revoked_at, ",
            $p,
            "revoked_reason"
        )
    };
}

const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (",
    session_columns!(""),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
);
const INSERT_TOKEN: &str = "INSERT INTO refresh_tokens \
     (token_hash, session_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5)";
const SESSION_BY_ID: &str = concat!(
    "SELECT ",
    session_columns!(""),
    " FROM sessions WHERE id = $1"
);
const SESSION_BY_COOKIE: &str = concat!(
    "SELECT ",
    session_columns!(""),
    " FROM sessions WHERE cookie_token_hash = $1"
);
const ACTIVE_OF_USER: &str = concat!(
    "SELECT ",
    session_columns!(""),
    " FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
     AND expires_at > $2 AND idle_expires_at > $2 ORDER BY created_at DESC, id DESC"
);
const TOUCH: &str = "UPDATE sessions \
     SET last_seen_at = $2, idle_expires_at = LEAST($3, expires_at) \
     WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 AND idle_expires_at > $2";
const SESSION_WITH_USER_BY_ID: &str = concat!(
    "SELECT ",
    user_columns!("u."),
    ", ",
    session_columns!("s."),
    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1"
);
const SESSION_WITH_USER_BY_COOKIE: &str = concat!(
    "SELECT ",
    user_columns!("u."),
    ", ",
    session_columns!("s."),
    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.cookie_token_hash = $1"
);
const REVOKE: &str = "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
     WHERE id = $1 AND revoked_at IS NULL";
const REVOKE_OF_USER: &str = "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
     WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2";
const REVOKE_ONE_OF_USER: &str = "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
     WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL";
const TOKEN_WITH_SESSION: &str = concat!(
    "SELECT t.token_hash, t.session_id, t.created_at, t.expires_at, t.used_at, ",
    session_columns!("s."),
    " FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1"
);
const TOKEN_FOR_UPDATE: &str = "SELECT session_id, expires_at, used_at, successor_sealed, \
     grace_until, successor_hash FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE";
const SUCCESSOR_UNUSED: &str =
    "SELECT 1 FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL";
const SESSION_FOR_UPDATE: &str = concat!(
    "SELECT ",
    session_columns!(""),
    " FROM sessions WHERE id = $1 FOR NO KEY UPDATE"
);
const MARK_USED: &str = "UPDATE refresh_tokens SET used_at = $2, successor_sealed = $3, \
     grace_until = $4, successor_hash = $5 WHERE token_hash = $1";
const SESSION_ROTATED: &str =
    "UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3 WHERE id = $1";
const REVOKE_REUSED: &str = "UPDATE sessions \
     SET revoked_at = $2, revoked_reason = 'refresh_token_reuse' \
     WHERE id = $1 AND revoked_at IS NULL";

const USER_SUSPENDED: &str = "SELECT suspended_at IS NOT NULL \
     AND (suspended_until IS NULL OR suspended_until > $2) FROM users WHERE id = $1 FOR SHARE";

/// Reads the fifteen session columns starting at column `at`.
fn session_from(r: &Row, at: usize) -> Result<Session, StoreError> {
    let kind: String = r.try_get(at + 2).map_err(map_err)?;
    let amr: String = r.try_get(at + 8).map_err(map_err)?;
    let session = (|| -> Result<Session, tokio_postgres::Error> {
        Ok(Session {
            id: r.try_get(at)?,
            user_id: r.try_get(at + 1)?,
            kind: SessionKind::Bearer, // replaced below
            created_at: r.try_get(at + 3)?,
            last_seen_at: r.try_get(at + 4)?,
            expires_at: r.try_get(at + 5)?,
            idle_expires_at: r.try_get(at + 6)?,
            auth_time: r.try_get(at + 7)?,
            amr: amr.split_whitespace().map(str::to_owned).collect(),
            ip: r.try_get(at + 9)?,
            user_agent: r.try_get(at + 10)?,
            device_label: r.try_get(at + 11)?,
            cookie_token_hash: r.try_get(at + 12)?,
            revoked_at: r.try_get(at + 13)?,
            revoked_reason: r.try_get(at + 14)?,
        })
    })()
    .map_err(map_err)?;
    let kind = SessionKind::parse(&kind).ok_or_else(|| {
        StoreError::Backend(format!("session {} has unknown kind {kind:?}", session.id))
    })?;
    Ok(Session { kind, ..session })
}

fn token_from(r: &Row) -> Result<RefreshToken, StoreError> {
    (|| {
        Ok(RefreshToken {
            token_hash: r.try_get(0)?,
            session_id: r.try_get(1)?,
            created_at: r.try_get(2)?,
            expires_at: r.try_get(3)?,
            used_at: r.try_get(4)?,
        })
    })()
    .map_err(map_err)
}

/// Inserts a refresh token; `session_id` and `expires_at` are passed apart
/// because a rotation overrides both.
async fn insert_token(
    tx: &Transaction<'_>,
    t: &RefreshToken,
    session_id: &str,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    let created_at = truncate_to_millis(t.created_at);
    let expires_at = truncate_to_millis(expires_at);
    let used_at = t.used_at.map(truncate_to_millis);
    let stmt = tx.prepare_cached(INSERT_TOKEN).await.map_err(map_err)?;
    tx.execute(
        &stmt,
        &[
            &t.token_hash,
            &session_id,
            &created_at,
            &expires_at,
            &used_at,
        ],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

/// The exchange itself, inside the caller's transaction; the caller commits.
async fn exchange_in(
    tx: &Transaction<'_>,
    presented_hash: &str,
    now: OffsetDateTime,
    issue: &IssueSuccessor,
) -> Result<RotateOutcome, StoreError> {
    let now = truncate_to_millis(now);
    let stmt = tx.prepare_cached(TOKEN_FOR_UPDATE).await.map_err(map_err)?;
    let Some(row) = tx
        .query_opt(&stmt, &[&presented_hash])
        .await
        .map_err(map_err)?
    else {
        return Ok(RotateOutcome::Invalid);
    };
    let (session_id, expires_at, used_at, sealed, grace_until, successor_hash) = (|| {
        Ok::<_, tokio_postgres::Error>((
            row.try_get::<_, String>(0)?,
            row.try_get::<_, OffsetDateTime>(1)?,
            row.try_get::<_, Option<OffsetDateTime>>(2)?,
            row.try_get::<_, Option<Vec<u8>>>(3)?,
            row.try_get::<_, Option<OffsetDateTime>>(4)?,
            row.try_get::<_, Option<String>>(5)?,
        ))
    })()
    .map_err(map_err)?;

    let stmt = tx
        .prepare_cached(SESSION_FOR_UPDATE)
        .await
        .map_err(map_err)?;
    let session = match tx.query_opt(&stmt, &[&session_id]).await.map_err(map_err)? {
        Some(row) => Some(session_from(&row, 0)?),
        None => None,
    };
    // Read after the session's lock, which every exchange in the session
    // takes: an exchange of the successor has committed or not started.
    let successor_unused = match &successor_hash {
        Some(hash) if used_at.is_some() => {
            let stmt = tx.prepare_cached(SUCCESSOR_UNUSED).await.map_err(map_err)?;
            tx.query_opt(&stmt, &[hash])
                .await
                .map_err(map_err)?
                .is_some()
        }
        _ => false,
    };
    let presented = PresentedToken {
        expires_at,
        used_at,
        grace_until,
        has_grace_response: sealed.is_some(),
        successor_unused,
    };
    match (presented.decide(session.as_ref(), now), session) {
        (RotationDecision::GraceRetry, _) => Ok(RotateOutcome::GraceRetry {
            successor_sealed: sealed.unwrap_or_default(),
        }),
        (RotationDecision::EndSession, Some(session)) => {
            let stmt = tx.prepare_cached(REVOKE_REUSED).await.map_err(map_err)?;
            tx.execute(&stmt, &[&session.id, &now])
                .await
                .map_err(map_err)?;
            Ok(RotateOutcome::Reused {
                session_id: session.id,
                user_id: session.user_id,
            })
        }
        (RotationDecision::Rotate, Some(session)) => {
            let graph = role_graph(tx, &session.user_id).await?;
            let r = issue(&session, &graph).map_err(StoreError::Backend)?;
            let (successor_expires_at, idle_expires_at) = r.capped(&session);
            let grace_until = truncate_to_millis(r.grace_until);
            let stmt = tx.prepare_cached(MARK_USED).await.map_err(map_err)?;
            tx.execute(
                &stmt,
                &[
                    &presented_hash,
                    &now,
                    &r.successor_sealed,
                    &grace_until,
                    &r.successor.token_hash,
                ],
            )
            .await
            .map_err(map_err)?;
            insert_token(tx, &r.successor, &session.id, successor_expires_at).await?;
            let idle = truncate_to_millis(idle_expires_at);
            let stmt = tx.prepare_cached(SESSION_ROTATED).await.map_err(map_err)?;
            tx.execute(&stmt, &[&session.id, &now, &idle])
                .await
                .map_err(map_err)?;
            Ok(RotateOutcome::Rotated)
        }
        _ => Ok(RotateOutcome::Invalid),
    }
}

impl PgStore {
    async fn session_where(
        &self,
        sql: &'static str,
        value: &str,
    ) -> Result<Option<Session>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded_store(async {
                let stmt = client.prepare_cached(sql).await.map_err(map_err)?;
                client
                    .query_opt(&stmt, &[&value])
                    .await
                    .map_err(map_err)?
                    .map(|r| session_from(&r, 0))
                    .transpose()
            })
            .await;
        settle(client, result)
    }

    /// Runs one `UPDATE` and returns how many rows it changed.
    async fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded(async {
                let stmt = client.prepare_cached(sql).await?;
                client.execute(&stmt, params).await
            })
            .await;
        settle(client, result)
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(
        &self,
        s: &Session,
        first_refresh: Option<&RefreshToken>,
    ) -> Result<SessionCreated, StoreError> {
        let created_at = truncate_to_millis(s.created_at);
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                // FOR SHARE waits for (and then sees) a suspension being
                // written, and holds it off until this session is committed,
                // where the suspension's revocation will find it.
                let stmt = tx.prepare_cached(USER_SUSPENDED).await.map_err(map_err)?;
                let suspended: Option<bool> = tx
                    .query_opt(&stmt, &[&s.user_id, &created_at])
                    .await
                    .map_err(map_err)?
                    .map(|r| r.try_get(0))
                    .transpose()
                    .map_err(map_err)?;
                if suspended == Some(true) {
                    return Ok(SessionCreated::UserSuspended);
                }
                insert_session_in(&tx, s).await?;
                if let Some(t) = first_refresh {
                    // The token belongs to this session, whatever its own field says.
                    insert_token(&tx, t, &s.id, t.expires_at).await?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(SessionCreated::Created)
            })
            .await;
        settle(client, result)
    }

    async fn session_by_id(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.session_where(SESSION_BY_ID, id).await
    }

    async fn session_by_cookie_hash(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        self.session_where(SESSION_BY_COOKIE, hash).await
    }

    async fn session_with_user(
        &self,
        key: SessionKey<'_>,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let (sql, value) = match key {
            SessionKey::Id(id) => (SESSION_WITH_USER_BY_ID, id),
            SessionKey::CookieHash(hash) => (SESSION_WITH_USER_BY_COOKIE, hash),
        };
        let client = self.client().await?;
        let result = self
            .bounded_store(async {
                let stmt = client.prepare_cached(sql).await.map_err(map_err)?;
                match client.query_opt(&stmt, &[&value]).await.map_err(map_err)? {
                    Some(r) => Ok(Some((
                        session_from(&r, USER_COLUMN_COUNT)?,
                        user_from(&r).map_err(map_err)?,
                    ))),
                    None => Ok(None),
                }
            })
            .await;
        settle(client, result)
    }

    async fn active_sessions_of_user(
        &self,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, StoreError> {
        let now = truncate_to_millis(now);
        let client = self.client().await?;
        let result = self
            .bounded_store(async {
                let stmt = client
                    .prepare_cached(ACTIVE_OF_USER)
                    .await
                    .map_err(map_err)?;
                client
                    .query(&stmt, &[&user_id, &now])
                    .await
                    .map_err(map_err)?
                    .iter()
                    .map(|r| session_from(r, 0))
                    .collect()
            })
            .await;
        settle(client, result)
    }

    async fn touch_session(
        &self,
        id: &str,
        now: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let now = truncate_to_millis(now);
        let idle = truncate_to_millis(idle_expires_at);
        self.execute(TOUCH, &[&id, &now, &idle]).await.map(|_| ())
    }

    async fn revoke_session(
        &self,
        id: &str,
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        Ok(self.execute(REVOKE, &[&id, &now, &reason]).await? > 0)
    }

    async fn revoke_sessions(
        &self,
        user_id: &str,
        which: WhichSessions<'_>,
        now: OffsetDateTime,
        reason: &str,
        event: Option<&AuditEvent>,
    ) -> Result<u64, StoreError> {
        let now = truncate_to_millis(now);
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                let ended = match which {
                    WhichSessions::One(sid) => {
                        let stmt = tx
                            .prepare_cached(REVOKE_ONE_OF_USER)
                            .await
                            .map_err(map_err)?;
                        tx.execute(&stmt, &[&user_id, &sid, &now, &reason]).await
                    }
                    WhichSessions::AllExcept(except) => {
                        let stmt = tx.prepare_cached(REVOKE_OF_USER).await.map_err(map_err)?;
                        tx.execute(&stmt, &[&user_id, &except, &now, &reason]).await
                    }
                }
                .map_err(map_err)?;
                if let Some(event) = event.filter(|_| ended > 0) {
                    let mut event = event.clone();
                    event.details.insert("ended".into(), ended.into());
                    insert_event(&tx, &event).await?;
                }
                tx.commit().await.map_err(map_err)?;
                Ok(ended)
            })
            .await;
        settle(client, result)
    }

    async fn refresh_token(
        &self,
        hash: &str,
    ) -> Result<Option<(RefreshToken, Session)>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded_store(async {
                let stmt = client
                    .prepare_cached(TOKEN_WITH_SESSION)
                    .await
                    .map_err(map_err)?;
                let Some(row) = client.query_opt(&stmt, &[&hash]).await.map_err(map_err)? else {
                    return Ok(None);
                };
                Ok(Some((token_from(&row)?, session_from(&row, 5)?)))
            })
            .await;
        settle(client, result)
    }

    async fn exchange_refresh_token(
        &self,
        presented_hash: &str,
        now: OffsetDateTime,
        issue: Arc<IssueSuccessor>,
    ) -> Result<RotateOutcome, StoreError> {
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                let outcome = exchange_in(&tx, presented_hash, now, &*issue).await?;
                // Also ends the read-only paths, releasing the row locks.
                tx.commit().await.map_err(map_err)?;
                Ok(outcome)
            })
            .await;
        settle(client, result)
    }
}

/// Inserts a session row inside a transaction (also used by the batched
/// account writes of `user_transfer`).
pub(crate) async fn insert_session_in(tx: &Transaction<'_>, s: &Session) -> Result<(), StoreError> {
    let created_at = truncate_to_millis(s.created_at);
    let last_seen_at = truncate_to_millis(s.last_seen_at);
    let expires_at = truncate_to_millis(s.expires_at);
    let idle_expires_at = truncate_to_millis(s.idle_expires_at);
    let auth_time = truncate_to_millis(s.auth_time);
    let revoked_at = s.revoked_at.map(truncate_to_millis);
    let amr = s.amr.join(" ");
    let stmt = tx.prepare_cached(INSERT_SESSION).await.map_err(map_err)?;
    tx.execute(
        &stmt,
        &[
            &s.id,
            &s.user_id,
            &s.kind.as_str(),
            &created_at,
            &last_seen_at,
            &expires_at,
            &idle_expires_at,
            &auth_time,
            &amr,
            &s.ip,
            &s.user_agent,
            &s.device_label,
            &s.cookie_token_hash,
            &revoked_at,
            &s.revoked_reason,
        ],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}
