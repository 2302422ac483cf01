// Ours against the floor, side by side in one run (issue 11). The floor (floor-server.ts) serves the
// very JSON documents ours answers, each stored as one jsonb row by primary key, with no
// authentication or validation; its writes are one insert/update plus one audit insert. Rounds of
// ours and of the floor alternate, so load from other processes falls on both alike; the figures
// are the mean req/s and the median p99 of the rounds, and the ratio ours/floor.
//
//   npm run bench:floor                      (PostgreSQL on 127.0.0.1:5432 + Redis, then PGlite)
//   BENCH_BACKENDS=postgres npm run bench:floor
//   BENCH_ONLY=get20 BENCH_CPU_PROF=1 npm run bench:floor   (one scenario; ours writes a .cpuprofile
//                                                             under bench/results/prof/)
// Env: BENCH_PG_URL (server URL without database), BENCH_REDIS_URL, BENCH_DURATION (s per round,
// default 5), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 16), BENCH_BACKENDS
// (postgres,pglite), BENCH_ONLY (comma list of scenario keys: get20,get200,list,threats,post,put),
// BENCH_LIST_CACHE_MB (ours' TMI_LIST_CACHE_MB; 0 assembles every list, as under writes between reads).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Result } from 'autocannon';
import { combine, runLoad, type Figures, type Load } from '../support/load.ts';
import pg from 'pg';
import { ROOT, run, stop, waitFor, type Child } from '../support/child.ts';
import { signInOverHttp } from '../../test/support/process.ts';
import { api, parallel } from '../support/http.ts';

const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/8';
const PORT = Number(process.env.BENCH_PORT ?? 18184);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',');
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const LIST_MODELS = Number(process.env.BENCH_LIST_MODELS ?? 1000);

function portOf(child: Child): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    child.proc.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
    void child.exited.then((code) => reject(new Error(`floor server exited with ${code}`)));
  });
}

/** A threat of about 700 bytes on the wire, as a realistic one (20 of them make a 16 KB model). */
const threatBody = (i: number) => ({
  name: `Spoofing of the session token ${i}`,
  description: 'An attacker who obtains a session token can act as the user until the token expires; tokens travel in headers and may be logged by proxies.',
  mitigation: 'Short-lived tokens bound to the client, refresh with rotation, and redaction of Authorization headers in every log.',
  severity: 'High',
  score: 7.5,
  priority: 'P1',
  mitigated: false,
  status: 'Open',
  threat_type: ['Spoofing', 'Information Disclosure'],
  metadata: [
    { key: 'owner', value: 'platform-team' },
    { key: 'ticket', value: `SEC-${1000 + i}` },
  ],
  cwe_id: ['CWE-287', 'CWE-613'],
  cvss: [{ vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:N', score: 8.1 }],
});

async function compare(ours: Load, floor: Load): Promise<{ ours: Figures; floor: Figures }> {
  await runLoad(ours, 2, CONNECTIONS);
  await runLoad(floor, 2, CONNECTIONS);
  const o: Result[] = [];
  const f: Result[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first, so neither always follows the other's garbage collection.
    if (i % 2 === 0) {
      o.push(await runLoad(ours, DURATION, CONNECTIONS));
      f.push(await runLoad(floor, DURATION, CONNECTIONS));
    } else {
      f.push(await runLoad(floor, DURATION, CONNECTIONS));
      o.push(await runLoad(ours, DURATION, CONNECTIONS));
    }
  }
  return { ours: combine(o), floor: combine(f) };
}

async function bench(backend: string): Promise<Record<string, unknown>[]> {
  const children: Child[] = [];
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'tmi-floor-'));
    dirs.push(d);
    return d;
  };
  let admin: pg.Client | undefined;
  let dbName = '';
  const secret = randomBytes(32).toString('hex');
  const env: Record<string, string> = { TMI_BUILD_MODE: 'test', TMI_LOG_LEVEL: 'warn', TMI_JWT_SECRET: secret, TMI_SERVER_PORT: String(PORT), TMI_DATA_DIR: tmp() };
  if (process.env.BENCH_LIST_CACHE_MB) env.TMI_LIST_CACHE_MB = process.env.BENCH_LIST_CACHE_MB;
  const floorEnv: Record<string, string> = {};
  if (backend === 'postgres') {
    admin = new pg.Client({ connectionString: `${PG_URL}/postgres` });
    await admin.connect();
    dbName = `tmi_speed_floor_${Date.now()}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    env.TMI_DATABASE_URL = `${PG_URL}/${dbName}`;
    env.TMI_REDIS_URL = REDIS_URL;
    floorEnv.FLOOR_DATABASE_URL = `${PG_URL}/${dbName}`;
  } else {
    floorEnv.FLOOR_PGLITE_DIR = tmp();
  }
  const rows: Record<string, unknown>[] = [];
  try {
    const profDir = path.join(ROOT, 'bench/results/prof');
    if (CPU_PROF) mkdirSync(profDir, { recursive: true });
    const ours = run(['server/main.ts'], env, CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []);
    children.push(ours);
    const base = `http://127.0.0.1:${PORT}`;
    await waitFor(`${base}/`, ours);
    const floorProc = run(['bench/floor/floor-server.ts'], floorEnv);
    children.push(floorProc);
    const floor = `http://127.0.0.1:${await portOf(floorProc)}`;

    const token = await signInOverHttp(base, 'bench-user');
    const started = Date.now();
    const mk = async (name: string, threats: number) => {
      const tm = (await api(base, token, 'POST', '/threat_models', { name, description: 'A threat model for the floor benchmark.', metadata: [{ key: 'team', value: 'bench' }] })) as { id: string };
      await parallel(threats, 4, (i) => api(base, token, 'POST', `/threat_models/${tm.id}/threats`, threatBody(i)));
      return tm.id;
    };
    const tm20 = await mk('Twenty threats', 20);
    const tm200 = await mk('Two hundred threats', 200);
    const tmWrites = await mk('Writes', 1);
    const need = (s: string) => !ONLY || ONLY.has(s);
    if (need('list')) {
      await parallel(LIST_MODELS - 3, 8, (i) => api(base, token, 'POST', '/threat_models', { name: `Seeded model ${i}`, description: 'A threat model created by the benchmark seed.', metadata: [{ key: 'seq', value: String(i) }] }));
    }
    console.log(`[${backend}] seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // The floor serves the very documents ours answers.
    const load = async (url: string) => {
      const doc = await api(base, token, 'GET', url);
      const id = randomUUID();
      const res = await fetch(`${floor}/_docs/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
      if (res.status !== 204) throw new Error(`floor load: ${res.status}`);
      return { id, bytes: JSON.stringify(doc).length };
    };
    const writeThreat = ((await api(base, token, 'GET', `/threat_models/${tmWrites}/threats`)) as { threats: { id: string }[] }).threats[0]!.id;
    const floorThreat = ((await (
      await fetch(`${floor}/threats/${tmWrites}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(threatBody(0)) })
    ).json()) as { id: string }).id;
    const body = JSON.stringify(threatBody(7));
    const scenarios: [string, string, () => Promise<[Load, Load, number?]>][] = [
      ['get20', 'GET /threat_models/{id} (20 threats)', async () => {
        const d = await load(`/threat_models/${tm20}`);
        return [{ url: `${base}/threat_models/${tm20}`, token }, { url: `${floor}/docs/${d.id}` }, d.bytes];
      }],
      ['get200', 'GET /threat_models/{id} (200 threats)', async () => {
        const d = await load(`/threat_models/${tm200}`);
        return [{ url: `${base}/threat_models/${tm200}`, token }, { url: `${floor}/docs/${d.id}` }, d.bytes];
      }],
      ['list', `GET /threat_models (${LIST_MODELS} models)`, async () => {
        const d = await load('/threat_models');
        return [{ url: `${base}/threat_models`, token }, { url: `${floor}/docs/${d.id}` }, d.bytes];
      }],
      ['threats', 'GET /threat_models/{id}/threats (200)', async () => {
        const d = await load(`/threat_models/${tm200}/threats`);
        return [{ url: `${base}/threat_models/${tm200}/threats`, token }, { url: `${floor}/docs/${d.id}` }, d.bytes];
      }],
      ['post', 'POST /threat_models/{id}/threats', async () => [
        { url: `${base}/threat_models/${tmWrites}/threats`, token, method: 'POST', body },
        { url: `${floor}/threats/${tmWrites}`, method: 'POST', body },
      ]],
      ['put', 'PUT /threat_models/{id}/threats/{id}', async () => [
        { url: `${base}/threat_models/${tmWrites}/threats/${writeThreat}`, token, method: 'PUT', body },
        { url: `${floor}/threats/${tmWrites}/${floorThreat}`, method: 'PUT', body },
      ]],
    ];
    for (const [key, name, prepare] of scenarios) {
      if (!need(key)) continue;
      const [oursLoad, floorLoad, bytes] = await prepare();
      const { ours: o, floor: f } = await compare(oursLoad, floorLoad);
      const ratio = Math.round((o.rps / f.rps) * 100) / 100;
      const p99Ratio = Math.round((o.p99 / Math.max(f.p99, 1)) * 100) / 100;
      rows.push({ backend, scenario: name, bytes, ours: o, floor: f, rps_ratio: ratio, p99_ratio: p99Ratio });
      console.log(
        `[${backend}] ${name.padEnd(40)} ours ${String(o.rps).padStart(6)} req/s p99 ${String(o.p99).padStart(4)} ms | floor ${String(f.rps).padStart(6)} req/s p99 ${String(f.p99).padStart(4)} ms | req/s ${ratio}x, p99 ${p99Ratio}x${bytes ? ` | ${(bytes / 1024).toFixed(1)} KB` : ''}${o.errors || o.non2xx ? ` (ours: ${o.errors} errors, ${o.non2xx} non-2xx)` : ''}${f.errors || f.non2xx ? ` (floor: ${f.errors} errors, ${f.non2xx} non-2xx)` : ''}`,
      );
    }
  } finally {
    for (const c of children) await stop(c);
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return rows;
}

async function main() {
  const date = new Date().toISOString();
  const all: Record<string, unknown>[] = [];
  for (const b of BACKENDS) all.push(...(await bench(b)));
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  const file = path.join(ROOT, 'bench/results', `floor-${date}.json`.replace(/:/g, '-'));
  writeFileSync(file, `${JSON.stringify({ date, node: process.version, duration_s: DURATION, rounds: ROUNDS, connections: CONNECTIONS, scenarios: all }, null, 2)}\n`);
  console.log(`results: ${path.relative(ROOT, file)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
