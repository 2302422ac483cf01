-- Identity: users, groups (IdP and built-in), memberships of the built-in groups.
CREATE TABLE users (
  internal_uuid     uuid PRIMARY KEY,
  provider          text NOT NULL,
  provider_user_id  text,
  email             text NOT NULL,
  name              text NOT NULL,
  email_verified    boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now(),
  modified_at       timestamptz NOT NULL DEFAULT now(),
  last_login        timestamptz,
  UNIQUE (provider, provider_user_id)
);
CREATE INDEX users_email_idx ON users (lower(email));

CREATE TABLE groups (
  internal_uuid  uuid PRIMARY KEY,
  provider       text NOT NULL,
  group_name     text NOT NULL,
  name           text,
  description    text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, group_name)
);

-- The reference's built-in groups, with its well-known ids.
INSERT INTO groups (internal_uuid, provider, group_name, name, description) VALUES
  ('00000000-0000-0000-0000-000000000000', 'tmi', 'everyone', 'Everyone (Pseudo-group)', 'Every authenticated user'),
  ('00000000-0000-0000-0000-000000000001', 'tmi', 'security-reviewers', 'Security Reviewers', 'Owners of every non-confidential threat model'),
  ('00000000-0000-0000-0000-000000000002', 'tmi', 'administrators', 'Administrators', 'Administrators of this TMI server'),
  ('00000000-0000-0000-0000-000000000003', 'tmi', 'confidential-project-reviewers', 'Confidential Project Reviewers', 'Owners of every confidential threat model'),
  ('00000000-0000-0000-0000-000000000004', 'tmi', 'tmi-automation', 'TMI Automation', 'Writers on every threat model'),
  ('00000000-0000-0000-0000-000000000005', 'tmi', 'embedding-automation', 'Embedding Automation', 'May push embeddings');

CREATE TABLE group_members (
  group_uuid  uuid NOT NULL REFERENCES groups (internal_uuid) ON DELETE CASCADE,
  user_uuid   uuid NOT NULL REFERENCES users (internal_uuid) ON DELETE CASCADE,
  added_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_uuid, user_uuid)
);
CREATE INDEX group_members_user_idx ON group_members (user_uuid);

-- Short-lived shared state (OAuth state, PKCE codes, refresh sessions, revocations, tickets) for the
-- embedded back end; with Redis configured the same keys live in Redis instead.
CREATE TABLE kv (
  key         text PRIMARY KEY,
  value       text NOT NULL,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX kv_expires_idx ON kv (expires_at);

-- Threat models and their access lists.
CREATE SEQUENCE threat_model_alias_seq;

CREATE TABLE threat_models (
  id                      uuid PRIMARY KEY,
  alias                   integer NOT NULL UNIQUE DEFAULT nextval('threat_model_alias_seq'),
  name                    text NOT NULL,
  description             text,
  threat_model_framework  text NOT NULL DEFAULT 'STRIDE',
  issue_uri               text,
  status                  text NOT NULL DEFAULT 'not_started',
  status_updated          timestamptz NOT NULL,
  is_confidential         boolean NOT NULL DEFAULT false,
  owner_uuid              uuid NOT NULL REFERENCES users (internal_uuid),
  created_by_uuid         uuid NOT NULL REFERENCES users (internal_uuid),
  security_reviewer_uuid  uuid REFERENCES users (internal_uuid),
  project_id              uuid,
  created_at              timestamptz NOT NULL,
  modified_at             timestamptz NOT NULL,
  deleted_at              timestamptz,
  version                 integer NOT NULL DEFAULT 1
);
CREATE INDEX threat_models_owner_idx ON threat_models (owner_uuid, created_at DESC);
CREATE INDEX threat_models_live_created_idx ON threat_models (created_at DESC, id) WHERE deleted_at IS NULL;

CREATE TABLE threat_model_access (
  threat_model_id  uuid NOT NULL REFERENCES threat_models (id) ON DELETE CASCADE,
  position         integer NOT NULL,
  subject_type     text NOT NULL CHECK (subject_type IN ('user', 'group')),
  user_uuid        uuid REFERENCES users (internal_uuid) ON DELETE CASCADE,
  group_uuid       uuid REFERENCES groups (internal_uuid) ON DELETE CASCADE,
  role             text NOT NULL CHECK (role IN ('reader', 'writer', 'owner')),
  CHECK ((subject_type = 'user' AND user_uuid IS NOT NULL AND group_uuid IS NULL)
      OR (subject_type = 'group' AND group_uuid IS NOT NULL AND user_uuid IS NULL)),
  PRIMARY KEY (threat_model_id, position)
);
CREATE INDEX threat_model_access_user_idx ON threat_model_access (user_uuid) WHERE user_uuid IS NOT NULL;
CREATE INDEX threat_model_access_group_idx ON threat_model_access (group_uuid) WHERE group_uuid IS NOT NULL;

-- Per-threat-model sequence numbers for children (aliases).
CREATE TABLE alias_counters (
  parent_id    uuid NOT NULL,
  object_type  text NOT NULL,
  next_alias   integer NOT NULL,
  PRIMARY KEY (parent_id, object_type)
);

-- Metadata on any entity, one polymorphic table.
CREATE TABLE metadata (
  entity_type  text NOT NULL,
  entity_id    uuid NOT NULL,
  key          text NOT NULL,
  value        text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  modified_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entity_type, entity_id, key)
);
