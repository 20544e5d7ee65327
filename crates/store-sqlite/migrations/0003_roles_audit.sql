-- Roles, users' role assignments, account suspension and the audit log.
-- Timestamps are unix milliseconds, as in 0001_users.

ALTER TABLE users ADD COLUMN suspended_at INTEGER;       -- NULL: not suspended
ALTER TABLE users ADD COLUMN suspended_until INTEGER;    -- NULL while suspended: until lifted
ALTER TABLE users ADD COLUMN suspension_reason TEXT;

-- Built-in roles have a row each so that custom roles can name them as
-- parent; their parent and permissions are defined in code.
CREATE TABLE roles (
    name        TEXT    NOT NULL PRIMARY KEY,
    description TEXT    NOT NULL DEFAULT '',
    parent      TEXT    REFERENCES roles (name),
    permissions TEXT    NOT NULL DEFAULT '',  -- space-separated
    builtin     INTEGER NOT NULL DEFAULT 0 CHECK (builtin IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX roles_parent_idx ON roles (parent);

INSERT INTO roles (name, description, parent, permissions, builtin, created_at, updated_at) VALUES
    ('user', '', NULL, '', 1, CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    ('moderator', '', 'user', '', 1, CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER)),
    ('admin', '', 'moderator', '', 1, CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));

-- The implicit 'user' role is never stored here.
CREATE TABLE user_roles (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, role)
) STRICT;

CREATE INDEX user_roles_role_idx ON user_roles (role);

-- Append-only: no foreign keys (the log outlives the accounts it names);
-- updates are refused by a trigger; rows are deleted only by retention.
CREATE TABLE audit_events (
    id         TEXT    NOT NULL PRIMARY KEY,  -- UUIDv7: time-ordered
    at         INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    actor_id   TEXT,
    subject_id TEXT,
    session_id TEXT,
    ip         TEXT,
    user_agent TEXT,
    request_id TEXT,
    reason     TEXT,
    details    TEXT    NOT NULL DEFAULT '{}'  -- a JSON object
) STRICT;

CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
CREATE INDEX audit_events_event_idx ON audit_events (event, id);

CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
