-- The event stream's horizon (issue 18): the highest event id the
-- retention sweep has deleted. A reader resuming after an id below it has
-- missed events it can no longer get, and is told so (410
-- `last_event_id_expired`) instead of being served a stream with a hole.
-- Kept by a statement trigger, so every way rows leave `events` moves it.
-- Before this migration the sweep may already have run: the rows below the
-- oldest kept one count as purged.

CREATE TABLE events_horizon (
    one            BOOLEAN NOT NULL PRIMARY KEY DEFAULT true CHECK (one),
    purged_through BIGINT  NOT NULL
);

INSERT INTO events_horizon (purged_through) SELECT coalesce(
    (SELECT min(id) - 1 FROM events),
    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq),
    0);

CREATE FUNCTION events_horizon() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE events_horizon
       SET purged_through = greatest(purged_through, (SELECT max(id) FROM purged))
     WHERE EXISTS (SELECT 1 FROM purged);
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_horizon AFTER DELETE ON events
    REFERENCING OLD TABLE AS purged
    FOR EACH STATEMENT EXECUTE FUNCTION events_horizon();
