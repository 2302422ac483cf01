-- Threat suggestions from the rules engine (rules/): dismissals remembered per threat model, and
-- the rule packs administrators upload (packs from configuration live in files, not here).
CREATE TABLE suggestion_dismissals (
  threat_model_id  uuid NOT NULL REFERENCES threat_models (id) ON DELETE CASCADE,
  -- rule id + '/' + cell id (rules/engine.ts fingerprintOf)
  fingerprint      text NOT NULL,
  dismissed_by     uuid,
  dismissed_at     timestamptz NOT NULL,
  PRIMARY KEY (threat_model_id, fingerprint)
);

CREATE TABLE rule_packs (
  id           text PRIMARY KEY,
  name         text NOT NULL,
  version      text NOT NULL,
  pack         jsonb NOT NULL,
  created_by   uuid,
  created_at   timestamptz NOT NULL,
  modified_at  timestamptz NOT NULL
);
