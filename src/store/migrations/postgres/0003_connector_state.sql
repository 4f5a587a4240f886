-- zveno store, PostgreSQL. Append-only: never edit a migration that has shipped; add a new one.

-- Whether each connector runs, and why not: the scheduler's memory across restarts and the
-- place the service reads parked connectors from. One row per connector instance name,
-- shared by every daemon on the store (a revoked token is revoked for all of them).
CREATE TABLE connector_state (
    connector          TEXT    COLLATE "C" NOT NULL PRIMARY KEY,
    -- 'active': runs on its schedule; 'deferred': waits until next_run_at (throttled, or
    -- backing off after failures); 'parked': stopped, with a reason, until a person resumes
    -- it (or its configuration changes) -- or, after a panic, until next_run_at
    state              TEXT    NOT NULL CHECK (state IN ('active', 'deferred', 'parked')),
    reason             TEXT,
    -- when the connector entered this state (epoch ms)
    since              BIGINT  NOT NULL,
    next_run_at        BIGINT,
    -- failed runs in a row: the exponent of the back-off between runs
    failures           BIGINT  NOT NULL DEFAULT 0,
    -- hash of the connector's configuration (secrets included) when the row was written;
    -- a parked connector whose configuration changed resumes at the next start
    config_fingerprint TEXT,
    updated_at         BIGINT  NOT NULL
);

-- Requests the connector made smaller or later because the vendor reported nearing a limit.
ALTER TABLE runs ADD COLUMN slowed BIGINT NOT NULL DEFAULT 0;
