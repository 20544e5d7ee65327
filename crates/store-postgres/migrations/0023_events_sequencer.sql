-- The event stream without a global lock on the write path (issue 18).
--
-- Until now every transaction that recorded an event took one advisory
-- lock from its first event to its commit (0020's `events_append`), so that
-- ids were drawn in commit order: every sign-in, logout and refresh reuse of
-- every node queued on it. Now writers only insert; a row's place in the
-- stream, `pos`, is given after it committed, by a sequencer any reader
-- runs (`events_sequence()`, called before each read):
--
--   * it sees only committed rows, and gives the unpositioned ones the next
--     positions, in id order, in one statement;
--   * only one sequencer runs at a time (a try-lock: a reader that finds it
--     taken reads what is positioned and comes back), and the lock is
--     released after its commit is visible;
-- so a reader that sees position P already sees every position below P,
-- and a row committed later always gets a position above every one handed
-- out: resuming after P (`Last-Event-ID`) is exact, with no lock held by
-- writers. Positions continue the ids: a `Last-Event-ID` given before this
-- migration stays valid.
--
-- (Ordering readers by pg_current_xact_id() below the snapshot's xmin
-- would need a two-part cursor and would stall delivery behind any long
-- transaction in the database; a position given after commit needs
-- neither.)

ALTER TABLE events ADD COLUMN pos BIGINT;
UPDATE events SET pos = id;
CREATE UNIQUE INDEX events_pos_idx ON events (pos);
CREATE INDEX events_sub_pos_idx ON events (sub, pos);
DROP INDEX events_sub_idx;
CREATE INDEX events_unpositioned_idx ON events (id) WHERE pos IS NULL;

CREATE TABLE events_sequencer (
    one      BOOLEAN NOT NULL PRIMARY KEY DEFAULT true CHECK (one),
    last_pos BIGINT  NOT NULL
);

INSERT INTO events_sequencer (last_pos) SELECT greatest(
    (SELECT coalesce(max(id), 0) FROM events),
    (SELECT purged_through FROM events_horizon),
    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq));

CREATE OR REPLACE FUNCTION events_append(p_at TIMESTAMPTZ, p_type TEXT, p_sub TEXT, p_data TEXT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (at, type, sub, data) VALUES (p_at, p_type, p_sub, p_data);
END;
$$;

-- Positions the committed rows that have none (at most 100,000 a call, in
-- batches of 10,000, so that positions become visible at its commit even
-- under a heavy write load); returns how many. Each statement of a
-- (volatile) PL/pgSQL function reads a fresh snapshot, so the rows it
-- positions are those committed when it holds the lock.
CREATE FUNCTION events_sequence() RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    base  BIGINT;
    top   BIGINT;
    total BIGINT := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM events WHERE pos IS NULL) THEN
        RETURN 0;
    END IF;
    -- 'latchkey.events' as a 64-bit constant (0020's, now the sequencer's)
    IF NOT pg_try_advisory_xact_lock(7240618815103955020) THEN
        RETURN 0;
    END IF;
    FOR batch IN 1..10 LOOP
        SELECT last_pos INTO base FROM events_sequencer;
        WITH todo AS (
            SELECT id, base + row_number() OVER (ORDER BY id) AS p
              FROM (SELECT id FROM events WHERE pos IS NULL ORDER BY id LIMIT 10000) q
        ), done AS (
            UPDATE events e SET pos = todo.p FROM todo WHERE e.id = todo.id RETURNING e.pos
        )
        SELECT max(pos) INTO top FROM done;
        EXIT WHEN top IS NULL;
        UPDATE events_sequencer SET last_pos = top;
        total := total + (top - base);
    END LOOP;
    RETURN total;
END;
$$;

-- The horizon counts positions now (a row purged before it had one was
-- never served).
CREATE OR REPLACE FUNCTION events_horizon() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE events_horizon
       SET purged_through = greatest(purged_through, (SELECT max(pos) FROM purged))
     WHERE EXISTS (SELECT 1 FROM purged WHERE pos IS NOT NULL);
    RETURN NULL;
END;
$$;
