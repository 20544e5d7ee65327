-- Each exchanged refresh token names its successor, so that a retry inside
-- the grace window is answered only while that successor is still unused
-- (latchkey_core::session::PresentedToken::decide). Rows exchanged before this
-- migration have none: a retry of one is treated as a replay.

ALTER TABLE refresh_tokens ADD COLUMN successor_hash TEXT COLLATE "C";
