-- A read model of GET /threat_models (issue 11, "Reads": the list against a floor serving the same
-- page). A list answer depends on many rows (every model the caller may read, their owners' and
-- reviewers' names, their children's counts), so no per-model generation can vouch for it. One
-- epoch for the whole list instead: every write that can change what any list shows bumps it, at
-- commit, in the writing transaction; an instance keeps the answers it assembled with the epoch it
-- read *before* assembling, and serves one again only while the epoch is unchanged (the same
-- protocol as threat_model_read_cache, server/resources/threat-models/list-cache.ts).
--
-- What bumps it: any change of a model row or of an access list; a child created, deleted,
-- restored or moved (the counts); a user's or group's shown or matched fields; a project moved to
-- another team (the team filter). Not: edits of a child's content, metadata, diagram cells (live
-- edits), which no list shows. The bump runs at commit (deferred), so the row is held only while
-- committing.
CREATE TABLE threat_model_list_epoch (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  epoch      bigint NOT NULL
);
INSERT INTO threat_model_list_epoch (singleton, epoch) VALUES (true, 1);

CREATE FUNCTION tm_list_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE threat_model_list_epoch SET epoch = epoch + 1 WHERE singleton;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER INSERT OR UPDATE OR DELETE ON threat_models DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER INSERT OR UPDATE OR DELETE ON threat_model_access DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER INSERT OR DELETE ON threats DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch_moved AFTER UPDATE ON threats DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER INSERT OR DELETE ON diagrams DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch_moved AFTER UPDATE ON diagrams DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER INSERT OR DELETE ON documents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch_moved AFTER UPDATE ON documents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER INSERT OR DELETE ON repositories DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch_moved AFTER UPDATE ON repositories DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER INSERT OR DELETE ON notes DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch_moved AFTER UPDATE ON notes DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER INSERT OR DELETE ON assets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch_moved AFTER UPDATE ON assets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER DELETE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch_changed AFTER UPDATE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email OR OLD.provider IS DISTINCT FROM NEW.provider
        OR OLD.provider_user_id IS DISTINCT FROM NEW.provider_user_id OR OLD.internal_uuid IS DISTINCT FROM NEW.internal_uuid)
  EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER DELETE ON groups DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch_changed AFTER UPDATE ON groups DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.group_name IS DISTINCT FROM NEW.group_name OR OLD.provider IS DISTINCT FROM NEW.provider OR OLD.internal_uuid IS DISTINCT FROM NEW.internal_uuid)
  EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch AFTER INSERT OR DELETE ON projects DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_epoch_bump();
CREATE CONSTRAINT TRIGGER tm_list_epoch_moved AFTER UPDATE ON projects DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id OR OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION tm_list_epoch_bump();
