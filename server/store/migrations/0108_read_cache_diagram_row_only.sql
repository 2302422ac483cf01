-- The read model's trigger on diagram_cells (0070, at commit since 0101) touched the model once per
-- cell written: a lookup of the diagram and an INSERT .. ON CONFLICT per row, ten for a live-edit
-- batch of ten cells, in the commit every collaborator waits for (issue 11, live edits).
-- Every write of a diagram's cells also writes its diagram row in the same transaction: live edits
-- and undo advance update_vector, REST writes set next_cell_ord (and the vector), and a diagram's
-- deletion deletes or marks its row. The diagram row's own trigger touches the same model, once.
-- test/read-cache.test.ts reads the model after each of those paths.
DROP TRIGGER tm_read_cache ON diagram_cells;
DROP FUNCTION tm_read_cache_on_cell();
