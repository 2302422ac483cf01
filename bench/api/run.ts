// API benchmark: TMI on PostgreSQL + Redis against a bare Fastify + pg server running the same SQL,
// in the same run, for GET /threat_models/{id}, GET /threat_models (1,000 models) and
// POST /threat_models. Prints req/s, p50, p99 and the ratio ours/bare; also the resident memory
// of the server right after start on PGlite and on PostgreSQL. Saves JSON under bench/results/.
//
//   npm run bench:api      (needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379)
// Env: BENCH_PG_URL (server URL without database), BENCH_REDIS_URL, BENCH_PORT (TMI's port),
// BENCH_DURATION (seconds per run, default 5), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 10).
// Ours and bare run alternately, round after round, so that load from other processes on the
// machine falls on both alike; the figures are the mean req/s and the median p50/p99 of the rounds.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Result } from 'autocannon';
import { combine, runLoad, type Figures, type Load } from '../support/load.ts';
import pg from 'pg';
import { ROOT, run, stop, waitFor, type Child } from '../support/child.ts';
import { signInOverHttp } from '../../test/support/process.ts';

const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/3';
const PORT = Number(process.env.BENCH_PORT ?? 18084);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SEED = 1000;

const rssMiB = (pid: number) => {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
};

async function seed(base: string, token: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const res = await fetch(`${base}/threat_models`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Seeded model ${i}`, description: 'A threat model created by the benchmark seed.', metadata: [{ key: 'seq', value: String(i) }] }),
      });
      if (res.status !== 201) throw new Error(`seed failed: ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return ids;
}

/** Warms both up, then alternates ours and bare for ROUNDS rounds. */
async function compare(ours: Load, bare: Load): Promise<{ ours: Figures; bare: Figures }> {
  await runLoad(ours, 2, CONNECTIONS);
  await runLoad(bare, 2, CONNECTIONS);
  const o: Result[] = [];
  const b: Result[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    o.push(await runLoad(ours, DURATION, CONNECTIONS));
    b.push(await runLoad(bare, DURATION, CONNECTIONS));
  }
  return { ours: combine(o), bare: combine(b) };
}

async function main() {
  const admin = new pg.Client({ connectionString: `${PG_URL}/postgres` });
  await admin.connect();
  const dbName = `tmi_bench_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = `${PG_URL}/${dbName}`;
  const secret = randomBytes(32).toString('hex');
  const common = { TMI_BUILD_MODE: 'test', TMI_LOG_LEVEL: 'warn', TMI_JWT_SECRET: secret, TMI_SERVER_PORT: String(PORT) };
  const base = `http://127.0.0.1:${PORT}`;
  const result: Record<string, unknown> = { date: new Date().toISOString(), duration_s: DURATION, rounds: ROUNDS, connections: CONNECTIONS, seeded_models: SEED, node: process.version };
  const children: Child[] = [];
  try {
    // Resident memory right after start, on PGlite.
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tmi-bench-'));
    // First start (initialises the folder) and a restart on the initialised folder.
    const rssPgliteRuns: number[] = [];
    for (let i = 0; i < 2; i++) {
      const embedded = run(['server/main.ts'], { ...common, TMI_DATA_DIR: dataDir });
      children.push(embedded);
      await waitFor(`${base}/`, embedded);
      rssPgliteRuns.push(rssMiB(embedded.proc.pid!));
      await stop(embedded);
    }
    const [rssPglite, rssPgliteRestart] = rssPgliteRuns as [number, number];
    rmSync(dataDir, { recursive: true, force: true });

    // TMI on PostgreSQL + Redis.
    const ours = run(['server/main.ts'], { ...common, TMI_DATABASE_URL: dbUrl, TMI_REDIS_URL: REDIS_URL, TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-bench-')) });
    children.push(ours);
    await waitFor(`${base}/`, ours);
    const rssPostgres = rssMiB(ours.proc.pid!);
    result.rss_mib_after_start = { pglite_first_start: rssPglite, pglite_restart: rssPgliteRestart, postgres: rssPostgres };
    console.log(`resident memory after start: PGlite ${rssPglite} MiB (new folder), ${rssPgliteRestart} MiB (restart); PostgreSQL ${rssPostgres} MiB`);

    const token = await signInOverHttp(base, 'bench-user');
    const started = Date.now();
    const ids = await seed(base, token, SEED);
    console.log(`seeded ${ids.length} threat models in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const owner = (await db.query<{ internal_uuid: string }>(`SELECT internal_uuid FROM users WHERE provider = 'tmi' AND provider_user_id = 'bench-user'`)).rows[0]!.internal_uuid;
    await db.end();

    const bareProc = run(['bench/api/bare-server.ts'], { BARE_DATABASE_URL: dbUrl, BARE_USER_UUID: owner });
    children.push(bareProc);
    const barePort = await new Promise<number>((resolve, reject) => {
      bareProc.proc.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
      void bareProc.exited.then((code) => reject(new Error(`bare server exited with ${code}`)));
    });
    const bare = `http://127.0.0.1:${barePort}`;

    const target = ids[Math.floor(ids.length / 2)]!;
    const body = JSON.stringify({ name: 'Benchmark model', description: 'Created under load.' });
    const scenarios: [string, Load, Load][] = [
      ['GET /threat_models/{id}', { url: `${base}/threat_models/${target}`, token }, { url: `${bare}/threat_models/${target}` }],
      ['GET /threat_models', { url: `${base}/threat_models`, token }, { url: `${bare}/threat_models` }],
      ['POST /threat_models', { url: `${base}/threat_models`, token, method: 'POST', body }, { url: `${bare}/threat_models`, method: 'POST', body }],
    ];
    const rows: Record<string, unknown>[] = [];
    for (const [name, oursLoad, bareLoad] of scenarios) {
      const { ours: o, bare: b } = await compare(oursLoad, bareLoad);
      const ratio = Math.round((o.rps / b.rps) * 100) / 100;
      rows.push({ scenario: name, ours: o, bare: b, ratio });
      console.log(
        `${name.padEnd(26)} ours ${String(o.rps).padStart(6)} req/s p50 ${o.p50} ms p99 ${o.p99} ms | bare ${String(b.rps).padStart(6)} req/s p50 ${b.p50} ms p99 ${b.p99} ms | ratio ${ratio}${o.errors || o.non2xx ? ` (ours: ${o.errors} errors, ${o.non2xx} non-2xx)` : ''}`,
      );
    }
    result.scenarios = rows;
    mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    const file = path.join(ROOT, 'bench/results', `api-${result.date as string}.json`.replace(/:/g, '-'));
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`results: ${path.relative(ROOT, file)}`);
  } finally {
    for (const c of children) await stop(c);
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
