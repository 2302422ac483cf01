-- The redo stack an edit clears: the session's undone operations, which are usually none. Two
-- partial indexes on (session_id, ...) WHERE kind = 'op' looked alike to the planner for that
-- UPDATE, and without fresh statistics (a session that grows faster than autovacuum analyses)
-- it picked the operation-id index and read every logged operation of the session for each edit
-- batch: 0.8 ms at 3,000 operations, growing with the session. This index holds the undone
-- operations only, so whichever way it is read it is as small as the redo stack.
CREATE INDEX collab_ops_undone_idx ON collab_ops (session_id) WHERE kind = 'op' AND status = 'undone';
