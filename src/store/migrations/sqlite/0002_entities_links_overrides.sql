-- zveno store, SQLite: identity resolution. Append-only, like 0001. Same conventions:
-- timestamps are epoch-ms integers, JSON is TEXT, booleans are 0/1 integers.

-- Golden records: one row per unified client or contact.
CREATE TABLE entities (
    id          TEXT    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('client', 'contact')),
    name        TEXT    NOT NULL,
    -- lower-case owner (an e-mail when the vendor shows one), for `zveno clients --owner`
    owner       TEXT,
    -- lower-case text `zveno clients --search` looks in: the name in both scripts, domains,
    -- e-mails, phones, tax id
    search      TEXT    NOT NULL,
    -- golden field values, and the records (connector, external id, remote time) they came from
    golden      TEXT    NOT NULL,
    provenance  TEXT    NOT NULL,
    sources     INTEGER NOT NULL,
    -- latest remote modification time among its records
    updated_at  INTEGER,
    resolved_at INTEGER NOT NULL
);

CREATE INDEX entities_kind_name ON entities (kind, name, id);

-- Which entity each client and contact record belongs to, and the rule, score and
-- evidence of the link that put it there.
CREATE TABLE links (
    connector   TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('client', 'contact')),
    external_id TEXT    NOT NULL,
    entity_id   TEXT    NOT NULL,
    rule        TEXT    NOT NULL,
    score       REAL    NOT NULL,
    evidence    TEXT    NOT NULL,
    -- the record it was matched with, as `connector:kind:external_id`
    via         TEXT,
    url         TEXT,
    -- contacts only: the client entity the contact follows (NULL: none found)
    client_id   TEXT,
    linked_at   INTEGER NOT NULL,
    PRIMARY KEY (connector, kind, external_id)
);

CREATE INDEX links_entity ON links (entity_id);
CREATE INDEX links_client ON links (client_id) WHERE client_id IS NOT NULL;

-- Every live task with the client entity it concerns; NULL means unattached, `detail`
-- says why. Listing columns are copied here so `zveno tasks` filters in SQL.
CREATE TABLE task_links (
    connector   TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    client_id   TEXT,
    rule        TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('todo', 'in_progress', 'done', 'cancelled')),
    priority    TEXT,
    -- lower-case
    assignee    TEXT,
    due         INTEGER,
    url         TEXT,
    updated_at  INTEGER,
    PRIMARY KEY (connector, external_id)
);

CREATE INDEX task_links_client ON task_links (client_id);
CREATE INDEX task_links_due ON task_links (due);

-- Operators' decisions (`zveno link A B`, `zveno unlink A`), which every run respects.
-- A newer decision about a record replaces older ones (see store/overrides.rs).
CREATE TABLE overrides (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    action            TEXT    NOT NULL CHECK (action IN ('link', 'unlink')),
    kind              TEXT    NOT NULL CHECK (kind IN ('client', 'contact')),
    connector         TEXT    NOT NULL,
    external_id       TEXT    NOT NULL,
    other_connector   TEXT,
    other_external_id TEXT,
    created_at        INTEGER NOT NULL,
    CHECK ((action = 'link') = (other_connector IS NOT NULL AND other_external_id IS NOT NULL))
);

CREATE INDEX overrides_record ON overrides (kind, connector, external_id);
CREATE INDEX overrides_other ON overrides (kind, other_connector, other_external_id);

-- The keys each record is matched and found by (`t:7707083893`, `d:romashka.ru`,
-- `n:romashka`, `r:hubspot:12`): how an incremental run finds the clusters a changed
-- record touches without reading the whole store.
CREATE TABLE resolve_keys (
    connector   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    PRIMARY KEY (connector, kind, external_id, key)
);

CREATE INDEX resolve_keys_key ON resolve_keys (key, kind);
