-- The account lifecycle: account state on users, single-use account tokens,
-- the mail outbox and background jobs. Ids and hashes are COLLATE "C".

-- Suspension is 0003_roles_audit's (suspended_at, suspended_until,
-- suspension_reason); nothing here.

-- Self-deactivation: sessions ended; signing in again reactivates.
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMPTZ;
-- Pending deletion: personal data is removed once this time has passed.
ALTER TABLE users ADD COLUMN deletion_due_at TIMESTAMPTZ;
-- A tombstone: the row keeps its id, nothing personal.
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMPTZ;

CREATE INDEX users_deletion_due_idx ON users (deletion_due_at) WHERE deletion_due_at IS NOT NULL;

CREATE TABLE account_tokens (
    token_hash TEXT        COLLATE "C" NOT NULL PRIMARY KEY,  -- SHA-256 hex; the token is never stored
    user_id    TEXT        COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT        NOT NULL
               CHECK (purpose IN ('verify_email', 'password_reset', 'email_change', 'cancel_deletion')),
    email      TEXT,                                          -- the address it was mailed to
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

CREATE INDEX account_tokens_user_purpose_idx ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);

CREATE TABLE mail_outbox (
    id         TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT        COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    template   TEXT        NOT NULL,
    sealed     BYTEA,                                         -- recipient, subject, bodies; wiped once sent
    created_at TIMESTAMPTZ NOT NULL,
    sent_at    TIMESTAMPTZ
);

CREATE INDEX mail_outbox_user_idx ON mail_outbox (user_id);
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at);

CREATE TABLE jobs (
    id              TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    kind            TEXT        NOT NULL,
    idempotency_key TEXT        COLLATE "C" NOT NULL,
    payload         BYTEA       NOT NULL,
    run_at          TIMESTAMPTZ NOT NULL,
    attempts        INTEGER     NOT NULL DEFAULT 0,
    max_attempts    INTEGER     NOT NULL,
    locked_until    TIMESTAMPTZ,                              -- the lease: another worker may claim it after this
    locked_by       TEXT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    outcome         TEXT        CHECK (outcome IN ('done', 'failed'))
);

CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE finished_at IS NULL;
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;
