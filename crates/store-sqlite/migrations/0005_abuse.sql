-- Consecutive failed sign-ins per account, unknown identifier or known
-- device (see latchkey_core::abuse::brute_force). Timestamps are unix
-- milliseconds, as in 0001_users.

CREATE TABLE login_failures (
    key             TEXT    NOT NULL PRIMARY KEY,  -- user:<id>, ident:<sha256>, device:<id>
    failures        INTEGER NOT NULL CHECK (failures >= 0),
    last_failure_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,               -- no check before this instant
    locked_at       INTEGER                         -- the threshold was reached
) STRICT;

-- The purge job deletes forgotten, unlocked counters by age.
CREATE INDEX login_failures_purge_idx ON login_failures (last_failure_at) WHERE locked_at IS NULL;
