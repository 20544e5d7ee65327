-- Passkeys (latchkey_core::passkeys): WebAuthn credentials and the
-- challenges of their ceremonies. Timestamps are unix milliseconds.

CREATE TABLE passkeys (
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BLOB    NOT NULL UNIQUE,
    public_key      BLOB    NOT NULL,    -- COSE_Key
    sign_count      INTEGER NOT NULL,
    transports      TEXT    NOT NULL,    -- space-separated
    backup_eligible INTEGER NOT NULL,
    backup_state    INTEGER NOT NULL,
    aaguid          TEXT    NOT NULL,    -- hex
    name            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
) STRICT;

CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

CREATE TABLE passkey_challenges (
    challenge_hash TEXT    NOT NULL PRIMARY KEY,
    purpose        TEXT    NOT NULL CHECK (purpose IN ('register', 'login')),
    user_id        TEXT    REFERENCES users (id) ON DELETE CASCADE,
    binding_hash   TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX passkey_challenges_expires_at_idx ON passkey_challenges (expires_at);
