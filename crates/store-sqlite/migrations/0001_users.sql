CREATE TABLE users (
    id                  TEXT    NOT NULL PRIMARY KEY,
    email               TEXT    NOT NULL,
    email_normalized    TEXT    NOT NULL,
    email_verified      INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    username            TEXT,
    username_normalized TEXT,
    name                TEXT,
    password_hash       TEXT,
    created_at          INTEGER NOT NULL,  -- unix milliseconds
    updated_at          INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX users_email_normalized_key ON users (email_normalized);
CREATE UNIQUE INDEX users_username_normalized_key ON users (username_normalized);
