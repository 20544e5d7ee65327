-- Sign-in with other providers (latchkey_core::federation): identities keyed
-- by (provider, subject), never by address (the same table the user import
-- creates in 0040_identities, hence IF NOT EXISTS), and the one-time rows of
-- a flow (the hash of its `state`, the API mode's code).

CREATE TABLE IF NOT EXISTS identities (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id        TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider       TEXT        NOT NULL,
    subject        TEXT        NOT NULL,
    email          TEXT,
    email_verified BOOLEAN     NOT NULL DEFAULT FALSE,
    linked_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (provider, subject)
);

CREATE INDEX IF NOT EXISTS identities_user_id ON identities (user_id);

CREATE TABLE federation_pending (
    key_hash   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    purpose    TEXT        NOT NULL CHECK (purpose IN ('flow', 'exchange')),
    data       TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX federation_pending_expires_at ON federation_pending (expires_at);
