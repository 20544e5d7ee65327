-- Sessions, their refresh tokens, token-signing keys and OAuth clients.
-- Ids and hashes are COLLATE "C" (byte order, as in SQLite).

CREATE TABLE sessions (
    id                TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    user_id           TEXT        COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              TEXT        NOT NULL CHECK (kind IN ('bearer', 'cookie')),
    created_at        TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL,  -- absolute end
    idle_expires_at   TIMESTAMPTZ NOT NULL,  -- sliding end, never past expires_at
    auth_time         TIMESTAMPTZ NOT NULL,
    amr               TEXT        NOT NULL,  -- space-separated RFC 8176 values
    ip                TEXT,
    user_agent        TEXT,
    device_label      TEXT,
    cookie_token_hash TEXT        COLLATE "C",
    revoked_at        TIMESTAMPTZ,
    revoked_reason    TEXT
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE UNIQUE INDEX sessions_cookie_token_hash_key ON sessions (cookie_token_hash);

CREATE TABLE refresh_tokens (
    token_hash       TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    session_id       TEXT        COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    used_at          TIMESTAMPTZ,
    successor_sealed BYTEA,              -- the sealed response of the exchange, kept until grace_until
    grace_until      TIMESTAMPTZ
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid            TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    alg            TEXT        NOT NULL,
    private_sealed BYTEA       NOT NULL,
    public_jwk     TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    retired_at     TIMESTAMPTZ,
    publish_until  TIMESTAMPTZ
);

-- At most one active (unretired) key: every active row indexes the same constant.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;

CREATE TABLE clients (
    id          TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT        NOT NULL,
    secret_hash TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
