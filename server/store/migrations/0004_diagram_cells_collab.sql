-- Diagram cells, one row each, so that a collaborative edit touches only the cells it changes
-- (per-operation cost independent of the diagram's size). `ord` keeps the diagram's cell order
-- (X6 z-order; nodes before the edges that use them); new cells take diagrams.next_cell_ord.
-- diagrams.cells (0002) stays unused: the rows below are the only copy of a diagram's cells.
CREATE TABLE diagram_cells (
  diagram_id  uuid NOT NULL REFERENCES diagrams (id) ON DELETE CASCADE,
  cell_id     uuid NOT NULL,
  ord         bigint NOT NULL,
  data        jsonb NOT NULL,
  PRIMARY KEY (diagram_id, cell_id)
);
CREATE INDEX diagram_cells_order_idx ON diagram_cells (diagram_id, ord);

ALTER TABLE diagrams ADD COLUMN next_cell_ord bigint NOT NULL DEFAULT 0;

-- Collaboration sessions: the state every server instance must share. At most one active session
-- per diagram. `seq` is the session's operation counter (total order of its operations).
CREATE TABLE collab_sessions (
  id               uuid PRIMARY KEY,
  diagram_id       uuid NOT NULL REFERENCES diagrams (id) ON DELETE CASCADE,
  threat_model_id  uuid NOT NULL,
  host_uuid        uuid NOT NULL,
  presenter_uuid   uuid,
  state            text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'ended')),
  seq              bigint NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL,
  last_activity    timestamptz NOT NULL,
  ended_at         timestamptz
);
CREATE UNIQUE INDEX collab_sessions_live_idx ON collab_sessions (diagram_id) WHERE state = 'active';
CREATE INDEX collab_sessions_tm_idx ON collab_sessions (threat_model_id) WHERE state = 'active';

-- Applied operations, in session order: the durable log used to resume, to fill gaps between
-- instances, and as the undo/redo history (inverse patches). `status` is 'applied', 'undone'
-- (redo-able) or 'discarded' (a newer edit cleared the redo stack); undo/redo entries record the
-- patch they applied and are never themselves undone.
CREATE TABLE collab_ops (
  session_id      uuid NOT NULL REFERENCES collab_sessions (id) ON DELETE CASCADE,
  seq             bigint NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('op', 'undo', 'redo')),
  operation_id    text NOT NULL,
  user_uuid       uuid NOT NULL,
  initiating_user jsonb NOT NULL,
  patch           jsonb NOT NULL,
  inverse         jsonb,
  update_vector   bigint NOT NULL,
  status          text NOT NULL DEFAULT 'applied',
  undone_at       bigint,
  created_at      timestamptz NOT NULL,
  PRIMARY KEY (session_id, seq)
);
CREATE INDEX collab_ops_history_idx ON collab_ops (session_id, status, seq) WHERE kind = 'op';
CREATE INDEX collab_ops_operation_idx ON collab_ops (session_id, operation_id);

-- Who is connected, on which instance. Rows of an instance that stopped heartbeating are ignored
-- and swept, so a killed instance does not leave ghosts in participant lists or caps.
CREATE TABLE collab_connections (
  id             uuid PRIMARY KEY,
  session_id     uuid NOT NULL REFERENCES collab_sessions (id) ON DELETE CASCADE,
  user_uuid      uuid NOT NULL,
  user_json      jsonb NOT NULL,
  permissions    text NOT NULL,
  instance_id    text NOT NULL,
  connected_at   timestamptz NOT NULL,
  last_activity  timestamptz NOT NULL
);
CREATE INDEX collab_connections_session_idx ON collab_connections (session_id, connected_at);
CREATE INDEX collab_connections_user_idx ON collab_connections (user_uuid);

CREATE TABLE collab_instances (
  id         text PRIMARY KEY,
  heartbeat  timestamptz NOT NULL
);

-- Users the host removed from a session; they cannot rejoin it.
CREATE TABLE collab_denied (
  session_id  uuid NOT NULL REFERENCES collab_sessions (id) ON DELETE CASCADE,
  user_uuid   uuid NOT NULL,
  PRIMARY KEY (session_id, user_uuid)
);
