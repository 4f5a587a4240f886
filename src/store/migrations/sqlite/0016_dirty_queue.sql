-- zveno store. Append-only: never edit a migration that has shipped; add a new one.

-- The dirty queue leaves `source_records` for a narrow table of its own. As a flag on the
-- row, taking a record off the queue rewrote the whole row — raw payload and data, 1 to
-- 1.5 KiB — to change one integer, so the resolution after a full sync wrote the table a
-- second time (its pages to the WAL, then to the database file at the checkpoint). Here
-- it deletes a row of a few dozen bytes.
--
-- A record is queued while it has a row here, holding the revision it was queued at.
-- Every update that sets `revision` (each write that identity resolution must see bumps
-- it) queues the record at its new revision by the trigger below, so no statement can
-- forget it; a new record (revision 1) is queued by the statement that inserts it, the
-- page upsert (`store::page`), because a row trigger on every insert of a full sync costs
-- more than the queue saves. Clearing deletes the row only while it still holds the
-- revision resolution read, so a record written again meanwhile stays queued. Keyed by
-- kind first: resolution drains clients, then contacts, then tasks.
CREATE TABLE dirty_records (
    kind        TEXT    NOT NULL,
    connector   TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    PRIMARY KEY (kind, connector, external_id)
) WITHOUT ROWID;

INSERT INTO dirty_records (kind, connector, external_id, revision)
    SELECT kind, connector, external_id, revision FROM source_records WHERE dirty = 1;

CREATE TRIGGER source_records_queue_revised AFTER UPDATE OF revision ON source_records
BEGIN
    INSERT INTO dirty_records (kind, connector, external_id, revision)
        VALUES (NEW.kind, NEW.connector, NEW.external_id, NEW.revision)
        ON CONFLICT (kind, connector, external_id) DO UPDATE SET revision = excluded.revision;
END;

DROP INDEX source_records_dirty;
ALTER TABLE source_records DROP COLUMN dirty;
