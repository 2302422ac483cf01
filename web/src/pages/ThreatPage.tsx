// One threat on a page of its own (/tm/{id}/threats/{threat}), link-able: every field, its cell
// highlighted in a thumbnail of the diagram, and the scoring tools (CVSS, SSVC, CWE) saved with a
// JSON Patch, plus the threat's own history.
import { useState } from 'react';
import type { DfdDiagram } from '../../../contract/diagrams.ts';
import type { Threat } from '../../../contract/threats.ts';
import { api, url } from '../api/client.ts';
import { diagrams } from '../api/diagrams.ts';
import { threatModels } from '../api/threat-models.ts';
import { threats } from '../api/threats.ts';
import { CvssCalculator, CwePicker, SsvcHelper } from '../insight/Calculators.tsx';
import { DiagramThumbnail } from '../insight/Thumbnail.tsx';
import { ObjectHistory } from '../insight/History.tsx';
import { Markdown } from '../markdown.tsx';
import { may, usePermissions } from '../me.ts';
import { Link } from '../router.tsx';
import { ErrorNote, Spinner, formatDate, useLoad } from '../ui.tsx';

export default function ThreatPage({ tmId, threatId }: { tmId: string; threatId: string }) {
  const { data, error, loading, reload } = useLoad(
    async (signal) => {
      const [tm, threat] = await Promise.all([threatModels.get(tmId, signal), threats.get(tmId, threatId, signal)]);
      const diagram: DfdDiagram | undefined = threat.diagram_id ? await diagrams.get(tmId, threat.diagram_id, signal).catch(() => undefined) : undefined;
      return { tm, threat, diagram };
    },
    [tmId, threatId],
  );
  const { data: permissions } = usePermissions(tmId);
  const [saveError, setSaveError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  if (loading && !data) return <Spinner label="Loading the threat…" />;
  if (!data) return <ErrorNote error={error} />;
  const { tm, threat, diagram } = data;
  const writable = may(permissions, 'write');
  const patch = async (ops: { op: 'replace' | 'add'; path: string; value: unknown }[], what: string) => {
    setSaveError(undefined);
    setSaved(undefined);
    try {
      await api.patch<Threat>(url`/threat_models/${tmId}/threats/${threatId}`, ops);
      setSaved(what);
      reload();
    } catch (err) {
      setSaveError(err);
    }
  };
  const cell = diagram?.cells.find((c) => (c as { id: string }).id.toLowerCase() === (threat.cell_id ?? '').toLowerCase()) as { shape?: string; attrs?: { text?: { text?: string } } } | undefined;
  return (
    <section className="threat-page" data-testid="threat-page">
      <p className="crumbs">
        <Link to="/">Threat models</Link> / <Link to={`/tm/${tmId}#threats`}>{tm.name}</Link> / {threat.name}
      </p>
      <h2>
        {threat.name} <span className={`sev sev-${(threat.severity ?? '').toLowerCase()}`}>{threat.severity}</span>
      </h2>
      <ErrorNote error={saveError} onClose={() => setSaveError(undefined)} />
      {saved && (
        <p className="notice" role="status">
          Saved {saved}.
        </p>
      )}
      <div className="split">
        <div>
          <dl className="fields">
            <dt>Status</dt>
            <dd>{threat.status ?? '—'}</dd>
            <dt>Priority</dt>
            <dd>{threat.priority ?? '—'}</dd>
            <dt>Types</dt>
            <dd>{threat.threat_type.join(', ') || '—'}</dd>
            <dt>Mitigated</dt>
            <dd>{threat.mitigated ? 'yes' : 'no'}</dd>
            <dt>Score</dt>
            <dd>{threat.score ?? '—'}</dd>
            <dt>CVSS</dt>
            <dd data-testid="threat-cvss">{(threat.cvss ?? []).map((c) => `${c.vector} (${c.score})`).join('; ') || '—'}</dd>
            <dt>SSVC</dt>
            <dd data-testid="threat-ssvc">{threat.ssvc ? `${threat.ssvc.decision} · ${threat.ssvc.methodology} · ${threat.ssvc.vector}` : '—'}</dd>
            <dt>Issue</dt>
            <dd>{threat.issue_uri ? <a href={threat.issue_uri}>{threat.issue_uri}</a> : '—'}</dd>
            <dt>Changed</dt>
            <dd>{formatDate(threat.modified_at)}</dd>
          </dl>
          <h3>Description</h3>
          {threat.description ? <Markdown source={threat.description} /> : <p className="muted">—</p>}
          <h3>Mitigation</h3>
          {threat.mitigation ? <Markdown source={threat.mitigation} /> : <p className="muted">None yet.</p>}
        </div>
        <div>
          <h3>Where</h3>
          {diagram ? (
            <>
              <p>
                <Link to={`/tm/${tmId}/dfd/${diagram.id}`}>{diagram.name}</Link>
                {cell && (
                  <>
                    {' '}
                    · {cell.shape} “{cell.attrs?.text?.text ?? ''}”
                  </>
                )}
              </p>
              <DiagramThumbnail cells={diagram.cells as object[]} highlight={threat.cell_id} />
            </>
          ) : (
            <p className="muted">Not linked to a diagram.</p>
          )}
        </div>
      </div>
      {writable && (
        <>
          <h3>CWE</h3>
          <CwePicker value={threat.cwe_id ?? []} onChange={(ids) => patch([{ op: 'replace', path: '/cwe_id', value: ids }], 'the CWE ids')} />
          <h3>CVSS</h3>
          <CvssCalculator
            initial={threat.cvss?.[0]?.vector}
            onUse={(entry) => {
              const others = (threat.cvss ?? []).filter((c) => c.vector.slice(0, 9) !== entry.vector.slice(0, 9));
              patch(
                [
                  { op: 'replace', path: '/cvss', value: [...others, entry] },
                  { op: 'add', path: '/score', value: entry.score },
                ],
                'the CVSS score',
              );
            }}
          />
          <h3>SSVC</h3>
          <SsvcHelper initial={threat.ssvc?.vector} onUse={(s) => patch([{ op: 'replace', path: '/ssvc', value: s }], 'the SSVC decision')} />
        </>
      )}
      {!writable && (threat.cwe_id ?? []).length > 0 && <p>CWE: {(threat.cwe_id ?? []).join(', ')}</p>}
      <h3>History</h3>
      <ObjectHistory key={threat.modified_at} tmId={tmId} kind="threats" objectId={threatId} writable={writable} onRolledBack={reload} />
    </section>
  );
}
