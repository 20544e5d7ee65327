-- The event stream's horizon (issue 18): the highest event id the
-- retention sweep has deleted. A reader resuming after an id below it has
-- missed events it can no longer get, and is told so (410
-- `last_event_id_expired`) instead of being served a stream with a hole.
-- Kept by a trigger, so every way rows leave `events` moves it.
-- Before this migration the sweep may already have run: the rows below the
-- oldest kept one count as purged.

CREATE TABLE events_horizon (
    one            INTEGER NOT NULL PRIMARY KEY CHECK (one = 1),
    purged_through INTEGER NOT NULL
) STRICT;

INSERT INTO events_horizon (one, purged_through) VALUES (1, coalesce(
    (SELECT min(id) - 1 FROM events),
    (SELECT seq FROM sqlite_sequence WHERE name = 'events'),
    0));

CREATE TRIGGER events_horizon AFTER DELETE ON events
BEGIN
    UPDATE events_horizon SET purged_through = max(purged_through, OLD.id);
END;
