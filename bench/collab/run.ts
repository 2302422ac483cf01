// Collaboration benchmark. In one run:
//  1. N clients (N = 2, 10, 50) on one diagram, each sending add operations, paced (a steady total
//     rate, below saturation, in 5 rounds alternated with the floor's) and then, once every N was
//     paced, unpaced (all at once);
//     prints operations applied per second and the latency from send to receipt by the other
//     clients (p50, p99) for TMI and, beside it, for
//     the durable floor: a bare `ws` relay that commits each operation with one INSERT into
//     PostgreSQL before forwarding it (on PGlite runs, a bare relay without storage instead).
//     TMI keeps "durable before anyone sees it" too, so the durable floor is the fair comparison.
//     With BENCH_ORDERED=1 (PostgreSQL only) a third side runs in the same rounds: the ordered
//     durable floor (bench/collab/relays.ts), which also gives every client one order of the
//     operations, as TMI does; TMI / ordered floor is what TMI adds to that, ordered / durable floor
//     what order costs (nothing measurable: docs/performance.md).
//  1b. Presence: the presenter's cursor (not stored) relayed to N - 1 others, paced, against the
//     bare relay that forwards without validation or storage, in rounds alternated between the two
//     (both sets of clients connected throughout).
//  2. The per-operation cost on diagrams of 100 and of 10,000 cells (one client, update operations,
//     each waiting for its acknowledgement), and the ratio.
//  3. REST PUT and GET of a whole diagram with 1,000 and with 10,000 cells, and how PUT grows.
// Results are printed and saved under bench/results/collab-<time>.json.
//
// TMI and the floors each run in a process of their own, as a deployment runs them, and the clients
// in this one: TMI with the Node flags of its start command (START_NODE_FLAGS), the floors
// (bench/collab/relays.ts) with Node's defaults. Run in this process beside the clients, each side's
// latency also held the pauses of the heap the clients and both servers shared, and TMI's in
// V8's default young generation (50 MiB here, where the start command sets 8): scavenges of 10-25
// ms then fell in its rounds (docs/performance.md).
//
//   npx tsx bench/collab/run.ts            PostgreSQL + Redis (BENCH_PG_URL, BENCH_REDIS_URL)
//   BENCH_EMBEDDED=1 npx tsx bench/collab/run.ts   PGlite + in-process bus
// Env: BENCH_PORT (TMI, default 18082), BENCH_RELAY_PORT (default 18092), BENCH_PACED_OPS (paced
// operations per N and side, default 12000), BENCH_OPS (unpaced operations per N, default 3000),
// BENCH_ORDERED (1: the ordered floor too), BENCH_RATE (offered operations per second in total,
// default 100), BENCH_N (client counts, default 2,10,50), BENCH_DB_CONN_MAX_LIFETIME (TMI's
// TMI_DB_CONN_MAX_LIFETIME; a few seconds replaces connections often enough to see what a
// replacement costs an edit).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { signInOverHttp } from '../../test/support/process.ts';
import { ROOT, run, START_NODE_FLAGS, stop, waitFor, type Child } from '../support/child.ts';
import { freshBenchDatabase } from '../support/database.ts';
import { percentile } from '../support/stats.ts';
import { sleep } from '../../test/support/until.ts';
import { api } from '../support/http.ts';

const EMBEDDED = process.env.BENCH_EMBEDDED === '1';
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PORT = Number(process.env.BENCH_PORT ?? 18082);
const RELAY_PORT = Number(process.env.BENCH_RELAY_PORT ?? 18092);
const DURABLE_PORT = RELAY_PORT + 1;
const ORDERED_PORT = RELAY_PORT + 2;
const OPS = Number(process.env.BENCH_OPS ?? 3000);
const PACED_OPS = Number(process.env.BENCH_PACED_OPS ?? 12_000);
const WITH_ORDERED = process.env.BENCH_ORDERED === '1';
const RATE = Number(process.env.BENCH_RATE ?? 100);
const PACED_ROUNDS = 5;
const WARM_UP_OPS = 200;
const FANOUT_NS = (process.env.BENCH_N ?? '2,10,50').split(',').map(Number);
const DB_NAME = 'tmi_h2_bench_collab';

const round = (x: number) => Math.round(x * 100) / 100;


/** Resolves once the child printed `line` on its standard output; fails if it exits first. */
function printed(child: Child, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.split('\n').includes(line)) resolve();
    });
    void child.exited.then((code) => reject(new Error(`relays exited with ${code}`)));
  });
}

const node = (id: string, x: number) => ({ id, shape: 'process', x, y: 20, width: 120, height: 60, attrs: { text: { text: `P${x}` } } });
const opMessage = (operationId: string, cells: unknown[]) =>
  JSON.stringify({ message_type: 'diagram_operation_request', operation_id: operationId, base_vector: 0, operation: { type: 'patch', cells } });

interface Client {
  ws: WebSocket;
  onOperation: (operationId: string) => void;
}

/** Opens N sockets; `urls(i)` gives each one's URL; resolves once each is ready. */
async function openClients(n: number, url: (i: number) => Promise<string>, ready: (m: Record<string, unknown>) => boolean, relay: boolean): Promise<Client[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const ws = new WebSocket(await url(i));
      const c: Client = { ws, onOperation: () => undefined };
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        if (relay) ws.once('open', () => resolve());
        ws.on('message', (data) => {
          const m = JSON.parse(data.toString()) as Record<string, unknown>;
          if (!relay && ready(m)) resolve();
          if (m.message_type === 'diagram_operation_event' || (relay && m.message_type === 'diagram_operation_request')) c.onOperation(m.operation_id as string);
          // Presence: the cursor's x carries the sequence number of the move.
          if (m.message_type === 'presenter_cursor') c.onOperation(`cursor:${(m.cursor_position as { x: number }).x}`);
        });
      });
      return c;
    }),
  );
}

/** Every client sends its share of OPS at RATE/N per second; latency is send → receipt by others. */
async function drive(clients: Client[], label: string, rate: number, ops = OPS, allLatencies?: number[]) {
  const n = clients.length;
  const perClient = Math.ceil(ops / n);
  // rate 0: as fast as each client can send (throughput); else paced (latency below saturation).
  const intervalMs = rate > 0 ? (1000 * n) / rate : 0;
  const sentAt = new Map<string, { at: number; from: number }>();
  const latencies: number[] = [];
  let expected = perClient * n * (n - 1);
  let received = 0;
  let lastReceipt = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  clients.forEach((c, i) => {
    c.onOperation = (id) => {
      const s = sentAt.get(id);
      if (!s || s.from === i) return;
      const t = performance.now();
      latencies.push(t - s.at);
      lastReceipt = t;
      if (++received >= expected) done();
    };
  });
  const start = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      await sleep((intervalMs * i) / n);
      for (let k = 0; k < perClient; k++) {
        const id = randomUUID();
        sentAt.set(id, { at: performance.now(), from: i });
        c.ws.send(opMessage(id, [{ id, operation: 'add', data: node(id, k) }]));
        if (intervalMs > 0) await sleep(intervalMs);
      }
    }),
  );
  await Promise.race([finished, sleep(60_000)]);
  if (received < expected) {
    console.error(`${label}: only ${received} of ${expected} receipts arrived`);
    expected = received;
  }
  const seconds = (lastReceipt - start) / 1000;
  allLatencies?.push(...latencies);
  return { n, ops: perClient * n, opsPerSecond: round((perClient * n) / seconds), p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), receipts: received };
}

/** Rounds of one side as one set of figures: operations and receipts summed, rates and percentiles the median of the rounds'. */
function medianRun(rounds: Awaited<ReturnType<typeof drive>>[]): Awaited<ReturnType<typeof drive>> {
  const mid = <T>(xs: T[], key: (x: T) => number) => [...xs].map(key).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    n: rounds[0]!.n,
    ops: rounds.reduce((a, r) => a + r.ops, 0),
    opsPerSecond: mid(rounds, (r) => r.opsPerSecond),
    p50: mid(rounds, (r) => r.p50),
    p99: mid(rounds, (r) => r.p99),
    receipts: rounds.reduce((a, r) => a + r.receipts, 0),
  };
}

/** The presenter (client 0) moves its cursor `moves` times at `rate` per second; latency is send → receipt by each other client. */
async function drivePresence(clients: Client[], moves: number, rate: number) {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  clients.slice(1).forEach((c) => {
    c.onOperation = (id) => {
      const at = sentAt.get(id);
      if (at !== undefined) latencies.push(performance.now() - at);
    };
  });
  for (let k = 0; k < moves; k++) {
    const id = `cursor:${k}`;
    sentAt.set(id, performance.now());
    clients[0]!.ws.send(JSON.stringify({ message_type: 'presenter_cursor', cursor_position: { x: k, y: 0 } }));
    await sleep(1000 / rate);
  }
  await sleep(1000);
  clients.slice(1).forEach((c) => (c.onOperation = () => undefined));
  return { latencies, expected: moves * (clients.length - 1) };
}

/**
 * Presence on two sets of clients (TMI and the bare relay), in rounds alternated between them (A B,
 * B A, ...) so that whatever else the machine does falls on both alike; figures over all rounds.
 */
async function presenceSideBySide(sides: Client[][], rounds: number, movesPerRound: number, rate: number) {
  const runs = sides.map(() => ({ latencies: [] as number[], expected: 0 }));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides.map((_, i) => i) : sides.map((_, i) => sides.length - 1 - i);
    for (const i of order) {
      const run = await drivePresence(sides[i]!, movesPerRound, rate);
      runs[i]!.latencies.push(...run.latencies);
      runs[i]!.expected += run.expected;
    }
  }
  return runs.map((run) => ({ n: sides[0]!.length, moves: rounds * movesPerRound, p50: round(percentile(run.latencies, 50)), p99: round(percentile(run.latencies, 99)), receipts: run.latencies.length, expected: run.expected }));
}

async function main() {
  const database = EMBEDDED ? null : await freshBenchDatabase(PG_URL, DB_NAME);
  const databaseUrl = database?.url ?? '';
  const base = `http://127.0.0.1:${PORT}`;
  const tmi = run(
    ['server/main.ts'],
    {
      TMI_BUILD_MODE: 'test',
      TMI_JWT_SECRET: randomBytes(32).toString('hex'),
      TMI_LOG_LEVEL: 'warn',
      TMI_SERVER_PORT: String(PORT),
      TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-bench-collab-')),
      TMI_COLLAB_MAX_PARTICIPANTS: '1000',
      TMI_COLLAB_MAX_SOCKETS_PER_USER: '1000',
      TMI_COLLAB_OPS_PER_SECOND: '100000',
      ...(EMBEDDED ? {} : { TMI_DATABASE_URL: databaseUrl, TMI_REDIS_URL: REDIS_URL, TMI_DB_MAX_OPEN_CONNS: '20', ...(process.env.BENCH_DB_CONN_MAX_LIFETIME ? { TMI_DB_CONN_MAX_LIFETIME: process.env.BENCH_DB_CONN_MAX_LIFETIME } : {}) }),
    },
    START_NODE_FLAGS,
  );
  // The floor the operations are compared with: durable on PostgreSQL, the bare relay on PGlite.
  const relays = run(['bench/collab/relays.ts'], { RELAY_PORT: String(RELAY_PORT), ...(EMBEDDED ? {} : { DATABASE_URL: databaseUrl }) });
  await Promise.all([waitFor(`${base}/`, tmi), printed(relays, 'ready')]);
  const durable = !EMBEDDED;
  const floorUrl = `ws://127.0.0.1:${durable ? DURABLE_PORT : RELAY_PORT}/`;
  const floorName = durable ? 'durable floor' : 'bare relay';
  const owner = await signInOverHttp(base, `bench-${randomBytes(3).toString('hex')}`);

  async function session(cells = 0) {
    const tm = await api(base, owner, 'POST', '/threat_models', { name: 'Bench' });
    const d = await api(base, owner, 'POST', `/threat_models/${tm.id}/diagrams`, { name: 'D', type: 'DFD-1.0.0' });
    const ids = Array.from({ length: cells }, () => randomUUID());
    if (cells > 0) await api(base, owner, 'PUT', `/threat_models/${tm.id}/diagrams/${d.id}`, { name: 'D', type: 'DFD-1.0.0', cells: ids.map((id, i) => node(id, i)) });
    const s = await api(base, owner, 'POST', `/threat_models/${tm.id}/diagrams/${d.id}/collaborate`, {});
    const url = async () => {
      const t = await api(base, owner, 'GET', `/ws/ticket?session_id=${s.session_id}`);
      return `ws://127.0.0.1:${PORT}/threat_models/${tm.id}/diagrams/${d.id}/ws?session_id=${s.session_id}&ticket=${encodeURIComponent(t.ticket)}`;
    };
    return { url, ids };
  }

  type Run = Awaited<ReturnType<typeof drive>>;
  type Sides<T> = { tmi: T; floor: T; ordered: T | null };
  const fanout: (Sides<Run> & { n: number; roundsP99: Sides<number[]>; pooledP99: Sides<number> })[] = [];
  for (const n of FANOUT_NS) {
    // Paced: PACED_ROUNDS rounds of PACED_OPS / PACED_ROUNDS operations, alternated between TMI and
    // the floors (all connected throughout), figures per side the median of the rounds' (as
    // bench:floor). A slow disk flush (100 ms at times on this machine, IO:WALSync) holds every
    // commit then, of TMI and of the floor alike; in one long round it decided whose p99 it fell in.
    // Rounds of 24 s (2,400 operations at the default rate): a round's p99 is then its 24th slowest
    // operation. In rounds of 600 operations it was the 6th, and a handful of the machine's stalls
    // decided it: the same build's ratio at N = 10 ran from 0.98 to 2.07 between runs. Every round's
    // p99 and the p99 of all rounds pooled are printed too, so a stall the medians leave out is seen.
    const s = await session();
    const ours = await openClients(n, () => s.url(), (m) => m.message_type === 'diagram_state', false);
    const bare = await openClients(n, async () => floorUrl, () => true, true);
    const ordered = durable && WITH_ORDERED ? await openClients(n, async () => `ws://127.0.0.1:${ORDERED_PORT}/`, () => true, true) : null;
    await sleep(300);
    // A round of each side first, not counted: the first edits of a session load its diagram into
    // the instance and grow the pools, whose new connections plan their first statements.
    await drive(ours, `TMI N=${n} (warm-up)`, RATE, WARM_UP_OPS);
    await drive(bare, `${floorName} N=${n} (warm-up)`, RATE, WARM_UP_OPS);
    if (ordered) await drive(ordered, `ordered floor N=${n} (warm-up)`, RATE, WARM_UP_OPS);
    const paced = { tmi: [] as Run[], floor: [] as Run[], ordered: [] as Run[] };
    const pooled = { tmi: [] as number[], floor: [] as number[], ordered: [] as number[] };
    for (let round = 0; round < PACED_ROUNDS; round++) {
      paced.tmi.push(await drive(ours, `TMI N=${n}`, RATE, PACED_OPS / PACED_ROUNDS, pooled.tmi));
      paced.floor.push(await drive(bare, `${floorName} N=${n}`, RATE, PACED_OPS / PACED_ROUNDS, pooled.floor));
      if (ordered) paced.ordered.push(await drive(ordered, `ordered floor N=${n}`, RATE, PACED_OPS / PACED_ROUNDS, pooled.ordered));
    }
    for (const c of [...ours, ...bare, ...(ordered ?? [])]) c.ws.close();
    await sleep(500);
    fanout.push({
      n,
      tmi: medianRun(paced.tmi),
      floor: medianRun(paced.floor),
      ordered: ordered ? medianRun(paced.ordered) : null,
      roundsP99: { tmi: paced.tmi.map((r) => r.p99), floor: paced.floor.map((r) => r.p99), ordered: ordered ? paced.ordered.map((r) => r.p99) : null },
      pooledP99: { tmi: round(percentile(pooled.tmi, 99)), floor: round(percentile(pooled.floor, 99)), ordered: ordered ? round(percentile(pooled.ordered, 99)) : null },
    });
  }

  // Unpaced: one round each, as throughput over all operations is what it measures; after every
  // paced round. A burst opens every pooled connection of both sides, and each pool closes its idle
  // ones later, all at once (the floor's pg after its default 10 s, TMI's after
  // TMI_DB_CONN_MAX_IDLE_TIME, 30 s). As that many PostgreSQL backends ended, every commit on the
  // machine stalled for 100-450 ms, in the next N's paced rounds (TMI's first, 10 s after the
  // floor's burst, and the floor's second, 30 s after TMI's) in every run (docs/performance.md).
  const unpaced: { tmiMax: Run; floorMax: Run }[] = [];
  for (const n of FANOUT_NS) {
    const s2 = await session();
    const oursMax = await openClients(n, () => s2.url(), (m) => m.message_type === 'diagram_state', false);
    await sleep(300);
    const tmiMax = await drive(oursMax, `TMI N=${n}`, 0);
    oursMax.forEach((c) => c.ws.close());
    const bareMax = await openClients(n, async () => floorUrl, () => true, true);
    const floorMax = await drive(bareMax, `${floorName} N=${n}`, 0);
    bareMax.forEach((c) => c.ws.close());
    await sleep(500);
    unpaced.push({ tmiMax, floorMax });
  }

  // Presence at N = 10: the presenter's cursor, TMI against the bare relay (nothing is stored).
  const PRESENCE_N = 10;
  const presenceRounds = 6;
  const presenceMoves = 100;
  const presenceRate = 50;
  const ps = await session();
  const presenters = await openClients(PRESENCE_N, () => ps.url(), (m) => m.message_type === 'diagram_state', false);
  presenters[0]!.ws.send(JSON.stringify({ message_type: 'presenter_request' }));
  const bareViewers = await openClients(PRESENCE_N, async () => `ws://127.0.0.1:${RELAY_PORT}/`, () => true, true);
  await sleep(1000);
  const [presenceOurs, presenceBare] = await presenceSideBySide([presenters, bareViewers], presenceRounds, presenceMoves, presenceRate);
  presenters.forEach((c) => c.ws.close());
  bareViewers.forEach((c) => c.ws.close());

  // Per-operation cost: one client per diagram (100 and 10,000 cells), update operations on
  // existing cells, each waiting for its acknowledgement; the two alternate, so both see the same
  // machine load.
  const sizes = [100, 10_000];
  const diagrams = await Promise.all(sizes.map((n) => session(n)));
  const clients = await Promise.all(diagrams.map(async (d) => (await openClients(1, () => d.url(), (m) => m.message_type === 'diagram_state', false))[0]!));
  const times: number[][] = sizes.map(() => []);
  const rounds = 300;
  for (let k = 0; k < rounds + 20; k++) {
    for (const [i, c] of clients.entries()) {
      const ids = diagrams[i]!.ids;
      const id = ids[Math.floor(Math.random() * ids.length)]!;
      const opId = randomUUID();
      const acked = new Promise<void>((resolve) => (c.onOperation = (got) => got === opId && resolve()));
      const t0 = performance.now();
      c.ws.send(opMessage(opId, [{ id, operation: 'update', data: node(id, 100_000 + k) }]));
      await acked;
      if (k >= 20) times[i]!.push(performance.now() - t0); // the first 20 warm up
    }
  }
  clients.forEach((c) => c.ws.close());
  const stats = sizes.map((cells, i) => {
    const xs = times[i]!;
    return { cells, mean_ms: round(xs.reduce((a, b) => a + b, 0) / xs.length), p50_ms: round(percentile(xs, 50)), p99_ms: round(percentile(xs, 99)) };
  });
  const [small, big] = stats as [(typeof stats)[0], (typeof stats)[0]];

  // REST: PUT (and GET) of a whole diagram with 1,000 and with 10,000 cells, over HTTP.
  async function restTimes(cells: number) {
    const tm = await api(base, owner, 'POST', '/threat_models', { name: 'Bench REST' });
    const d = await api(base, owner, 'POST', `/threat_models/${tm.id}/diagrams`, { name: 'D', type: 'DFD-1.0.0' });
    const url = `http://127.0.0.1:${PORT}/threat_models/${tm.id}/diagrams/${d.id}`;
    const headers = { authorization: `Bearer ${owner}`, 'content-type': 'application/json' };
    const puts: number[] = [];
    const gets: number[] = [];
    for (let k = 0; k < 6; k++) {
      const body = JSON.stringify({ name: 'D', type: 'DFD-1.0.0', cells: Array.from({ length: cells }, (_, i) => node(randomUUID(), i + k)) });
      let t0 = performance.now();
      const res = await fetch(url, { method: 'PUT', headers, body });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`PUT ${cells}: ${res.status}`);
      if (k > 0) puts.push(performance.now() - t0);
      t0 = performance.now();
      await (await fetch(url, { headers })).arrayBuffer();
      if (k > 0) gets.push(performance.now() - t0);
    }
    const mean = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length);
    return { cells, put_mean_ms: mean(puts), get_mean_ms: mean(gets) };
  }
  const rest = [await restTimes(1000), await restTimes(10_000)];

  const backend = EMBEDDED ? 'PGlite + in-process bus' : 'PostgreSQL + Redis';
  const row = (n: number, a: Run, b: Run) =>
    `${String(n).padStart(3)} | ${String(a.opsPerSecond).padStart(9)} | ${String(a.p50).padStart(10)} | ${String(a.p99).padStart(10)} | ${String(b.opsPerSecond).padStart(11)} | ${String(b.p50).padStart(12)} | ${String(b.p99).padStart(12)} | ${round(a.p99 / b.p99)}`;
  const header = `  N | TMI ops/s | TMI p50 ms | TMI p99 ms | floor ops/s | floor p50 ms | floor p99 ms | p99 TMI/floor`;
  console.log(`\nCollaboration benchmark (${backend}); add operations per N: ${PACED_OPS} paced and ${OPS} unpaced per side; latency = send -> receipt by the other clients`);
  console.log(`floor = ${floorName}${durable ? ' (one INSERT into PostgreSQL committed before forwarding each operation)' : ''}\n`);
  console.log(`Paced: ${RATE} ops/s offered in total`);
  console.log(header);
  for (const f of fanout) console.log(row(f.n, f.tmi, f.floor));
  console.log(`  (medians of ${PACED_ROUNDS} rounds each; p99 of every round, and over all rounds pooled:)`);
  for (const f of fanout) {
    console.log(`  N = ${f.n}: TMI ${f.roundsP99.tmi.join(', ')} | floor ${f.roundsP99.floor.join(', ')} | pooled ${f.pooledP99.tmi} / ${f.pooledP99.floor} = ${round(f.pooledP99.tmi / f.pooledP99.floor)}`);
  }
  if (fanout.some((f) => f.ordered)) {
    console.log('\nPaced, in the same rounds: the ordered durable floor (one log, batches committed one at a time, forwarded in order)');
    console.log('  N | ordered p50 ms | ordered p99 ms | p99 ordered/floor | p99 TMI/ordered | pooled ordered/floor | pooled TMI/ordered');
    for (const f of fanout) {
      const [o, pooledOrdered, pooled] = [f.ordered!, f.pooledP99.ordered!, f.pooledP99];
      console.log(
        `${String(f.n).padStart(3)} | ${String(o.p50).padStart(14)} | ${String(o.p99).padStart(14)} | ${String(round(o.p99 / f.floor.p99)).padStart(17)} | ${String(round(f.tmi.p99 / o.p99)).padStart(15)} | ${String(round(pooledOrdered / pooled.floor)).padStart(20)} | ${round(pooled.tmi / pooledOrdered)}`,
      );
    }
    for (const f of fanout) console.log(`  N = ${f.n}: ordered floor ${f.roundsP99.ordered!.join(', ')}`);
  }
  console.log('\nUnpaced: every client sends its share at once (operations applied per second)');
  console.log(header);
  unpaced.forEach((u, i) => console.log(row(FANOUT_NS[i]!, u.tmiMax, u.floorMax)));
  console.log(`\nPresence, N = ${PRESENCE_N}: the presenter's cursor at ${presenceRate}/s to ${PRESENCE_N - 1} others (not stored), ${presenceRounds} rounds of ${presenceMoves} moves alternated`);
  for (const [name, r] of [['TMI', presenceOurs], ['bare relay', presenceBare]] as const) console.log(`  ${name.padEnd(10)} p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.receipts} of ${r.expected} receipts`);
  console.log(`  p99 TMI / bare relay: ${round(presenceOurs.p99 / presenceBare.p99)}x`);
  console.log(`\nPer-operation cost (update, waiting for the acknowledgement each time):`);
  for (const r of [small, big]) console.log(`  ${String(r.cells).padStart(6)} cells: mean ${r.mean_ms} ms, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms`);
  console.log(`  10,000 / 100 cells (mean): ${round(big.mean_ms / small.mean_ms)}x\n`);
  console.log('REST, whole diagram over HTTP (mean of 5):');
  for (const r of rest) console.log(`  ${String(r.cells).padStart(6)} cells: PUT ${r.put_mean_ms} ms, GET ${r.get_mean_ms} ms`);
  console.log(`  PUT 10,000 / 1,000 cells: ${round(rest[1]!.put_mean_ms / rest[0]!.put_mean_ms)}x (10x the cells)\n`);

  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  const file = path.join(ROOT, 'bench/results', `collab-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ backend, floor: floorName, ops: OPS, pacedOps: PACED_OPS, rate: RATE, fanout: fanout.map((f, i) => ({ ...f, ...unpaced[i] })), presence: { ours: presenceOurs, bare: presenceBare }, perOperation: { small, big, ratio: round(big.mean_ms / small.mean_ms) }, rest }, null, 2));
  console.log(`saved ${path.relative(ROOT, file)}`);

  await Promise.all([stop(relays), stop(tmi)]);
  await database?.drop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
