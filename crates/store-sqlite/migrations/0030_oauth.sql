-- The OAuth provider's client registrations (issue 16): beside each row of
-- `clients`, its settings as one JSON document (latchkey_core::oauth::
-- ClientSettings: redirect URIs, grants, scopes, type, lifetimes, ...),
-- always read whole by client id. Clients registered before this migration
-- get `{}`: confidential, no redirect URI, no grant (introspection and
-- revocation, what they could do before).

CREATE TABLE oauth_clients (
    client_id  TEXT    NOT NULL PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    settings   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

INSERT INTO oauth_clients (client_id, settings, updated_at)
    SELECT id, '{}', created_at FROM clients;

-- The RSA keys that sign ID tokens (RS256, as OpenID Connect requires), kept
-- like `signing_keys`: sealed under the master key, one active, retired
-- ones published until their tokens expire.
CREATE TABLE oauth_signing_keys (
    kid            TEXT    NOT NULL PRIMARY KEY,
    alg            TEXT    NOT NULL,
    private_sealed BLOB    NOT NULL,
    public_jwk     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER,
    publish_until  INTEGER
) STRICT;

CREATE UNIQUE INDEX oauth_signing_keys_one_active ON oauth_signing_keys ((1)) WHERE retired_at IS NULL;

-- Authorization codes (RFC 6749 §4.1): only their hash, what they are bound
-- to (client, redirect URI, PKCE challenge, the browser session) and when
-- they were first presented (single use). They live 60 seconds.
CREATE TABLE oauth_codes (
    code_hash      TEXT    NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id     TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    scope          TEXT    NOT NULL,  -- space-separated
    nonce          TEXT,
    code_challenge TEXT,              -- S256 only
    resource       TEXT,
    auth_time      INTEGER NOT NULL,
    amr            TEXT    NOT NULL,  -- space-separated RFC 8176 values
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
) STRICT;

CREATE INDEX oauth_codes_expires_at_idx ON oauth_codes (expires_at);
