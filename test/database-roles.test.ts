// Least privilege on PostgreSQL: deploy/postgres/roles.sql creates a migration role that owns the
// schema and an app role without DDL; migrations run as the first (the `migrate` command), the
// server as the second with TMI_DATABASE_MIGRATE=false, and refuses to start on a schema that is
// not current.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../server/config.ts';
import { createContext } from '../server/context.ts';
import { buildApp } from '../server/app.ts';
import { MigrationsPendingError, assertMigrated, openDb } from '../server/store/db.ts';
import { call, signIn, usingPostgres } from './support/app.ts';
import { COMPILED_CLI, ensureBuilt } from './support/build.ts';
import { ROOT } from './support/process.ts';

// On PostgreSQL the same refusal is checked below, with the app role on an empty schema.
describe.runIf(!usingPostgres)('a server that may not migrate', () => {
  it('refuses an out-of-date schema, naming the pending migrations and the command', async () => {
    const db = await openDb({ loadDump: new Blob([readFileSync(process.env.TMI_TEST_PGLITE_TEMPLATE!)]) });
    try {
      await expect(assertMigrated(db)).resolves.toBeUndefined();
      const [latest] = await db.query<{ id: string }>('SELECT max(id) AS id FROM schema_migrations');
      await db.query('DELETE FROM schema_migrations WHERE id = $1', [latest!.id]);
      const err = await assertMigrated(db).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MigrationsPendingError);
      expect((err as Error).message).toBe(
        `the database schema is not current (pending: ${latest!.id}); run the migrations first (npm run migrate, as the migration role) or set TMI_DATABASE_MIGRATE=true`,
      );
    } finally {
      await db.close();
    }
  });
});

describe.runIf(usingPostgres)('PostgreSQL roles from deploy/postgres/roles.sql', () => {
  const suffix = randomBytes(4).toString('hex');
  const names = { schema: `tmi_lp_${suffix}`, migrator: `tmi_lp_migrator_${suffix}`, app: `tmi_lp_app_${suffix}` };
  const passwords = { migrator: randomBytes(12).toString('hex'), app: randomBytes(12).toString('hex') };
  const admin = new URL(process.env.TMI_TEST_DATABASE_URL ?? 'postgres://localhost/none');
  const urlFor = (role: string, password: string) => {
    const u = new URL(admin.href);
    u.username = role;
    u.password = password;
    return u.href;
  };
  const migratorUrl = urlFor(names.migrator, passwords.migrator);
  const appUrl = urlFor(names.app, passwords.app);

  beforeAll(() => {
    execFileSync('psql', [
      admin.href,
      '-q',
      '-v', `dbname=${admin.pathname.slice(1)}`,
      '-v', `schema=${names.schema}`,
      '-v', `migrator_role=${names.migrator}`,
      '-v', `migrator_password=${passwords.migrator}`,
      '-v', `app_role=${names.app}`,
      '-v', `app_password=${passwords.app}`,
      '-f', path.join(ROOT, 'deploy/postgres/roles.sql'),
    ], { stdio: 'pipe' });
  });
  afterAll(async () => {
    const c = new pg.Client({ connectionString: admin.href });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${names.schema}" CASCADE`);
    for (const role of [names.migrator, names.app]) {
      await c.query(`DROP OWNED BY "${role}"`).catch(() => undefined);
      await c.query(`DROP ROLE IF EXISTS "${role}"`);
    }
    // roles.sql took CONNECT from PUBLIC; the other tests connect as the admin, who keeps it.
    await c.end();
  });

  it('the app role cannot run migrations, and a server with it refuses the empty schema', async () => {
    await expect(openDb({ databaseUrl: appUrl, poolMax: 1 })).rejects.toThrow(/permission denied/);
    await expect(openDb({ databaseUrl: appUrl, poolMax: 1, migrate: false })).rejects.toBeInstanceOf(MigrationsPendingError);
  });

  it('the migrate command applies every migration as the migration role', async () => {
    await ensureBuilt();
    const run = spawnSync(process.execPath, [COMPILED_CLI, 'migrate'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMI_DATABASE_URL: migratorUrl },
      encoding: 'utf8',
    });
    expect(run.stderr).toMatch(/database schema is current \(\d+ migrations applied\)/);
    expect(run.status).toBe(0);
    // The URL's password is not echoed.
    expect(run.stderr + run.stdout).not.toContain(passwords.migrator);
  }, 120_000);

  it('the server works as the app role, which cannot change the schema', async () => {
    const config = loadConfig({
      TMI_BUILD_MODE: 'test',
      TMI_JWT_SECRET: randomBytes(32).toString('hex'),
      TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-lp-')),
      TMI_LOG_LEVEL: 'silent',
      TMI_DATABASE_URL: appUrl,
      TMI_DATABASE_MIGRATE: 'false',
    });
    const db = await openDb({ databaseUrl: appUrl, poolMax: 2, migrate: false });
    const ctx = await createContext(config, { db });
    const app = await buildApp(ctx);
    try {
      const user = await signIn(app);
      const tm = await call(app, 'POST', '/threat_models', { token: user.accessToken, body: { name: 'least privilege' } });
      expect(tm.status).toBe(201);
      const threat = await call(app, 'POST', `/threat_models/${tm.body.id}/threats`, {
        token: user.accessToken,
        body: { name: 'T', threat_type: ['Spoofing'], severity: 'High', status: 'Open', priority: 'High', mitigated: false, score: 5 },
      });
      expect(threat.status).toBe(201);
      expect((await call(app, 'DELETE', `/threat_models/${tm.body.id}`, { token: user.accessToken })).status).toBe(204);
      // The rows went to the role's schema.
      const rows = await db.query<{ schema: string }>("SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'threat_models' AND table_schema = current_schema()");
      expect(rows[0]?.schema).toBe(names.schema);
      for (const ddl of ['CREATE TABLE lp_probe (id int)', 'DROP TABLE threats', 'ALTER TABLE threats ADD COLUMN x int', 'CREATE TABLE public.lp_probe (id int)', 'TRUNCATE threats']) {
        await expect(db.query(ddl), ddl).rejects.toThrow(/permission denied|must be owner/);
      }
    } finally {
      await app.close();
      await ctx.close();
      await db.close();
    }
  });
});
