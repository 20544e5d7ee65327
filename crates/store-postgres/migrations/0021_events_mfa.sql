-- The user's own stream learns of second-factor changes (issue 14's audit
-- events): `mfa.enabled`, `mfa.disabled`, `mfa.reset` and
-- `mfa.backup_codes_regenerated` become `mfa.changed`.

CREATE OR REPLACE FUNCTION events_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM events_append(NEW.at,
        CASE
            WHEN NEW.event = 'account.deleted' THEN 'user.deleted'
            WHEN NEW.event = 'password_reset.completed' THEN 'password.changed'
            WHEN NEW.event = 'email_change.confirmed' THEN 'email.changed'
            WHEN NEW.event LIKE 'mfa.%' THEN 'mfa.changed'
            ELSE NEW.event
        END,
        NEW.subject_id, json_build_object('sub', NEW.subject_id)::text);
    RETURN NULL;
END;
$$;

DROP TRIGGER events_from_audit ON audit_events;

CREATE TRIGGER events_from_audit AFTER INSERT ON audit_events
    FOR EACH ROW WHEN (NEW.event IN ('user.suspended', 'user.deleted', 'account.deleted',
        'password.changed', 'password_reset.completed', 'email_change.confirmed',
        'mfa.enabled', 'mfa.disabled', 'mfa.reset', 'mfa.backup_codes_regenerated'))
    EXECUTE FUNCTION events_from_audit();
