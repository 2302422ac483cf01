// Builds one migrated PGlite database and saves it twice: as a dump, from which each test worker
// loads its in-memory database (test/support/app.ts), and as a data folder, copied into the data
// folder of a server started as a child process (test/support/process.ts): initialising and
// migrating a new folder costs about 10 s of CPU. Meanwhile, on the other core, it brings the
// compiled server in dist/ up to date when the files of this run start it as a child process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { dumpPglite, openDb } from '../../server/store/db.ts';
import { buildsNeeded, ensureBuilt } from './build.ts';

export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tmi-test-template-'));
  const needed = await buildsNeeded(project);
  const build = needed ? ensureBuilt(needed) : Promise.resolve();
  // Not left unhandled while the template is made; awaited below.
  build.catch(() => undefined);
  if (!process.env.TMI_TEST_DATABASE_URL) {
    const db = await openDb({});
    const dump = await dumpPglite(db);
    await db.close();
    const file = path.join(dir, 'template.tar.gz');
    writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
    process.env.TMI_TEST_PGLITE_TEMPLATE = file;
    const folder = path.join(dir, 'data');
    await (await openDb({ dataDir: folder, loadDump: dump })).close();
    process.env.TMI_TEST_PGLITE_FOLDER = path.join(folder, 'pglite');
  } else {
    // Migrate the shared PostgreSQL database once, before the files run in parallel.
    const db = await openDb({ databaseUrl: process.env.TMI_TEST_DATABASE_URL });
    await db.close();
  }
  await build;
  return () => rmSync(dir, { recursive: true, force: true });
}
