-- The children of a threat model. Each carries its parent, a per-model alias, timestamps, a
-- tombstone (deleted_at) and, where the reference has one, an optimistic-locking version.
CREATE TABLE threats (
  id                 uuid PRIMARY KEY,
  threat_model_id    uuid NOT NULL REFERENCES threat_models (id) ON DELETE CASCADE,
  alias              integer NOT NULL,
  name               text NOT NULL,
  description        text,
  mitigation         text,
  diagram_id         uuid,
  cell_id            uuid,
  asset_id           uuid,
  severity           text,
  score              numeric(3, 1),
  priority           text,
  mitigated          boolean,
  status             text,
  threat_type        jsonb NOT NULL DEFAULT '[]',
  issue_uri          text,
  cwe_id             jsonb,
  cvss               jsonb,
  ssvc               jsonb,
  include_in_report  boolean NOT NULL DEFAULT true,
  timmy_enabled      boolean NOT NULL DEFAULT true,
  auto_generated     boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL,
  modified_at        timestamptz NOT NULL,
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  UNIQUE (threat_model_id, alias)
);
CREATE INDEX threats_tm_live_idx ON threats (threat_model_id, created_at DESC, id) WHERE deleted_at IS NULL;

CREATE TABLE diagrams (
  id                   uuid PRIMARY KEY,
  threat_model_id      uuid NOT NULL REFERENCES threat_models (id) ON DELETE CASCADE,
  alias                integer NOT NULL,
  name                 text NOT NULL,
  description          text,
  type                 text NOT NULL DEFAULT 'DFD-1.0.0',
  cells                jsonb NOT NULL DEFAULT '[]',
  color_palette        jsonb,
  svg_image            text,
  image_update_vector  bigint,
  update_vector        bigint NOT NULL DEFAULT 0,
  include_in_report    boolean NOT NULL DEFAULT true,
  timmy_enabled        boolean NOT NULL DEFAULT true,
  auto_generated       boolean NOT NULL DEFAULT false,
  created_at           timestamptz NOT NULL,
  modified_at          timestamptz NOT NULL,
  deleted_at           timestamptz,
  version              integer NOT NULL DEFAULT 1,
  UNIQUE (threat_model_id, alias)
);
CREATE INDEX diagrams_tm_live_idx ON diagrams (threat_model_id, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE assets (
  id                 uuid PRIMARY KEY,
  threat_model_id    uuid NOT NULL REFERENCES threat_models (id) ON DELETE CASCADE,
  alias              integer NOT NULL,
  name               text NOT NULL,
  description        text,
  type               text NOT NULL,
  criticality        text,
  classification     jsonb,
  sensitivity        text,
  include_in_report  boolean NOT NULL DEFAULT true,
  timmy_enabled      boolean NOT NULL DEFAULT true,
  created_at         timestamptz NOT NULL,
  modified_at        timestamptz NOT NULL,
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  UNIQUE (threat_model_id, alias)
);
CREATE INDEX assets_tm_live_idx ON assets (threat_model_id, created_at DESC, id) WHERE deleted_at IS NULL;

CREATE TABLE documents (
  id                        uuid PRIMARY KEY,
  threat_model_id           uuid NOT NULL REFERENCES threat_models (id) ON DELETE CASCADE,
  alias                     integer NOT NULL,
  name                      text NOT NULL,
  uri                       text NOT NULL,
  description               text,
  include_in_report         boolean NOT NULL DEFAULT true,
  timmy_enabled             boolean NOT NULL DEFAULT true,
  access_status             text NOT NULL DEFAULT 'unknown',
  content_source            text,
  access_status_updated_at  timestamptz,
  created_at                timestamptz NOT NULL,
  modified_at               timestamptz NOT NULL,
  deleted_at                timestamptz,
  version                   integer NOT NULL DEFAULT 1,
  UNIQUE (threat_model_id, alias)
);
CREATE INDEX documents_tm_live_idx ON documents (threat_model_id, created_at DESC, id) WHERE deleted_at IS NULL;

CREATE TABLE notes (
  id                 uuid PRIMARY KEY,
  threat_model_id    uuid NOT NULL REFERENCES threat_models (id) ON DELETE CASCADE,
  alias              integer NOT NULL,
  name               text NOT NULL,
  content            text NOT NULL,
  description        text,
  include_in_report  boolean NOT NULL DEFAULT true,
  timmy_enabled      boolean NOT NULL DEFAULT true,
  auto_generated     boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL,
  modified_at        timestamptz NOT NULL,
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  UNIQUE (threat_model_id, alias)
);
CREATE INDEX notes_tm_live_idx ON notes (threat_model_id, created_at DESC, id) WHERE deleted_at IS NULL;

CREATE TABLE repositories (
  id                 uuid PRIMARY KEY,
  threat_model_id    uuid NOT NULL REFERENCES threat_models (id) ON DELETE CASCADE,
  alias              integer NOT NULL,
  name               text,
  uri                text NOT NULL,
  description        text,
  type               text,
  parameters         jsonb,
  include_in_report  boolean NOT NULL DEFAULT true,
  timmy_enabled      boolean NOT NULL DEFAULT true,
  created_at         timestamptz NOT NULL,
  modified_at        timestamptz NOT NULL,
  deleted_at         timestamptz,
  version            integer NOT NULL DEFAULT 1,
  UNIQUE (threat_model_id, alias)
);
CREATE INDEX repositories_tm_live_idx ON repositories (threat_model_id, created_at DESC, id) WHERE deleted_at IS NULL;

-- Who changed what, when: one row per change of a threat model or one of its children.
CREATE TABLE audit_entries (
  id                     uuid PRIMARY KEY,
  threat_model_id        uuid NOT NULL,
  object_type            text NOT NULL,
  object_id              uuid NOT NULL,
  version                integer,
  change_type            text NOT NULL,
  actor_email            text NOT NULL,
  actor_provider         text NOT NULL,
  actor_provider_id      text NOT NULL,
  actor_display_name     text NOT NULL,
  change_summary         text,
  snapshot               jsonb,
  created_at             timestamptz NOT NULL
);
CREATE INDEX audit_entries_tm_idx ON audit_entries (threat_model_id, created_at DESC, id DESC);
CREATE INDEX audit_entries_object_idx ON audit_entries (object_type, object_id, created_at DESC);
