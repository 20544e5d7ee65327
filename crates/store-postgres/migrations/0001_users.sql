CREATE TABLE users (
    -- COLLATE "C": ids compare and sort byte-wise, as in SQLite, whatever the
    -- database's locale; cursor pagination (id > $1 ORDER BY id) relies on it.
    id                  TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    email               TEXT        NOT NULL,
    email_normalized    TEXT        NOT NULL,
    email_verified      BOOLEAN     NOT NULL DEFAULT FALSE,
    username            TEXT,
    username_normalized TEXT,
    name                TEXT,
    password_hash       TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX users_email_normalized_key ON users (email_normalized);
CREATE UNIQUE INDEX users_username_normalized_key ON users (username_normalized);
