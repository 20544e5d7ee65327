-- Webhooks (issue 18): endpoints, their outbox of deliveries (filled from
-- the event table by a cursor per endpoint, see core::webhooks) and the
-- delivery log.

CREATE TABLE webhook_endpoints (
    id              TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    url             TEXT        NOT NULL,
    description     TEXT        NOT NULL,
    event_types     TEXT        NOT NULL,   -- a JSON array of event types
    format          TEXT        NOT NULL CHECK (format IN ('standard', 'set')),
    audience        TEXT,                   -- a CAEP receiver's `aud`
    secret_sealed   BYTEA       NOT NULL,   -- sealed under the master key: the whsec_ key, or a receiver's bearer
    enabled         BOOLEAN     NOT NULL,
    cursor          BIGINT      NOT NULL,   -- the last event position fanned out
    failing_since   TIMESTAMPTZ,
    disabled_reason TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              TEXT        COLLATE "C" NOT NULL PRIMARY KEY,   -- the webhook-id
    endpoint_id     TEXT        COLLATE "C" NOT NULL
                    REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        BIGINT      NOT NULL,
    event_type      TEXT        NOT NULL,
    event_at        TIMESTAMPTZ NOT NULL,
    payload         TEXT        NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER     NOT NULL,
    last_status     INTEGER,
    last_latency_ms INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (endpoint_id, event_id)
);

CREATE INDEX webhook_deliveries_event_at_idx ON webhook_deliveries (endpoint_id, event_at);

CREATE TABLE webhook_attempts (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id TEXT        COLLATE "C" NOT NULL
                REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
    status      INTEGER,               -- the answer's HTTP status; NULL: none
    latency_ms  INTEGER     NOT NULL,
    error       TEXT
);

CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

-- The event types webhooks offer beyond the streams' ones, taken from the
-- audit event each change records in its own transaction: accounts made
-- (by sign-up or an administrator), profiles changed, failed sign-ins.
CREATE FUNCTION events_for_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM events_append(NEW.at,
        CASE NEW.event
            WHEN 'user.registered' THEN 'user.created'
            WHEN 'account.updated' THEN 'user.updated'
            ELSE NEW.event
        END,
        NEW.subject_id,
        CASE NEW.event
            WHEN 'login.failed' THEN json_build_object('sub', NEW.subject_id, 'reason', NEW.reason)::text
            ELSE json_build_object('sub', NEW.subject_id)::text
        END);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_for_webhooks AFTER INSERT ON audit_events
    FOR EACH ROW WHEN (NEW.event IN ('user.registered', 'user.created', 'user.updated',
        'account.updated', 'login.failed'))
    EXECUTE FUNCTION events_for_webhooks();
