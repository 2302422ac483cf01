-- Survey templates (SurveyJS JSON, admin-authored), the responses users fill from them, and the
-- triage notes reviewers write on responses (issue 15).
CREATE TABLE surveys (
  id               uuid PRIMARY KEY,
  name             text NOT NULL,
  version          text NOT NULL,
  description      text,
  status           text NOT NULL DEFAULT 'inactive' CHECK (status IN ('active', 'inactive', 'archived')),
  settings         jsonb NOT NULL DEFAULT '{"allow_threat_model_linking": true}',
  survey_json      jsonb NOT NULL,
  -- Set the first time the survey becomes active: from then on its version and JSON are fixed.
  published_at     timestamptz,
  created_by_uuid  uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  created_at       timestamptz NOT NULL,
  modified_at      timestamptz NOT NULL,
  UNIQUE (name, version)
);
CREATE INDEX surveys_created_idx ON surveys (created_at DESC, id);

CREATE TABLE survey_responses (
  id                       uuid PRIMARY KEY,
  survey_id                uuid NOT NULL REFERENCES surveys (id),
  survey_version           text NOT NULL,
  survey_json              jsonb NOT NULL,
  status                   text NOT NULL DEFAULT 'draft'
                             CHECK (status IN ('draft', 'submitted', 'needs_revision', 'ready_for_review', 'review_created')),
  is_confidential          boolean NOT NULL DEFAULT false,
  answers                  jsonb NOT NULL DEFAULT '{}',
  ui_state                 jsonb,
  linked_threat_model_id   uuid REFERENCES threat_models (id) ON DELETE SET NULL,
  created_threat_model_id  uuid REFERENCES threat_models (id) ON DELETE SET NULL,
  project_id               uuid REFERENCES projects (id) ON DELETE SET NULL,
  revision_notes           text,
  owner_uuid               uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  reviewed_by_uuid         uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  submitted_at             timestamptz,
  reviewed_at              timestamptz,
  created_at               timestamptz NOT NULL,
  modified_at              timestamptz NOT NULL,
  version                  integer NOT NULL DEFAULT 1
);
CREATE INDEX survey_responses_owner_idx ON survey_responses (owner_uuid, created_at DESC);
CREATE INDEX survey_responses_status_idx ON survey_responses (status, created_at DESC);
CREATE INDEX survey_responses_survey_idx ON survey_responses (survey_id);

CREATE TABLE triage_notes (
  survey_response_id  uuid NOT NULL REFERENCES survey_responses (id) ON DELETE CASCADE,
  id                  integer NOT NULL,
  name                text NOT NULL,
  content             text NOT NULL,
  created_by_uuid     uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  created_at          timestamptz NOT NULL,
  PRIMARY KEY (survey_response_id, id)
);
