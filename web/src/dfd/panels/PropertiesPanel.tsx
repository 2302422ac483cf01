// The selected cell: its kind, label (editable) and id, and the threats linked to it, with the
// threat form to add one.
import { useCallback, useEffect, useState } from 'react';
import type { Cell, Edge } from '@antv/x6';
import { DIAGRAM_TEXT } from '../../../../contract/limits.ts';
import type { ThreatModel } from '../../../../contract/threat-models.ts';
import type { Threat } from '../../../../contract/threats.ts';
import { threats as threatsApi } from '../../api/threats.ts';
import { TextInput } from '../../forms.tsx';
import { ThreatForm } from '../../pages/ThreatForm.tsx';
import { ErrorNote } from '../../ui.tsx';
import { cleanLabel, isEdge, labelOf } from '../cells.ts';

export function PropertiesPanel({ tm, diagramId, cells, editable, writable, threatsChanged = 0 }: { tm: ThreatModel; diagramId: string; cells: Cell[]; editable: boolean; writable: boolean; threatsChanged?: number }) {
  if (cells.length === 0) return <section className="panel muted">Select a shape or a flow to see its properties and threats.</section>;
  if (cells.length > 1) return <section className="panel">{cells.length} items selected.</section>;
  return <CellProperties key={cells[0]!.id} tm={tm} diagramId={diagramId} cell={cells[0]!} editable={editable} writable={writable} threatsChanged={threatsChanged} />;
}

function CellProperties({ tm, diagramId, cell, editable, writable, threatsChanged }: { tm: ThreatModel; diagramId: string; cell: Cell; editable: boolean; writable: boolean; threatsChanged: number }) {
  const json = cell.toJSON() as Record<string, unknown>;
  const [label, setLabel] = useState(labelOf(json));
  const [threats, setThreats] = useState<Threat[]>();
  const [adding, setAdding] = useState(false);
  const [error, setError] = useState<unknown>();
  const loadThreats = useCallback(() => {
    threatsApi
      .list(tm.id)
      .then((all) => setThreats(all.filter((t) => t.cell_id === cell.id)))
      .catch((err: unknown) => setError(err));
  }, [tm.id, cell.id]);
  useEffect(loadThreats, [loadThreats, threatsChanged]);

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
        <TextInput name="cell_label" value={label} rule={DIAGRAM_TEXT.label} disabled={!editable} onChange={setCellLabel} />
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
