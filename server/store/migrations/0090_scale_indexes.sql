-- Lists at scale (issue 11, docs/performance.md "Scale of data"): the list of threat models gathers
-- what the caller can read by index (server/authz READABLE_BY_CALLER_SQL), and these indexes answer
-- each part without reading the tables (index-only scans): the caller's own models with what the
-- page is ordered and filtered on, and the models an access entry of the caller or of one of their
-- groups names. Each replaces the narrower index of 0001 on the same leading column.
DROP INDEX IF EXISTS threat_models_owner_idx;
CREATE INDEX IF NOT EXISTS threat_models_owner_created_idx ON threat_models (owner_uuid, created_at DESC, id) INCLUDE (deleted_at);

DROP INDEX IF EXISTS threat_model_access_user_idx;
CREATE INDEX IF NOT EXISTS threat_model_access_user_model_idx ON threat_model_access (user_uuid, threat_model_id) WHERE user_uuid IS NOT NULL;

DROP INDEX IF EXISTS threat_model_access_group_idx;
CREATE INDEX IF NOT EXISTS threat_model_access_group_model_idx ON threat_model_access (group_uuid, threat_model_id) WHERE group_uuid IS NOT NULL;
