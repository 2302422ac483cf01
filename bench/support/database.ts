// A database of a benchmark's own on the PostgreSQL server the benchmarks use, made empty at the
// start (a run that was killed may have left it) and dropped at the end.
import pg from 'pg';

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function asAdmin(serverUrl: string, sql: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await admin.connect();
  try {
    for (const statement of sql) await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** `name` is the benchmark's own constant (identifiers cannot be bound parameters). */
export async function freshBenchDatabase(serverUrl: string, name: string): Promise<BenchDatabase> {
  await asAdmin(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, `CREATE DATABASE ${name}`]);
  return { url: `${serverUrl}/${name}`, drop: () => asAdmin(serverUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]) };
}
