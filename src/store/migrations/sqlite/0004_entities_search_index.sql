-- zveno store, SQLite: the client list and its search read one index. Append-only.
--
-- `zveno clients --search` and `GET /api/v1/clients?search=` test the search text of
-- every client in name order until a page is full. Without the text in the index, each
-- test reads the whole row, golden record and provenance JSON included: on 100,000
-- clients a search scanned ~170 MB and took seconds. With it, the scan stays inside this
-- index (a tenth of that), and only the rows of the page are read. It also serves the
-- plain list's (kind, name, id) order, so the narrower index it replaces goes.
DROP INDEX entities_kind_name;
CREATE INDEX entities_kind_name_search ON entities (kind, name, id, search);
