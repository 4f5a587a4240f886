-- zveno store, SQLite. Append-only: never edit a migration that has shipped; add a new one.

-- Who pulls what: one holder per (connector, kind) at a time, so several instances on one
-- store never pull the same kind at once. `token` is the fencing token: it grows by one
-- at every acquisition, and every page commit checks it (and the cursor the page started
-- from) in its own transaction, so a holder whose lease expired can never write. The
-- store-wide resolution lock is a row here too (connector '*resolve*').
CREATE TABLE leases (
    connector    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    -- the instance holding it; NULL once released
    holder       TEXT,
    token        INTEGER NOT NULL DEFAULT 0,
    -- epoch ms; a lease past it may be taken over
    expires_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    -- pages refused because their holder had lost the lease or the cursor had moved
    rejected     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connector, kind)
);

-- Records the completed census of a run tombstoned (`zveno runs` shows them).
ALTER TABLE runs ADD COLUMN tombstoned INTEGER NOT NULL DEFAULT 0;
