-- Upstream identities linked to an account (provider + subject): brought in
-- by `latchkey user import` (`identities`), and the table federation signs
-- in with. One account per (provider, subject).
CREATE TABLE identities (
    id             TEXT    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider       TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    email          TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
    linked_at      INTEGER NOT NULL  -- unix milliseconds
) STRICT;

CREATE UNIQUE INDEX identities_provider_subject_key ON identities (provider, subject);
CREATE INDEX identities_user_id ON identities (user_id);
