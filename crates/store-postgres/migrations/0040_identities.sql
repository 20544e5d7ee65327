-- Upstream identities linked to an account (provider + subject): brought in
-- by `latchkey user import` (`identities`), and the table federation signs
-- in with. One account per (provider, subject).
CREATE TABLE identities (
    id             TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    user_id        TEXT        COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider       TEXT        NOT NULL,
    subject        TEXT        NOT NULL,
    email          TEXT,
    email_verified BOOLEAN     NOT NULL DEFAULT FALSE,
    linked_at      TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX identities_provider_subject_key ON identities (provider, subject);
CREATE INDEX identities_user_id ON identities (user_id);
