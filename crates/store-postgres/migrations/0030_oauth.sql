-- The OAuth provider's client registrations (issue 16): beside each row of
-- `clients`, its settings as one JSON document (latchkey_core::oauth::
-- ClientSettings: redirect URIs, grants, scopes, type, lifetimes, ...),
-- always read whole by client id. Clients registered before this migration
-- get `{}`: confidential, no redirect URI, no grant (introspection and
-- revocation, what they could do before).

CREATE TABLE oauth_clients (
    client_id  TEXT        COLLATE "C" NOT NULL PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    settings   TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

INSERT INTO oauth_clients (client_id, settings, updated_at)
    SELECT id, '{}', created_at FROM clients;

-- The RSA keys that sign ID tokens (RS256, as OpenID Connect requires), kept
-- like `signing_keys`: sealed under the master key, one active, retired
-- ones published until their tokens expire.
CREATE TABLE oauth_signing_keys (
    kid            TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    alg            TEXT        NOT NULL,
    private_sealed BYTEA       NOT NULL,
    public_jwk     TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    retired_at     TIMESTAMPTZ,
    publish_until  TIMESTAMPTZ
);

CREATE UNIQUE INDEX oauth_signing_keys_one_active ON oauth_signing_keys ((true)) WHERE retired_at IS NULL;

-- Authorization codes (RFC 6749 §4.1): only their hash, what they are bound
-- to (client, redirect URI, PKCE challenge, the browser session) and when
-- they were first presented (single use). They live 60 seconds.
CREATE TABLE oauth_codes (
    code_hash      TEXT        COLLATE "C" NOT NULL PRIMARY KEY,
    client_id      TEXT        COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT        COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id     TEXT        COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    redirect_uri   TEXT        NOT NULL,
    scope          TEXT        NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    resource       TEXT,
    auth_time      TIMESTAMPTZ NOT NULL,
    amr            TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ
);

CREATE INDEX oauth_codes_expires_at_idx ON oauth_codes (expires_at);
