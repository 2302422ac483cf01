-- Feedback (issue 14): on the application (/usability_feedback) and on a threat model's content
-- (/threat_models/{id}/feedback). The author is kept as an id only; deleting the account deletes
-- what it wrote on the application; content feedback goes with its threat model.
CREATE TABLE usability_feedback (
  id               uuid PRIMARY KEY,
  sentiment        text NOT NULL,
  surface          text NOT NULL,
  client_id        text NOT NULL,
  verbatim         text,
  client_version   text,
  client_build     text,
  user_agent       text,
  user_agent_data  jsonb,
  viewport         text,
  screenshot       text,
  created_by       uuid NOT NULL REFERENCES users (internal_uuid) ON DELETE CASCADE,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usability_feedback_created_idx ON usability_feedback (created_at DESC, id);

CREATE TABLE content_feedback (
  id                        uuid PRIMARY KEY,
  threat_model_id           uuid NOT NULL REFERENCES threat_models (id) ON DELETE CASCADE,
  sentiment                 text NOT NULL,
  target_type               text NOT NULL,
  target_id                 uuid NOT NULL,
  target_field              text,
  verbatim                  text,
  false_positive_reason     text,
  false_positive_subreason  text,
  client_id                 text NOT NULL,
  client_version            text,
  screenshot                text,
  created_by                uuid REFERENCES users (internal_uuid) ON DELETE SET NULL,
  created_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX content_feedback_tm_idx ON content_feedback (threat_model_id, created_at DESC, id);
