// The pure half of the diagram editor: X6 cell JSON <-> API cells (DFD-1.0.0), and graph
// snapshots <-> collaboration operations. No X6 import here, so it is unit-tested in Node.
import type { CellJson as ApiCell } from '../../../contract/diagrams.ts';
import { COLOR_PATTERN, CONTROL_CHARACTER, DASH_PATTERN, DIAGRAM_TEXT, EDGE_SHAPE, NODE_MIN_SIZE, NODE_SHAPES, PORT_SIDES, type NodeShape } from '../../../contract/limits.ts';

export type { ApiCell, NodeShape };
export type CellOp = { id: string; operation: 'add' | 'update' | 'remove'; data?: ApiCell };

export const isEdge = (c: { shape?: unknown }) => c.shape === EDGE_SHAPE;
export const isNodeShape = (s: unknown): s is NodeShape => NODE_SHAPES.includes(s as NodeShape);
/** Shapes that take part in flows (boundaries and text boxes have no ports). */
export const hasPorts = (s: string) => s === 'actor' || s === 'process' || s === 'store';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const round = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? Math.round(n) : 0);

const COLOR = new RegExp(COLOR_PATTERN);
const DASHES = new RegExp(DASH_PATTERN);
const CONTROL = new RegExp(CONTROL_CHARACTER, 'g');

/** The attrs the API accepts and the editor sets (label text and colours); the rest are shape defaults. */
function pickAttrs(attrs: unknown, edge: boolean): Obj | undefined {
  if (!isObj(attrs)) return undefined;
  const out: Obj = {};
  if (edge) {
    const line = isObj(attrs.line) ? attrs.line : undefined;
    if (line) {
      const l: Obj = {};
      if (typeof line.stroke === 'string' && COLOR.test(line.stroke)) l.stroke = line.stroke;
      if (typeof line.strokeWidth === 'number' && line.strokeWidth >= 0) l.strokeWidth = line.strokeWidth;
      if (Object.keys(l).length) out.line = l;
    }
  } else {
    const body = isObj(attrs.body) ? attrs.body : undefined;
    if (body) {
      const b: Obj = {};
      for (const k of ['fill', 'stroke'] as const) if (typeof body[k] === 'string' && COLOR.test(body[k])) b[k] = body[k];
      if (typeof body.strokeWidth === 'number' && body.strokeWidth >= 0) b.strokeWidth = body.strokeWidth;
      if (typeof body.strokeDasharray === 'string' && DASHES.test(body.strokeDasharray)) b.strokeDasharray = body.strokeDasharray;
      if (Object.keys(b).length) out.body = b;
    }
    const text = isObj(attrs.text) ? attrs.text : undefined;
    if (text && typeof text.text === 'string') out.text = { text: cleanLabel(text.text) };
  }
  return Object.keys(out).length ? out : undefined;
}

/** Labels are one line without control characters, of limited length (the API's rule). */
export function cleanLabel(s: string): string {
  return s.replace(CONTROL, ' ').slice(0, DIAGRAM_TEXT.label.maxLength);
}

export function labelOf(cell: Obj): string {
  if (isEdge(cell)) {
    // The API's `text` selector, or `label`, the one X6's default label markup uses (other clients send it).
    const first = Array.isArray(cell.labels) ? cell.labels[0] : undefined;
    const attrs = isObj(first) && isObj(first.attrs) ? first.attrs : {};
    for (const group of [attrs.text, attrs.label]) if (isObj(group) && typeof group.text === 'string') return group.text;
    return '';
  }
  const t = isObj(cell.attrs) && isObj(cell.attrs.text) ? cell.attrs.text.text : undefined;
  return typeof t === 'string' ? t : '';
}

function terminal(t: unknown): { cell: string; port?: string } | undefined {
  if (!isObj(t) || typeof t.cell !== 'string') return undefined;
  return typeof t.port === 'string' && t.port ? { cell: t.cell, port: t.port } : { cell: t.cell };
}

/**
 * An X6 cell's JSON (cell.toJSON()) as the API cell that goes over the wire: integer geometry,
 * no runtime-only properties (zIndex, tools, visibility), only the first edge label. Returns
 * undefined for what must not be synchronised (an edge not connected at both ends).
 */
export function toApiCell(x: Obj): ApiCell | undefined {
  if (typeof x.id !== 'string' || typeof x.shape !== 'string') return undefined;
  const data = isObj(x.data) && Object.keys(x.data).length ? (x.data as Obj) : undefined;
  if (isEdge(x)) {
    const source = terminal(x.source);
    const target = terminal(x.target);
    if (!source || !target) return undefined;
    const cell: ApiCell = { id: x.id, shape: EDGE_SHAPE, source, target };
    const attrs = pickAttrs(x.attrs, true);
    if (attrs) cell.attrs = attrs;
    const text = labelOf(x);
    if (text) {
      const first = (x.labels as Obj[])[0]!;
      const label: Obj = { attrs: { text: { text: cleanLabel(text) } } };
      if (typeof first.position === 'number') label.position = first.position;
      else if (isObj(first.position) && typeof first.position.distance === 'number') label.position = { distance: first.position.distance };
      cell.labels = [label];
    }
    if (Array.isArray(x.vertices) && x.vertices.length) cell.vertices = (x.vertices as Obj[]).map((v) => ({ x: round(v.x), y: round(v.y) }));
    if (data) cell.data = data;
    return cell;
  }
  if (!isNodeShape(x.shape)) return undefined;
  const pos = isObj(x.position) ? x.position : { x: x.x, y: x.y };
  const size = isObj(x.size) ? x.size : { width: x.width, height: x.height };
  const cell: ApiCell = {
    id: x.id,
    shape: x.shape,
    position: { x: round(pos.x), y: round(pos.y) },
    size: { width: Math.max(NODE_MIN_SIZE.width, round(size.width)), height: Math.max(NODE_MIN_SIZE.height, round(size.height)) },
  };
  if (typeof x.angle === 'number' && x.angle !== 0) cell.angle = x.angle;
  const attrs = pickAttrs(x.attrs, false);
  if (attrs) cell.attrs = attrs;
  if (hasPorts(x.shape)) {
    const items = isObj(x.ports) && Array.isArray(x.ports.items) ? (x.ports.items as Obj[]) : [];
    const ports = items.filter((p) => typeof p.id === 'string' && typeof p.group === 'string').map((p) => ({ id: p.id as string, group: p.group as string }));
    if (ports.length) cell.ports = { groups: Object.fromEntries(PORT_SIDES.map((side) => [side, { position: side }])), items: ports };
  }
  if (typeof x.parent === 'string' && x.parent) cell.parent = x.parent;
  if (Array.isArray(x.children) && x.children.length) cell.children = [...(x.children as string[])];
  if (data) cell.data = data;
  return cell;
}

export const DEFAULT_SIZES: Record<NodeShape, { width: number; height: number }> = {
  actor: { width: 120, height: 60 },
  process: { width: 140, height: 70 },
  store: { width: 140, height: 60 },
  'security-boundary': { width: 600, height: 300 },
  'text-box': { width: 140, height: 40 },
};

export function defaultPorts() {
  return { items: PORT_SIDES.map((side) => ({ id: side, group: side })) };
}

/**
 * An API cell (from REST, diagram_state or an operation event; nested or flat geometry) as X6
 * cell metadata for graph.addCell / createNode. Shape names are the same on both sides.
 */
export function fromApiCell(c: Obj): Obj | undefined {
  if (typeof c.id !== 'string') return undefined;
  if (isEdge(c)) {
    const source = terminal(c.source);
    const target = terminal(c.target);
    if (!source || !target) return undefined;
    const out: Obj = { id: c.id, shape: EDGE_SHAPE, source, target, zIndex: 10 };
    const text = labelOf(c);
    out.labels = text ? [{ attrs: { text: { text } }, ...(Array.isArray(c.labels) && isObj(c.labels[0]) && c.labels[0].position !== undefined ? { position: c.labels[0].position } : {}) }] : [];
    out.vertices = Array.isArray(c.vertices) ? c.vertices : [];
    if (isObj(c.attrs)) out.attrs = c.attrs;
    if (isObj(c.data)) out.data = c.data;
    return out;
  }
  if (!isNodeShape(c.shape)) return undefined;
  const shape = c.shape;
  const pos = isObj(c.position) ? c.position : { x: c.x, y: c.y };
  const size = isObj(c.size) ? c.size : { width: c.width, height: c.height };
  const fallback = DEFAULT_SIZES[shape];
  const out: Obj = {
    id: c.id,
    shape,
    position: { x: round(pos.x), y: round(pos.y) },
    size: { width: round(size.width) || fallback.width, height: round(size.height) || fallback.height },
    // Boundaries stay behind everything, flows in front of nodes.
    zIndex: shape === 'security-boundary' ? -1 : 1,
  };
  if (typeof c.angle === 'number') out.angle = c.angle;
  if (isObj(c.attrs)) out.attrs = c.attrs;
  if (hasPorts(shape)) {
    const items = isObj(c.ports) && Array.isArray(c.ports.items) ? (c.ports.items as Obj[]).filter((p) => typeof p.id === 'string') : [];
    out.ports = items.length ? { items: items.map((p) => ({ id: p.id, group: typeof p.group === 'string' && (PORT_SIDES as readonly string[]).includes(p.group) ? p.group : 'right' })) } : defaultPorts();
  }
  if (typeof c.parent === 'string' && c.parent) out.parent = c.parent;
  if (Array.isArray(c.children)) out.children = c.children;
  if (isObj(c.data)) out.data = c.data;
  return out;
}

/** JSON with sorted keys, so two equal cells always compare equal. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v))
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export type Snapshot = Map<string, ApiCell>;

/** The synchronised form of a whole graph (graph.toJSON().cells). */
export function snapshot(cells: Obj[]): Snapshot {
  const out: Snapshot = new Map();
  for (const c of cells) {
    const api = toApiCell(c);
    if (api) out.set(api.id, api);
  }
  return out;
}

/** Nodes with their parents first, so an add never names a parent that does not exist yet. */
function parentsFirst(nodes: ApiCell[]): ApiCell[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out: ApiCell[] = [];
  const seen = new Set<string>();
  const visit = (n: ApiCell, depth = 0) => {
    if (seen.has(n.id) || depth > 100) return;
    const p = typeof n.parent === 'string' ? byId.get(n.parent) : undefined;
    if (p) visit(p, depth + 1);
    seen.add(n.id);
    out.push(n);
  };
  nodes.forEach((n) => visit(n));
  return out;
}

/**
 * The operations that turn `before` into `after`, in an order every receiver can apply one by
 * one: node adds (parents first) and updates, then edge adds and updates (their ends exist), then
 * edge removes, then node removes (children first).
 */
export function diff(before: Snapshot, after: Snapshot): CellOp[] {
  const added: ApiCell[] = [];
  const updated: ApiCell[] = [];
  const removed: ApiCell[] = [];
  for (const [id, cell] of after) {
    const old = before.get(id);
    if (!old) added.push(cell);
    else if (canonical(old) !== canonical(cell)) updated.push(cell);
  }
  for (const [id, cell] of before) if (!after.has(id)) removed.push(cell);
  const nodes = (l: ApiCell[]) => l.filter((c) => !isEdge(c));
  const edges = (l: ApiCell[]) => l.filter(isEdge);
  const op = (operation: 'add' | 'update') => (c: ApiCell): CellOp => ({ id: c.id, operation, data: c });
  const remove = (c: ApiCell): CellOp => ({ id: c.id, operation: 'remove' });
  return [
    ...parentsFirst(nodes(added)).map(op('add')),
    ...nodes(updated).map(op('update')),
    ...edges(added).map(op('add')),
    ...edges(updated).map(op('update')),
    ...edges(removed).map(remove),
    ...parentsFirst(nodes(removed)).reverse().map(remove),
  ];
}

export class OperationConflict extends Error {}

/**
 * Applies operations to a snapshot with the server's rules: add of an existing id and update of
 * a missing id are conflicts; remove of a missing id is a no-op. Returns a new snapshot.
 */
export function apply(base: Snapshot, ops: CellOp[]): Snapshot {
  const out: Snapshot = new Map(base);
  for (const op of ops) {
    if (op.operation === 'remove') {
      out.delete(op.id);
      continue;
    }
    if (!op.data) throw new OperationConflict(`${op.operation} of ${op.id} has no cell data`);
    if (op.operation === 'add' && out.has(op.id)) throw new OperationConflict(`cell ${op.id} already exists`);
    if (op.operation === 'update' && !out.has(op.id)) throw new OperationConflict(`cell ${op.id} does not exist`);
    out.set(op.id, op.data);
  }
  return out;
}

/** Ids of the cells an operation list touches (for highlighting remote edits). */
export const touched = (ops: CellOp[]) => [...new Set(ops.map((o) => o.id))];

/** A new cell id (the API requires UUIDs). */
export const newId = () => crypto.randomUUID();

/** A node of the palette, as X6 metadata, centred on a point. */
export function newNode(shape: NodeShape, at: { x: number; y: number }, label?: string): Obj {
  const size = DEFAULT_SIZES[shape];
  const defaults: Record<NodeShape, string> = { actor: 'Actor', process: 'Process', store: 'Data store', 'security-boundary': 'Trust boundary', 'text-box': 'Text' };
  return fromApiCell({
    id: newId(),
    shape,
    position: { x: Math.round(at.x - size.width / 2), y: Math.round(at.y - size.height / 2) },
    size,
    attrs: { text: { text: label ?? defaults[shape] } },
  })!;
}
