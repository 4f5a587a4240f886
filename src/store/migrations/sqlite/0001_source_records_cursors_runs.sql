-- zveno store, SQLite. Append-only: never edit a migration that has shipped; add a new one.
-- Portable conventions shared with the PostgreSQL folder: timestamps are epoch-ms
-- integers, JSON is TEXT, booleans are 0/1 integers.

-- One row per vendor record, keyed by (connector, kind, external_id).
CREATE TABLE source_records (
    connector     TEXT    NOT NULL,
    kind          TEXT    NOT NULL CONSTRAINT source_records_kind_known
                          CHECK (kind IN ('client', 'contact', 'task')),
    external_id   TEXT    NOT NULL CONSTRAINT external_id_not_empty CHECK (external_id <> ''),
    created_at    INTEGER,
    -- remote modification time; the store never replaces a newer version with an older one
    updated_at    INTEGER,
    deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    -- why it is deleted: 'vendor' (a tombstone) or 'census' (missing from two full scans)
    deleted_by    TEXT    CHECK (deleted_by IN ('vendor', 'census')),
    url           TEXT,
    payload_hash  TEXT    NOT NULL CONSTRAINT payload_hash_not_empty CHECK (payload_hash <> ''),
    raw           TEXT    NOT NULL,
    -- serialized RecordData; NULL only for tombstones that never carried a payload
    data          TEXT,
    warnings      TEXT    NOT NULL DEFAULT '[]',
    first_seen_at INTEGER NOT NULL,
    -- when the stored version was written
    synced_at     INTEGER NOT NULL,
    last_scan_id  INTEGER,
    missed_scans  INTEGER NOT NULL DEFAULT 0,
    -- 1 until identity resolution has processed the current revision
    dirty         INTEGER NOT NULL DEFAULT 1 CHECK (dirty IN (0, 1)),
    revision      INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (connector, kind, external_id)
);

CREATE INDEX source_records_dirty
    ON source_records (kind, connector, external_id) WHERE dirty = 1;

-- The cursor persisted with each page, per (connector, kind, mode). For mode 'full' the
-- row also carries the census state of the scan in progress.
CREATE TABLE cursors (
    connector             TEXT    NOT NULL,
    kind                  TEXT    NOT NULL,
    mode                  TEXT    NOT NULL CHECK (mode IN ('full', 'incremental')),
    -- connector-owned JSON; NULL means "from the beginning"
    cursor                TEXT,
    scan_id               INTEGER NOT NULL DEFAULT 0,
    scan_started_at       INTEGER,
    -- record errors without an id in the current scan: the census is skipped when > 0
    scan_anonymous_errors INTEGER NOT NULL DEFAULT 0,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (connector, kind, mode)
);

-- Run history. AUTOINCREMENT so ids are never reused once old runs are pruned.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    connector       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    mode            TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    status          TEXT    NOT NULL
                    CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
    pages           INTEGER NOT NULL DEFAULT 0,
    records         INTEGER NOT NULL DEFAULT 0,
    record_errors   INTEGER NOT NULL DEFAULT 0,
    requests        INTEGER NOT NULL DEFAULT 0,
    throttled       INTEGER NOT NULL DEFAULT 0,
    retried         INTEGER NOT NULL DEFAULT 0,
    failed_requests INTEGER NOT NULL DEFAULT 0,
    message         TEXT
);

CREATE INDEX runs_newest ON runs (started_at, id);
CREATE INDEX runs_connector_newest ON runs (connector, started_at, id);
