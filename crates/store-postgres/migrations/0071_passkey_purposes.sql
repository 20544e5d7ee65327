-- Passkey challenges of two more ceremonies (latchkey_core::passkeys::Purpose):
-- `second_factor`, a passkey answering the second step of a sign-in (bound
-- to its mfa_token), and `signup`, a passkey-only account's first passkey
-- (bound to its sign-up ticket).

ALTER TABLE passkey_challenges
    DROP CONSTRAINT passkey_challenges_purpose_check,
    ADD CONSTRAINT passkey_challenges_purpose_check
        CHECK (purpose IN ('register', 'login', 'second_factor', 'signup'));
