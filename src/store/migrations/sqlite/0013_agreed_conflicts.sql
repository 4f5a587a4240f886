-- zveno store, SQLite. Append-only: never edit a migration that has shipped; add a new one.

-- The three-way base of write-back: per flow, target record and field, the hash of the
-- last value both sides agreed on. A side whose value differs from it (and is not the
-- echo of zveno's write, see write_ledger) changed the field since.
CREATE TABLE flow_agreed (
    flow         TEXT    NOT NULL,
    connector    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    field        TEXT    NOT NULL,
    hash         TEXT      NOT NULL,
    agreed_at    INTEGER   NOT NULL,
    PRIMARY KEY (flow, connector, kind, external_id, field)
);

-- Fields changed on both sides that a flow's on_conflict = "manual" leaves to a person
-- (`zveno conflicts`, `zveno conflicts resolve ID --take source|target`). One open row per
-- flow, target record and field; a resolved one keeps who won.
CREATE TABLE flow_conflicts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    flow              TEXT    NOT NULL,
    grp               TEXT    NOT NULL,
    field             TEXT    NOT NULL,
    source_connector  TEXT    NOT NULL,
    source_id         TEXT    NOT NULL,
    source_value      TEXT      NOT NULL,
    target_connector  TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    target_id         TEXT    NOT NULL,
    target_value      TEXT      NOT NULL,
    base              TEXT,
    -- 'open' or 'resolved'
    state             TEXT      NOT NULL,
    -- 'source' or 'target' once resolved
    taken             TEXT,
    created_at        INTEGER   NOT NULL,
    updated_at        INTEGER   NOT NULL
);

CREATE UNIQUE INDEX flow_conflicts_open ON flow_conflicts (flow, target_connector, kind, target_id, field) WHERE state = 'open';
