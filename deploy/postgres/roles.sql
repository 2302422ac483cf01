-- Least privilege for TMI on PostgreSQL. One role owns TMI's schema and runs the migrations; the
-- server connects as another that reads and writes rows but cannot create, alter or drop anything.
-- Run once, as a superuser or the database's owner, with psql:
--
--   psql "postgres://admin@db:5432/tmi" -v dbname=tmi -v schema=tmi \
--        -v migrator_role=tmi_migrator -v migrator_password="$MIGRATOR_PASSWORD" \
--        -v app_role=tmi_app -v app_password="$APP_PASSWORD" -f deploy/postgres/roles.sql
--
-- Then run migrations as the migrator (`node dist/server/tools/cli.js migrate` with
-- TMI_DATABASE_URL=postgres://tmi_migrator:…@db:5432/tmi) and the server as the app role with
-- TMI_DATABASE_MIGRATE=false. test/database-roles.test.ts runs this file against PostgreSQL.
\set ON_ERROR_STOP on

CREATE ROLE :"migrator_role" LOGIN PASSWORD :'migrator_password';
CREATE ROLE :"app_role" LOGIN PASSWORD :'app_password';

-- Only these roles connect; nobody else gets anything by default.
REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"dbname" TO :"migrator_role", :"app_role";

-- TMI's own schema, owned by the migrator; both roles find TMI's tables there first.
CREATE SCHEMA :"schema" AUTHORIZATION :"migrator_role";
ALTER ROLE :"migrator_role" IN DATABASE :"dbname" SET search_path = :"schema";
ALTER ROLE :"app_role" IN DATABASE :"dbname" SET search_path = :"schema";

-- The server: rows only, in every table the migrator creates now or later.
GRANT USAGE ON SCHEMA :"schema" TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"migrator_role" IN SCHEMA :"schema"
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"migrator_role" IN SCHEMA :"schema"
  GRANT USAGE, SELECT ON SEQUENCES TO :"app_role";
-- No CREATE on the schema and none on `public` (PostgreSQL 15+ grants it to nobody by default;
-- older servers grant it to PUBLIC, so take it away there).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
