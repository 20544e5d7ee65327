-- The account lifecycle: account state on users, single-use account tokens,
-- the mail outbox and background jobs. Timestamps are unix milliseconds.

-- Suspension is 0003_roles_audit's (suspended_at, suspended_until,
-- suspension_reason); nothing here.

-- Self-deactivation: sessions ended; signing in again reactivates.
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;
-- Pending deletion: personal data is removed once this time has passed.
ALTER TABLE users ADD COLUMN deletion_due_at INTEGER;
-- A tombstone: the row keeps its id, nothing personal.
ALTER TABLE users ADD COLUMN deleted_at INTEGER;

CREATE INDEX users_deletion_due_idx ON users (deletion_due_at) WHERE deletion_due_at IS NOT NULL;

CREATE TABLE account_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,  -- SHA-256 hex; the token is never stored
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL
               CHECK (purpose IN ('verify_email', 'password_reset', 'email_change', 'cancel_deletion')),
    email      TEXT,                          -- the address it was mailed to
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

CREATE INDEX account_tokens_user_purpose_idx ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);

CREATE TABLE mail_outbox (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
    template   TEXT    NOT NULL,
    sealed     BLOB,                          -- recipient, subject, bodies; wiped once sent
    created_at INTEGER NOT NULL,
    sent_at    INTEGER
) STRICT;

CREATE INDEX mail_outbox_user_idx ON mail_outbox (user_id);
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at);

CREATE TABLE jobs (
    id              TEXT    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    run_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    locked_until    INTEGER,                  -- the lease: another worker may claim it after this
    locked_by       TEXT,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    outcome         TEXT    CHECK (outcome IN ('done', 'failed'))
) STRICT;

CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE finished_at IS NULL;
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
