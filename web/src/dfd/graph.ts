// The X6 canvas of the editor: its set-up (plugins, connecting and embedding rules, keyboard) and
// the operations the editor performs on it. No React here; the hooks and panels call these.
import { Clipboard, Export, Graph, History, Keyboard, Selection, Snapline, Transform, type Edge, type Node } from '@antv/x6';
import { EDGE_SHAPE, NODE_MIN_SIZE, type NodeShape } from '../../../contract/limits.ts';
import { fromApiCell, isEdge, newId, newNode, snapshot, type CellOp, type Snapshot } from './cells.ts';
import { registerShapes } from './shapes.ts';

/** The option that marks a change as someone else's: it is neither sent back nor put in local undo. */
export const REMOTE = { remote: true };
/** Trust boundaries hold other nodes. */
const BOUNDARY: NodeShape = 'security-boundary';

export interface CanvasRules {
  /** Whether the user may change the diagram right now (read by every handler). */
  canEdit: () => boolean;
  /** Cells were copied to the editor's clipboard. */
  onCopied: () => void;
}

export function createGraph(container: HTMLElement, rules: CanvasRules): Graph {
  registerShapes();
  const graph = new Graph({
    container,
    autoResize: true,
    grid: { visible: true, size: 10, type: 'dot', args: { color: '#c9ced8' } },
    background: { color: '#ffffff' },
    panning: { enabled: true, modifiers: ['shift'] },
    mousewheel: { enabled: true, modifiers: ['ctrl', 'meta'], minScale: 0.2, maxScale: 3 },
    interacting: () => rules.canEdit(),
    connecting: {
      snap: { radius: 24 },
      allowBlank: false,
      allowLoop: false,
      allowNode: false,
      allowEdge: false,
      allowMulti: true,
      allowPort: true,
      highlight: true,
      connector: 'rounded',
      createEdge() {
        return this.createEdge({ shape: EDGE_SHAPE, id: newId(), zIndex: 10 });
      },
      validateConnection({ sourceCell, targetCell, targetMagnet }) {
        return !!targetMagnet && !!targetCell && sourceCell !== targetCell;
      },
    },
    embedding: {
      enabled: true,
      findParent({ node }) {
        const box = node.getBBox();
        return this.getNodes().filter((n) => n.shape === BOUNDARY && n.id !== node.id && n.getBBox().containsRect(box));
      },
    },
    highlighting: {
      magnetAdsorbed: { name: 'stroke', args: { attrs: { fill: '#2d4e8a', stroke: '#2d4e8a' } } },
      embedding: { name: 'stroke', args: { padding: 2, attrs: { stroke: '#b3261e', strokeWidth: 3 } } },
    },
  });
  graph.use(new Selection({ enabled: true, multiple: true, rubberband: true, movable: true, showNodeSelectionBox: true, showEdgeSelectionBox: true, pointerEvents: 'none' }));
  graph.use(new Snapline({ enabled: true }));
  graph.use(new Transform({ resizing: { enabled: (node: Node) => rules.canEdit() && !!node, minWidth: NODE_MIN_SIZE.width, minHeight: NODE_MIN_SIZE.height, orthogonal: true } }));
  graph.use(new Clipboard({ enabled: true, useLocalStorage: false }));
  graph.use(
    new History({
      enabled: true,
      // Remote edits are not ours to undo.
      beforeAddCommand: (_event: unknown, args: unknown) => !(args as { options?: { remote?: boolean } })?.options?.remote,
    }),
  );
  graph.use(new Keyboard({ enabled: true, global: false }));
  graph.use(new Export());

  const key = (keys: string | string[], fn: () => void) =>
    graph.bindKey(keys, (e) => {
      e.preventDefault();
      fn();
      return false;
    });
  const copy = () => copySelection(graph) && rules.onCopied();
  key(['meta+z', 'ctrl+z'], () => rules.canEdit() && graph.undo());
  key(['meta+shift+z', 'ctrl+shift+z', 'ctrl+y'], () => rules.canEdit() && graph.redo());
  key(['meta+c', 'ctrl+c'], copy);
  key(['meta+x', 'ctrl+x'], () => {
    if (!rules.canEdit()) return;
    copy();
    removeSelection(graph);
  });
  key(['meta+v', 'ctrl+v'], () => rules.canEdit() && paste(graph));
  key(['delete', 'backspace'], () => rules.canEdit() && removeSelection(graph));
  key(['meta+a', 'ctrl+a'], () => graph.select(graph.getCells()));
  key(['meta+=', 'ctrl+=', 'meta+plus', 'ctrl+plus'], () => graph.zoom(0.1));
  key(['meta+-', 'ctrl+-'], () => graph.zoom(-0.1));
  key('escape', () => graph.cleanSelection());

  // Ports show on hover, and only to someone who may draw a flow from them.
  const showPorts = (node: Node, show: boolean) => {
    if (!rules.canEdit() && show) return;
    container.querySelectorAll<SVGElement>(`g[data-cell-id="${node.id}"] .x6-port-body`).forEach((p) => (p.style.visibility = show ? 'visible' : 'hidden'));
  };
  graph.on('node:mouseenter', ({ node }) => showPorts(node, true));
  graph.on('node:mouseleave', ({ node }) => showPorts(node, false));
  // A new flow is selected, so its label can be typed straight away.
  graph.on('edge:connected', ({ edge, isNew }) => {
    if (isNew) {
      graph.cleanSelection();
      graph.select(edge);
    }
  });
  return graph;
}

/** The synchronised form of everything on the canvas. */
export const graphSnapshot = (graph: Graph): Snapshot => snapshot(graph.toJSON().cells as Record<string, unknown>[]);

/** Copies the selection to the editor's clipboard; false when nothing is selected. */
export function copySelection(graph: Graph): boolean {
  const cells = graph.getSelectedCells();
  if (!cells.length) return false;
  graph.copy(cells, { deep: true });
  return true;
}

export function paste(graph: Graph): void {
  if (graph.isClipboardEmpty()) return;
  // X6 clones pasted cells with fresh v4 UUIDs, which the API requires as cell ids.
  const cells = graph.paste({ offset: 30 });
  graph.cleanSelection();
  graph.select(cells);
}

export const removeSelection = (graph: Graph) => graph.removeCells(graph.getSelectedCells());

/** Adds a node of the palette in view, selected; boundaries go in the middle, other shapes on a grid so they do not land on each other. */
export function addShape(graph: Graph, shape: NodeShape): void {
  const area = graph.getGraphArea();
  const n = graph.getNodes().filter((c) => c.shape !== BOUNDARY).length;
  const at =
    shape === BOUNDARY
      ? { x: area.x + area.width / 2, y: area.y + area.height / 2 }
      : { x: area.x + 110 + (n % 4) * 190, y: area.y + 70 + (Math.floor(n / 4) % 4) * 120 };
  const node = graph.addNode(newNode(shape, at) as never);
  graph.cleanSelection();
  graph.select(node);
}

/** Downloads the drawing as SVG or PNG, named after the diagram. */
export function exportDrawing(graph: Graph, diagramName: string, kind: 'svg' | 'png'): void {
  const name = diagramName.replace(/[^A-Za-z0-9._-]+/g, '_') || 'diagram';
  graph.cleanSelection();
  if (kind === 'svg') graph.exportSVG(`${name}.svg`, { preserveDimensions: true, copyStyles: false });
  else graph.exportPNG(`${name}.png`, { padding: 20, backgroundColor: '#ffffff', copyStyles: false });
}

/** Applies cell operations from elsewhere (another user, a full state) as remote changes. */
export function applyOperations(graph: Graph, ops: CellOp[]): void {
  graph.batchUpdate(() => {
    for (const op of ops) applyOne(graph, op);
  }, REMOTE);
}

/** Applies one cell operation to the graph (add, whole-cell update, remove). */
function applyOne(graph: Graph, op: CellOp) {
  const existing = graph.getCellById(op.id);
  if (op.operation === 'remove') {
    if (existing) graph.removeCell(existing, REMOTE);
    return;
  }
  const meta = op.data ? fromApiCell(op.data) : undefined;
  if (!meta) return;
  if (!existing) {
    // addCell wants Cell instances; metadata goes through addNode / addEdge.
    if (isEdge(meta)) graph.addEdge(meta as never, REMOTE);
    else graph.addNode(meta as never, REMOTE);
    return;
  }
  if (existing.isEdge()) {
    const e = existing as Edge;
    e.setSource(meta.source as never, REMOTE);
    e.setTarget(meta.target as never, REMOTE);
    e.setVertices((meta.vertices as never) ?? [], REMOTE);
    e.setLabels((meta.labels as never) ?? [], REMOTE);
    if (meta.attrs) e.setAttrs(meta.attrs as never, REMOTE);
    e.setData((meta.data as never) ?? {}, { ...REMOTE, overwrite: true });
    return;
  }
  const n = existing as Node;
  const pos = meta.position as { x: number; y: number };
  const size = meta.size as { width: number; height: number };
  n.setPosition(pos.x, pos.y, REMOTE);
  n.setSize(size.width, size.height, REMOTE);
  if (meta.attrs) n.setAttrs(meta.attrs as never, REMOTE);
  if (typeof meta.angle === 'number') n.rotate(meta.angle, { ...REMOTE, absolute: true });
  const parentId = (meta.parent as string | undefined) ?? undefined;
  if ((n.getParentId() ?? undefined) !== parentId) {
    n.getParent()?.removeChild(n, REMOTE);
    const parent = parentId ? graph.getCellById(parentId) : undefined;
    if (parent) parent.addChild(n, REMOTE);
  }
  n.setData((meta.data as never) ?? {}, { ...REMOTE, overwrite: true });
}
