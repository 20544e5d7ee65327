-- Second factors (latchkey_core::mfa): a TOTP secret per account (sealed
-- under the master key), backup codes (keyed hashes), and the second step of
-- sign-in (mfa_token hashes). Timestamps are unix milliseconds.

CREATE TABLE mfa_totp (
    user_id       TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,             -- NULL while enrolment is pending
    last_step     INTEGER              -- the last TOTP time step accepted
) STRICT;

CREATE TABLE mfa_backup_codes (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE mfa_challenges (
    token_hash   TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('bearer', 'cookie')),
    binding_hash TEXT,
    amr          TEXT    NOT NULL,      -- space-separated, what the first step proved
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    used_at      INTEGER
) STRICT;

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);
