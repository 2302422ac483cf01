// A diagram drawn from its cell model, without a browser: the X6 cells (nodes with their geometry,
// flows between them) become a list of vector primitives in the diagram's own coordinates, which
// the SVG writer (HTML, Markdown) and the PDF writer both draw. Pure and deterministic.
import type { CellJson } from '../../../contract/diagrams.ts';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Primitive =
  | { type: 'boundary'; box: Box; label: string }
  | { type: 'actor' | 'process' | 'store' | 'text'; box: Box; label: string; highlight?: boolean }
  | { type: 'flow'; points: { x: number; y: number }[]; label: string; labelAt: { x: number; y: number } };

export interface Scene {
  /** The drawing's extent, with a margin. */
  bounds: Box;
  /** In drawing order: boundaries (outermost first), flows, then nodes on top. */
  items: Primitive[];
}

type Obj = Record<string, unknown>;
const num = (v: unknown, d = 0) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** A node's box from flat (x, y, width, height) or nested (position, size) geometry. */
export function boxOf(c: CellJson): Box {
  const pos = (c.position ?? {}) as Obj;
  const size = (c.size ?? {}) as Obj;
  return {
    x: num(c.x, num(pos.x)),
    y: num(c.y, num(pos.y)),
    width: Math.max(1, num(c.width, num(size.width, 120))),
    height: Math.max(1, num(c.height, num(size.height, 60))),
  };
}

export function nodeLabel(c: CellJson): string {
  const attrs = (c.attrs ?? {}) as { text?: { text?: unknown } };
  return typeof attrs.text?.text === 'string' ? oneLine(attrs.text.text) : '';
}

export function flowLabel(c: CellJson): string {
  for (const l of (c.labels as Obj[] | undefined) ?? []) {
    const attrs = (l.attrs ?? {}) as { text?: { text?: unknown }; label?: { text?: unknown } };
    const t = attrs.text?.text ?? attrs.label?.text;
    if (typeof t === 'string' && t.trim()) return oneLine(t);
  }
  return '';
}

const center = (b: Box) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

/** Where the segment from the centre of `b` towards `toward` leaves the node's outline. */
function exitPoint(b: Box, shape: string, toward: { x: number; y: number }) {
  const c = center(b);
  const dx = toward.x - c.x;
  const dy = toward.y - c.y;
  if (dx === 0 && dy === 0) return c;
  const rx = b.width / 2;
  const ry = b.height / 2;
  let t: number;
  if (shape === 'process') t = 1 / Math.sqrt((dx * dx) / (rx * rx) + (dy * dy) / (ry * ry));
  else t = Math.min(dx === 0 ? Infinity : rx / Math.abs(dx), dy === 0 ? Infinity : ry / Math.abs(dy));
  return { x: c.x + dx * t, y: c.y + dy * t };
}

const round = (n: number) => Math.round(n * 100) / 100;

/** The scene of a diagram's cells; `highlight` marks one cell (a threat's). */
export function sceneOf(cells: readonly CellJson[], highlight?: string): Scene {
  const nodes = new Map<string, { cell: CellJson; box: Box }>();
  for (const c of cells) if (c.shape !== 'flow') nodes.set(c.id, { cell: c, box: boxOf(c) });
  const depth = (c: CellJson): number => {
    let d = 0;
    let p = c.parent;
    const seen = new Set<string>();
    while (typeof p === 'string' && nodes.has(p) && !seen.has(p) && d < 64) {
      seen.add(p);
      d++;
      p = nodes.get(p)!.cell.parent;
    }
    return d;
  };
  const boundaries: Primitive[] = [...nodes.values()]
    .filter((n) => n.cell.shape === 'security-boundary')
    .map((n) => ({ n, d: depth(n.cell) }))
    .sort((a, b) => a.d - b.d || (a.n.cell.id < b.n.cell.id ? -1 : 1))
    .map(({ n }) => ({ type: 'boundary' as const, box: n.box, label: nodeLabel(n.cell) }));
  const flows: Primitive[] = [];
  for (const c of cells) {
    if (c.shape !== 'flow') continue;
    const s = nodes.get(((c.source ?? {}) as Obj).cell as string);
    const t = nodes.get(((c.target ?? {}) as Obj).cell as string);
    if (!s || !t) continue;
    const vertices = ((c.vertices as Obj[] | undefined) ?? []).map((v) => ({ x: num(v.x), y: num(v.y) }));
    const first = vertices[0] ?? center(t.box);
    const last = vertices[vertices.length - 1] ?? center(s.box);
    const points = [exitPoint(s.box, s.cell.shape, first), ...vertices, exitPoint(t.box, t.cell.shape, last)].map((p) => ({ x: round(p.x), y: round(p.y) }));
    const mid = Math.floor((points.length - 1) / 2);
    const a = points[mid]!;
    const b = points[mid + 1] ?? a;
    flows.push({ type: 'flow', points, label: flowLabel(c), labelAt: { x: round((a.x + b.x) / 2), y: round((a.y + b.y) / 2) } });
  }
  const others: Primitive[] = [];
  for (const c of cells) {
    if (c.shape === 'flow' || c.shape === 'security-boundary') continue;
    const n = nodes.get(c.id)!;
    const type = c.shape === 'actor' || c.shape === 'process' || c.shape === 'store' ? c.shape : 'text';
    others.push({ type, box: n.box, label: nodeLabel(c), ...(highlight && c.id === highlight ? { highlight: true } : {}) });
  }
  const items = [...boundaries, ...flows, ...others];
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const extend = (x: number, y: number) => {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  };
  for (const it of items) {
    if (it.type === 'flow') for (const p of it.points) extend(p.x, p.y);
    else {
      extend(it.box.x, it.box.y);
      extend(it.box.x + it.box.width, it.box.y + it.box.height);
    }
  }
  if (!items.length) return { bounds: { x: 0, y: 0, width: 200, height: 80 }, items };
  const m = 20;
  return { bounds: { x: round(minX - m), y: round(minY - m), width: round(maxX - minX + 2 * m), height: round(maxY - minY + 2 * m) }, items };
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Cuts a label to what fits in `width` at about 0.55 em per character. */
export function fitLabel(label: string, width: number, fontSize: number): string {
  const max = Math.max(3, Math.floor(width / (fontSize * 0.55)));
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

/** The scene as a standalone SVG document (no scripts, no external references). */
export function sceneSvg(scene: Scene, title: string): string {
  const { bounds: b } = scene;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${b.x} ${b.y} ${b.width} ${b.height}" width="${Math.round(b.width)}" height="${Math.round(b.height)}" role="img" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${esc(title)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>',
  ];
  for (const it of scene.items) {
    if (it.type === 'flow') {
      const pts = it.points.map((p) => `${p.x},${p.y}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke="#333" stroke-width="1.5" marker-end="url(#arrow)"/>`);
      if (it.label) out.push(`<text x="${it.labelAt.x}" y="${it.labelAt.y - 4}" font-size="11" text-anchor="middle" fill="#222" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(it.label)}</text>`);
      continue;
    }
    const { x, y, width: w, height: h } = it.box;
    const stroke = 'highlight' in it && it.highlight ? '#d9480f' : '#333';
    const sw = 'highlight' in it && it.highlight ? 3 : 1.5;
    const cx = round(x + w / 2);
    const cy = round(y + h / 2);
    switch (it.type) {
      case 'boundary':
        out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="8" fill="none" stroke="#c92a2a" stroke-width="1.5" stroke-dasharray="6 4"/>`);
        if (it.label) out.push(`<text x="${x + 8}" y="${y + 16}" font-size="12" fill="#c92a2a">${esc(fitLabel(it.label, w - 16, 12))}</text>`);
        continue;
      case 'actor':
        out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="#fff" stroke="${stroke}" stroke-width="${sw}"/>`);
        break;
      case 'process':
        out.push(`<ellipse cx="${cx}" cy="${cy}" rx="${round(w / 2)}" ry="${round(h / 2)}" fill="#fff" stroke="${stroke}" stroke-width="${sw}"/>`);
        break;
      case 'store':
        out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="#fff" stroke="none"/>`);
        out.push(`<line x1="${x}" y1="${y}" x2="${x + w}" y2="${y}" stroke="${stroke}" stroke-width="${sw}"/>`);
        out.push(`<line x1="${x}" y1="${y + h}" x2="${x + w}" y2="${y + h}" stroke="${stroke}" stroke-width="${sw}"/>`);
        break;
      case 'text':
        break;
    }
    if (it.label) out.push(`<text x="${cx}" y="${round(cy + 4)}" font-size="12" text-anchor="middle" fill="#111">${esc(fitLabel(it.label, w - 8, 12))}</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
