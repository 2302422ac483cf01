// The open suggestions of one diagram, kept fresh: loaded at start, after accept or dismiss, and a
// moment after the drawing changes (the server evaluates the saved diagram).
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Graph } from '@antv/x6';
import { suggestions as api, type Suggestion } from '../api/suggestions.ts';

const SETTLE_MS = 2500;

export function useSuggestions(tmId: string, diagramId: string, graph: Graph | undefined) {
  const [items, setItems] = useState<Suggestion[]>();
  const [error, setError] = useState<unknown>();
  const [threatsChanged, setThreatsChanged] = useState(0);
  const seq = useRef(0);

  const reload = useCallback(() => {
    const mine = ++seq.current;
    api
      .list(tmId, { diagram_id: diagramId })
      .then((r) => {
        if (mine !== seq.current) return;
        setItems(r.suggestions);
        setError(undefined);
      })
      .catch((err: unknown) => mine === seq.current && setError(err));
  }, [tmId, diagramId]);

  useEffect(reload, [reload]);

  useEffect(() => {
    if (!graph) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(reload, SETTLE_MS);
    };
    const events = ['cell:added', 'cell:removed', 'cell:change:data', 'cell:change:attrs', 'cell:change:labels', 'edge:connected', 'node:change:parent'] as const;
    for (const e of events) graph.on(e, later);
    return () => {
      clearTimeout(timer);
      for (const e of events) graph.off(e, later);
    };
  }, [graph, reload]);

  const accept = async (s: Suggestion) => {
    await api.accept(tmId, s.id);
    setItems((xs) => xs?.filter((x) => x.id !== s.id));
    setThreatsChanged((n) => n + 1);
  };
  const dismiss = async (s: Suggestion) => {
    await api.dismiss(tmId, s.id);
    setItems((xs) => xs?.filter((x) => x.id !== s.id));
  };
  const counts = new Map<string, number>();
  for (const s of items ?? []) counts.set(s.cell_id, (counts.get(s.cell_id) ?? 0) + 1);
  return { items, error, counts, reload, accept, dismiss, threatsChanged };
}

/** Re-renders on pan, zoom and moves, so overlays drawn in graph coordinates follow the canvas. */
export function useViewportTick(graph: Graph | undefined): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!graph) return;
    let frame = 0;
    const bump = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => setTick((t) => t + 1));
    };
    const events = ['translate', 'scale', 'resize', 'node:change:position', 'node:change:size', 'cell:added', 'cell:removed'] as const;
    for (const e of events) graph.on(e, bump);
    return () => {
      cancelAnimationFrame(frame);
      for (const e of events) graph.off(e, bump);
    };
  }, [graph]);
  return tick;
}
