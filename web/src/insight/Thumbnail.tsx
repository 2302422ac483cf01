// A small vector drawing of a diagram from its cells (no X6 needed), with one cell highlighted:
// boundaries as dashed boxes, nodes as boxes (actors square, processes round, stores with bars),
// flows as lines between node centres.
type Cell = {
  id: string;
  shape?: string;
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  position?: { x: number; y: number };
  size?: { width: number; height: number };
  source?: { cell?: string };
  target?: { cell?: string };
  attrs?: { text?: { text?: string } };
};

const boxOf = (c: Cell) => {
  const x = c.position?.x ?? c.x;
  const y = c.position?.y ?? c.y;
  const w = c.size?.width ?? c.width;
  const h = c.size?.height ?? c.height;
  return x === undefined || y === undefined || w === undefined || h === undefined ? undefined : { x, y, w, h };
};

export function DiagramThumbnail({ cells, highlight, width = 360 }: { cells: readonly object[]; highlight?: string | null; width?: number }) {
  const all = cells as Cell[];
  const nodes = all.map((c) => ({ c, b: boxOf(c) })).filter((n): n is { c: Cell; b: NonNullable<ReturnType<typeof boxOf>> } => !!n.b);
  if (!nodes.length) return <p className="muted small">The diagram is empty.</p>;
  const minX = Math.min(...nodes.map((n) => n.b.x)) - 20;
  const minY = Math.min(...nodes.map((n) => n.b.y)) - 20;
  const maxX = Math.max(...nodes.map((n) => n.b.x + n.b.w)) + 20;
  const maxY = Math.max(...nodes.map((n) => n.b.y + n.b.h)) + 20;
  const byId = new Map(nodes.map((n) => [n.c.id, n.b]));
  const centre = (id?: string) => {
    const b = id ? byId.get(id) : undefined;
    return b ? { x: b.x + b.w / 2, y: b.y + b.h / 2 } : undefined;
  };
  const hl = (highlight ?? '').toLowerCase();
  return (
    <svg className="thumbnail" data-testid="thumbnail" viewBox={`${minX} ${minY} ${maxX - minX} ${maxY - minY}`} width={width} role="img" aria-label="Diagram thumbnail">
      {nodes
        .filter((n) => n.c.shape === 'security-boundary')
        .map(({ c, b }) => (
          <rect key={c.id} x={b.x} y={b.y} width={b.w} height={b.h} fill="none" stroke={c.id.toLowerCase() === hl ? '#e8590c' : '#999'} strokeDasharray="8 6" strokeWidth={c.id.toLowerCase() === hl ? 6 : 2} />
        ))}
      {all
        .filter((c) => c.shape === 'flow')
        .map((c) => {
          const a = centre(c.source?.cell);
          const z = centre(c.target?.cell);
          if (!a || !z) return null;
          const on = c.id.toLowerCase() === hl;
          return <line key={c.id} data-highlighted={on || undefined} x1={a.x} y1={a.y} x2={z.x} y2={z.y} stroke={on ? '#e8590c' : '#555'} strokeWidth={on ? 8 : 2} />;
        })}
      {nodes
        .filter((n) => n.c.shape !== 'security-boundary' && n.c.shape !== 'text-box')
        .map(({ c, b }) => {
          const on = c.id.toLowerCase() === hl;
          return (
            <g key={c.id} data-highlighted={on || undefined}>
              <rect x={b.x} y={b.y} width={b.w} height={b.h} rx={c.shape === 'process' ? Math.min(b.w, b.h) / 2 : 2} fill={on ? '#ffe8d9' : '#fff'} stroke={on ? '#e8590c' : '#333'} strokeWidth={on ? 6 : 2} />
              <text x={b.x + b.w / 2} y={b.y + b.h / 2} textAnchor="middle" dominantBaseline="middle" fontSize={Math.max(12, b.h / 4)}>
                {(c.attrs?.text?.text ?? '').slice(0, 24)}
              </text>
            </g>
          );
        })}
    </svg>
  );
}
