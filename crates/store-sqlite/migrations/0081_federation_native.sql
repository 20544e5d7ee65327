-- Issue 17, native apps: the nonce an app gets before its platform SDK's
-- sign-in is a one-time row of federation_pending (purpose 'nonce').
-- SQLite cannot change a CHECK: the table is rebuilt with its rows.
CREATE TABLE federation_pending_new (
    key_hash   TEXT    NOT NULL PRIMARY KEY,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('flow', 'exchange', 'nonce')),
    data       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

INSERT INTO federation_pending_new (key_hash, purpose, data, expires_at)
    SELECT key_hash, purpose, data, expires_at FROM federation_pending;

DROP TABLE federation_pending;

ALTER TABLE federation_pending_new RENAME TO federation_pending;

CREATE INDEX federation_pending_expires_at ON federation_pending (expires_at);
