// Many sessions (issue 11, item 6): SESSIONS collaboration sessions of CLIENTS clients each, spread
// over two TMI instances on PostgreSQL + Redis (a session's clients alternate between the two, so
// every session crosses instances). Each client sends RATE add operations per second for SECONDS.
// Afterwards it checks, for every session, that
//   - every acknowledged operation (the sender got its diagram_operation_event back) is stored in
//     the diagram (read back over REST once the sessions have ended),
//   - every client received every operation of its session exactly once, and all clients in the
//     same order, with sequence numbers 1, 2, 3... without a gap,
// and prints the latency from send to the acknowledgement and to the receipt by the others
// (p50, p99). Exits 1 when anything acknowledged was lost, missing or out of order.
//
//   npm run bench:sessions
// Env: BENCH_SESSIONS (default 200), BENCH_CLIENTS (default 5), BENCH_RATE (operations per second
// per client, default 2), BENCH_SECONDS (default 60), BENCH_PG_URL (server URL without database),
// BENCH_REDIS_URL.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ROOT, signInOverHttp, startServerProcess, type ServerProcess } from '../../test/support/process.ts';
import { freshBenchDatabase } from '../support/database.ts';
import { percentile } from '../support/stats.ts';
import { sleep } from '../../test/support/until.ts';
import { api } from '../support/http.ts';

const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/9';
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 5);
const RATE = Number(process.env.BENCH_RATE ?? 2);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const DB_NAME = 'tmi_bench_sessions';

/** A percentile in tenths of a millisecond. */
const pct = (xs: number[], p: number) => Math.round(percentile(xs, p) * 10) / 10;

interface Client {
  ws: WebSocket;
  /** Operation events in the order this client received them: id, sequence number, time. */
  received: { id: string; seq: number; at: number }[];
  /** Operation id -> when this client sent it. */
  sent: Map<string, number>;
}

interface Session {
  tm: string;
  diagram: string;
  clients: Client[];
}


const node = (id: string, k: number) => ({ id, shape: 'process', x: 10 + (k % 40) * 30, y: 20 + Math.floor(k / 40) * 30, width: 120, height: 60, attrs: { text: { text: `P${k}` } } });

async function main(): Promise<void> {
  const database = await freshBenchDatabase(PG_URL, DB_NAME);
  const databaseUrl = database.url;
  const env = {
    TMI_BUILD_MODE: 'test',
    TMI_JWT_SECRET: randomBytes(32).toString('hex'),
    TMI_DATABASE_URL: databaseUrl,
    TMI_REDIS_URL: REDIS_URL,
    TMI_DISABLE_RATE_LIMITING: 'true',
    // The same CLIENTS people take part in every session.
    TMI_COLLAB_MAX_SOCKETS_PER_USER: String(SESSIONS + 10),
  };
  const servers: ServerProcess[] = [];
  for (let i = 0; i < 2; i++) servers.push(await startServerProcess(env));
  const bases = servers.map((s) => `http://127.0.0.1:${s.port}`);
  try {
    const users = Array.from({ length: CLIENTS }, (_, i) => `bench-user-${i}`);
    const tokens: string[] = [];
    for (const u of users) tokens.push(await signInOverHttp(servers[0]!.port, u));
    const owner = tokens[0]!;
    const authorization = users.slice(1).map((u) => ({ principal_type: 'user', provider: 'tmi', provider_id: u, role: 'writer' }));

    console.log(`setting up ${SESSIONS} sessions of ${CLIENTS} clients over 2 instances...`);
    const sessions: Session[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const base = bases[i % 2]!;
      const tm = await api(base, owner, 'POST', '/threat_models', { name: `Sessions bench ${i}`, authorization });
      const d = await api(base, owner, 'POST', `/threat_models/${tm.id}/diagrams`, { name: 'D', type: 'DFD-1.0.0' });
      await api(base, owner, 'POST', `/threat_models/${tm.id}/diagrams/${d.id}/collaborate`, {});
      sessions.push({ tm: tm.id, diagram: d.id, clients: [] });
    }

    const rejected: string[] = [];
    const join = async (s: Session, i: number, c: number): Promise<Client> => {
      const port = servers[(i + c) % 2]!.port;
      const sessionInfo = await api(`http://127.0.0.1:${port}`, tokens[c]!, 'GET', `/threat_models/${s.tm}/diagrams/${s.diagram}/collaborate`);
      const t = await api(`http://127.0.0.1:${port}`, tokens[c]!, 'GET', `/ws/ticket?session_id=${sessionInfo.session_id}`);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/threat_models/${s.tm}/diagrams/${s.diagram}/ws?session_id=${sessionInfo.session_id}&ticket=${encodeURIComponent(t.ticket)}`);
      const client: Client = { ws, received: [], sent: new Map() };
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', (data) => {
          const m = JSON.parse(data.toString()) as { message_type: string; operation_id?: string; sequence_number?: number };
          if (m.message_type === 'diagram_state') resolve();
          if (m.message_type === 'diagram_operation_event') client.received.push({ id: m.operation_id!, seq: m.sequence_number!, at: performance.now() });
          if (m.message_type === 'operation_rejected' || m.message_type === 'error' || m.message_type === 'authorization_denied') rejected.push(data.toString().slice(0, 200));
        });
      });
      return client;
    };
    for (let i = 0; i < SESSIONS; i += 20) {
      await Promise.all(
        sessions.slice(i, i + 20).map(async (s, j) => {
          for (let c = 0; c < CLIENTS; c++) s.clients.push(await join(s, i + j, c));
        }),
      );
    }
    console.log(`${SESSIONS * CLIENTS} clients joined; sending ${RATE} operations per second each for ${SECONDS} s (offered ${SESSIONS * CLIENTS * RATE} ops/s in total)`);

    const ackLatency: number[] = [];
    const deliveryLatency: number[] = [];
    const started = performance.now();
    const intervalMs = 1000 / RATE;
    let sent = 0;
    let k = 0;
    await Promise.all(
      sessions.flatMap((s) =>
        s.clients.map(async (c) => {
          await sleep(Math.random() * intervalMs);
          while (performance.now() - started < SECONDS * 1000) {
            const id = randomUUID();
            c.sent.set(id, performance.now());
            sent++;
            c.ws.send(JSON.stringify({ message_type: 'diagram_operation_request', operation_id: id, base_vector: 0, operation: { type: 'patch', cells: [{ id, operation: 'add', data: node(id, k++) }] } }));
            await sleep(intervalMs);
          }
        }),
      ),
    );
    const sendingSeconds = (performance.now() - started) / 1000;
    // Let the last operations drain.
    const expectedReceipts = sent * CLIENTS;
    for (let waited = 0; waited < 60_000; waited += 250) {
      let got = 0;
      for (const s of sessions) for (const c of s.clients) got += c.received.length;
      if (got >= expectedReceipts) break;
      await sleep(250);
    }
    const load = loadavg()[0]!;

    // Ordering and completeness per session.
    let acknowledged = 0;
    let missingDeliveries = 0;
    let orderProblems = 0;
    const ackedIds = new Map<number, Set<string>>();
    for (const [si, s] of sessions.entries()) {
      const acked = new Set<string>();
      const receipts = s.clients.map((c) => new Map(c.received.map((r) => [r.id, r.at])));
      s.clients.forEach((c, ci) => {
        for (const [id, at] of c.sent) {
          const ack = receipts[ci]!.get(id);
          if (ack === undefined) continue;
          acked.add(id);
          ackLatency.push(ack - at);
          receipts.forEach((r, other) => {
            const got = r.get(id);
            if (other !== ci && got !== undefined) deliveryLatency.push(got - at);
          });
        }
      });
      ackedIds.set(si, acked);
      acknowledged += acked.size;
      const reference = s.clients[0]!.received.map((r) => r.id).join(',');
      for (const [ci, c] of s.clients.entries()) {
        const seqs = c.received.map((r) => r.seq);
        if (seqs.some((q, i) => (i === 0 ? q !== 1 : q !== seqs[i - 1]! + 1))) orderProblems++;
        else if (c.received.map((r) => r.id).join(',') !== reference) orderProblems++;
        for (const id of acked) if (!receipts[ci]!.has(id)) missingDeliveries++;
      }
    }

    for (const s of sessions) for (const c of s.clients) c.ws.close();
    await sleep(1000);

    // Everything acknowledged must be in the stored diagrams.
    let lost = 0;
    for (const [si, s] of sessions.entries()) {
      const d = await api(bases[si % 2]!, owner, 'GET', `/threat_models/${s.tm}/diagrams/${s.diagram}`);
      const stored = new Set((d.cells as { id: string }[]).map((c) => c.id));
      for (const id of ackedIds.get(si)!) if (!stored.has(id)) lost++;
    }

    const result = {
      date: new Date().toISOString(),
      sessions: SESSIONS,
      clientsPerSession: CLIENTS,
      opsPerSecondPerClient: RATE,
      seconds: SECONDS,
      offeredOpsPerSecond: SESSIONS * CLIENTS * RATE,
      sent,
      achievedOpsPerSecond: Math.round(sent / sendingSeconds),
      acknowledged,
      rejected: rejected.length,
      lost,
      missingDeliveries,
      orderProblems,
      ack: { p50: pct(ackLatency, 50), p99: pct(ackLatency, 99) },
      delivery: { p50: pct(deliveryLatency, 50), p99: pct(deliveryLatency, 99) },
      loadAverage: Math.round(load * 10) / 10,
    };
    console.log(`\n${SESSIONS} sessions x ${CLIENTS} clients on 2 instances (PostgreSQL + Redis), ${RATE} ops/s per client for ${SECONDS} s`);
    console.log(`  operations sent ${result.sent} (${result.achievedOpsPerSecond}/s), acknowledged ${acknowledged}, rejected ${rejected.length}`);
    console.log(`  send -> acknowledgement  p50 ${result.ack.p50} ms, p99 ${result.ack.p99} ms`);
    console.log(`  send -> every receipt    p50 ${result.delivery.p50} ms, p99 ${result.delivery.p99} ms`);
    console.log(`  acknowledged but not stored: ${lost}; acknowledged but not delivered to a client: ${missingDeliveries}; clients with a gap or another order: ${orderProblems}`);
    console.log(`  load average at the end: ${result.loadAverage}`);
    for (const r of rejected.slice(0, 5)) console.log(`  rejected: ${r}`);
    // Why the servers refused anything: their warnings and errors, counted by message.
    const problems = new Map<string, number>();
    for (const server of servers)
      for (const line of server.stdout().split('\n')) {
        if (!/"level":(40|50|60)/.test(line)) continue;
        const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
        const key = `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`.slice(0, 160);
        problems.set(key, (problems.get(key) ?? 0) + 1);
      }
    for (const [what, count] of problems) console.log(`  server log x${count}: ${what}`);
    mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    const file = path.join(ROOT, 'bench/results', `sessions-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    console.log(`saved ${path.relative(ROOT, file)}`);
    if (lost > 0 || missingDeliveries > 0 || orderProblems > 0) process.exitCode = 1;
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.exited));
    await database.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
