-- zveno store, SQLite. Append-only: never edit a migration that has shipped; add a new one.

-- The id census of each connector and kind (ARCHITECTURE.md, data flow, step 2): when the
-- last one finished, and a result held for an operator. A census (or a full scan) that
-- would tombstone more than max(5% of the kind's live records, 50) is not applied until
-- `zveno census approve`: a token that lost access to half the records looks exactly like
-- half of them deleted.
CREATE TABLE census (
    connector   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    -- when the last completed id census started (epoch ms); the next is due from it
    last_at     INTEGER,
    -- a held result: when it was held, how many records were live then, and the ids it
    -- would tombstone (a JSON array); all NULL when nothing is held
    held_at     INTEGER,
    held_live   INTEGER,
    held_ids    TEXT,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (connector, kind)
);

-- What a run's id census cost, apart from the pull's own requests (its tombstones join the
-- run's `tombstoned`, 0006), and the records a census held for an operator.
ALTER TABLE runs ADD COLUMN census_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
