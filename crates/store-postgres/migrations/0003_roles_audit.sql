-- Roles, users' role assignments, account suspension and the audit log.
-- Ids and names are COLLATE "C" (byte order, as in SQLite).

ALTER TABLE users ADD COLUMN suspended_at TIMESTAMPTZ;     -- NULL: not suspended
ALTER TABLE users ADD COLUMN suspended_until TIMESTAMPTZ;  -- NULL while suspended: until lifted
ALTER TABLE users ADD COLUMN suspension_reason TEXT;

-- Built-in roles have a row each so that custom roles can name them as
-- parent; their parent and permissions are defined in code.
CREATE TABLE roles (
    name        TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    description TEXT        NOT NULL DEFAULT '',
    parent      TEXT        COLLATE "C" REFERENCES roles (name),
    permissions TEXT        NOT NULL DEFAULT '',  -- space-separated
    builtin     BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX roles_parent_idx ON roles (parent);

INSERT INTO roles (name, description, parent, permissions, builtin, created_at, updated_at) VALUES
    ('user', '', NULL, '', TRUE, date_trunc('milliseconds', now()), date_trunc('milliseconds', now())),
    ('moderator', '', 'user', '', TRUE, date_trunc('milliseconds', now()), date_trunc('milliseconds', now())),
    ('admin', '', 'moderator', '', TRUE, date_trunc('milliseconds', now()), date_trunc('milliseconds', now()));

-- The implicit 'user' role is never stored here.
CREATE TABLE user_roles (
    user_id    TEXT        COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT        COLLATE "C" NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE INDEX user_roles_role_idx ON user_roles (role);

-- Append-only: no foreign keys (the log outlives the accounts it names);
-- updates are refused by a trigger; rows are deleted only by retention.
CREATE TABLE audit_events (
    id         TEXT        COLLATE "C" NOT NULL PRIMARY KEY,  -- UUIDv7: time-ordered
    at         TIMESTAMPTZ NOT NULL,
    event      TEXT        COLLATE "C" NOT NULL,
    actor_id   TEXT        COLLATE "C",
    subject_id TEXT        COLLATE "C",
    session_id TEXT        COLLATE "C",
    ip         TEXT,
    user_agent TEXT,
    request_id TEXT,
    reason     TEXT,
    details    TEXT        NOT NULL DEFAULT '{}'  -- a JSON object
);

CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);
CREATE INDEX audit_events_event_idx ON audit_events (event, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
