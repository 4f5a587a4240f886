-- Identity resolution changed the keys it indexes (names folded over romanisation schemes,
-- the domains a client's contacts write from as `s:` keys) and how names decide. Mark
-- every record dirty so the next run re-resolves the whole store by the new rules (a run
-- with most of the store dirty is one full pass), instead of comparing new keys with old.
UPDATE source_records SET dirty = 1 WHERE dirty = 0;
