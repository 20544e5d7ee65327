-- private_key_jwt (issue 16): the jti of every client assertion accepted,
-- kept until the assertion expires, so that each is used once. One row per
-- (client, jti); the insert that records a jti is the check.

CREATE TABLE oauth_client_assertions (
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
) STRICT;
