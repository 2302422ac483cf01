-- Accounts bound to (provider, subject): further identities a person linked to their account.
-- An identity belongs to one account only; a user row's own (provider, provider_user_id) is its
-- primary identity and is never repeated here (checked when linking).
CREATE TABLE linked_identities (
  id                uuid PRIMARY KEY,
  user_uuid         uuid NOT NULL REFERENCES users (internal_uuid) ON DELETE CASCADE,
  provider          text NOT NULL,
  provider_user_id  text NOT NULL,
  email             text NOT NULL DEFAULT '',
  name              text NOT NULL DEFAULT '',
  linked_at         timestamptz NOT NULL DEFAULT now(),
  last_used_at      timestamptz,
  UNIQUE (provider, provider_user_id)
);
CREATE INDEX linked_identities_user_idx ON linked_identities (user_uuid);

-- Service-account credentials (client_credentials grant). The secret is stored only as a scrypt
-- hash; deleting the row revokes the credential at once.
CREATE TABLE client_credentials (
  id            uuid PRIMARY KEY,
  owner_uuid    uuid NOT NULL REFERENCES users (internal_uuid) ON DELETE CASCADE,
  client_id     text NOT NULL UNIQUE,
  secret_hash   text NOT NULL,
  name          text NOT NULL,
  description   text NOT NULL DEFAULT '',
  is_active     boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  modified_at   timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  last_used_at  timestamptz
);
CREATE INDEX client_credentials_owner_idx ON client_credentials (owner_uuid, created_at);

-- Automation users (POST /admin/users/automation): accounts nobody signs in to interactively.
ALTER TABLE users ADD COLUMN automation boolean NOT NULL DEFAULT false;
