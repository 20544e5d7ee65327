-- The user's own stream learns of second-factor changes (issue 14's audit
-- events): `mfa.enabled`, `mfa.disabled`, `mfa.reset` and
-- `mfa.backup_codes_regenerated` become `mfa.changed`.

DROP TRIGGER events_from_audit;

CREATE TRIGGER events_from_audit AFTER INSERT ON audit_events
WHEN NEW.event IN ('user.suspended', 'user.deleted', 'account.deleted', 'password.changed',
                   'password_reset.completed', 'email_change.confirmed', 'mfa.enabled',
                   'mfa.disabled', 'mfa.reset', 'mfa.backup_codes_regenerated')
BEGIN
    INSERT INTO events (at, type, sub, data)
    VALUES (NEW.at,
            CASE
                WHEN NEW.event = 'account.deleted' THEN 'user.deleted'
                WHEN NEW.event = 'password_reset.completed' THEN 'password.changed'
                WHEN NEW.event = 'email_change.confirmed' THEN 'email.changed'
                WHEN NEW.event LIKE 'mfa.%' THEN 'mfa.changed'
                ELSE NEW.event
            END,
            NEW.subject_id, json_object('sub', NEW.subject_id));
END;
