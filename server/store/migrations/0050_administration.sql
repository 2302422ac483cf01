-- Administration and the person's own account (issue 14).

-- A deactivated account keeps its data but can neither sign in nor use a token it already holds.
ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;

-- The system audit log: administrative writes, administrators' sign-ins, ownership transfers,
-- account deletions. Values are stored redacted (secrets never land here).
CREATE TABLE system_audit (
  id                  uuid PRIMARY KEY,
  actor_uuid          uuid,
  actor_email         text NOT NULL,
  actor_provider      text NOT NULL,
  actor_provider_id   text NOT NULL,
  actor_display_name  text NOT NULL,
  action              text NOT NULL,
  http_method         text NOT NULL,
  http_path           text NOT NULL,
  target_type         text NOT NULL,
  target_id           text,
  field_path          text NOT NULL,
  old_value           jsonb,
  new_value           jsonb,
  change_summary      text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX system_audit_created_idx ON system_audit (created_at DESC, id DESC);
CREATE INDEX system_audit_actor_idx ON system_audit (lower(actor_email), created_at DESC);
CREATE INDEX system_audit_target_idx ON system_audit (target_type, target_id, created_at DESC);

-- /me/preferences: one JSON object per user, replaced wholesale.
CREATE TABLE user_preferences (
  user_uuid    uuid PRIMARY KEY REFERENCES users (internal_uuid) ON DELETE CASCADE,
  preferences  jsonb NOT NULL,
  modified_at  timestamptz NOT NULL DEFAULT now()
);

-- TMI-managed groups: who added a member, and when a group's details last changed.
ALTER TABLE group_members ADD COLUMN added_by uuid;
ALTER TABLE group_members ADD COLUMN notes text;
ALTER TABLE group_members ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX group_members_id_idx ON group_members (id);
ALTER TABLE groups ADD COLUMN modified_at timestamptz NOT NULL DEFAULT now();
