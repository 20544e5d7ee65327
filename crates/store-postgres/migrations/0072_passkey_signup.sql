-- Passkey-only sign-up (latchkey_core::passkeys::SignupTicket): the tickets
-- a mailed link or code used with `intent: signup` gives. A ticket names
-- the proven address and the id the account will have; the transaction
-- that makes the account deletes it (single use, and no address is kept).

CREATE TABLE passkey_signup_tickets (
    ticket_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    email       TEXT        NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX passkey_signup_tickets_expires_at_idx ON passkey_signup_tickets (expires_at);
