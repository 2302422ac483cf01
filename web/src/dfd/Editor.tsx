// The data-flow diagram editor: X6 canvas, palette, toolbar, properties panel with the selected
// cell's threats, and live collaboration. Every change, local or remote, goes through the pure
// mapping in cells.ts: local edits are found by diffing graph snapshots; remote operations are
// applied to the graph with the `remote` flag so they are neither re-sent nor put in local undo.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Clipboard, Export, Graph, History, Keyboard, Selection, Snapline, Transform, type Cell, type Edge, type Node } from '@antv/x6';
import { api } from '../api/client.ts';
import type { Diagram, Me, Threat, ThreatModel, User } from '../api/types.ts';
import { ErrorNote } from '../ui.tsx';
import { ThreatForm } from '../pages/ThreatForm.tsx';
import { cleanLabel, diff, fromApiCell, isEdge, labelOf, newId, newNode, snapshot, type ApiCell, type CellOp, type NodeShape, type Snapshot } from './cells.ts';
import { CollabClient, sameUser, type CollabStatus, type Participant } from './collab.ts';
import { registerShapes } from './shapes.ts';

const PALETTE: { shape: NodeShape; label: string }[] = [
  { shape: 'actor', label: 'Actor' },
  { shape: 'process', label: 'Process' },
  { shape: 'store', label: 'Store' },
  { shape: 'security-boundary', label: 'Trust boundary' },
  { shape: 'text-box', label: 'Text' },
];
const SYNC_DELAY_MS = 60;
const REMOTE = { remote: true };
/** localStorage key that makes the editor expose its graph as `window.__tmiGraph` (browser tests). */
const TEST_HOOKS_KEY = 'tmi.testHooks';

interface Props {
  tm: ThreatModel;
  diagram: Diagram;
  writable: boolean;
  me: Me;
}

type Mode = { kind: 'collab'; status: CollabStatus; detail?: string } | { kind: 'rest'; saving: boolean };

export function Editor({ tm, diagram, writable, me }: Props) {
  const hostRef = useRef<HTMLDivElement>(null);
  const graphRef = useRef<Graph>(undefined);
  const collabRef = useRef<CollabClient>(undefined);
  const baseline = useRef<Snapshot>(new Map());
  const applyingRemote = useRef(false);
  const syncTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const restSave = useRef<(cells: ApiCell[]) => void>(() => {});
  const canEditNow = useRef(false);

  const [mode, setMode] = useState<Mode>({ kind: 'collab', status: 'connecting' });
  const [selected, setSelected] = useState<Cell[]>([]);
  const [participants, setParticipants] = useState<Participant[]>([]);
  const [host, setHost] = useState<User>();
  const [presenter, setPresenter] = useState<User | null>(null);
  const [presenting, setPresenting] = useState(false);
  const [cursor, setCursor] = useState<{ x: number; y: number }>();
  const [presenterSelection, setPresenterSelection] = useState<string[]>([]);
  const [requests, setRequests] = useState<User[]>([]);
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [zoom, setZoom] = useState(1);
  const [grid, setGrid] = useState(true);
  const [, setVersion] = useState(0);
  const [clipboardReady, setClipboardReady] = useState(false);

  const meUser: User = { principal_type: 'user', provider: me.provider, provider_id: me.provider_id, display_name: me.display_name, email: me.email };
  const isPresenter = sameUser(presenter, meUser);
  const editable = writable && (mode.kind === 'rest' || (mode.kind === 'collab' && mode.status === 'live'));
  canEditNow.current = editable;

  // ---- outbound: snapshot diff -> operations ---------------------------------------------
  const flush = useCallback(() => {
    clearTimeout(syncTimer.current);
    syncTimer.current = undefined;
    const graph = graphRef.current;
    if (!graph || !writable) return;
    const now = snapshot(graph.toJSON().cells as Record<string, unknown>[]);
    const ops = diff(baseline.current, now);
    if (!ops.length) return;
    const collab = collabRef.current;
    if (collab?.live) {
      collab.sendOperations(ops);
      baseline.current = now;
    } else if (!collab || mode.kind === 'rest') {
      restSave.current([...now.values()]);
      baseline.current = now;
    }
    // Not live and not in REST mode: the canvas is locked, nothing to send.
  }, [writable, mode.kind]);

  const scheduleSync = useCallback(() => {
    if (applyingRemote.current) return;
    if (!syncTimer.current) syncTimer.current = setTimeout(flush, SYNC_DELAY_MS);
    setVersion((v) => v + 1);
  }, [flush]);

  // ---- inbound: operations -> graph ------------------------------------------------------
  /** Applies operations that did not come from this user (not echoed back as edits), then re-baselines. */
  const applyOps = useCallback((graph: Graph, ops: CellOp[]) => {
    if (ops.length) {
      applyingRemote.current = true;
      try {
        graph.batchUpdate(() => {
          for (const op of ops) applyOne(graph, op);
        }, REMOTE);
      } finally {
        applyingRemote.current = false;
      }
    }
    baseline.current = snapshot(graph.toJSON().cells as Record<string, unknown>[]);
    setVersion((v) => v + 1);
  }, []);

  const applyRemote = useCallback(
    (ops: CellOp[]) => {
      const graph = graphRef.current;
      if (!graph) return;
      if (syncTimer.current) flush(); // our pending edits go first
      applyOps(graph, ops);
    },
    [flush, applyOps],
  );

  // A full state (REST load, diagram_state on join or resync) is applied as the difference from
  // what the canvas shows, so an unchanged diagram is not redrawn and the selection survives.
  const loadCells = useCallback((cells: ApiCell[]) => {
    const graph = graphRef.current;
    if (!graph) return;
    const target = snapshot(cells.map((c) => fromApiCell(c)).filter((c): c is Record<string, unknown> => !!c));
    applyOps(graph, diff(snapshot(graph.toJSON().cells as Record<string, unknown>[]), target));
  }, [applyOps]);

  // ---- graph set-up -----------------------------------------------------------------------
  useEffect(() => {
    registerShapes();
    const container = hostRef.current!;
    const graph = new Graph({
      container,
      autoResize: true,
      grid: { visible: true, size: 10, type: 'dot', args: { color: '#c9ced8' } },
      background: { color: '#ffffff' },
      panning: { enabled: true, modifiers: ['shift'] },
      mousewheel: { enabled: true, modifiers: ['ctrl', 'meta'], minScale: 0.2, maxScale: 3 },
      interacting: () => canEditNow.current,
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
          return this.createEdge({ shape: 'flow', id: newId(), zIndex: 10 });
        },
        validateConnection({ sourceCell, targetCell, targetMagnet }) {
          return !!targetMagnet && !!targetCell && sourceCell !== targetCell;
        },
      },
      embedding: {
        enabled: true,
        findParent({ node }) {
          const box = node.getBBox();
          return this.getNodes().filter((n) => n.shape === 'security-boundary' && n.id !== node.id && n.getBBox().containsRect(box));
        },
      },
      highlighting: {
        magnetAdsorbed: { name: 'stroke', args: { attrs: { fill: '#2d4e8a', stroke: '#2d4e8a' } } },
        embedding: { name: 'stroke', args: { padding: 2, attrs: { stroke: '#b3261e', strokeWidth: 3 } } },
      },
    });
    graph.use(new Selection({ enabled: true, multiple: true, rubberband: true, movable: true, showNodeSelectionBox: true, showEdgeSelectionBox: true, pointerEvents: 'none' }));
    graph.use(new Snapline({ enabled: true }));
    graph.use(new Transform({ resizing: { enabled: (node: Node) => canEditNow.current && !!node, minWidth: 40, minHeight: 30, orthogonal: true } }));
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
    graphRef.current = graph;
    // The browser tests read the graph through this handle; it is only set when they ask for it, so
    // the page does not ship a debugging global to everyone.
    if (localStorage.getItem(TEST_HOOKS_KEY) === '1') (window as unknown as { __tmiGraph?: Graph }).__tmiGraph = graph;

    const kb = (keys: string | string[], fn: () => void) =>
      graph.bindKey(keys, (e) => {
        e.preventDefault();
        fn();
        return false;
      });
    kb(['meta+z', 'ctrl+z'], () => canEditNow.current && graph.undo());
    kb(['meta+shift+z', 'ctrl+shift+z', 'ctrl+y'], () => canEditNow.current && graph.redo());
    kb(['meta+c', 'ctrl+c'], () => copy(graph, setClipboardReady));
    kb(['meta+x', 'ctrl+x'], () => {
      if (!canEditNow.current) return;
      copy(graph, setClipboardReady);
      graph.removeCells(graph.getSelectedCells());
    });
    kb(['meta+v', 'ctrl+v'], () => canEditNow.current && paste(graph));
    kb(['delete', 'backspace'], () => canEditNow.current && graph.removeCells(graph.getSelectedCells()));
    kb(['meta+a', 'ctrl+a'], () => graph.select(graph.getCells()));
    kb(['meta+=', 'ctrl+=', 'meta+plus', 'ctrl+plus'], () => graph.zoom(0.1));
    kb(['meta+-', 'ctrl+-'], () => graph.zoom(-0.1));
    kb('escape', () => graph.cleanSelection());

    const showPorts = (node: Node, show: boolean) => {
      if (!canEditNow.current && show) return;
      container.querySelectorAll<SVGElement>(`g[data-cell-id="${node.id}"] .x6-port-body`).forEach((p) => (p.style.visibility = show ? 'visible' : 'hidden'));
    };
    graph.on('node:mouseenter', ({ node }) => showPorts(node, true));
    graph.on('node:mouseleave', ({ node }) => showPorts(node, false));
    graph.on('selection:changed', ({ selected: cells }) => setSelected([...cells]));
    graph.on('scale', ({ sx }) => setZoom(sx));
    graph.on('edge:connected', ({ edge, isNew }) => {
      if (isNew) {
        graph.cleanSelection();
        graph.select(edge);
      }
    });
    graph.on('cell:added', scheduleSync);
    graph.on('cell:removed', scheduleSync);
    graph.on('cell:changed', scheduleSync);
    graph.on('node:embedded', scheduleSync);
    return () => {
      clearTimeout(syncTimer.current);
      graph.dispose();
      graphRef.current = undefined;
    };
    // The graph lives as long as the editor; handlers read refs.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Keep the graph's listeners pointing at the current sync function.
  useEffect(() => {
    const graph = graphRef.current;
    if (!graph) return;
    graph.off('cell:added').off('cell:removed').off('cell:changed').off('node:embedded');
    graph.on('cell:added', scheduleSync);
    graph.on('cell:removed', scheduleSync);
    graph.on('cell:changed', scheduleSync);
    graph.on('node:embedded', scheduleSync);
  }, [scheduleSync]);

  // ---- loading, collaboration and the REST fallback ---------------------------------------
  useEffect(() => {
    loadCells(diagram.cells ?? []);
    graphRef.current?.cleanHistory();
    let saving: Promise<unknown> = Promise.resolve();
    restSave.current = (cells) => {
      setMode({ kind: 'rest', saving: true });
      saving = saving
        .then(() => api.patch(`/threat_models/${tm.id}/diagrams/${diagram.id}`, [{ op: 'replace', path: '/cells', value: cells }]))
        .then(() => setMode({ kind: 'rest', saving: false }))
        .catch((err: unknown) => {
          setError(err);
          setMode({ kind: 'rest', saving: false });
        });
    };
    const collab = new CollabClient(tm.id, diagram.id, writable, {
      onStatus: (status, detail) => {
        if (status === 'unavailable') {
          // No live session to join (or no collaboration on this server): edit over REST.
          collabRef.current = undefined;
          setMode({ kind: 'rest', saving: false });
          return;
        }
        setMode({ kind: 'collab', status, detail });
      },
      onState: (cells) => loadCells(cells),
      onOperation: (ops) => applyRemote(ops),
      onParticipants: (p, h, pr) => {
        setParticipants(p);
        setHost(h);
        setPresenter(pr);
      },
      onCursor: (pos) => setCursor(pos),
      onSelection: (ids) => setPresenterSelection(ids),
      onPresenterRequest: (user) => setRequests((r) => [...r.filter((x) => !sameUser(x, user)), user]),
      onNotice: (text) => setNotice(text),
      onRejected: (text) => setNotice(text),
    });
    collabRef.current = collab;
    void collab.start();
    return () => collab.stop();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tm.id, diagram.id]);

  // ---- presenter: cursor and selection ----------------------------------------------------
  useEffect(() => {
    const graph = graphRef.current;
    const collab = collabRef.current;
    if (!graph || !collab || !presenting || !isPresenter) return;
    let last = 0;
    const onMove = (e: MouseEvent) => {
      if (Date.now() - last < 50) return;
      last = Date.now();
      collab.cursor(graph.clientToLocal(e.clientX, e.clientY));
    };
    const onSel = () => collab.selection(graph.getSelectedCells().map((c) => c.id));
    hostRef.current!.addEventListener('mousemove', onMove);
    graph.on('selection:changed', onSel);
    onSel();
    return () => {
      hostRef.current?.removeEventListener('mousemove', onMove);
      graph.off('selection:changed', onSel);
      collab.selection([]);
    };
  }, [presenting, isPresenter]);
  useEffect(() => {
    if (!cursor) return;
    const t = setTimeout(() => setCursor(undefined), 2000);
    return () => clearTimeout(t);
  }, [cursor]);

  // ---- actions ------------------------------------------------------------------------------
  const graph = graphRef.current;
  const addShape = (shape: NodeShape) => {
    if (!graph || !editable) return;
    const area = graph.getGraphArea();
    // Spread new shapes over a grid in view so they do not land on each other; boundaries go in the middle.
    const n = graph.getNodes().filter((c) => c.shape !== 'security-boundary').length;
    const at =
      shape === 'security-boundary'
        ? { x: area.x + area.width / 2, y: area.y + area.height / 2 }
        : { x: area.x + 110 + (n % 4) * 190, y: area.y + 70 + (Math.floor(n / 4) % 4) * 120 };
    const node = graph.addNode(newNode(shape, at) as never);
    graph.cleanSelection();
    graph.select(node);
  };
  const exportAs = (kind: 'svg' | 'png') => {
    if (!graph) return;
    const name = diagram.name.replace(/[^A-Za-z0-9._-]+/g, '_') || 'diagram';
    graph.cleanSelection();
    if (kind === 'svg') graph.exportSVG(`${name}.svg`, { preserveDimensions: true, copyStyles: false });
    else graph.exportPNG(`${name}.png`, { padding: 20, backgroundColor: '#ffffff', copyStyles: false });
  };

  const status = statusText(mode, writable);
  return (
    <div className="editor" data-testid="dfd-editor" data-mode={mode.kind} data-status={mode.kind === 'collab' ? mode.status : 'rest'}>
      <div className="editor-toolbar">
        {writable && (
          <div className="palette" aria-label="Shapes">
            {PALETTE.map((p) => (
              <button key={p.shape} className={`shape-btn shape-${p.shape}`} disabled={!editable} onClick={() => addShape(p.shape)} title={`Add ${p.label.toLowerCase()}`} data-shape={p.shape}>
                {p.label}
              </button>
            ))}
          </div>
        )}
        <div className="tools">
          {writable && (
            <>
              <button disabled={!editable || !graph?.canUndo()} onClick={() => graph?.undo()} title="Undo (Ctrl+Z)">
                Undo
              </button>
              <button disabled={!editable || !graph?.canRedo()} onClick={() => graph?.redo()} title="Redo (Ctrl+Shift+Z)">
                Redo
              </button>
              <button disabled={!selected.length} onClick={() => graph && copy(graph, setClipboardReady)} title="Copy (Ctrl+C)">
                Copy
              </button>
              <button disabled={!editable || !clipboardReady} onClick={() => graph && paste(graph)} title="Paste (Ctrl+V)">
                Paste
              </button>
              <button disabled={!editable || !selected.length} onClick={() => graph?.removeCells(graph.getSelectedCells())} title="Delete (Del)">
                Delete
              </button>
            </>
          )}
          <button onClick={() => graph?.zoom(-0.1)} title="Zoom out (Ctrl+-)">
            −
          </button>
          <span className="zoom">{Math.round(zoom * 100)}%</span>
          <button onClick={() => graph?.zoom(0.1)} title="Zoom in (Ctrl+=)">
            +
          </button>
          <button onClick={() => graph?.zoomToFit({ padding: 40, maxScale: 1.5 })} title="Fit the diagram in view">
            Fit
          </button>
          <label className="inline">
            <input
              type="checkbox"
              checked={grid}
              onChange={(e) => {
                setGrid(e.target.checked);
                if (e.target.checked) graph?.showGrid();
                else graph?.hideGrid();
              }}
            />{' '}
            Grid
          </label>
          <button onClick={() => exportAs('svg')}>Export SVG</button>
          <button onClick={() => exportAs('png')}>Export PNG</button>
        </div>
      </div>
      <div className={`editor-status ${mode.kind === 'collab' ? mode.status : 'rest'}`} role="status" data-testid="collab-status">
        {status}
        {!writable && <strong> Read-only: you can view this diagram but not change it.</strong>}
      </div>
      <ErrorNote error={error} onClose={() => setError(undefined)} />
      {notice && (
        <div className="notice" role="status">
          {notice}{' '}
          <button className="link" onClick={() => setNotice(undefined)}>
            ×
          </button>
        </div>
      )}
      <div className="editor-body">
        <div className="canvas-wrap">
          <div ref={hostRef} className={`canvas${editable ? '' : ' readonly'}`} data-testid="canvas" />
          {cursor && graph && !isPresenter && <PresenterCursor graph={graph} pos={cursor} name={presenter?.display_name ?? 'Presenter'} />}
          {graph && !isPresenter && presenterSelection.length > 0 && <PresenterSelection graph={graph} ids={presenterSelection} />}
        </div>
        <aside className="side">
          {mode.kind === 'collab' && (
            <Participants
              participants={participants}
              host={host}
              presenter={presenter}
              me={meUser}
              presenting={presenting}
              requests={requests}
              onTogglePresenting={() => setPresenting((p) => !p)}
              onRequest={() => {
                collabRef.current?.requestPresenter();
                setNotice('Asked the host to let you present.');
              }}
              onApprove={(u) => {
                collabRef.current?.changePresenter(u);
                setRequests((r) => r.filter((x) => !sameUser(x, u)));
              }}
              onDeny={(u) => {
                collabRef.current?.denyPresenter(u);
                setRequests((r) => r.filter((x) => !sameUser(x, u)));
              }}
              onTakeBack={() => collabRef.current?.changePresenter(meUser)}
            />
          )}
          <Properties tm={tm} diagramId={diagram.id} cells={selected} editable={editable} writable={writable} />
        </aside>
      </div>
      <p className="hint muted">
        Drag from a shape's ports to draw a flow · drop shapes into a trust boundary to embed them · Shift+drag pans · Ctrl+wheel zooms · Ctrl+Z / Ctrl+Shift+Z undo/redo · Del deletes
      </p>
    </div>
  );
}

function statusText(mode: Mode, writable: boolean): string {
  if (mode.kind === 'rest') return mode.saving ? 'Saving…' : writable ? 'Editing alone: changes are saved automatically.' : 'Nobody is editing live; showing the saved diagram.';
  switch (mode.status) {
    case 'connecting':
      return 'Connecting to the live session…';
    case 'live':
      return 'Live: everyone in this session sees changes as they happen.';
    case 'reconnecting':
      return `Connection lost: editing is paused until it is back. ${mode.detail ?? ''}`;
    case 'ended':
      return `The live session ended. ${mode.detail ?? ''}`;
    default:
      return mode.detail ?? '';
  }
}

/** Applies one remote cell operation to the graph (add, whole-cell update, remove). */
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

function copy(graph: Graph, ready: (b: boolean) => void) {
  const cells = graph.getSelectedCells();
  if (!cells.length) return;
  graph.copy(cells, { deep: true });
  ready(true);
}

function paste(graph: Graph) {
  if (graph.isClipboardEmpty()) return;
  // X6 clones pasted cells with fresh v4 UUIDs, which the API requires as cell ids.
  const cells = graph.paste({ offset: 30 });
  graph.cleanSelection();
  graph.select(cells);
}

function Participants(props: {
  participants: Participant[];
  host?: User;
  presenter: User | null;
  me: User;
  presenting: boolean;
  requests: User[];
  onTogglePresenting: () => void;
  onRequest: () => void;
  onApprove: (u: User) => void;
  onDeny: (u: User) => void;
  onTakeBack: () => void;
}) {
  const { participants, host, presenter, me, presenting, requests } = props;
  const iAmHost = sameUser(host, me);
  const iAmPresenter = sameUser(presenter, me);
  return (
    <section className="panel" data-testid="participants">
      <h3>In this session ({participants.length})</h3>
      <ul className="people">
        {participants.map((p) => (
          <li key={`${p.user.provider}:${p.user.provider_id}`}>
            <span className="avatar">{(p.user.display_name || p.user.email || '?')[0]!.toUpperCase()}</span>
            {p.user.display_name || p.user.email}
            {sameUser(p.user, me) && ' (you)'}
            <small className="muted">
              {' '}
              {p.permissions}
              {sameUser(p.user, host) ? ' · host' : ''}
              {sameUser(p.user, presenter) ? ' · presenting' : ''}
            </small>
          </li>
        ))}
      </ul>
      {iAmPresenter ? (
        <label className="inline">
          <input type="checkbox" checked={presenting} onChange={props.onTogglePresenting} /> Show my cursor and selection to everyone
        </label>
      ) : iAmHost ? (
        <button onClick={props.onTakeBack}>Take back presenting</button>
      ) : (
        <button onClick={props.onRequest}>Ask to present</button>
      )}
      {iAmHost &&
        requests.map((u) => (
          <div key={u.provider_id} className="request">
            {u.display_name} asks to present.{' '}
            <button onClick={() => props.onApprove(u)}>Allow</button> <button onClick={() => props.onDeny(u)}>Decline</button>
          </div>
        ))}
    </section>
  );
}

function PresenterCursor({ graph, pos, name }: { graph: Graph; pos: { x: number; y: number }; name: string }) {
  const p = graph.localToGraph(pos.x, pos.y);
  return (
    <div className="remote-cursor" style={{ left: p.x, top: p.y }} data-testid="presenter-cursor">
      <span>{name}</span>
    </div>
  );
}

function PresenterSelection({ graph, ids }: { graph: Graph; ids: string[] }) {
  return (
    <>
      {ids.map((id) => {
        const cell = graph.getCellById(id);
        if (!cell) return null;
        const box = graph.localToGraph(cell.getBBox());
        return <div key={id} className="remote-selection" style={{ left: box.x - 4, top: box.y - 4, width: box.width + 8, height: box.height + 8 }} />;
      })}
    </>
  );
}

function Properties({ tm, diagramId, cells, editable, writable }: { tm: ThreatModel; diagramId: string; cells: Cell[]; editable: boolean; writable: boolean }) {
  if (cells.length === 0) return <section className="panel muted">Select a shape or a flow to see its properties and threats.</section>;
  if (cells.length > 1) return <section className="panel">{cells.length} items selected.</section>;
  return <CellProperties key={cells[0]!.id} tm={tm} diagramId={diagramId} cell={cells[0]!} editable={editable} writable={writable} />;
}

function CellProperties({ tm, diagramId, cell, editable, writable }: { tm: ThreatModel; diagramId: string; cell: Cell; editable: boolean; writable: boolean }) {
  const json = cell.toJSON() as Record<string, unknown>;
  const [label, setLabel] = useState(labelOf(json));
  const [threats, setThreats] = useState<Threat[]>();
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<unknown>();
  const loadThreats = useCallback(() => {
    api
      .get<Threat[] | { threats: Threat[] }>(`/threat_models/${tm.id}/threats?limit=100`)
      .then((d) => setThreats((Array.isArray(d) ? d : d.threats).filter((t) => t.cell_id === cell.id)))
      .catch((err: unknown) => setError(err));
  }, [tm.id, cell.id]);
  useEffect(loadThreats, [loadThreats]);

  const setCellLabel = (text: string) => {
    setLabel(text);
    const clean = cleanLabel(text);
    if (isEdge(json)) (cell as Edge).setLabels(clean ? [{ attrs: { text: { text: clean } } }] : []);
    else cell.setAttrByPath('text/text', clean);
  };
  const kind = isEdge(json) ? 'Flow' : String(json.shape).replace('-', ' ');
  const edgeEnds = isEdge(json) ? ((cell as Edge).getSourceCell()?.getAttrByPath('text/text') as string | undefined) + ' → ' + ((cell as Edge).getTargetCell()?.getAttrByPath('text/text') as string | undefined) : '';
  return (
    <section className="panel" data-testid="properties">
      <h3>{kind[0]!.toUpperCase() + kind.slice(1)}</h3>
      {edgeEnds && <p className="muted">{edgeEnds}</p>}
      <label>
        Label
        <input name="cell_label" value={label} maxLength={256} disabled={!editable} onChange={(e) => setCellLabel(e.target.value)} />
      </label>
      <p className="muted small">Id {cell.id}</p>
      <h3>Threats ({threats?.length ?? '…'})</h3>
      <ErrorNote error={error} onClose={() => setError(undefined)} />
      <ul className="cell-threats" data-testid="cell-threats">
        {threats?.map((t) => (
          <li key={t.id}>
            <span className={`sev sev-${(t.severity ?? '').toLowerCase()}`}>{t.severity}</span> {t.name}
            {t.mitigated && <small className="muted"> · mitigated</small>}
          </li>
        ))}
      </ul>
      {writable && !adding && <button onClick={() => setAdding(true)}>Add threat to this {isEdge(json) ? 'flow' : 'shape'}</button>}
      {adding && (
        <ThreatForm
          tmId={tm.id}
          framework={tm.threat_model_framework}
          fixed={{ diagram_id: diagramId, cell_id: cell.id }}
          writable={writable}
          onCancel={() => setAdding(false)}
          onSaved={() => {
            setAdding(false);
            loadThreats();
          }}
        />
      )}
    </section>
  );
}
