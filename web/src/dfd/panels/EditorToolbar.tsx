// The editor's toolbar: the palette of shapes (for writers), editing tools, zoom, grid and export.
import { useState } from 'react';
import type { Graph } from '@antv/x6';
import { NODE_SHAPES, type NodeShape } from '../../../../contract/limits.ts';
import { addShape, exportDrawing, paste, removeSelection } from '../graph.ts';

const SHAPE_LABELS: Record<NodeShape, string> = {
  actor: 'Actor',
  process: 'Process',
  store: 'Store',
  'security-boundary': 'Trust boundary',
  'text-box': 'Text',
};

export function EditorToolbar({ graph, diagramName, writable, editable, hasSelection, clipboardReady, zoom, onCopy }: {
  graph: Graph | undefined;
  diagramName: string;
  /** The user may change this diagram at all (the palette and editing tools show). */
  writable: boolean;
  /** The user may change it right now (the tools are enabled). */
  editable: boolean;
  hasSelection: boolean;
  clipboardReady: boolean;
  zoom: number;
  onCopy: () => void;
}) {
  const [grid, setGrid] = useState(true);
  return (
    <div className="editor-toolbar">
      {writable && (
        <div className="palette" aria-label="Shapes">
          {NODE_SHAPES.map((shape) => (
            <button
              key={shape}
              className={`shape-btn shape-${shape}`}
              disabled={!editable}
              onClick={() => graph && editable && addShape(graph, shape)}
              title={`Add ${SHAPE_LABELS[shape].toLowerCase()}`}
              data-shape={shape}
            >
              {SHAPE_LABELS[shape]}
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
            <button disabled={!hasSelection} onClick={onCopy} title="Copy (Ctrl+C)">
              Copy
            </button>
            <button disabled={!editable || !clipboardReady} onClick={() => graph && paste(graph)} title="Paste (Ctrl+V)">
              Paste
            </button>
            <button disabled={!editable || !hasSelection} onClick={() => graph && removeSelection(graph)} title="Delete (Del)">
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
        <button onClick={() => graph && exportDrawing(graph, diagramName, 'svg')}>Export SVG</button>
        <button onClick={() => graph && exportDrawing(graph, diagramName, 'png')}>Export PNG</button>
      </div>
    </div>
  );
}
