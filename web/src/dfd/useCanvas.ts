// The editor's canvas as React state: the X6 graph (made once per editor), its selection, zoom and
// clipboard.
import { useEffect, useRef, useState, type RefObject } from 'react';
import type { Cell, Graph } from '@antv/x6';
import { copySelection, createGraph } from './graph.ts';

/** localStorage key that makes the editor expose its graph as `window.__tmiGraph` (browser tests). */
const TEST_HOOKS_KEY = 'tmi.testHooks';

/** `editableNow` says whether the user may change the diagram right now; the canvas reads it on every gesture. */
export function useCanvas(editableNow: RefObject<boolean>) {
  const hostRef = useRef<HTMLDivElement>(null);
  const [graph, setGraph] = useState<Graph>();
  const [selected, setSelected] = useState<Cell[]>([]);
  const [zoom, setZoom] = useState(1);
  const [clipboardReady, setClipboardReady] = useState(false);

  useEffect(() => {
    const g = createGraph(hostRef.current!, { canEdit: () => editableNow.current, onCopied: () => setClipboardReady(true) });
    g.on('selection:changed', ({ selected: cells }) => setSelected([...cells]));
    g.on('scale', ({ sx }) => setZoom(sx));
    // The browser tests read the graph through this handle; it is only set when they ask for it, so
    // the page does not ship a debugging global to everyone.
    if (localStorage.getItem(TEST_HOOKS_KEY) === '1') (window as unknown as { __tmiGraph?: Graph }).__tmiGraph = g;
    setGraph(g);
    return () => {
      g.dispose();
      setGraph(undefined);
    };
  }, []);

  const copy = () => {
    if (graph && copySelection(graph)) setClipboardReady(true);
  };
  return { hostRef, graph, selected, zoom, clipboardReady, copy };
}
