// Builds one migrated PGlite database and saves it twice: as a dump, from which each test worker
// loads its in-memory database (test/support/app.ts), and as a data folder, copied into the data
// folder of a server started as a child process (test/support/process.ts): initialising and
// migrating a new folder costs about 10 s of CPU.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dumpPglite, openDb } from '../../server/store/db.ts';

export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tmi-test-template-'));
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
  return () => rmSync(dir, { recursive: true, force: true });
}
