-- zveno store, PostgreSQL. Append-only: never edit a migration that has shipped; add a new one.

-- Write-back (ARCHITECTURE.md, "Plan and push"). The outbox: every op a flow applies is
-- written here before it is sent and marked with the vendor's answer after, so a crash
-- between the two is found on restart (state 'sending') and settled by looking the record
-- up by its idempotency handle instead of sending it blindly again. op_id derives from
-- the flow, the record and what is written, so the same op planned again is this row.
CREATE TABLE flow_outbox (
    op_id        TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    flow         TEXT COLLATE "C"    NOT NULL,
    grp          TEXT COLLATE "C"    NOT NULL,
    connector    TEXT COLLATE "C"    NOT NULL,
    kind         TEXT COLLATE "C"    NOT NULL,
    action       TEXT      NOT NULL,
    -- the record written; for a create, NULL until the vendor names it
    external_id  TEXT COLLATE "C",
    -- the planned op (JSON): fields before → after
    op           TEXT      NOT NULL,
    -- 'sending' (persisted, answer not yet recorded), 'done', 'failed'
    state        TEXT      NOT NULL,
    attempts     BIGINT   NOT NULL DEFAULT 0,
    error        TEXT,
    created_at   BIGINT   NOT NULL,
    updated_at   BIGINT   NOT NULL
);

CREATE INDEX flow_outbox_state ON flow_outbox (state, flow);
CREATE INDEX flow_outbox_group ON flow_outbox (flow, grp, action);

-- Which record in a flow's target is the copy of which group (a golden client, or a
-- source task): written with the create's answer, so the copy is never created twice
-- even before a pull has read it back, and a deleted source can archive it.
CREATE TABLE flow_pairs (
    flow         TEXT COLLATE "C"    NOT NULL,
    grp          TEXT COLLATE "C"    NOT NULL,
    connector    TEXT COLLATE "C"    NOT NULL,
    kind         TEXT COLLATE "C"    NOT NULL,
    external_id  TEXT COLLATE "C"    NOT NULL,
    created_at   BIGINT   NOT NULL,
    PRIMARY KEY (flow, grp)
);

CREATE INDEX flow_pairs_target ON flow_pairs (connector, kind, external_id);

-- The write ledger: per record and field, the hash of what the record held right after
-- zveno wrote it (as the vendor read it back). The next pull showing exactly that is the
-- echo of zveno's own write, not a person's edit, and triggers nothing.
CREATE TABLE write_ledger (
    connector    TEXT COLLATE "C"    NOT NULL,
    kind         TEXT COLLATE "C"    NOT NULL,
    external_id  TEXT COLLATE "C"    NOT NULL,
    field        TEXT COLLATE "C"    NOT NULL,
    hash         TEXT      NOT NULL,
    written_at   BIGINT   NOT NULL,
    PRIMARY KEY (connector, kind, external_id, field)
);
