// Cells exactly as X6 3 produces them for the reference client's shapes (test/fixtures/
// x6-reference-client-cells.json says how they were made) are accepted on the collaboration
// WebSocket and over REST alike; what is stored is the contract's cell: X6 presentation beyond it
// (other selectors' attribute groups, attributes the contract does not name) is dropped, by one
// rule on both paths, and what the contract names is still checked strictly.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorOf, signIn, startTestApp, type SignedIn, type TestApp } from './support/app.ts';
import { opRequest, WsClient, type Msg } from './collab-support.ts';

type Cell = Record<string, any> & { id: string; shape: string };
interface Forms {
  sent: Cell;
  sentLocked?: Cell;
  toJSON: Cell;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/x6-reference-client-cells.json', import.meta.url), 'utf8')) as {
  nodes: Record<'actor' | 'process' | 'store' | 'security-boundary' | 'text-box', Forms>;
  edges: Record<'flow' | 'flowX6Label', Forms>;
};
const nodes = Object.values(fixture.nodes);
const edges = Object.values(fixture.edges);
const FONT = "'Roboto Condensed', Arial, sans-serif";
const NODE_TEXT = { fontSize: 12, fill: '#000000', refX: '50%', refY: '50%', textAnchor: 'middle', textVerticalAnchor: 'middle', fontFamily: FONT };

let t: TestApp;
let base: string;
let owner: SignedIn;

beforeAll(async () => {
  t = await startTestApp({}, { collab: { opsPerSecond: 50, sweepMs: 200, idleSeconds: 60 } });
  base = (await t.app.listen({ port: 0, host: '127.0.0.1' })).replace(/^http/, 'ws');
  owner = await signIn(t.app);
});
afterAll(async () => t?.close());

async function diagram() {
  const tm = await call(t.app, 'POST', '/threat_models', { token: owner.accessToken, body: { name: 'Shop' } });
  const d = await call(t.app, 'POST', `/threat_models/${tm.body.id}/diagrams`, { token: owner.accessToken, body: { name: 'Checkout', type: 'DFD-1.0.0' } });
  return { tm: tm.body.id as string, d: d.body.id as string, url: `/threat_models/${tm.body.id}/diagrams/${d.body.id}` };
}

async function session(tm: string, d: string) {
  const s = await call(t.app, 'POST', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken, body: {} });
  const ticket = await call(t.app, 'GET', `/ws/ticket?session_id=${s.body.session_id}`, { token: owner.accessToken });
  const ws = WsClient.connect(`${base}/threat_models/${tm}/diagrams/${d}/ws?session_id=${s.body.session_id}&ticket=${encodeURIComponent(ticket.body.ticket)}`);
  await ws.opened;
  await ws.type('diagram_state');
  return ws;
}

/** Sends one operation and returns its acknowledgement; a rejection fails with its message. */
async function apply(ws: WsClient, cells: { id: string; operation: string; data?: Cell }[]): Promise<Msg> {
  const op = opRequest(cells);
  ws.send(op);
  const answer = await ws.next((m) => m.operation_id === op.operation_id && ['diagram_operation_event', 'operation_rejected'].includes(m.message_type));
  expect(answer.message_type, JSON.stringify(answer)).toBe('diagram_operation_event');
  return answer;
}

async function storedCells(url: string): Promise<Cell[]> {
  const res = await call(t.app, 'GET', url, { token: owner.accessToken });
  expect(res.status).toBe(200);
  return res.body.cells;
}

const byId = (cells: Cell[]) => Object.fromEntries(cells.map((c) => [c.id, c]));

describe('X6 3 cells of the reference client', () => {
  it('every node and edge it adds (and its layout-lock update) is accepted in a collaboration session', async () => {
    const { tm, d, url } = await diagram();
    const ws = await session(tm, d);
    const added = await apply(ws, [...nodes, ...edges].map((f) => ({ id: f.sent.id, operation: 'add', data: f.sent })));
    expect(added.operation.cells.map((c: { id: string }) => c.id)).toEqual([...nodes, ...edges].map((f) => f.sent.id));
    const locked = nodes.filter((f) => f.sentLocked);
    await apply(ws, locked.map((f) => ({ id: f.sentLocked!.id, operation: 'update', data: f.sentLocked })));
    ws.close();
    await call(t.app, 'DELETE', `/threat_models/${tm}/diagrams/${d}/collaborate`, { token: owner.accessToken });

    const stored = byId(await storedCells(url));
    expect(Object.keys(stored)).toHaveLength(nodes.length + edges.length);
    const actor = stored[fixture.nodes.actor.sent.id]!;
    expect(actor).toEqual({
      id: fixture.nodes.actor.sent.id,
      shape: 'actor',
      x: 40,
      y: 60,
      width: 120,
      height: 60,
      attrs: {
        body: { refWidth: '100%', refHeight: '100%', strokeWidth: 2, stroke: '#000000', fill: '#FFFFFF', rx: 0, ry: 0 },
        text: { ...NODE_TEXT, text: 'Customer' },
      },
      ports: fixture.nodes.actor.sent.ports,
      data: { _metadata: [], _layoutLocked: true },
      parent: null,
    });
    expect(stored[fixture.nodes.store.sent.id]!.attrs).toEqual({
      body: { refWidth: '100%', refHeight: '100%', fill: '#FFFFFF', stroke: 'transparent', strokeWidth: 0, lateral: 10 },
      text: { ...NODE_TEXT, text: 'Orders' },
    });
    for (const f of nodes) expect(Object.keys(stored[f.sent.id]!.attrs).sort(), f.sent.shape).toEqual(['body', 'text']);
    expect(stored[fixture.edges.flow.sent.id]).toEqual({
      id: fixture.edges.flow.sent.id,
      shape: 'flow',
      source: fixture.edges.flow.sent.source,
      target: fixture.edges.flow.sent.target,
      attrs: { line: { stroke: '#000000', strokeWidth: 2, targetMarker: { name: 'classic', size: 8 } } },
      labels: [{ position: 0.5, attrs: { text: { text: 'Flow', fontSize: 12, fill: '#000000', fontFamily: FONT } } }],
      vertices: [],
      data: { _metadata: [] },
    });
    expect(stored[fixture.edges.flowX6Label.sent.id]!.labels).toEqual([{ attrs: { label: { text: 'Order details' } } }]);
  });

  it('REST stores what the session stores for the same cells: one rule on both paths', async () => {
    const live = await diagram();
    const ws = await session(live.tm, live.d);
    await apply(ws, [...nodes, ...edges].map((f) => ({ id: f.sent.id, operation: 'add', data: f.sent })));
    ws.close();
    await call(t.app, 'DELETE', `/threat_models/${live.tm}/diagrams/${live.d}/collaborate`, { token: owner.accessToken });

    const rest = await diagram();
    const put = await call(t.app, 'PUT', rest.url, { token: owner.accessToken, body: { name: 'Checkout', type: 'DFD-1.0.0', cells: [...nodes, ...edges].map((f) => f.sent) } });
    expect(put.status, put.text).toBe(200);
    expect(byId(put.body.cells)).toEqual(byId(await storedCells(live.url)));
    expect(byId(await storedCells(rest.url))).toEqual(byId(await storedCells(live.url)));
  });

  it("X6's own toJSON() form of each cell is accepted too, on both paths", async () => {
    const rest = await diagram();
    const put = await call(t.app, 'PUT', rest.url, { token: owner.accessToken, body: { name: 'Checkout', type: 'DFD-1.0.0', cells: [...nodes, ...edges].map((f) => f.toJSON) } });
    expect(put.status, put.text).toBe(200);
    expect(byId(put.body.cells)[fixture.nodes.actor.toJSON.id]!.attrs).toEqual({ text: { text: 'Customer' } });
    const live = await diagram();
    const ws = await session(live.tm, live.d);
    await apply(ws, [...nodes, ...edges].map((f) => ({ id: f.toJSON.id, operation: 'add', data: f.toJSON })));
    ws.close();
  });

  it("edge labels under X6's default `label` selector are read as labels (model export)", async () => {
    const { url } = await diagram();
    const put = await call(t.app, 'PUT', url, { token: owner.accessToken, body: { name: 'Checkout', type: 'DFD-1.0.0', cells: [...nodes, ...edges].map((f) => f.sent) } });
    expect(put.status).toBe(200);
    const model = await call(t.app, 'GET', `${url}/model`, { token: owner.accessToken });
    expect(model.status).toBe(200);
    const labels = Object.fromEntries((model.body.cells as { id: string; labels: string[] }[]).map((c) => [c.id, c.labels]));
    expect(labels[fixture.edges.flowX6Label.sent.id]).toEqual(['Order details']);
    expect(labels[fixture.edges.flow.sent.id]).toEqual(['Flow']);
  });

  it('what the contract names is still checked: a bad value next to dropped keys is refused on both paths', async () => {
    const { tm, d, url } = await diagram();
    const actor = fixture.nodes.actor.sent;
    const badFill = { ...actor, attrs: { ...actor.attrs, body: { ...actor.attrs.body, fill: 'url(javascript:alert(1))' } } };
    const badLabel = { ...fixture.edges.flowX6Label.sent, labels: [{ attrs: { label: { text: 'a\u0001b' } } }] };
    for (const cells of [[badFill], [actor, fixture.nodes.process.sent, badLabel]]) {
      const res = await call(t.app, 'PUT', url, { token: owner.accessToken, body: { name: 'Checkout', type: 'DFD-1.0.0', cells } });
      expect(res.status, JSON.stringify(cells).slice(0, 200)).toBe(400);
      errorOf(res);
    }
    const ws = await session(tm, d);
    const op = opRequest([{ id: badFill.id, operation: 'add', data: badFill }]);
    ws.send(op);
    expect(await ws.next((m) => m.operation_id === op.operation_id)).toMatchObject({ message_type: 'operation_rejected', reason: 'validation_failed' });
    ws.close();
    expect(await storedCells(url)).toEqual([]);
  });
});
