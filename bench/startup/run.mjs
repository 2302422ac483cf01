// Start time to the first answered request and resident memory right after it, for the compiled
// build (and TypeScript through tsx), on one migrated PGlite folder and on PostgreSQL. The compiled
// build runs as `npm start` runs it (its node flags, read from package.json). Run `npm run build` first. Prints the median of RUNS starts of each.
//   node bench/startup/run.mjs            (RUNS=5 by default; BENCH_PG_URL, default
//                                          postgres://postgres@127.0.0.1:5432, "" to skip PostgreSQL)
// Resident memory is read from /proc once the first request is answered, and again after SETTLE_MS
// (default 2000) when start-up work that runs after listening (collection, timers) has settled.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

const root = path.resolve(import.meta.dirname, '../..');
const runs = Number(process.env.RUNS ?? 5);
const settleMs = Number(process.env.SETTLE_MS ?? 2000);
const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const port = 18390;
const dataDir = mkdtempSync(path.join(tmpdir(), 'tmi-startup-'));
// `npm start`'s command (also the image's entrypoint): its node flags and entry, from package.json.
const startArgs = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.start.split(/\s+/).slice(1);
const variants = {
  'npm start (compiled)': startArgs,
  'tsx server/main.ts': ['--import', 'tsx', 'server/main.ts'],
};

const rssMiB = (pid) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

async function once(args, env) {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH, TMI_DATA_DIR: dataDir, TMI_SERVER_PORT: String(port), TMI_LOG_LEVEL: 'warn', ...env },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        if (res.ok) {
          const ms = performance.now() - started;
          const rss = rssMiB(child.pid);
          await new Promise((r) => setTimeout(r, settleMs));
          return { ms, rss, rssSettled: rssMiB(child.pid) };
        }
      } catch {
        /* not listening yet */
      }
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      if (performance.now() - started > 120_000) throw new Error(`${args.join(' ')} did not answer within 120 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(name, args, env) {
  const r = [];
  for (let i = 0; i < runs; i++) r.push(await once(args, env));
  const ms = r.map((x) => x.ms);
  return {
    median_ms: Math.round(median(ms)),
    min_ms: Math.round(Math.min(...ms)),
    max_ms: Math.round(Math.max(...ms)),
    rss_mib_at_first_answer: median(r.map((x) => x.rss)),
    rss_mib_settled: median(r.map((x) => x.rssSettled)),
  };
}

const results = {};
await once(variants['npm start (compiled)'], {}); // initialise and migrate the folder once
for (const [name, args] of Object.entries(variants)) results[`PGlite (existing folder): ${name}`] = await measure(name, args, {});
if (pgUrl) {
  const admin = new pg.Client({ connectionString: `${pgUrl}/postgres` });
  await admin.connect();
  const db = `tmi_startup_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${db}`);
  try {
    const env = { TMI_DATABASE_URL: `${pgUrl}/${db}` };
    await once(variants['npm start (compiled)'], env); // migrate once
    results['PostgreSQL: npm start (compiled)'] = await measure('pg', variants['npm start (compiled)'], env);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}
rmSync(dataDir, { recursive: true, force: true });
console.log(JSON.stringify({ runs, node: process.version, results }, null, 2));
