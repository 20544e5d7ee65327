-- The OAuth provider's flows (issue 16): what a person granted a client,
-- and the sessions a client's tokens live in.
--
-- A client's tokens (after a code exchange) are an ordinary bearer session
-- of the user (so refresh rotation, reuse detection and every way a session
-- ends apply unchanged) with a row here naming its client, its scope and
-- the browser session it was authorized from. Ending that browser session
-- ends every client session under it (the trigger below, in the same
-- transaction as the end).

CREATE TABLE oauth_sessions (
    session_id        TEXT        COLLATE "C" NOT NULL PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    client_id         TEXT        COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id           TEXT        COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_session_id TEXT        COLLATE "C" NOT NULL,  -- the browser session (no FK: the sweep may delete it first)
    scope             TEXT        NOT NULL,  -- space-separated
    resource          TEXT,                  -- RFC 8707, the access tokens' aud
    code_hash         TEXT        COLLATE "C" NOT NULL,  -- the authorization code it came from
    created_at        TIMESTAMPTZ NOT NULL
);

CREATE INDEX oauth_sessions_parent_idx ON oauth_sessions (parent_session_id);
CREATE INDEX oauth_sessions_code_idx ON oauth_sessions (code_hash);
CREATE INDEX oauth_sessions_user_client_idx ON oauth_sessions (user_id, client_id);

-- Consent remembered per (user, client): the scopes granted so far.
CREATE TABLE oauth_grants (
    user_id    TEXT        COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT        COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT        NOT NULL,  -- space-separated
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE FUNCTION oauth_sessions_end_with_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions SET revoked_at = NEW.revoked_at, revoked_reason = 'browser_session_ended'
     WHERE revoked_at IS NULL
       AND id IN (SELECT session_id FROM oauth_sessions WHERE parent_session_id = NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER oauth_sessions_end_with_parent AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION oauth_sessions_end_with_parent();
