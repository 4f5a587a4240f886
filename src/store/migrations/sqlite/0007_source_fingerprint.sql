-- zveno store, SQLite. Append-only: never edit a migration that has shipped; add a new one.

-- Which source (vendor portal, site or account, named by the connector) each connector's
-- cursors and records come from. A connector pointed at another source (`[connectors.crm]`
-- moved to a second portal) must not mix two portals' records under one name, nor let the
-- new portal's census tombstone the old portal's records as deleted: the store sets the
-- old source's records aside (below), clears the connector's cursors and starts fresh.
CREATE TABLE connector_sources (
    connector TEXT NOT NULL PRIMARY KEY,
    source    TEXT    NOT NULL,
    -- epoch ms when this source was first seen; full scans before it belong to another source
    since     INTEGER NOT NULL
);

-- Records of a connector's previous source, kept whole (as they were when set aside) so an
-- operator can see what was there; their personal data goes after
-- `[store] tombstone_retention_days`, like a tombstone's.
CREATE TABLE set_aside_records (
    connector    TEXT NOT NULL,
    source       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    deleted      INTEGER NOT NULL,
    updated_at   INTEGER,
    url          TEXT,
    raw          TEXT    NOT NULL,
    data         TEXT,
    set_aside_at INTEGER NOT NULL,
    PRIMARY KEY (connector, source, kind, external_id)
);

CREATE INDEX set_aside_records_age ON set_aside_records (set_aside_at);
