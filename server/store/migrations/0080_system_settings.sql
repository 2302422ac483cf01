-- Runtime settings administrators change through /admin/settings (server/settings/). A row here is
-- the database's value of one key; the environment still wins over it and the built-in default
-- applies without it. `value` holds plaintext, or `ENC:v1:...` (AES-256-GCM) when the server has a
-- settings encryption key; who wrote it last is kept, and forgotten with the account.
CREATE TABLE system_settings (
  key          text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_.]*$' AND length(key) <= 256),
  value        text NOT NULL,
  type         text NOT NULL CHECK (type IN ('string', 'int', 'bool', 'json', 'float')),
  description  text CHECK (description IS NULL OR length(description) <= 2048),
  modified_at  timestamptz NOT NULL DEFAULT now(),
  modified_by  uuid REFERENCES users (internal_uuid) ON DELETE SET NULL
);
