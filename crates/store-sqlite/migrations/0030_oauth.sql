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
