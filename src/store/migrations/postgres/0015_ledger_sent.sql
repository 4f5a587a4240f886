-- zveno store. Append-only: never edit a migration that has shipped; add a new one.

-- The hash of the value zveno sent with each ledger row (`hash` is what the vendor read
-- back). A read-back value is zveno's echo only while the agreed base is still the value
-- that write sent: once a later write or a person's edit has moved the base on, a person
-- setting the field back to what zveno once wrote is an edit, not an echo. NULL for rows
-- written before this column (treated as before: an echo whenever the hash matches).
ALTER TABLE write_ledger ADD COLUMN sent TEXT;
