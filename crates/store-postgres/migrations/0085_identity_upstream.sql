-- What an upstream provider said of a linked identity at its last sign-in
-- (latchkey_core::federation, issue 17): the profile (name, picture URL)
-- and, when the provider has `store_tokens`, its access and refresh tokens
-- SEALED under the master key (bound to the identity's id). `version` grows
-- with every write, so a refresh replaces the tokens only if nothing else
-- did meanwhile. Removed with the identity.

CREATE TABLE identity_upstream (
    identity_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES identities (id) ON DELETE CASCADE,
    name          TEXT,
    picture       TEXT,
    tokens_sealed BYTEA,
    version       BIGINT      NOT NULL DEFAULT 1,
    updated_at    TIMESTAMPTZ NOT NULL
);
