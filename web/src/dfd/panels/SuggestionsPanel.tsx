// Threats the rules suggest for this diagram (server: GET /threat_models/{id}/suggestions): the
// selected cell's, or all of the diagram's when nothing is selected. Accept creates the threat,
// linked to the cell; dismiss is remembered by the server for the model.
import { useState } from 'react';
import type { Suggestion } from '../../api/suggestions.ts';
import { ErrorNote } from '../../ui.tsx';

interface Props {
  items: Suggestion[] | undefined;
  error: unknown;
  selectedCellId: string | undefined;
  writable: boolean;
  onAccept: (s: Suggestion) => Promise<void>;
  onDismiss: (s: Suggestion) => Promise<void>;
  onRefresh: () => void;
  onSelectCell: (cellId: string) => void;
}

export function SuggestionsPanel({ items, error, selectedCellId, writable, onAccept, onDismiss, onRefresh, onSelectCell }: Props) {
  const [busy, setBusy] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  const shown = items?.filter((s) => !selectedCellId || s.cell_id === selectedCellId);
  const act = async (s: Suggestion, fn: (s: Suggestion) => Promise<void>) => {
    setBusy(s.id);
    setActionError(undefined);
    try {
      await fn(s);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <section className="panel suggestions" data-testid="suggestions">
      <h3>
        Suggested threats ({shown?.length ?? '…'}){selectedCellId ? ' for this item' : ''}{' '}
        <button className="link small" onClick={onRefresh} title="Run the rules again over the saved diagram">
          Refresh
        </button>
      </h3>
      <ErrorNote error={error ?? actionError} onClose={() => setActionError(undefined)} />
      {shown && shown.length === 0 && <p className="muted small">No open suggestions{selectedCellId ? ' for this item' : ''}.</p>}
      <ul className="suggestion-list">
        {shown?.map((s) => (
          <li key={s.id} data-testid="suggestion" data-suggestion-id={s.id}>
            <div>
              <span className={`sev sev-${s.severity}`}>{s.severity}</span> <strong>{s.threat.name}</strong>
            </div>
            {!selectedCellId && (
              <button className="link small" onClick={() => onSelectCell(s.cell_id)}>
                {s.cell_kind} “{s.cell_name || '(unnamed)'}”
              </button>
            )}
            <details>
              <summary className="small">Why and what to do</summary>
              <p className="small">{s.threat.description}</p>
              <p className="small">
                <strong>Mitigation:</strong> {s.threat.mitigation}
              </p>
              <p className="small muted">
                {s.rule_id} · {[...s.tags, ...s.cwe].join(' ')}
              </p>
            </details>
            {writable && (
              <div className="row-actions">
                <button disabled={busy === s.id} onClick={() => act(s, onAccept)}>
                  Accept
                </button>
                <button disabled={busy === s.id} className="secondary" onClick={() => act(s, onDismiss)}>
                  Dismiss
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** A count on each cell that has open suggestions, drawn over the canvas. */
export function SuggestionBadges({ graph, counts, onClick }: { graph: import('@antv/x6').Graph; counts: Map<string, number>; onClick: (cellId: string) => void }) {
  return (
    <>
      {[...counts].map(([id, n]) => {
        const cell = graph.getCellById(id);
        if (!cell) return null;
        const box = graph.localToGraph(cell.getBBox());
        // Nodes: the top right corner; flows: above the middle of the line (clear of its label).
        const at = cell.isEdge() ? { left: box.x + box.width / 2 + 12, top: box.y + box.height / 2 - 24 } : { left: box.x + box.width - 10, top: box.y - 10 };
        return (
          <button
            key={id}
            className="suggestion-badge"
            data-testid="suggestion-badge"
            data-cell-id={id}
            title={`${n} suggested threat${n === 1 ? '' : 's'}`}
            style={at}
            onClick={() => onClick(id)}
          >
            {n}
          </button>
        );
      })}
    </>
  );
}
