-- A read model of GET /threat_models/{id}: the assembled, serialised document of each model, kept
-- beside the access list authorization needs. Every write to a table the document is built from
-- bumps the model's generation and drops the document, by trigger, in the same transaction as the
-- write, whatever code path made it (REST, bulk, PATCH, live edit, restore, rollback, access change,
-- a user's or group's new name). A reader stores a document only if the generation it read before
-- assembling is still the current one (see server/resources/threat-models/read-cache.ts).
CREATE TABLE threat_model_read_cache (
  threat_model_id  uuid PRIMARY KEY,
  generation       bigint NOT NULL,
  version          integer,
  access           jsonb,
  doc              text
);

CREATE FUNCTION tm_read_cache_touch(tm uuid) RETURNS void LANGUAGE sql AS $$
  INSERT INTO threat_model_read_cache (threat_model_id, generation)
  SELECT tm, 1 WHERE tm IS NOT NULL AND EXISTS (SELECT 1 FROM threat_models WHERE id = tm)
  ON CONFLICT (threat_model_id) DO UPDATE
    SET generation = threat_model_read_cache.generation + 1, version = NULL, access = NULL, doc = NULL
$$;

CREATE FUNCTION tm_read_cache_invalidate_all() RETURNS void LANGUAGE sql AS $$
  UPDATE threat_model_read_cache SET generation = generation + 1, version = NULL, access = NULL, doc = NULL
$$;

-- threat_models itself.
CREATE FUNCTION tm_read_cache_on_model() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM threat_model_read_cache WHERE threat_model_id = OLD.id;
  ELSE
    PERFORM tm_read_cache_touch(NEW.id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON threat_models
  FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_model();

-- Tables with a threat_model_id column: the access list and every kind of child.
CREATE FUNCTION tm_read_cache_on_child() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM tm_read_cache_touch(OLD.threat_model_id);
  END IF;
  IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.threat_model_id IS DISTINCT FROM OLD.threat_model_id) THEN
    PERFORM tm_read_cache_touch(NEW.threat_model_id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON threat_model_access FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON threats FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON diagrams FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON documents FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON repositories FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON notes FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON assets FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_child();

-- The cells of a diagram (live edits write these).
CREATE FUNCTION tm_read_cache_on_cell() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM tm_read_cache_touch(d.threat_model_id)
    FROM diagrams d WHERE d.id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.diagram_id ELSE NEW.diagram_id END);
  RETURN NULL;
END $$;
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON diagram_cells FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_cell();

-- Metadata of the model or of any child.
CREATE FUNCTION tm_read_cache_model_of(entity_type text, entity_id uuid) RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT CASE entity_type
    WHEN 'threat_model' THEN entity_id
    WHEN 'threat' THEN (SELECT threat_model_id FROM threats WHERE id = entity_id)
    WHEN 'diagram' THEN (SELECT threat_model_id FROM diagrams WHERE id = entity_id)
    WHEN 'document' THEN (SELECT threat_model_id FROM documents WHERE id = entity_id)
    WHEN 'repository' THEN (SELECT threat_model_id FROM repositories WHERE id = entity_id)
    WHEN 'note' THEN (SELECT threat_model_id FROM notes WHERE id = entity_id)
    WHEN 'asset' THEN (SELECT threat_model_id FROM assets WHERE id = entity_id)
  END
$$;
CREATE FUNCTION tm_read_cache_on_metadata() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM tm_read_cache_touch(tm_read_cache_model_of(OLD.entity_type, OLD.entity_id));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM tm_read_cache_touch(tm_read_cache_model_of(NEW.entity_type, NEW.entity_id));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER tm_read_cache AFTER INSERT OR UPDATE OR DELETE ON metadata FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_metadata();

-- Names shown in the document (owner, creator, reviewer, access entries): a change of a user's or
-- a group's shown fields drops every stored document (rare; sign-ins that change nothing do not).
CREATE FUNCTION tm_read_cache_on_principal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM tm_read_cache_invalidate_all();
  RETURN NULL;
END $$;
CREATE TRIGGER tm_read_cache_update AFTER UPDATE ON users FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email OR OLD.provider IS DISTINCT FROM NEW.provider
        OR OLD.provider_user_id IS DISTINCT FROM NEW.provider_user_id OR OLD.internal_uuid IS DISTINCT FROM NEW.internal_uuid)
  EXECUTE FUNCTION tm_read_cache_on_principal();
CREATE TRIGGER tm_read_cache_delete AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_principal();
CREATE TRIGGER tm_read_cache_update AFTER UPDATE ON groups FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.group_name IS DISTINCT FROM NEW.group_name OR OLD.provider IS DISTINCT FROM NEW.provider
        OR OLD.internal_uuid IS DISTINCT FROM NEW.internal_uuid)
  EXECUTE FUNCTION tm_read_cache_on_principal();
CREATE TRIGGER tm_read_cache_delete AFTER DELETE ON groups FOR EACH ROW EXECUTE FUNCTION tm_read_cache_on_principal();
