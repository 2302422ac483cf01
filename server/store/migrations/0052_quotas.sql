-- Per-user quotas set by administrators (/admin/quotas/{users|webhooks|addons}): one row per user
-- and kind, the values as the API shows them; no row means the defaults.
CREATE TABLE user_quotas (
  user_uuid    uuid NOT NULL REFERENCES users (internal_uuid) ON DELETE CASCADE,
  kind         text NOT NULL CHECK (kind IN ('users', 'webhooks', 'addons')),
  quota        jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  modified_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_uuid, kind)
);
