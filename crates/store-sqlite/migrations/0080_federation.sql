-- Sign-in with other providers (latchkey_core::federation): identities keyed
-- by (provider, subject), never by address (the same table the user import
-- creates in 0040_identities, hence IF NOT EXISTS), and the one-time rows of
-- a flow (the hash of its `state`, the API mode's code). Timestamps are unix
-- milliseconds.

CREATE TABLE IF NOT EXISTS identities (
    id             TEXT    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider       TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    email          TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    linked_at      INTEGER NOT NULL,
    UNIQUE (provider, subject)
) STRICT;

CREATE INDEX IF NOT EXISTS identities_user_id ON identities (user_id);

CREATE TABLE federation_pending (
    key_hash   TEXT    NOT NULL PRIMARY KEY,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('flow', 'exchange')),
    data       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX federation_pending_expires_at ON federation_pending (expires_at);
