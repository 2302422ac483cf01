-- Writes to one threat model run side by side (issue 11, "Writes"). The read model's generation
-- (0070, bumped at commit since 0101) was one row per model: every write to the model or its
-- children updated it, and held it from its commit's trigger until the commit was on disk, so the
-- writes to one model committed one at a time instead of together (group commit), however many
-- ran at once. Measured: 16 writers to one model spent most of their commits waiting for this row.
--
-- The generation becomes a log instead, as the list's read model already is (0102): a transaction
-- that changes what a model's document or child lists show records (model, its own transaction id)
-- in threat_model_changes, one row per model and transaction, so no writer waits for another here.
-- A stored document or list is stamped with the snapshot (pg_current_snapshot) its reader took
-- *before* assembling it, and is current while every change recorded for its model is visible in
-- that snapshot (threat-models/store.ts, READ_MODEL_CHANGED_SQL):
-- - a write committed before the stamp was taken is in the snapshot, and in the document;
-- - a write committed later, or still running when it was taken, is not: the copy is refused.
-- A change to every document (a user's or group's shown fields) is recorded under ALL_MODELS.
-- Rows are kept 20 minutes (pruned by each instance); a stamp older than 10 minutes is not trusted.
--
-- The triggers stay as 0070 and 0101 left them (which tables, immediate or at commit); only what
-- they do changes.
CREATE TABLE threat_model_changes (
  threat_model_id  uuid NOT NULL,
  xid              xid8 NOT NULL,
  at               timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (threat_model_id, xid)
);
CREATE INDEX threat_model_changes_at_idx ON threat_model_changes (at);

-- In PL/pgSQL, whose statements keep their plans for the session: a write fires these once per
-- row (a threat with two metadata entries, three times), and the SQL functions of 0070 were
-- planned again on every call, most of a create's time in PostgreSQL.
CREATE OR REPLACE FUNCTION tm_read_cache_touch(tm uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF tm IS NOT NULL THEN
    INSERT INTO threat_model_changes (threat_model_id, xid) VALUES (tm, pg_current_xact_id())
    ON CONFLICT (threat_model_id, xid) DO NOTHING;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION tm_read_cache_model_of(entity_type text, entity_id uuid) RETURNS uuid LANGUAGE plpgsql STABLE AS $$
BEGIN
  CASE entity_type
    WHEN 'threat_model' THEN RETURN entity_id;
    WHEN 'threat' THEN RETURN (SELECT threat_model_id FROM threats WHERE id = entity_id);
    WHEN 'diagram' THEN RETURN (SELECT threat_model_id FROM diagrams WHERE id = entity_id);
    WHEN 'document' THEN RETURN (SELECT threat_model_id FROM documents WHERE id = entity_id);
    WHEN 'repository' THEN RETURN (SELECT threat_model_id FROM repositories WHERE id = entity_id);
    WHEN 'note' THEN RETURN (SELECT threat_model_id FROM notes WHERE id = entity_id);
    WHEN 'asset' THEN RETURN (SELECT threat_model_id FROM assets WHERE id = entity_id);
    ELSE RETURN NULL;
  END CASE;
END $$;

-- ALL_MODELS in threat-models/store.ts.
CREATE OR REPLACE FUNCTION tm_read_cache_invalidate_all() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM tm_read_cache_touch('00000000-0000-0000-0000-000000000000');
END $$;

-- The stored copies were stamped with generations: none is trusted again.
ALTER TABLE threat_model_read_cache DROP COLUMN generation;
ALTER TABLE threat_model_read_cache ADD COLUMN stamp text, ADD COLUMN stamped_at timestamptz;
UPDATE threat_model_read_cache SET version = NULL, access = NULL, doc = NULL;
