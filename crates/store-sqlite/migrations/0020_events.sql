-- The event stream (issue 18): what resource servers, the user's own apps
-- and (later) webhooks learn about, in commit order, resumable by `id`.
--
-- Rows are written by the triggers below, inside the transaction of the
-- change they describe, so every way a session ends (logout, refresh-token
-- reuse, password change or reset, an administrator's revocation,
-- suspension, deletion, logout everywhere, and any later path that revokes a
-- session) records its event atomically with it, and no path can forget to.
-- Each event's JSON `data` is built here; core only reads and serves rows.
-- Timestamps are unix milliseconds. AUTOINCREMENT: an id is never reused
-- after the retention sweep deleted the newest rows.

CREATE TABLE events (
    id    INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at    INTEGER NOT NULL,
    type  TEXT    NOT NULL,
    sub   TEXT,                -- the user concerned, when there is one
    data  TEXT    NOT NULL     -- a JSON object
) STRICT;

CREATE INDEX events_sub_idx ON events (sub, id);
CREATE INDEX events_at_idx ON events (at);

CREATE TRIGGER events_session_created AFTER INSERT ON sessions
BEGIN
    INSERT INTO events (at, type, sub, data)
    VALUES (NEW.created_at, 'session.created', NEW.user_id,
            json_object('sid', NEW.id, 'sub', NEW.user_id));
END;

CREATE TRIGGER events_session_revoked AFTER UPDATE OF revoked_at ON sessions
WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
BEGIN
    INSERT INTO events (at, type, sub, data)
    VALUES (NEW.revoked_at, 'session.revoked', NEW.user_id,
            json_object('sid', NEW.id, 'sub', NEW.user_id, 'reason', NEW.revoked_reason));
END;

CREATE TRIGGER events_keys_rotated AFTER INSERT ON signing_keys
BEGIN
    INSERT INTO events (at, type, sub, data)
    VALUES (NEW.created_at, 'keys.rotated', NULL, json_object('kid', NEW.kid));
END;

-- Account changes are taken from the audit event each of them records in
-- its own transaction.
CREATE TRIGGER events_from_audit AFTER INSERT ON audit_events
WHEN NEW.event IN ('user.suspended', 'user.deleted', 'account.deleted', 'password.changed',
                   'password_reset.completed', 'email_change.confirmed')
BEGIN
    INSERT INTO events (at, type, sub, data)
    VALUES (NEW.at,
            CASE NEW.event
                WHEN 'account.deleted' THEN 'user.deleted'
                WHEN 'password_reset.completed' THEN 'password.changed'
                WHEN 'email_change.confirmed' THEN 'email.changed'
                ELSE NEW.event
            END,
            NEW.subject_id, json_object('sub', NEW.subject_id));
END;
