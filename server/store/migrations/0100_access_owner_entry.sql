-- The list of threat models (issue 11, docs/performance.md "Against the floor"): the models shared
-- with the caller are found through the access entries naming them, but every model's list names its
-- own owner too, so for a person with many models of their own the "shared with me" part read an
-- entry per own model only to drop it again. `owner_entry` marks the entry that names the model's
-- owner (redundant for authorization: ownership alone gives the owner role), and an index without
-- those entries answers "shared with me" from the real shares only. Triggers keep the mark right in
-- the same transaction as any write, whatever code path makes it (sharing, owner transfer, merge of
-- accounts).
ALTER TABLE threat_model_access ADD COLUMN owner_entry boolean NOT NULL DEFAULT false;

UPDATE threat_model_access a SET owner_entry = true
FROM threat_models t WHERE t.id = a.threat_model_id AND a.user_uuid = t.owner_uuid;

CREATE FUNCTION tm_access_mark_owner_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.owner_entry := NEW.user_uuid IS NOT NULL
    AND NEW.user_uuid = (SELECT t.owner_uuid FROM threat_models t WHERE t.id = NEW.threat_model_id);
  RETURN NEW;
END $$;
CREATE TRIGGER tm_access_owner_entry BEFORE INSERT OR UPDATE OF threat_model_id, user_uuid ON threat_model_access
  FOR EACH ROW EXECUTE FUNCTION tm_access_mark_owner_entry();

CREATE FUNCTION tm_access_owner_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE threat_model_access SET owner_entry = (user_uuid IS NOT DISTINCT FROM NEW.owner_uuid)
  WHERE threat_model_id = NEW.id AND (owner_entry OR user_uuid = NEW.owner_uuid);
  RETURN NULL;
END $$;
CREATE TRIGGER tm_access_owner_entry AFTER UPDATE OF owner_uuid ON threat_models
  FOR EACH ROW WHEN (OLD.owner_uuid IS DISTINCT FROM NEW.owner_uuid) EXECUTE FUNCTION tm_access_owner_changed();

CREATE INDEX IF NOT EXISTS threat_model_access_shared_user_idx ON threat_model_access (user_uuid, threat_model_id)
  WHERE user_uuid IS NOT NULL AND NOT owner_entry;
