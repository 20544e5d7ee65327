//! [`SessionStore`] on SQLite.
//!
//! Every write runs on the writer thread. The refresh-token exchange is one
//! `BEGIN IMMEDIATE` transaction: it takes SQLite's write lock before reading
//! the presented token, so a concurrent exchange (from this handle's queue or
//! from another process on the same file) runs after it and sees `used_at`.

use std::sync::Arc;

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::session::{
    IssueSuccessor, PresentedToken, RefreshToken, RotateOutcome, RotationDecision, Session,
    SessionCreated, SessionKey, SessionKind, WhichSessions,
};
use latchkey_core::store::{SessionStore, StoreError, from_unix_millis, to_unix_millis};
use latchkey_core::user::User;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::roles::role_graph;
use crate::users::{COLUMNS as USER_COLUMNS, finish as finish_user, raw_user};
use crate::{SqliteStore, map_err};

/// The session columns, as a macro so that statements are string constants.
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
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
);
const INSERT_TOKEN: &str = "INSERT INTO refresh_tokens \
     (token_hash, session_id, created_at, expires_at, used_at) VALUES (?1, ?2, ?3, ?4, ?5)";
const SESSION_BY_ID: &str = concat!(
    "SELECT ",
    session_columns!(""),
    " FROM sessions WHERE id = ?1"
);
const SESSION_BY_COOKIE: &str = concat!(
    "SELECT ",
    session_columns!(""),
    " FROM sessions WHERE cookie_token_hash = ?1"
);
const ACTIVE_OF_USER: &str = concat!(
    "SELECT ",
    session_columns!(""),
    " FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL \
     AND expires_at > ?2 AND idle_expires_at > ?2 ORDER BY created_at DESC, id DESC"
);
const TOUCH: &str = "UPDATE sessions SET last_seen_at = ?2, idle_expires_at = min(?3, expires_at) \
     WHERE id = ?1 AND revoked_at IS NULL AND expires_at > ?2 AND idle_expires_at > ?2";
const REVOKE: &str = "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 \
     WHERE id = ?1 AND revoked_at IS NULL";
const REVOKE_OF_USER: &str = "UPDATE sessions SET revoked_at = ?3, revoked_reason = ?4 \
     WHERE user_id = ?1 AND revoked_at IS NULL AND id IS NOT ?2";
const REVOKE_ONE_OF_USER: &str = "UPDATE sessions SET revoked_at = ?3, revoked_reason = ?4 \
     WHERE id = ?2 AND user_id = ?1 AND revoked_at IS NULL";
const TOKEN_WITH_SESSION: &str = concat!(
    "SELECT t.token_hash, t.session_id, t.created_at, t.expires_at, t.used_at, ",
    session_columns!("s."),
    " FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = ?1"
);
const TOKEN_FOR_ROTATION: &str = "SELECT t.session_id, t.expires_at, t.used_at, \
     t.successor_sealed, t.grace_until, n.token_hash IS NOT NULL AND n.used_at IS NULL \
     FROM refresh_tokens t LEFT JOIN refresh_tokens n ON n.token_hash = t.successor_hash \
     WHERE t.token_hash = ?1";
const MARK_USED: &str = "UPDATE refresh_tokens SET used_at = ?2, successor_sealed = ?3, \
     grace_until = ?4, successor_hash = ?5 WHERE token_hash = ?1";
const SESSION_ROTATED: &str =
    "UPDATE sessions SET last_seen_at = ?2, idle_expires_at = ?3 WHERE id = ?1";
const REVOKE_REUSED: &str = "UPDATE sessions \
     SET revoked_at = ?2, revoked_reason = 'refresh_token_reuse' \
     WHERE id = ?1 AND revoked_at IS NULL";

const USER_SUSPENDED: &str = "SELECT suspended_at IS NOT NULL \
     AND (suspended_until IS NULL OR suspended_until > ?2) FROM users WHERE id = ?1";

/// A session row with its timestamps still in milliseconds, so that an
/// out-of-range value becomes a `StoreError` outside the rusqlite callback.
struct RawSession {
    id: String,
    user_id: String,
    kind: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    idle_expires_at: i64,
    auth_time: i64,
    amr: String,
    ip: Option<String>,
    user_agent: Option<String>,
    device_label: Option<String>,
    cookie_token_hash: Option<String>,
    revoked_at: Option<i64>,
    revoked_reason: Option<String>,
}

/// Reads the fifteen session columns starting at column `at`.
fn raw_session(r: &Row<'_>, at: usize) -> rusqlite::Result<RawSession> {
    Ok(RawSession {
        id: r.get(at)?,
        user_id: r.get(at + 1)?,
        kind: r.get(at + 2)?,
        created_at: r.get(at + 3)?,
        last_seen_at: r.get(at + 4)?,
        expires_at: r.get(at + 5)?,
        idle_expires_at: r.get(at + 6)?,
        auth_time: r.get(at + 7)?,
        amr: r.get(at + 8)?,
        ip: r.get(at + 9)?,
        user_agent: r.get(at + 10)?,
        device_label: r.get(at + 11)?,
        cookie_token_hash: r.get(at + 12)?,
        revoked_at: r.get(at + 13)?,
        revoked_reason: r.get(at + 14)?,
    })
}

impl RawSession {
    fn finish(self) -> Result<Session, StoreError> {
        let kind = SessionKind::parse(&self.kind).ok_or_else(|| {
            StoreError::Backend(format!(
                "session {} has unknown kind {:?}",
                self.id, self.kind
            ))
        })?;
        Ok(Session {
            kind,
            created_at: from_unix_millis(self.created_at)?,
            last_seen_at: from_unix_millis(self.last_seen_at)?,
            expires_at: from_unix_millis(self.expires_at)?,
            idle_expires_at: from_unix_millis(self.idle_expires_at)?,
            auth_time: from_unix_millis(self.auth_time)?,
            amr: self.amr.split_whitespace().map(str::to_owned).collect(),
            revoked_at: self.revoked_at.map(from_unix_millis).transpose()?,
            id: self.id,
            user_id: self.user_id,
            ip: self.ip,
            user_agent: self.user_agent,
            device_label: self.device_label,
            cookie_token_hash: self.cookie_token_hash,
            revoked_reason: self.revoked_reason,
        })
    }
}

struct RawToken {
    token_hash: String,
    session_id: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl RawToken {
    fn finish(self) -> Result<RefreshToken, StoreError> {
        Ok(RefreshToken {
            token_hash: self.token_hash,
            session_id: self.session_id,
            created_at: from_unix_millis(self.created_at)?,
            expires_at: from_unix_millis(self.expires_at)?,
            used_at: self.used_at.map(from_unix_millis).transpose()?,
        })
    }
}

fn session_where(c: &Connection, sql: &str, value: &str) -> Result<Option<Session>, StoreError> {
    c.prepare_cached(sql)
        .map_err(map_err)?
        .query_row(params![value], |r| raw_session(r, 0))
        .optional()
        .map_err(map_err)?
        .map(RawSession::finish)
        .transpose()
}

pub(crate) fn insert_session(c: &Connection, s: &Session) -> Result<(), StoreError> {
    c.prepare_cached(INSERT_SESSION)
        .map_err(map_err)?
        .execute(params![
            s.id,
            s.user_id,
            s.kind.as_str(),
            to_unix_millis(s.created_at),
            to_unix_millis(s.last_seen_at),
            to_unix_millis(s.expires_at),
            to_unix_millis(s.idle_expires_at),
            to_unix_millis(s.auth_time),
            s.amr.join(" "),
            s.ip,
            s.user_agent,
            s.device_label,
            s.cookie_token_hash,
            s.revoked_at.map(to_unix_millis),
            s.revoked_reason,
        ])
        .map_err(map_err)?;
    Ok(())
}

/// Inserts a refresh token; `session_id` and `expires_at` are passed apart
/// because a rotation overrides both.
fn insert_token(
    c: &Connection,
    t: &RefreshToken,
    session_id: &str,
    expires_at: OffsetDateTime,
) -> Result<(), StoreError> {
    c.prepare_cached(INSERT_TOKEN)
        .map_err(map_err)?
        .execute(params![
            t.token_hash,
            session_id,
            to_unix_millis(t.created_at),
            to_unix_millis(expires_at),
            t.used_at.map(to_unix_millis),
        ])
        .map_err(map_err)?;
    Ok(())
}

/// Reads the presented token (with whether its successor is still unused)
/// and its session, lets core decide, and executes the decision, issuing the
/// successor through `issue`; runs inside the writer's `IMMEDIATE`
/// transaction, so the whole exchange is one job on the writer.
fn exchange(
    c: &mut Connection,
    presented_hash: &str,
    now: OffsetDateTime,
    issue: &IssueSuccessor,
) -> Result<RotateOutcome, StoreError> {
    // IMMEDIATE: the write lock is taken before the token is read.
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let presented = tx
        .prepare_cached(TOKEN_FOR_ROTATION)
        .map_err(map_err)?
        .query_row(params![presented_hash], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<i64>>(2)?,
                row.get::<_, Option<Vec<u8>>>(3)?,
                row.get::<_, Option<i64>>(4)?,
                row.get::<_, bool>(5)?,
            ))
        })
        .optional()
        .map_err(map_err)?;
    // Returning without commit rolls back (nothing was written).
    let Some((session_id, expires_at, used_at, sealed, grace_until, successor_unused)) = presented
    else {
        return Ok(RotateOutcome::Invalid);
    };
    let session = session_where(&tx, SESSION_BY_ID, &session_id)?;
    let presented = PresentedToken {
        expires_at: from_unix_millis(expires_at)?,
        used_at: used_at.map(from_unix_millis).transpose()?,
        grace_until: grace_until.map(from_unix_millis).transpose()?,
        has_grace_response: sealed.is_some(),
        successor_unused,
    };
    let at = to_unix_millis(now);
    let outcome = match (presented.decide(session.as_ref(), now), session) {
        (RotationDecision::GraceRetry, _) => {
            return Ok(RotateOutcome::GraceRetry {
                successor_sealed: sealed.unwrap_or_default(),
            });
        }
        (RotationDecision::EndSession, Some(session)) => {
            tx.prepare_cached(REVOKE_REUSED)
                .map_err(map_err)?
                .execute(params![session.id, at])
                .map_err(map_err)?;
            RotateOutcome::Reused {
                session_id: session.id,
                user_id: session.user_id,
            }
        }
        (RotationDecision::Rotate, Some(session)) => {
            let graph = role_graph(&tx, &session.user_id)?;
            let r = issue(&session, &graph).map_err(StoreError::Backend)?;
            let (successor_expires_at, idle_expires_at) = r.capped(&session);
            tx.prepare_cached(MARK_USED)
                .map_err(map_err)?
                .execute(params![
                    presented_hash,
                    at,
                    r.successor_sealed,
                    to_unix_millis(r.grace_until),
                    r.successor.token_hash,
                ])
                .map_err(map_err)?;
            insert_token(&tx, &r.successor, &session.id, successor_expires_at)?;
            tx.prepare_cached(SESSION_ROTATED)
                .map_err(map_err)?
                .execute(params![session.id, at, to_unix_millis(idle_expires_at)])
                .map_err(map_err)?;
            RotateOutcome::Rotated
        }
        _ => return Ok(RotateOutcome::Invalid),
    };
    tx.commit().map_err(map_err)?;
    Ok(outcome)
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        session: &Session,
        first_refresh: Option<&RefreshToken>,
    ) -> Result<SessionCreated, StoreError> {
        let session = session.clone();
        let first = first_refresh.cloned();
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            // On the writer thread, inside the transaction: no suspension
            // can commit between this check and the insert.
            let suspended: Option<bool> = tx
                .prepare_cached(USER_SUSPENDED)
                .map_err(map_err)?
                .query_row(
                    params![session.user_id, to_unix_millis(session.created_at)],
                    |r| r.get(0),
                )
                .optional()
                .map_err(map_err)?;
            if suspended == Some(true) {
                return Ok(SessionCreated::UserSuspended);
            }
            insert_session(&tx, &session)?;
            if let Some(t) = &first {
                // The token belongs to this session, whatever its own field says.
                insert_token(&tx, t, &session.id, t.expires_at)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(SessionCreated::Created)
        })
        .await
    }

    async fn session_by_id(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| session_where(c, SESSION_BY_ID, &id))
            .await
    }

    async fn session_by_cookie_hash(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        let hash = hash.to_owned();
        self.read(move |c| session_where(c, SESSION_BY_COOKIE, &hash))
            .await
    }

    async fn session_with_user(
        &self,
        key: SessionKey<'_>,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let (sql, value) = match key {
            SessionKey::Id(id) => (SESSION_BY_ID, id.to_owned()),
            SessionKey::CookieHash(hash) => (SESSION_BY_COOKIE, hash.to_owned()),
        };
        // Two point reads in one job on one reader: one hop, one snapshot.
        self.read(move |c| {
            let tx = c.unchecked_transaction().map_err(map_err)?;
            let Some(session) = session_where(&tx, sql, &value)? else {
                return Ok(None);
            };
            let user = tx
                .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
                .map_err(map_err)?
                .query_row(params![session.user_id], raw_user)
                .optional()
                .map_err(map_err)?;
            Ok(match user {
                Some(u) => Some((session, finish_user(u)?)),
                None => None,
            })
        })
        .await
    }

    async fn active_sessions_of_user(
        &self,
        user_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, StoreError> {
        let (user_id, now) = (user_id.to_owned(), to_unix_millis(now));
        self.read(move |c| {
            let mut stmt = c.prepare_cached(ACTIVE_OF_USER).map_err(map_err)?;
            let rows = stmt
                .query_map(params![user_id, now], |r| raw_session(r, 0))
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(RawSession::finish))
                .collect()
        })
        .await
    }

    async fn touch_session(
        &self,
        id: &str,
        now: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        let (now, idle) = (to_unix_millis(now), to_unix_millis(idle_expires_at));
        self.write(move |c| {
            c.prepare_cached(TOUCH)
                .map_err(map_err)?
                .execute(params![id, now, idle])
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn revoke_session(
        &self,
        id: &str,
        now: OffsetDateTime,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let (id, reason, now) = (id.to_owned(), reason.to_owned(), to_unix_millis(now));
        self.write(move |c| {
            let changed = c
                .prepare_cached(REVOKE)
                .map_err(map_err)?
                .execute(params![id, now, reason])
                .map_err(map_err)?;
            Ok(changed > 0)
        })
        .await
    }

    async fn revoke_sessions(
        &self,
        user_id: &str,
        which: WhichSessions<'_>,
        now: OffsetDateTime,
        reason: &str,
        event: Option<&AuditEvent>,
    ) -> Result<u64, StoreError> {
        let (user_id, reason, event) = (user_id.to_owned(), reason.to_owned(), event.cloned());
        let (one, except) = match which {
            WhichSessions::One(id) => (Some(id.to_owned()), None),
            WhichSessions::AllExcept(except) => (None, except.map(str::to_owned)),
        };
        let now = to_unix_millis(now);
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let ended = match &one {
                Some(id) => tx
                    .prepare_cached(REVOKE_ONE_OF_USER)
                    .map_err(map_err)?
                    .execute(params![user_id, id, now, reason]),
                None => tx
                    .prepare_cached(REVOKE_OF_USER)
                    .map_err(map_err)?
                    .execute(params![user_id, except, now, reason]),
            }
            .map_err(map_err)? as u64;
            if let Some(mut event) = event.filter(|_| ended > 0) {
                event.details.insert("ended".into(), ended.into());
                insert_event(&tx, &event)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(ended)
        })
        .await
    }

    async fn refresh_token(
        &self,
        hash: &str,
    ) -> Result<Option<(RefreshToken, Session)>, StoreError> {
        let hash = hash.to_owned();
        self.read(move |c| {
            let raw = c
                .prepare_cached(TOKEN_WITH_SESSION)
                .map_err(map_err)?
                .query_row(params![hash], |r| {
                    let token = RawToken {
                        token_hash: r.get(0)?,
                        session_id: r.get(1)?,
                        created_at: r.get(2)?,
                        expires_at: r.get(3)?,
                        used_at: r.get(4)?,
                    };
                    Ok((token, raw_session(r, 5)?))
                })
                .optional()
                .map_err(map_err)?;
            raw.map(|(t, s)| Ok((t.finish()?, s.finish()?))).transpose()
        })
        .await
    }

    async fn exchange_refresh_token(
        &self,
        presented_hash: &str,
        now: OffsetDateTime,
        issue: Arc<IssueSuccessor>,
    ) -> Result<RotateOutcome, StoreError> {
        let presented_hash = presented_hash.to_owned();
        self.write(move |c| exchange(c, &presented_hash, now, &*issue))
            .await
    }
}
