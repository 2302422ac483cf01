// Diagram cells as importers build them, in the stored form (flat geometry, `parent: null` when
// unset, label in attrs.text.text), the geometry they need (containment, boundary lines crossing
// flows) and an automatic layout for formats without coordinates (Threagile, some OTM).
import type { Metadata } from '../contract/common.ts';
import type { CellJson } from '../contract/diagrams.ts';

export type NodeShape = 'actor' | 'process' | 'store' | 'security-boundary' | 'text-box';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface Point {
  x: number;
  y: number;
}

export const DEFAULT_SIZE: Record<NodeShape, { width: number; height: number }> = {
  actor: { width: 120, height: 60 },
  process: { width: 140, height: 70 },
  store: { width: 140, height: 60 },
  'security-boundary': { width: 400, height: 300 },
  'text-box': { width: 160, height: 60 },
};

const int = (n: number) => Math.round(Number.isFinite(n) ? n : 0);

/** Node geometry within the contract: integers, at least 40 x 30. */
export function fitBox(b: Partial<Box>, shape: NodeShape): Box {
  const d = DEFAULT_SIZE[shape];
  return {
    x: int(b.x ?? 0),
    y: int(b.y ?? 0),
    width: Math.max(40, int(b.width && b.width > 0 ? b.width : d.width)),
    height: Math.max(30, int(b.height && b.height > 0 ? b.height : d.height)),
  };
}

function data(metadata: Metadata[], extra?: Record<string, unknown>): Record<string, unknown> {
  return { _metadata: metadata, ...extra };
}

export function nodeCell(id: string, shape: NodeShape, box: Box, label: string, metadata: Metadata[], parent?: string | null, extra?: Record<string, unknown>): CellJson {
  const cell: CellJson = { id, shape, x: box.x, y: box.y, width: box.width, height: box.height, attrs: { text: { text: label } }, parent: parent ?? null, data: data(metadata, extra) };
  if (shape === 'actor' || shape === 'process' || shape === 'store') {
    cell.ports = { groups: { top: { position: 'top' }, right: { position: 'right' }, bottom: { position: 'bottom' }, left: { position: 'left' } }, items: ['top', 'right', 'bottom', 'left'].map((p) => ({ id: p, group: p })) };
  }
  return cell;
}

export function flowCell(id: string, source: string, target: string, label: string, metadata: Metadata[], vertices: Point[] = [], extra?: Record<string, unknown>): CellJson {
  const cell: CellJson = { id, shape: 'flow', source: { cell: source }, target: { cell: target }, data: data(metadata, extra) };
  if (label) cell.labels = [{ attrs: { text: { text: label } }, position: 0.5 }];
  if (vertices.length) cell.vertices = vertices.slice(0, 1000).map((v) => ({ x: int(v.x), y: int(v.y) }));
  return cell;
}

export const center = (b: Box): Point => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });
export const contains = (outer: Box, inner: Box) => inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.width <= outer.x + outer.width && inner.y + inner.height <= outer.y + outer.height;
const area = (b: Box) => b.width * b.height;

/** The smallest of `boxes` that holds `inner` entirely (ties: the first), excluding `self`. */
export function smallestHolder<T extends { id: string; box: Box }>(inner: Box, boxes: readonly T[], self?: string): T | undefined {
  let best: T | undefined;
  for (const b of boxes) if (b.id !== self && contains(b.box, inner) && (!best || area(b.box) < area(best.box))) best = b;
  return best;
}

/** The bounding box of a polyline, at least 40 x 30 (the contract's minimum node size). */
export function boxAround(points: readonly Point[]): Box {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  const w = Math.max(...xs) - x;
  const h = Math.max(...ys) - y;
  return { x: int(x - Math.max(0, (40 - w) / 2)), y: int(y - Math.max(0, (30 - h) / 2)), width: Math.max(40, int(w)), height: Math.max(30, int(h)) };
}

function segmentsCross(a: Point, b: Point, c: Point, d: Point): boolean {
  const cross = (o: Point, p: Point, q: Point) => (p.x - o.x) * (q.y - o.y) - (p.y - o.y) * (q.x - o.x);
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

/** Whether two polylines intersect (a flow and a boundary line). */
export function polylinesCross(a: readonly Point[], b: readonly Point[]): boolean {
  for (let i = 1; i < a.length; i++) for (let j = 1; j < b.length; j++) if (segmentsCross(a[i - 1]!, a[i]!, b[j - 1]!, b[j]!)) return true;
  return false;
}

export const pointsText = (points: readonly Point[]) => points.map((p) => `${int(p.x)},${int(p.y)}`).join(' ');
export function parsePoints(s: unknown): Point[] {
  if (typeof s !== 'string') return [];
  return s
    .trim()
    .split(/\s+/)
    .map((pair) => pair.split(',').map(Number))
    .filter((xy) => xy.length === 2 && xy.every(Number.isFinite))
    .map(([x, y]) => ({ x: x!, y: y! }));
}

/** A tree to lay out: containers (trust boundaries) hold leaves (elements) and other containers. */
export interface LayoutItem {
  id: string;
  shape: NodeShape;
  children?: LayoutItem[];
}

const GAP = 40;
const PAD = 30;
const LABEL = 30;
const ROW_WIDTH = 1400;

/**
 * Positions for a tree of boundaries and elements: each container packs its children in rows
 * (elements first, then nested containers), sized to fit; the roots are packed the same way.
 * Returns absolute boxes by id.
 */
export function layout(roots: readonly LayoutItem[]): Map<string, Box> {
  const sizes = new Map<string, { width: number; height: number }>();
  const offsets = new Map<string, Point>();
  const pack = (items: readonly LayoutItem[], maxWidth: number) => {
    let x = 0;
    let y = 0;
    let rowH = 0;
    let width = 0;
    for (const it of items) {
      const s = sizes.get(it.id)!;
      if (x > 0 && x + s.width > maxWidth) {
        x = 0;
        y += rowH + GAP;
        rowH = 0;
      }
      offsets.set(it.id, { x, y });
      x += s.width + GAP;
      rowH = Math.max(rowH, s.height);
      width = Math.max(width, x - GAP);
    }
    return { width, height: y + rowH };
  };
  const order = (items: readonly LayoutItem[]) => [...items.filter((i) => !i.children), ...items.filter((i) => i.children)];
  const measure = (it: LayoutItem): void => {
    if (!it.children) {
      sizes.set(it.id, DEFAULT_SIZE[it.shape]);
      return;
    }
    it.children.forEach(measure);
    const kids = order(it.children);
    const inner = pack(kids, ROW_WIDTH);
    sizes.set(it.id, { width: Math.max(200, inner.width + 2 * PAD), height: Math.max(120, inner.height + LABEL + 2 * PAD) });
  };
  roots.forEach(measure);
  pack(order(roots), ROW_WIDTH * 1.5);
  const out = new Map<string, Box>();
  const place = (items: readonly LayoutItem[], origin: Point) => {
    for (const it of items) {
      const o = offsets.get(it.id)!;
      const s = sizes.get(it.id)!;
      const box = { x: origin.x + o.x, y: origin.y + o.y, width: s.width, height: s.height };
      out.set(it.id, box);
      if (it.children) place(it.children, { x: box.x + PAD, y: box.y + LABEL + PAD });
    }
  };
  place(roots, { x: 40, y: 40 });
  return out;
}
