-- Who may write a model, kept between requests (issue 11, "Writes"). A create checked the caller's
-- role with a query of its own before writing; an instance now keeps each positive decision with
-- the snapshot (pg_current_snapshot) it was read in, and the create's first statement (which takes
-- the alias) vouches for it: it takes the alias only while no change that could alter a decision
-- about the model has committed since that snapshot (ThreatModelService.writeAccess,
-- allocateAliasIfAccessUnchanged). Such a change records its transaction here, as the read
-- models' logs do (0102, 0103), but only for what a decision reads (authz/effectiveRole): the
-- model's owner and tombstone, its access list, and the name and provider of a group (entries of
-- groups from an identity provider match by them), which may concern every model (ALL_MODELS).
-- Content writes record nothing here, so writers keep their decisions while others write.
-- Immediate triggers: a transaction sees its own change. Rows are kept 20 minutes (pruned with the
-- other logs); a decision is kept at most 10.
CREATE TABLE threat_model_access_changes (
  threat_model_id  uuid NOT NULL,
  xid              xid8 NOT NULL,
  at               timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (threat_model_id, xid)
);
CREATE INDEX threat_model_access_changes_at_idx ON threat_model_access_changes (at);

CREATE FUNCTION tm_access_changed(tm uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF tm IS NOT NULL THEN
    INSERT INTO threat_model_access_changes (threat_model_id, xid) VALUES (tm, pg_current_xact_id())
    ON CONFLICT (threat_model_id, xid) DO NOTHING;
  END IF;
END $$;

-- The model row (inserted, deleted, a new owner or tombstone) and its access list.
CREATE FUNCTION tm_access_on_model() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN PERFORM tm_access_changed(OLD.id); END IF;
  IF TG_OP <> 'DELETE' THEN PERFORM tm_access_changed(NEW.id); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER tm_access_changes AFTER INSERT OR DELETE ON threat_models FOR EACH ROW EXECUTE FUNCTION tm_access_on_model();
CREATE TRIGGER tm_access_changes_update AFTER UPDATE ON threat_models FOR EACH ROW
  WHEN (OLD.owner_uuid IS DISTINCT FROM NEW.owner_uuid OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.id IS DISTINCT FROM NEW.id)
  EXECUTE FUNCTION tm_access_on_model();

CREATE FUNCTION tm_access_on_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN PERFORM tm_access_changed(OLD.threat_model_id); END IF;
  IF TG_OP <> 'DELETE' THEN PERFORM tm_access_changed(NEW.threat_model_id); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER tm_access_changes AFTER INSERT OR UPDATE OR DELETE ON threat_model_access FOR EACH ROW EXECUTE FUNCTION tm_access_on_entry();

-- A group's name or provider (what an identity provider's group entry matches), or the group gone.
CREATE FUNCTION tm_access_changed_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM tm_access_changed('00000000-0000-0000-0000-000000000000');
  RETURN NULL;
END $$;
CREATE TRIGGER tm_access_changes AFTER DELETE ON groups FOR EACH ROW EXECUTE FUNCTION tm_access_changed_all();
CREATE TRIGGER tm_access_changes_update AFTER UPDATE ON groups FOR EACH ROW
  WHEN (OLD.group_name IS DISTINCT FROM NEW.group_name OR OLD.provider IS DISTINCT FROM NEW.provider OR OLD.internal_uuid IS DISTINCT FROM NEW.internal_uuid)
  EXECUTE FUNCTION tm_access_changed_all();
