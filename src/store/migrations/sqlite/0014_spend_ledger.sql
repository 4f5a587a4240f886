-- zveno store, SQLite. Append-only: never edit a migration that has shipped; add a new one.

-- What each vendor account spent of a daily budget that only counting can tell (Pipedrive's
-- tokens: no header says what is left), tallied by every instance on the store, so a
-- restart or a second instance does not start the day from zero. One row per account key
-- (vendor, public name, a hash of the credential: never a secret) and budget day.
CREATE TABLE spend_ledger (
    account    TEXT    NOT NULL,
    -- epoch ms of the reset that opened the budget day
    day_start  INTEGER NOT NULL,
    spent      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account, day_start)
);
