-- Passkeys (latchkey_core::passkeys): WebAuthn credentials and the
-- challenges of their ceremonies.

CREATE TABLE passkeys (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id         TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BYTEA       NOT NULL UNIQUE,
    public_key      BYTEA       NOT NULL,    -- COSE_Key
    sign_count      BIGINT      NOT NULL,
    transports      TEXT        NOT NULL,    -- space-separated
    backup_eligible BOOLEAN     NOT NULL,
    backup_state    BOOLEAN     NOT NULL,
    aaguid          TEXT        NOT NULL,    -- hex
    name            TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ
);

CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

CREATE TABLE passkey_challenges (
    challenge_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    purpose        TEXT        NOT NULL CHECK (purpose IN ('register', 'login')),
    user_id        TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    binding_hash   TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);

CREATE INDEX passkey_challenges_expires_at_idx ON passkey_challenges (expires_at);
