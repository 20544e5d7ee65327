-- The language of an account's mail (a language tag such as `de`);
-- NULL: the configured default (`mail.locale`).
ALTER TABLE users ADD COLUMN locale TEXT;
