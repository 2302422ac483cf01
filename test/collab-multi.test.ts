// Collaboration served by real server processes. On PostgreSQL + Redis: two instances share one
// session — one total order for clients on either, resume across instances, revocation across
// instances, and SIGKILL of an instance mid-burst loses no acknowledged operation (its client
// reconnects to the other). On the embedded back end (one process per data folder): SIGKILL
// mid-burst, restart on the same folder, and every acknowledged operation is there.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opRequest, processNode, WsClient, type Msg } from './collab-support.ts';
import { freePort } from './support/net.ts';
import { signInOverHttp, startServerProcess, type ServerProcess } from './support/process.ts';
import { until } from './support/until.ts';

// Chosen before the servers start: the first is also the public origin of both (TMI_SERVER_BASE_URL).
// Not fixed numbers: another checkout's suite or benchmark may hold those.
const PORTS: number[] = [];
const shared = Boolean(process.env.TMI_TEST_DATABASE_URL && process.env.TMI_TEST_REDIS_URL);
const SECRET = randomBytes(32).toString('hex');
const children: ChildProcess[] = [];

beforeAll(async () => {
  while (PORTS.length < 2) {
    const port = await freePort();
    if (!PORTS.includes(port)) PORTS.push(port);
  }
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function startServer(port: number, env: Record<string, string>): Promise<ServerProcess> {
  return startServerProcess({
    TMI_BUILD_MODE: 'test',
    TMI_SERVER_PORT: String(port),
    // One public origin, as behind a load balancer (it is also the JWT issuer).
    TMI_SERVER_BASE_URL: `http://127.0.0.1:${PORTS[0]}`,
    TMI_JWT_SECRET: SECRET,
    TMI_LOG_LEVEL: 'info',
    TMI_COLLAB_SWEEP_MS: '500',
    TMI_COLLAB_OPS_PER_SECOND: '1000',
    ...env,
  }).then((server) => {
    children.push(server.child);
    return server;
  });
}

async function api(port: number, token: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const user = () => `mi-${randomBytes(4).toString('hex')}`;
const share = (u: string, role: string) => ({ principal_type: 'user', provider: 'tmi', provider_id: u, role });

async function connect(port: number, token: string, tm: string, d: string, sid: string, extra = ''): Promise<WsClient> {
  const ticket = await api(port, token, 'GET', `/ws/ticket?session_id=${sid}`);
  expect(ticket.status).toBe(200);
  const c = WsClient.connect(`ws://127.0.0.1:${port}/threat_models/${tm}/diagrams/${d}/ws?session_id=${sid}&ticket=${encodeURIComponent(ticket.body.ticket)}${extra}`);
  await c.opened;
  return c;
}

const events = (c: WsClient) => c.messages.filter((m) => m.message_type === 'diagram_operation_event');

/** Sends `count` add operations without waiting; returns the cell ids in send order. */
function burst(c: WsClient, count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = processNode(undefined, i);
    ids.push(n.id);
    c.send(opRequest([{ id: n.id, operation: 'add', data: n }], n.id));
  }
  return ids;
}

/** Operation ids this client saw acknowledged (its own events; operation_id = cell id here). */
const acked = (c: WsClient, email: string) => events(c).filter((e: Msg) => e.initiating_user.email === email).map((e: Msg) => e.operation_id as string);

describe.sequential('collaboration across server processes', () => {
  it(
    shared
      ? 'two instances: one total order, resume and revocation across instances, SIGKILL mid-burst loses nothing acknowledged'
      : 'embedded: SIGKILL mid-burst, restart on the same data folder, every acknowledged operation is there',
    async () => {
      const env: Record<string, string> = shared
        ? { TMI_DATABASE_URL: process.env.TMI_TEST_DATABASE_URL!, TMI_REDIS_URL: process.env.TMI_TEST_REDIS_URL! }
        : { TMI_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tmi-collab-multi-')) };
      const a = await startServer(PORTS[0]!, env);
      const [u1, u2, u3] = [user(), user(), user()];
      const [t1, t2, t3] = [await signInOverHttp(a.port, u1), await signInOverHttp(a.port, u2), await signInOverHttp(a.port, u3)];
      const tm = await api(a.port, t1, 'POST', '/threat_models', { name: 'Multi', authorization: [share(u2, 'writer'), share(u3, 'reader')] });
      const d = await api(a.port, t1, 'POST', `/threat_models/${tm.body.id}/diagrams`, { name: 'D', type: 'DFD-1.0.0' });
      const tmId = tm.body.id as string;
      const dId = d.body.id as string;
      const s = await api(a.port, t1, 'POST', `/threat_models/${tmId}/diagrams/${dId}/collaborate`, {});
      const sid = s.body.session_id as string;
      const e1 = `${u1}@tmi.local`;

      if (shared) {
        const b = await startServer(PORTS[1]!, env);
        const c1 = await connect(a.port, t1, tmId, dId, sid);
        const c2 = await connect(b.port, t2, tmId, dId, sid);
        await c1.type('diagram_state');
        await c2.type('diagram_state');
        await c1.next((m) => m.message_type === 'participants_update' && m.participants.length === 2);

        // Concurrent bursts on both instances: both clients see all 60, once each, in one order.
        burst(c1, 30);
        burst(c2, 30);
        await until(() => events(c1).length >= 60 && events(c2).length >= 60, 30_000, 'both clients see 60 events');
        const order1 = events(c1).map((e) => `${e.sequence_number}:${e.operation_id}`);
        const order2 = events(c2).map((e) => `${e.sequence_number}:${e.operation_id}`);
        expect(order1).toHaveLength(60);
        expect(order1).toEqual(order2);
        expect(events(c1).map((e) => e.sequence_number)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));

        // Resume on the other instance from the last seen sequence, without a full reload.
        c2.close();
        await c2.waitClosed();
        burst(c1, 5);
        await until(() => events(c1).length >= 65, 10_000, 'c1 sees its 5 new operations');
        const c2b = await connect(a.port, t2, tmId, dId, sid, '&last_sequence=60');
        await until(() => events(c2b).length >= 5, 10_000, 'resumed client gets the missed operations');
        expect(events(c2b).map((e) => e.sequence_number)).toEqual([61, 62, 63, 64, 65]);
        expect(c2b.messages.some((m) => m.message_type === 'diagram_state')).toBe(false);
        // ... and back to B, where it stays for the rest of the test.
        c2b.close();
        await c2b.waitClosed();
        const c2c = await connect(b.port, t2, tmId, dId, sid, '&last_sequence=65');
        await c2c.type('participants_update');
        expect(events(c2c)).toEqual([]);

        // Revocation on one instance closes the reader's socket on the other within a second.
        const c3 = await connect(a.port, t3, tmId, dId, sid);
        await c3.type('diagram_state');
        const put = await api(b.port, t1, 'PUT', `/threat_models/${tmId}`, { name: 'Multi', authorization: [share(u2, 'writer')] });
        expect(put.status).toBe(200);
        // Measured from the revocation's response (it is committed by then; the PUT's own
        // latency on a loaded machine is not the gateway's).
        const revokedAt = Date.now();
        expect((await c3.waitClosed(1000)).code).toBe(4403);
        expect(Date.now() - revokedAt).toBeLessThan(1000);

        // SIGKILL instance A in the middle of c1's burst; c1 reconnects to B and resumes.
        const ackedBefore = acked(c1, e1).length;
        const sent = burst(c1, 80);
        await until(() => acked(c1, e1).length >= ackedBefore + 10, 10_000, 'some acknowledgements before the kill');
        a.child.kill('SIGKILL');
        await a.exited;
        await c1.waitClosed();
        const ackedIds = acked(c1, e1).filter((id) => sent.includes(id));
        expect(ackedIds.length).toBeGreaterThan(0);
        const lastSeen = Math.max(...events(c1).map((e) => e.sequence_number as number));
        const c1b = await connect(b.port, t1, tmId, dId, sid, `&last_sequence=${lastSeen}`);
        const diagram = await api(b.port, t1, 'GET', `/threat_models/${tmId}/diagrams/${dId}`);
        const stored = new Set((diagram.body.cells as { id: string }[]).map((c) => c.id));
        for (const id of ackedIds) expect(stored.has(id), `acknowledged ${id} is stored`).toBe(true);
        // B's clients saw every acknowledged operation too, in order and once.
        await until(() => ackedIds.every((id) => events(c2c).some((e) => e.operation_id === id)), 10_000, 'c2c sees every acknowledged op');
        const seqs = events(c2c).map((e) => e.sequence_number as number);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        expect(new Set(seqs).size).toBe(seqs.length);
        // The reconnected client continues on B and its edits reach c2c.
        const n = processNode();
        c1b.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
        await c2c.next((m) => m.message_type === 'diagram_operation_event' && m.operation.cells[0].id === n.id, 10_000);
        c1b.close();
        c2c.close();
        b.child.kill('SIGTERM');
        await b.exited;
      } else {
        const c1 = await connect(a.port, t1, tmId, dId, sid);
        await c1.type('diagram_state');
        const sent = burst(c1, 80);
        await until(() => acked(c1, e1).length >= 10, 10_000, 'some acknowledgements before the kill');
        a.child.kill('SIGKILL');
        await a.exited;
        await c1.waitClosed();
        const ackedIds = acked(c1, e1);
        const lastSeen = Math.max(...events(c1).map((e) => e.sequence_number as number));
        const a2 = await startServer(PORTS[1]!, env);
        const diagram = await api(a2.port, t1, 'GET', `/threat_models/${tmId}/diagrams/${dId}`);
        expect(diagram.status, JSON.stringify(diagram.body)).toBe(200);
        const stored = (diagram.body.cells as { id: string }[]).map((c) => c.id);
        for (const id of ackedIds) expect(stored, `acknowledged ${id} is stored`).toContain(id);
        // Stored cells keep the send order (a prefix of the burst).
        expect(stored).toEqual(sent.slice(0, stored.length));
        expect(diagram.body.update_vector).toBe(stored.length);
        const c1b = await connect(a2.port, t1, tmId, dId, sid, `&last_sequence=${lastSeen}`);
        await until(() => events(c1b).length === stored.length - lastSeen, 10_000, 'resume replays the committed but unseen operations');
        const n = processNode();
        c1b.send(opRequest([{ id: n.id, operation: 'add', data: n }]));
        expect((await c1b.type('diagram_operation_event')).sequence_number).toBeGreaterThan(lastSeen);
        c1b.close();
        a2.child.kill('SIGTERM');
        await a2.exited;
      }
    },
    180_000,
  );
});
