-- An edit's operation_id is unique within its session. The old index (session_id, operation_id)
-- covered every kind of row, so the planner preferred the partial history index for the
-- "was this operation applied before" check that every edit runs, and scanned all of the
-- session's operations: a cost growing with the session's length. This index matches that check
-- exactly, and makes a double application impossible at the database level too.
DROP INDEX IF EXISTS collab_ops_operation_idx;
CREATE UNIQUE INDEX collab_ops_operation_id_key ON collab_ops (session_id, operation_id) WHERE kind = 'op';
