-- zveno store, PostgreSQL: version 4 matches SQLite's 0004 (the client search index) and
-- changes nothing here. A B-tree entry is limited to about 2.7 kB, and a client's search
-- text (every name, domain, e-mail and phone it has, in both scripts) can exceed it, so
-- PostgreSQL keeps scanning the table for a substring search (in parallel workers); a
-- trigram index (pg_trgm) is the way to speed it up where the extension is available.
SELECT 1;
