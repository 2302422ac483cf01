// Report timings: builds a large model (50 elements, 200 threats) through the API of an in-process
// server and times each report format (median of several runs). Prints a table and JSON.
// Run: npx tsx bench/reports/run.ts [runs]
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { createContext } from '../../server/context.ts';
import { buildApp } from '../../server/app.ts';
import { signIn } from '../../test/support/app.ts';
import { largeModel } from '../../test/support/report-models.ts';

const runs = Number(process.argv[2] ?? 5);
const config = loadConfig({
  TMI_BUILD_MODE: 'test',
  TMI_JWT_SECRET: randomBytes(32).toString('hex'),
  TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-bench-reports-')),
  TMI_LOG_LEVEL: 'silent',
});
const ctx = await createContext(config);
const app = await buildApp(ctx);
try {
  const user = await signIn(app);
  const { id } = await largeModel(app, user.accessToken);
  // Wall time depends on what else the machine runs; CPU time (this process: HTTP, PGlite, rendering) much less.
  const results: Record<string, { median_ms: number; max_ms: number; median_cpu_ms: number; bytes: number }> = {};
  for (const format of ['pdf', 'md', 'html']) {
    const times: number[] = [];
    const cpu: number[] = [];
    let bytes = 0;
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const c0 = process.cpuUsage();
      const res = await app.inject({ method: 'GET', url: `/threat_models/${id}/report?format=${format}`, headers: { authorization: `Bearer ${user.accessToken}` } });
      times.push(performance.now() - start);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      if (res.statusCode !== 200) throw new Error(`${format}: ${res.statusCode} ${res.body}`);
      bytes = res.rawPayload.length;
    }
    times.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    results[format] = { median_ms: Math.round(times[Math.floor(times.length / 2)]!), max_ms: Math.round(times[times.length - 1]!), median_cpu_ms: Math.round(cpu[Math.floor(cpu.length / 2)]!), bytes };
  }
  for (const [f, r] of Object.entries(results)) console.log(`${f.padEnd(5)} median ${String(r.median_ms).padStart(5)} ms  max ${String(r.max_ms).padStart(5)} ms  cpu ${String(r.median_cpu_ms).padStart(5)} ms  ${r.bytes} bytes`);
  console.log(JSON.stringify({ model: { elements: 50, threats: 200 }, runs, results }));
} finally {
  await app.close();
  await ctx.close();
}
