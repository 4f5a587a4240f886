-- zveno store, PostgreSQL. Append-only: never edit a migration that has shipped; add a new one.

-- What each vendor account spent of a daily budget that only counting can tell (Pipedrive's
-- tokens: no header says what is left), tallied by every instance on the store, so a
-- restart or a second instance does not start the day from zero. One row per account key
-- (vendor, public name, a hash of the credential: never a secret) and budget day.
CREATE TABLE spend_ledger (
    account    TEXT COLLATE "C" NOT NULL,
    -- epoch ms of the reset that opened the budget day
    day_start  BIGINT NOT NULL,
    spent      BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account, day_start)
);
