// Keeps the canvas and the diagram elsewhere in step. Local edits are found by diffing a snapshot of
// the graph against the last synchronised one (the baseline) and published in small batches;
// changes from elsewhere are applied to the graph as remote changes (neither re-sent nor put in
// local undo) and become the new baseline. Every change goes through the pure mapping in cells.ts.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Graph } from '@antv/x6';
import { diff, fromApiCell, snapshot, type ApiCell, type CellOp, type Snapshot } from './cells.ts';
import { applyOperations, graphSnapshot } from './graph.ts';

/** Edits made within this time go out together. */
const SYNC_DELAY_MS = 60;

/**
 * Sends local operations (with the whole drawing, for a save over REST); false when they cannot go
 * anywhere now (the canvas is locked), so they stay pending.
 */
export type Publish = (ops: CellOp[], cells: ApiCell[]) => boolean;

export function useCellSync(graph: Graph | undefined, savedCells: ApiCell[], writable: boolean, publish: Publish) {
  const baseline = useRef<Snapshot>(new Map());
  const applyingRemote = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const latest = useRef({ graph, writable, publish });
  latest.current = { graph, writable, publish };
  // Re-renders the editor after every change, for the states of its buttons.
  const [, setVersion] = useState(0);

  const flush = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = undefined;
    const { graph, writable, publish } = latest.current;
    if (!graph || !writable) return;
    const now = graphSnapshot(graph);
    const ops = diff(baseline.current, now);
    if (ops.length && publish(ops, [...now.values()])) baseline.current = now;
  }, []);

  /** Applies operations that did not come from this user, then re-baselines. */
  const apply = useCallback((ops: CellOp[]) => {
    const graph = latest.current.graph;
    if (!graph) return;
    if (ops.length) {
      applyingRemote.current = true;
      try {
        applyOperations(graph, ops);
      } finally {
        applyingRemote.current = false;
      }
    }
    baseline.current = graphSnapshot(graph);
    setVersion((v) => v + 1);
  }, []);

  /** Operations of someone else; our pending edits go first. */
  const applyRemote = useCallback(
    (ops: CellOp[]) => {
      if (timer.current) flush();
      apply(ops);
    },
    [flush, apply],
  );

  /**
   * A full state (the saved diagram, diagram_state on join or resync), applied as the difference
   * from what the canvas shows, so an unchanged diagram is not redrawn and the selection survives.
   */
  const loadCells = useCallback(
    (cells: ApiCell[]) => {
      const graph = latest.current.graph;
      if (!graph) return;
      const target = snapshot(cells.map((c) => fromApiCell(c)).filter((c): c is Record<string, unknown> => !!c));
      apply(diff(graphSnapshot(graph), target));
    },
    [apply],
  );

  useEffect(() => {
    if (!graph) return;
    const changed = () => {
      if (applyingRemote.current) return;
      timer.current ??= setTimeout(flush, SYNC_DELAY_MS);
      setVersion((v) => v + 1);
    };
    graph.on('cell:added', changed);
    graph.on('cell:removed', changed);
    graph.on('cell:changed', changed);
    graph.on('node:embedded', changed);
    return () => {
      graph.off('cell:added', changed);
      graph.off('cell:removed', changed);
      graph.off('cell:changed', changed);
      graph.off('node:embedded', changed);
      clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [graph, flush]);

  // The saved diagram is where editing, and undo, start.
  useEffect(() => {
    if (!graph) return;
    loadCells(savedCells);
    graph.cleanHistory();
  }, [graph, savedCells, loadCells]);

  return { loadCells, applyRemote };
}
