-- The event stream (issue 18): what resource servers, the user's own apps
-- and (later) webhooks learn about, in commit order, resumable by `id`.
--
-- Rows are written by the triggers below, inside the transaction of the
-- change they describe, so every way a session ends (logout, refresh-token
-- reuse, password change or reset, an administrator's revocation,
-- suspension, deletion, logout everywhere, and any later path that revokes a
-- session) records its event atomically with it, and no path can forget to.
-- Each event's JSON `data` is built here; core only reads and serves rows.
--
-- Commit order = id order: `events_append` takes a transaction-scoped
-- advisory lock before drawing the id, so a transaction that drew a smaller
-- id has committed (or rolled back) before a larger one becomes visible, and
-- a reader resuming after id N never misses a row committed later with a
-- smaller id. The lock is held from the first event of a transaction to its
-- commit; every writer of events locks the user's row (or none) before it,
-- so no cycle forms.

CREATE TABLE events (
    id    BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at    TIMESTAMPTZ NOT NULL,
    type  TEXT        COLLATE "C" NOT NULL,
    sub   TEXT        COLLATE "C",   -- the user concerned, when there is one
    data  TEXT        NOT NULL       -- a JSON object
);

CREATE INDEX events_sub_idx ON events (sub, id);
CREATE INDEX events_at_idx ON events (at);

CREATE FUNCTION events_append(p_at TIMESTAMPTZ, p_type TEXT, p_sub TEXT, p_data TEXT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- 'latchkey.events' as a 64-bit constant (not the migration or keys lock)
    PERFORM pg_advisory_xact_lock(7240618815103955020);
    INSERT INTO events (at, type, sub, data) VALUES (p_at, p_type, p_sub, p_data);
END;
$$;

CREATE FUNCTION events_session_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM events_append(NEW.created_at, 'session.created', NEW.user_id,
        json_build_object('sid', NEW.id, 'sub', NEW.user_id)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_session_created AFTER INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION events_session_created();

CREATE FUNCTION events_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM events_append(NEW.revoked_at, 'session.revoked', NEW.user_id,
        json_build_object('sid', NEW.id, 'sub', NEW.user_id, 'reason', NEW.revoked_reason)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_session_revoked AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION events_session_revoked();

CREATE FUNCTION events_keys_rotated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM events_append(NEW.created_at, 'keys.rotated', NULL,
        json_build_object('kid', NEW.kid)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_keys_rotated AFTER INSERT ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION events_keys_rotated();

-- Account changes are taken from the audit event each of them records in
-- its own transaction.
CREATE FUNCTION events_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM events_append(NEW.at,
        CASE NEW.event
            WHEN 'account.deleted' THEN 'user.deleted'
            WHEN 'password_reset.completed' THEN 'password.changed'
            WHEN 'email_change.confirmed' THEN 'email.changed'
            ELSE NEW.event
        END,
        NEW.subject_id, json_build_object('sub', NEW.subject_id)::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_from_audit AFTER INSERT ON audit_events
    FOR EACH ROW WHEN (NEW.event IN ('user.suspended', 'user.deleted', 'account.deleted',
        'password.changed', 'password_reset.completed', 'email_change.confirmed'))
    EXECUTE FUNCTION events_from_audit();
