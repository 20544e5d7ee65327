-- Sessions, their refresh tokens, token-signing keys and OAuth clients.
-- Timestamps are unix milliseconds, as in 0001_users.

CREATE TABLE sessions (
    id                TEXT    NOT NULL PRIMARY KEY,
    user_id           TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              TEXT    NOT NULL CHECK (kind IN ('bearer', 'cookie')),
    created_at        INTEGER NOT NULL,
    last_seen_at      INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,  -- absolute end
    idle_expires_at   INTEGER NOT NULL,  -- sliding end, never past expires_at
    auth_time         INTEGER NOT NULL,
    amr               TEXT    NOT NULL,  -- space-separated RFC 8176 values
    ip                TEXT,
    user_agent        TEXT,
    device_label      TEXT,
    cookie_token_hash TEXT,
    revoked_at        INTEGER,
    revoked_reason    TEXT
) STRICT;

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE UNIQUE INDEX sessions_cookie_token_hash_key ON sessions (cookie_token_hash);

CREATE TABLE refresh_tokens (
    token_hash       TEXT    NOT NULL PRIMARY KEY,
    session_id       TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER,
    successor_sealed BLOB,               -- the sealed response of the exchange, kept until grace_until
    grace_until      INTEGER
) STRICT;

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid            TEXT    NOT NULL PRIMARY KEY,
    alg            TEXT    NOT NULL,
    private_sealed BLOB    NOT NULL,
    public_jwk     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER,
    publish_until  INTEGER
) STRICT;

-- At most one active (unretired) key: every active row indexes the same constant.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((1)) WHERE retired_at IS NULL;

CREATE TABLE clients (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
