// What the presenter points at, drawn over the canvas of everyone else: the cursor with the
// presenter's name, and boxes around the cells the presenter selected.
import type { Graph } from '@antv/x6';

export function PresenterOverlay({ graph, cursor, name, selection }: { graph: Graph; cursor?: { x: number; y: number }; name: string; selection: string[] }) {
  return (
    <>
      {cursor && <PresenterCursor graph={graph} pos={cursor} name={name} />}
      {selection.map((id) => {
        const cell = graph.getCellById(id);
        if (!cell) return null;
        const box = graph.localToGraph(cell.getBBox());
        return <div key={id} className="remote-selection" style={{ left: box.x - 4, top: box.y - 4, width: box.width + 8, height: box.height + 8 }} />;
      })}
    </>
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
