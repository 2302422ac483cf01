-- A session's next batch of live edits may be sent while the one before it is still committing
-- (issue 11, live edits: the batch then waits on the session row inside PostgreSQL rather than for
-- a round trip through the server). It is planned on the state after the batch in flight, so it
-- must commit only if that batch did. Its sequence number and update vector cannot tell: another
-- instance's edits may have taken the same numbers. The session row keeps the operation id of the
-- last edit a batch logged, and the next batch's guard names it.
ALTER TABLE collab_sessions ADD COLUMN head_operation_id text;
