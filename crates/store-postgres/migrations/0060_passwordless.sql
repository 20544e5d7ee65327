-- Signing in without a password (latchkey_core::passwordless): mailed
-- magic links and email codes, stored only as hashes.

CREATE TABLE passwordless_tokens (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kind           TEXT        NOT NULL CHECK (kind IN ('link', 'code')),
    token_hash     TEXT COLLATE "C" UNIQUE,   -- a link's SHA-256 hex; NULL for a code
    email          TEXT COLLATE "C" NOT NULL, -- the normalized address it was mailed to
    user_id        TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE, -- NULL: sign-up when used
    code_hash      TEXT COLLATE "C" NOT NULL, -- keyed hash of the code
    browser_hash   TEXT COLLATE "C",          -- SHA-256 of the requesting browser's nonce
    code_challenge TEXT COLLATE "C",          -- PKCE S256 (API mode)
    redirect_to    TEXT,
    attempts       INTEGER     NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ                -- used, superseded or voided
);

CREATE INDEX passwordless_tokens_email_idx ON passwordless_tokens (email, kind);
CREATE INDEX passwordless_tokens_user_idx ON passwordless_tokens (user_id);
CREATE INDEX passwordless_tokens_expires_idx ON passwordless_tokens (expires_at);
