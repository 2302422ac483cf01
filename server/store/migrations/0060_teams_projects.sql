-- Teams and projects: the organisational layer of the review workflow (issue 15). Members and
-- responsible parties per team or project, directed relationships, notes, and an audit trail of
-- their own (the threat-model audit trail is per threat model).
CREATE TABLE teams (
  id                uuid PRIMARY KEY,
  name              text NOT NULL,
  description       text,
  uri               text,
  email_address     text,
  status            text NOT NULL DEFAULT 'active',
  created_by_uuid   uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  modified_by_uuid  uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  reviewed_by_uuid  uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  created_at        timestamptz NOT NULL,
  modified_at       timestamptz NOT NULL,
  reviewed_at       timestamptz,
  version           integer NOT NULL DEFAULT 1
);
CREATE INDEX teams_created_idx ON teams (created_at DESC, id);

CREATE TABLE team_members (
  team_id      uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  user_uuid    uuid NOT NULL REFERENCES users (internal_uuid) ON DELETE CASCADE,
  position     integer NOT NULL,
  role         text NOT NULL,
  custom_role  text,
  PRIMARY KEY (team_id, user_uuid)
);
CREATE INDEX team_members_user_idx ON team_members (user_uuid);

CREATE TABLE projects (
  id                uuid PRIMARY KEY,
  team_id           uuid NOT NULL REFERENCES teams (id),
  name              text NOT NULL,
  description       text,
  uri               text,
  status            text NOT NULL DEFAULT 'active',
  created_by_uuid   uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  modified_by_uuid  uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  reviewed_by_uuid  uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  created_at        timestamptz NOT NULL,
  modified_at       timestamptz NOT NULL,
  reviewed_at       timestamptz,
  version           integer NOT NULL DEFAULT 1
);
CREATE INDEX projects_team_idx ON projects (team_id, created_at DESC);
CREATE INDEX projects_created_idx ON projects (created_at DESC, id);

-- Responsible parties and relationships of a team or a project (unit_type 'team' | 'project').
CREATE TABLE responsible_parties (
  unit_type    text NOT NULL CHECK (unit_type IN ('team', 'project')),
  unit_id      uuid NOT NULL,
  user_uuid    uuid NOT NULL REFERENCES users (internal_uuid) ON DELETE CASCADE,
  position     integer NOT NULL,
  role         text NOT NULL,
  custom_role  text,
  PRIMARY KEY (unit_type, unit_id, user_uuid)
);

CREATE TABLE unit_relationships (
  unit_type            text NOT NULL CHECK (unit_type IN ('team', 'project')),
  unit_id              uuid NOT NULL,
  related_id           uuid NOT NULL,
  position             integer NOT NULL,
  relationship         text NOT NULL,
  custom_relationship  text,
  PRIMARY KEY (unit_type, unit_id, related_id, relationship)
);
CREATE INDEX unit_relationships_related_idx ON unit_relationships (unit_type, related_id);

CREATE TABLE unit_notes (
  id             uuid PRIMARY KEY,
  unit_type      text NOT NULL CHECK (unit_type IN ('team', 'project')),
  unit_id        uuid NOT NULL,
  name           text NOT NULL,
  content        text NOT NULL,
  description    text,
  timmy_enabled  boolean NOT NULL DEFAULT true,
  sharable       boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL,
  modified_at    timestamptz NOT NULL
);
CREATE INDEX unit_notes_unit_idx ON unit_notes (unit_type, unit_id, created_at DESC);

-- Who changed what in teams, projects, survey templates and survey responses.
CREATE TABLE review_audit (
  id                  uuid PRIMARY KEY,
  entity_type         text NOT NULL,
  entity_id           uuid NOT NULL,
  change_type         text NOT NULL,
  actor_email         text NOT NULL,
  actor_provider      text NOT NULL,
  actor_provider_id   text NOT NULL,
  actor_display_name  text NOT NULL,
  summary             text,
  snapshot            jsonb,
  created_at          timestamptz NOT NULL
);
CREATE INDEX review_audit_entity_idx ON review_audit (entity_type, entity_id, created_at DESC);

-- A threat model's project is a real project. No project existed before this migration, so any
-- project_id stored until now named nothing and is cleared.
UPDATE threat_models SET project_id = NULL WHERE project_id IS NOT NULL;
ALTER TABLE threat_models ADD CONSTRAINT threat_models_project_fk FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE SET NULL;
CREATE INDEX threat_models_project_idx ON threat_models (project_id) WHERE project_id IS NOT NULL;
