// Start time to the first answered request, TypeScript through tsx against the compiled build.
// Run `npm run build` first. Prints the median of RUNS starts of each on one migrated PGlite folder.
//   node bench/startup/run.mjs            (RUNS=5 by default)
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const runs = Number(process.env.RUNS ?? 5);
const port = 18390;
const dataDir = mkdtempSync(path.join(tmpdir(), 'tmi-startup-'));
const variants = {
  'tsx server/main.ts': ['--import', 'tsx', 'server/main.ts'],
  'node dist/server/main.js': ['dist/server/main.js'],
};

async function once(args) {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH, TMI_DATA_DIR: dataDir, TMI_SERVER_PORT: String(port), TMI_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        if (res.ok) return performance.now() - started;
      } catch {
        /* not listening yet */
      }
      if (performance.now() - started > 60_000) throw new Error(`${args.join(' ')} did not answer within 60 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

await once(variants['node dist/server/main.js']); // initialise and migrate the folder once
const results = {};
for (const [name, args] of Object.entries(variants)) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(await once(args));
  times.sort((a, b) => a - b);
  results[name] = { median_ms: Math.round(times[Math.floor(times.length / 2)]), min_ms: Math.round(times[0]), max_ms: Math.round(times.at(-1)) };
}
console.log(JSON.stringify({ runs, node: process.version, results }, null, 2));
