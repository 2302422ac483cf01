-- The name filter of the threat-model list (issue 11, docs/performance.md "Scale of data"). At
-- 10,000 models, a caller who sees 1,500 of them had each one's name lower-cased by ILIKE on every
-- request (a third of the query), and read from the table because the owner index did not hold it.
-- The lower-cased name is now kept with the row and in that index, and the filter is
-- `name_folded LIKE lower(pattern)`, which is what PostgreSQL's ILIKE does in a UTF-8 database (it
-- compares lower(text) with lower(pattern), in the column's collation), so the matches are the same.
-- A trigram index was measured too: 2x faster for a rare word, 3x slower for a common one or a
-- pattern shorter than three letters, which it can only answer by reading the whole index.
ALTER TABLE threat_models ADD COLUMN name_folded text GENERATED ALWAYS AS (lower(name)) STORED;

DROP INDEX IF EXISTS threat_models_owner_created_idx;
CREATE INDEX threat_models_owner_created_idx ON threat_models (owner_uuid, created_at DESC, id) INCLUDE (deleted_at, name_folded);
