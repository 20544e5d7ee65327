-- Second factors (latchkey_core::mfa): a TOTP secret per account (sealed
-- under the master key), backup codes (keyed hashes), and the second step of
-- sign-in (mfa_token hashes).

CREATE TABLE mfa_totp (
    user_id       TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed BYTEA       NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    confirmed_at  TIMESTAMPTZ,            -- NULL while enrolment is pending
    last_step     BIGINT                  -- the last TOTP time step accepted
);

CREATE TABLE mfa_backup_codes (
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
    token_hash   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT        NOT NULL CHECK (kind IN ('bearer', 'cookie')),
    binding_hash TEXT COLLATE "C",
    amr          TEXT        NOT NULL,    -- space-separated, what the first step proved
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    failures     INTEGER     NOT NULL DEFAULT 0,
    used_at      TIMESTAMPTZ
);

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);
