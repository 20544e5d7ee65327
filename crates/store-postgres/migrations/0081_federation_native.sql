-- Issue 17, native apps: the nonce an app gets before its platform SDK's
-- sign-in is a one-time row of federation_pending (purpose 'nonce').
ALTER TABLE federation_pending
    DROP CONSTRAINT federation_pending_purpose_check,
    ADD CONSTRAINT federation_pending_purpose_check
        CHECK (purpose IN ('flow', 'exchange', 'nonce'));
