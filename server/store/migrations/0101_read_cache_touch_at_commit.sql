-- Writes to one threat model run side by side (issue 11, "Writes"): the read model's generation
-- row (0070) is one row per model, and the trigger that bumps it took its lock at the first child
-- written and held it to the commit, so every write to a model's children queued behind the whole
-- transaction of the one before. For the children, their metadata and the diagram cells the bump
-- now runs at commit (a deferred constraint trigger): still in the same transaction, so a reader
-- can never store a document a write made stale (read-cache.ts), but the row is held only while
-- committing. The model row and its access list keep their immediate triggers: a write reads the
-- access list the read model keeps (findAccessContext) later in its own transaction.
DROP TRIGGER tm_read_cache ON threats;
DROP TRIGGER tm_read_cache ON diagrams;
DROP TRIGGER tm_read_cache ON documents;
DROP TRIGGER tm_read_cache ON repositories;
DROP TRIGGER tm_read_cache ON notes;
DROP TRIGGER tm_read_cache ON assets;
DROP TRIGGER tm_read_cache ON diagram_cells;
DROP TRIGGER tm_read_cache ON metadata;

CREATE CONSTRAINT TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON threats DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE CONSTRAINT TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON diagrams DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE CONSTRAINT TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON documents DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE CONSTRAINT TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON repositories DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE CONSTRAINT TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON notes DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE CONSTRAINT TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON assets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE CONSTRAINT TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON diagram_cells DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_cell();
CREATE CONSTRAINT TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON metadata DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_metadata();
