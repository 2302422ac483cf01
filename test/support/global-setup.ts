// Provides one migrated PGlite database twice: as a dump, from which each test worker loads its
// in-memory database (test/support/app.ts), and as a data folder, copied into the data folder of a
// server started as a child process (test/support/process.ts): initialising and migrating a new
// folder costs about 10 s of CPU. Both are made once per version of the migrations, of the code
// that opens the database and of PGlite, and kept in node_modules/.cache like any build cache.
// Meanwhile it brings the compiled server in dist/ up to date when the files of this run start it
// as a child process.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { dumpPglite, openDb } from '../../server/store/db.ts';
import { buildsNeeded, ensureBuilt } from './build.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export default async function setup(project: TestProject): Promise<void> {
  const needed = await buildsNeeded(project);
  const build = needed ? ensureBuilt(needed) : Promise.resolve();
  // Not left unhandled while the template is made; awaited below.
  build.catch(() => undefined);
  if (!process.env.TMI_TEST_DATABASE_URL) {
    const template = await pgliteTemplate();
    process.env.TMI_TEST_PGLITE_TEMPLATE = template.dump;
    process.env.TMI_TEST_PGLITE_FOLDER = template.folder;
  } else {
    // Migrate the shared PostgreSQL database once, before the files run in parallel.
    const db = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL });
    await db.close();
  }
  await build;
}

async function pgliteTemplate(): Promise<{ dump: string; folder: string }> {
  const caches = path.join(ROOT, 'node_modules/.cache/tmi-pglite-template');
  const migrations = path.join(ROOT, 'server/store/migrations');
  const hash = createHash('sha256');
  for (const f of readdirSync(migrations).sort()) hash.update(f).update(readFileSync(path.join(migrations, f)));
  for (const f of ['server/store/db.ts', 'node_modules/@electric-sql/pglite/package.json']) hash.update(readFileSync(path.join(ROOT, f)));
  const key = hash.digest('hex').slice(0, 16);
  const entry = path.join(caches, key);
  const paths = { dump: path.join(entry, 'template.tar.gz'), folder: path.join(entry, 'data', 'pglite') };
  if (existsSync(entry)) return paths;
  mkdirSync(caches, { recursive: true });
  // Made beside the entry and renamed into place when complete: a run interrupted half-way, or
  // one in parallel, never finds half a template under the key.
  const work = mkdtempSync(path.join(caches, `${key}.`));
  try {
    const db = await openDb({});
    const dump = await dumpPglite(db);
    await db.close();
    writeFileSync(path.join(work, 'template.tar.gz'), Buffer.from(await dump.arrayBuffer()));
    await (await openDb({ dataDir: path.join(work, 'data'), loadDump: dump })).close();
    renameSync(work, entry);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(entry)) throw err; // else a parallel run got there first
  }
  // Templates of other versions (a day old: another checkout may be using one), and interrupted ones.
  for (const name of readdirSync(caches)) {
    const other = path.join(caches, name);
    if (name !== key && Date.now() - statSync(other).mtimeMs > 24 * 3600_000) rmSync(other, { recursive: true, force: true });
  }
  return paths;
}
