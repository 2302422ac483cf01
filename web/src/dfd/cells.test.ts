// The editor's pure logic: X6 cell JSON <-> API cells, and graph snapshots <-> operations.
import { describe, expect, it } from 'vitest';
import { apply, canonical, diff, fromApiCell, labelOf, newNode, OperationConflict, snapshot, toApiCell, type ApiCell, type Snapshot } from './cells.ts';

const A = '11111111-1111-4111-8111-111111111111';
const P = '22222222-2222-4222-8222-222222222222';
const S = '33333333-3333-4333-8333-333333333333';
const B = '44444444-4444-4444-8444-444444444444';
const F1 = '55555555-5555-4555-8555-555555555555';
const F2 = '66666666-6666-4666-8666-666666666666';

// What X6's cell.toJSON() gives for a node: nested geometry, zIndex, full attrs, ports with attrs.
const x6Node = (id: string, shape: string, x: number, y: number, text: string, extra: Record<string, unknown> = {}) => ({
  id,
  shape,
  position: { x: x + 0.4, y: y - 0.3 },
  size: { width: 120.2, height: 60 },
  zIndex: 3,
  attrs: { body: { fill: '#eef3fb', stroke: '#2d4e8a', strokeWidth: 2, rx: 2, refWidth: '100%' }, text: { text, fontSize: 13, refX: 0.5 } },
  ports: { groups: { top: { position: 'top', attrs: { circle: { r: 5 } } } }, items: [{ id: 'top', group: 'top', attrs: { circle: { style: { visibility: 'hidden' } } } }, { id: 'right', group: 'right' }] },
  tools: { items: [] },
  ...extra,
});
const x6Edge = (id: string, from: string, to: string, text: string) => ({
  id,
  shape: 'flow',
  source: { cell: from, port: 'right' },
  target: { cell: to, port: 'left' },
  zIndex: 10,
  attrs: { line: { stroke: '#3a4457', strokeWidth: 1.6, targetMarker: { name: 'classic', size: 8 } } },
  labels: [
    { attrs: { text: { text, fill: '#000' }, body: { fill: '#fff' } }, position: { distance: 0.5, offset: 3 } },
    { attrs: { text: { text: 'second label is dropped' } } },
  ],
  vertices: [{ x: 10.6, y: 20.2 }],
});

const drawing = () => [
  x6Node(B, 'security-boundary', 0, 0, 'DMZ', { size: { width: 600, height: 300 }, children: [P, S] }),
  x6Node(A, 'actor', -200, 50, 'User'),
  x6Node(P, 'process', 100, 50, 'Web app', { parent: B }),
  x6Node(S, 'store', 350, 50, 'Orders', { parent: B }),
  x6Edge(F1, A, P, 'HTTPS request'),
  x6Edge(F2, P, S, 'SQL'),
];

describe('toApiCell', () => {
  it('keeps integer geometry, labels, ports and nesting, and drops runtime-only properties', () => {
    const cell = toApiCell(x6Node(P, 'process', 100, 50, 'Web app', { parent: B }))!;
    expect(cell).toEqual({
      id: P,
      shape: 'process',
      position: { x: 100, y: 50 },
      size: { width: 120, height: 60 },
      attrs: { body: { fill: '#eef3fb', stroke: '#2d4e8a', strokeWidth: 2 }, text: { text: 'Web app' } },
      ports: { groups: { top: { position: 'top' }, right: { position: 'right' }, bottom: { position: 'bottom' }, left: { position: 'left' } }, items: [{ id: 'top', group: 'top' }, { id: 'right', group: 'right' }] },
      parent: B,
    });
    expect(cell).not.toHaveProperty('zIndex');
    expect(cell).not.toHaveProperty('tools');
  });

  it('keeps only the first edge label and its distance, and rounds vertices', () => {
    const edge = toApiCell(x6Edge(F1, A, P, 'HTTPS request'))!;
    expect(edge.labels).toEqual([{ attrs: { text: { text: 'HTTPS request' } }, position: { distance: 0.5 } }]);
    expect(edge.vertices).toEqual([{ x: 11, y: 20 }]);
    expect(edge.source).toEqual({ cell: A, port: 'right' });
    expect(edge.attrs).toEqual({ line: { stroke: '#3a4457', strokeWidth: 1.6 } });
  });

  it('does not synchronise an edge that is not connected at both ends, or an unknown shape', () => {
    expect(toApiCell({ id: F1, shape: 'flow', source: { cell: A }, target: { x: 3, y: 4 } })).toBeUndefined();
    expect(toApiCell({ id: A, shape: 'html' })).toBeUndefined();
  });

  it('replaces control characters in labels and caps them at 256 characters', () => {
    const cell = toApiCell(x6Node(A, 'actor', 0, 0, `two\nlines${'x'.repeat(300)}`))!;
    expect(labelOf(cell)).toMatch(/^two lines/);
    expect(labelOf(cell)).toHaveLength(256);
  });

  it('drops colours the API would refuse', () => {
    const cell = toApiCell(x6Node(A, 'actor', 0, 0, 'a', { attrs: { body: { fill: 'url(#evil)', stroke: '#123456' }, text: { text: 'a' } } }))!;
    expect(cell.attrs).toEqual({ body: { stroke: '#123456' }, text: { text: 'a' } });
  });
});

describe('fromApiCell', () => {
  it('reads flat geometry as returned by the server and adds default ports', () => {
    const meta = fromApiCell({ id: A, shape: 'actor', x: 10, y: 20, width: 100, height: 50, attrs: { text: { text: 'User' } } })!;
    expect(meta.position).toEqual({ x: 10, y: 20 });
    expect(meta.size).toEqual({ width: 100, height: 50 });
    expect((meta.ports as { items: unknown[] }).items).toHaveLength(4);
  });

  it('puts boundaries behind and gives boundaries and text boxes no ports', () => {
    const b = fromApiCell({ id: B, shape: 'security-boundary', x: 0, y: 0, width: 400, height: 300 })!;
    expect(b.zIndex).toBe(-1);
    expect(b.ports).toBeUndefined();
    expect(fromApiCell({ id: A, shape: 'text-box', x: 0, y: 0, width: 100, height: 40 })!.ports).toBeUndefined();
  });

  it("shows a flow label another client wrote under X6's default `label` selector", () => {
    const flow = { id: F1, shape: 'flow', source: { cell: A }, target: { cell: P }, labels: [{ attrs: { label: { text: 'Order details' } } }] };
    expect(labelOf(flow)).toBe('Order details');
    expect(fromApiCell(flow)!.labels).toEqual([{ attrs: { text: { text: 'Order details' } } }]);
  });

  it('round-trips: API -> X6 -> API is the identity for cells the editor wrote', () => {
    for (const c of drawing()) {
      const api = toApiCell(c)!;
      expect(toApiCell(fromApiCell(api)!)).toEqual(api);
    }
  });
});

describe('diff and apply', () => {
  const empty: Snapshot = new Map();

  it('adds parents before children and nodes before the flows that use them', () => {
    const ops = diff(empty, snapshot(drawing()));
    const order = ops.map((o) => `${o.operation}:${o.id}`);
    expect(ops.every((o) => o.operation === 'add')).toBe(true);
    expect(order.indexOf(`add:${B}`)).toBeLessThan(order.indexOf(`add:${P}`));
    expect(order.indexOf(`add:${B}`)).toBeLessThan(order.indexOf(`add:${S}`));
    for (const node of [A, P, S]) expect(order.indexOf(`add:${node}`)).toBeLessThan(order.indexOf(`add:${F1}`));
    expect(order.slice(-2).sort()).toEqual([`add:${F1}`, `add:${F2}`].sort());
  });

  it('sends nothing when only runtime properties changed', () => {
    const before = snapshot(drawing());
    const after = snapshot(drawing().map((c) => ({ ...c, zIndex: 99, tools: { items: ['button'] } })));
    expect(diff(before, after)).toEqual([]);
  });

  it('a move is one whole-cell update', () => {
    const before = snapshot(drawing());
    const moved = drawing().map((c) => (c.id === A ? { ...c, position: { x: -150, y: 80 } } : c));
    const ops = diff(before, snapshot(moved));
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ id: A, operation: 'update', data: { id: A, position: { x: -150, y: 80 } } });
  });

  it('a relabelled flow is an update of the flow only', () => {
    const before = snapshot(drawing());
    const after = snapshot(drawing().map((c) => (c.id === F2 ? x6Edge(F2, P, S, 'SQL over TLS') : c)));
    expect(diff(before, after)).toEqual([{ id: F2, operation: 'update', data: after.get(F2) }]);
  });

  it('removes flows before the nodes they connect, children before their boundary', () => {
    const ops = diff(snapshot(drawing()), empty);
    const order = ops.map((o) => o.id);
    expect(ops.every((o) => o.operation === 'remove' && o.data === undefined)).toBe(true);
    expect(order.indexOf(F1)).toBeLessThan(order.indexOf(A));
    expect(order.indexOf(F2)).toBeLessThan(order.indexOf(S));
    expect(order.indexOf(P)).toBeLessThan(order.indexOf(B));
  });

  it('embedding a node in a boundary updates both the node and the boundary', () => {
    const before = snapshot(drawing());
    const after = snapshot(
      drawing().map((c) => (c.id === A ? { ...c, parent: B } : c.id === B ? { ...c, children: [P, S, A] } : c)),
    );
    const ops = diff(before, after);
    expect(ops.map((o) => `${o.operation}:${o.id}`).sort()).toEqual([`update:${A}`, `update:${B}`].sort());
  });

  it('applying the diff of two snapshots to the first gives the second (any edit mix)', () => {
    const before = snapshot(drawing());
    const N = '77777777-7777-4777-8777-777777777777';
    const F3 = '88888888-8888-4888-8888-888888888888';
    const edited = [
      ...drawing().filter((c) => c.id !== F1 && c.id !== A),
      x6Node(N, 'actor', -300, 0, 'Admin'),
      x6Edge(F3, N, P, 'Admin console'),
    ].map((c) => (c.id === S ? { ...c, size: { width: 200, height: 80 } } : c));
    const after = snapshot(edited);
    const result = apply(before, diff(before, after));
    expect([...result.keys()].sort()).toEqual([...after.keys()].sort());
    for (const [id, cell] of after) expect(canonical(result.get(id))).toBe(canonical(cell));
  });

  it('applies operations with the server rules: add of an existing id or update of a missing id conflicts; remove of a missing id is a no-op', () => {
    const s = snapshot(drawing());
    const cell = s.get(A)!;
    expect(() => apply(s, [{ id: A, operation: 'add', data: cell }])).toThrow(OperationConflict);
    const missing: ApiCell = { ...cell, id: '99999999-9999-4999-8999-999999999999' };
    expect(() => apply(s, [{ id: missing.id, operation: 'update', data: missing }])).toThrow(OperationConflict);
    expect(apply(s, [{ id: missing.id, operation: 'remove' }]).size).toBe(s.size);
  });
});

describe('newNode', () => {
  it('creates a UUID-identified node of the default size, centred on the drop point, with ports', () => {
    const n = newNode('process', { x: 500, y: 300 });
    expect(n.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(n.position).toEqual({ x: 430, y: 265 });
    expect(toApiCell(n)).toMatchObject({ shape: 'process', attrs: { text: { text: 'Process' } }, size: { width: 140, height: 70 } });
    expect((n.ports as { items: unknown[] }).items).toHaveLength(4);
  });
});
