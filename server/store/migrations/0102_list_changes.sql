-- A read model of GET /threat_models (issue 11, "Reads": the list against a floor serving the same
-- page). A list answer depends on many rows (every model the caller may read, their owners' and
-- reviewers' names, their children's counts), so no per-model generation can vouch for it. Instead
-- every transaction that can change what any list shows records its id here, at its commit; an
-- instance keeps an answer with the snapshot (pg_current_snapshot) it took *before* assembling it,
-- and serves it again only while no recorded transaction is missing from that snapshot
-- (server/resources/threat-models/list-cache.ts):
-- - a write committed before the snapshot is in it, and in the answer;
-- - a write committed later is not in it: the answer is not served again.
-- One row per transaction, keyed by its own id, so writers never wait for each other here (a
-- single counter row, bumped at commit, made transactions that also hold a model's read-model row
-- deadlock with each other). Rows older than 20 minutes are deleted; answers are kept 10 minutes.
--
-- What records: any change of a model row or of an access list; a child created, deleted, restored
-- or moved (the counts); a user's or group's shown or matched fields; a project moved to another
-- team (the team filter). Not: edits of a child's content, metadata, diagram cells (live edits),
-- which no list shows. Deferred to the commit, so `at` is about the commit's time.
CREATE TABLE threat_model_list_changes (
  xid  xid8 PRIMARY KEY,
  at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX threat_model_list_changes_at_idx ON threat_model_list_changes (at);

CREATE FUNCTION tm_list_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO threat_model_list_changes (xid) VALUES (pg_current_xact_id()) ON CONFLICT (xid) DO NOTHING;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER tm_list_changes AFTER INSERT OR UPDATE OR DELETE ON threat_models DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER INSERT OR UPDATE OR DELETE ON threat_model_access DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER INSERT OR DELETE ON threats DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes_moved AFTER UPDATE ON threats DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER INSERT OR DELETE ON diagrams DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes_moved AFTER UPDATE ON diagrams DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER INSERT OR DELETE ON documents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes_moved AFTER UPDATE ON documents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER INSERT OR DELETE ON repositories DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes_moved AFTER UPDATE ON repositories DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER INSERT OR DELETE ON notes DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes_moved AFTER UPDATE ON notes DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER INSERT OR DELETE ON assets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes_moved AFTER UPDATE ON assets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.threat_model_id IS DISTINCT FROM NEW.threat_model_id) EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER DELETE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes_changed AFTER UPDATE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email OR OLD.provider IS DISTINCT FROM NEW.provider
        OR OLD.provider_user_id IS DISTINCT FROM NEW.provider_user_id OR OLD.internal_uuid IS DISTINCT FROM NEW.internal_uuid)
  EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER DELETE ON groups DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes_changed AFTER UPDATE ON groups DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.group_name IS DISTINCT FROM NEW.group_name OR OLD.provider IS DISTINCT FROM NEW.provider OR OLD.internal_uuid IS DISTINCT FROM NEW.internal_uuid)
  EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes AFTER INSERT OR DELETE ON projects DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_list_changed();
CREATE CONSTRAINT TRIGGER tm_list_changes_moved AFTER UPDATE ON projects DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id OR OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION tm_list_changed();
