// Fault run (issue 8, item 14): two TMI instances on a PostgreSQL cluster and a Redis server of
// their own, under steady client load (writers that create threats, replace one and read it back,
// spread over both instances). PostgreSQL is stopped for 10 s, then, once all is well again,
// Redis for 10 s. Prints what the clients saw in each phase (status counts), how long after each
// service came back the first write succeeded and from when on every request did, whether both
// processes lived, and how many acknowledged writes are missing at the end (must be 0). Saves the
// figures as JSON under bench/results/. Exits 1 when a process died, a client got anything but
// 2xx or 503, or an acknowledged write was lost.
//
//   npm run bench:faults
// Env: FAULT_SECONDS (each outage, default 10), FAULT_WRITERS (default 6), FAULT_STEADY_SECONDS
// (load before and after each outage, default 5), FAULT_PG_STOP (fast | immediate, default fast).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, signInOverHttp, startServerProcess, type ServerProcess } from '../../test/support/process.ts';
import { startPrivatePostgres, startPrivateRedis } from '../../test/support/private-services.ts';
import { recovery, statusCounts, WriteLoad, type Outcome } from '../../test/support/write-load.ts';

const FAULT_MS = Number(process.env.FAULT_SECONDS ?? 10) * 1000;
const STEADY_MS = Number(process.env.FAULT_STEADY_SECONDS ?? 5) * 1000;
const WRITERS = Number(process.env.FAULT_WRITERS ?? 6);
const PG_STOP = process.env.FAULT_PG_STOP === 'immediate' ? 'immediate' : 'fast';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Phase {
  name: string;
  from: number;
  to: number;
}

/** Waits until every writer's last request succeeded for a whole second (or gives up after 60 s). */
async function untilSteady(load: WriteLoad, since: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { allSucceedingMs } = recovery(load.outcomes, since);
    const recent = load.outcomes.filter((o) => o.at > Date.now() - 1000);
    if (recent.length > 0 && since + allSucceedingMs < Date.now() - 1000) return;
    await sleep(100);
  }
  throw new Error('service did not come back within 60 s');
}

async function health(base: string): Promise<unknown> {
  try {
    const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: { code: string }; health?: unknown };
    return { http: res.status, code: body.status.code, ...(body.health ? { health: body.health } : {}) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const format = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} x${v}`)
    .join(', ') || '-';

async function main(): Promise<void> {
  console.log(`fault run: ${WRITERS} writers on 2 instances; PostgreSQL stopped (${PG_STOP}) ${FAULT_MS / 1000} s, then Redis stopped ${FAULT_MS / 1000} s`);
  const [pgServer, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  const servers: ServerProcess[] = [];
  try {
    const env = { TMI_BUILD_MODE: 'test', TMI_JWT_SECRET: randomBytes(32).toString('hex'), TMI_DATABASE_URL: pgServer.url, TMI_REDIS_URL: redis.url };
    for (let i = 0; i < 2; i++) servers.push(await startServerProcess(env));
    const bases = servers.map((s) => `http://127.0.0.1:${s.port}`);
    const token = await signInOverHttp(servers[0]!.port, 'fault-runner');
    const tm = (await (
      await fetch(`${bases[0]}/threat_models`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Fault run' }) })
    ).json()) as { id: string };
    const load = await WriteLoad.prepare(bases, token, tm.id, WRITERS);
    const phases: Phase[] = [];
    const healthSeen: Record<string, unknown> = {};
    const recoveries: Record<string, { firstSuccessMs: number | null; allSucceedingMs: number }> = {};

    const outage = async (name: 'postgresql' | 'redis', stop: () => Promise<void>, start: () => Promise<void>) => {
      const stopping = Date.now();
      await stop();
      const down = Date.now();
      phases.push({ name: `${name} stopping`, from: stopping, to: down });
      await sleep(FAULT_MS / 2);
      healthSeen[name] = await health(bases[1]!);
      await sleep(FAULT_MS - (Date.now() - down));
      const starting = Date.now();
      await start();
      const up = Date.now();
      phases.push({ name: `${name} down`, from: down, to: starting });
      phases.push({ name: `${name} starting`, from: starting, to: up });
      await untilSteady(load, up);
      recoveries[name] = recovery(load.outcomes, up);
      const steadyFrom = Date.now();
      phases.push({ name: `${name} recovering`, from: up, to: steadyFrom });
      await sleep(STEADY_MS);
      phases.push({ name: `after ${name}`, from: steadyFrom, to: Date.now() });
    };

    load.start();
    const started = Date.now();
    await sleep(STEADY_MS);
    phases.push({ name: 'before', from: started, to: Date.now() });
    await outage('postgresql', () => pgServer.stop(PG_STOP), () => pgServer.start());
    await outage('redis', () => redis.stop(), () => redis.start());
    await load.stop();

    const alive = servers.map((s) => s.child.exitCode === null);
    const { checked, lost } = await load.lostWrites(bases[0]!);
    const other = load.outcomes.filter((o: Outcome) => o.status === 0 || (o.status >= 300 && o.status !== 503));
    const bad503 = load.outcomes.filter((o) => o.status === 503 && !(o.envelope && o.error === 'service_unavailable' && /^\d+$/.test(o.retryAfter ?? '')));
    const crashLines = servers.flatMap((s) => s.stdout().split('\n').filter((l) => /uncaught exception|unhandled promise rejection/.test(l)));

    console.log('\nwhat the clients saw (status x count; creates, replaces and reads together):');
    for (const p of phases) console.log(`  ${p.name.padEnd(22)} ${String(Math.round((p.to - p.from) / 100) / 10).padStart(5)} s  ${format(statusCounts(load.outcomes, p.from, p.to))}`);
    console.log('\nGET / on instance 2 in the middle of each outage:');
    for (const [name, h] of Object.entries(healthSeen)) console.log(`  ${name}: ${JSON.stringify(h)}`);
    console.log('\nrecovery after the service was back (first successful write / every request succeeding from):');
    for (const [name, r] of Object.entries(recoveries)) console.log(`  ${name.padEnd(10)} ${r.firstSuccessMs ?? '-'} ms / ${r.allSucceedingMs} ms`);
    console.log(`\nprocesses alive: ${alive.map((a, i) => `instance ${i + 1} ${a ? 'yes' : 'NO'}`).join(', ')}`);
    console.log(`answers other than 2xx or 503: ${other.length}; 503s without Retry-After or the envelope: ${bad503.length}; crash-handler log lines: ${crashLines.length}`);
    console.log(`acknowledged writes checked: ${checked}; lost: ${lost.length}`);
    for (const l of lost.slice(0, 10)) console.log(`  lost: ${l}`);

    const date = new Date().toISOString();
    const result = {
      date,
      writers: WRITERS,
      faultSeconds: FAULT_MS / 1000,
      pgStop: PG_STOP,
      phases: phases.map((p) => ({ name: p.name, seconds: (p.to - p.from) / 1000, statuses: statusCounts(load.outcomes, p.from, p.to) })),
      health: healthSeen,
      recovery: recoveries,
      alive,
      otherAnswers: other.length,
      bad503: bad503.length,
      acknowledgedChecked: checked,
      acknowledgedLost: lost.length,
    };
    mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    const file = path.join(ROOT, 'bench/results', `faults-${date.replace(/:/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`results: ${path.relative(ROOT, file)}`);
    if (alive.includes(false) || other.length > 0 || bad503.length > 0 || crashLines.length > 0 || lost.length > 0) process.exitCode = 1;
  } finally {
    for (const s of servers) {
      if (s.child.exitCode === null) {
        s.child.kill('SIGTERM');
        await s.exited;
      }
    }
    await Promise.all([pgServer.destroy(), redis.destroy()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
