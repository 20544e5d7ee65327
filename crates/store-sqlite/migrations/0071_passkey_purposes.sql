-- Passkey challenges of two more ceremonies (latchkey_core::passkeys::Purpose):
-- `second_factor`, a passkey answering the second step of a sign-in (bound
-- to its mfa_token), and `signup`, a passkey-only account's first passkey
-- (bound to its sign-up ticket). SQLite cannot change a CHECK: the table is
-- rebuilt with its rows.

CREATE TABLE passkey_challenges_new (
    challenge_hash TEXT    NOT NULL PRIMARY KEY,
    purpose        TEXT    NOT NULL
                   CHECK (purpose IN ('register', 'login', 'second_factor', 'signup')),
    user_id        TEXT    REFERENCES users (id) ON DELETE CASCADE,
    binding_hash   TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;

INSERT INTO passkey_challenges_new
    (challenge_hash, purpose, user_id, binding_hash, created_at, expires_at)
SELECT challenge_hash, purpose, user_id, binding_hash, created_at, expires_at
FROM passkey_challenges;

DROP TABLE passkey_challenges;
ALTER TABLE passkey_challenges_new RENAME TO passkey_challenges;
CREATE INDEX passkey_challenges_expires_at_idx ON passkey_challenges (expires_at);
