// A threat model at a glance, for reading: threats by severity and status, the diagram elements no
// threat covers, high threats without a mitigation, the open suggestions of the rules, and the
// latest change.
import type { ListThreatModelAuditTrailResponse } from '../../../contract/audit.ts';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import type { Threat } from '../../../contract/threats.ts';
import { api, query, url } from '../api/client.ts';
import { suggestions } from '../api/suggestions.ts';
import { threatModels } from '../api/threat-models.ts';
import { Link } from '../router.tsx';
import { ErrorNote, Spinner, formatDate, useLoad } from '../ui.tsx';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational', 'unknown'] as const;
const ELEMENT_SHAPES = new Set(['actor', 'process', 'store', 'flow']);

type Cell = { id: string; shape?: string; attrs?: { text?: { text?: string } }; labels?: { attrs?: { text?: { text?: string } } }[] };
const cellName = (c: Cell) => (c.shape === 'flow' ? c.labels?.[0]?.attrs?.text?.text : c.attrs?.text?.text) || '(unnamed)';
const sev = (t: Threat) => (t.severity ?? '').toLowerCase() || 'unknown';
const norm = (s: string | null | undefined) => (s ?? '').toLowerCase() || 'unset';

/** What the overview shows, computed from the model (pure, so it can be tested without a browser). */
export function summarise(tm: ThreatModel) {
  const threats = (tm.threats ?? []) as Threat[];
  const statuses = [...new Set(threats.map((t) => norm(t.status)))].sort();
  const matrix = new Map<string, Map<string, number>>();
  for (const t of threats) {
    const row = matrix.get(sev(t)) ?? new Map<string, number>();
    row.set(norm(t.status), (row.get(norm(t.status)) ?? 0) + 1);
    matrix.set(sev(t), row);
  }
  const covered = new Set(threats.map((t) => (t.cell_id ?? '').toLowerCase()).filter(Boolean));
  const uncovered: { diagramId: string; diagramName: string; cellId: string; kind: string; name: string }[] = [];
  for (const d of (tm.diagrams ?? []) as unknown as { id: string; name: string; cells?: Cell[] }[]) {
    for (const c of d.cells ?? []) {
      if (ELEMENT_SHAPES.has(c.shape ?? '') && !covered.has(c.id.toLowerCase())) uncovered.push({ diagramId: d.id, diagramName: d.name, cellId: c.id, kind: c.shape!, name: cellName(c) });
    }
  }
  const unmitigatedHigh = threats.filter((t) => ['high', 'critical'].includes(sev(t)) && !t.mitigated && !(t.mitigation ?? '').trim());
  return { threats, statuses, matrix, uncovered, unmitigatedHigh };
}

export function OverviewTab({ tmId }: { tmId: string }) {
  const { data, error, loading } = useLoad(
    async (signal) => {
      const [tm, open, trail] = await Promise.all([
        threatModels.get(tmId, signal),
        suggestions.list(tmId, {}, signal).catch((err: unknown) => err as Error),
        api.get<ListThreatModelAuditTrailResponse>(`${url`/threat_models/${tmId}/audit_trail`}${query({ limit: 1 })}`, signal),
      ]);
      return { tm, open, last: trail.audit_entries[0] };
    },
    [tmId],
  );
  if (loading && !data) return <Spinner label="Summarising…" />;
  if (!data) return <ErrorNote error={error} />;
  const { tm, open, last } = data;
  const s = summarise(tm);
  return (
    <div className="overview" data-testid="overview">
      <section className="panel">
        <h3>Threats by severity and status ({s.threats.length})</h3>
        {s.threats.length === 0 ? (
          <p className="muted">No threats yet.</p>
        ) : (
          <table className="matrix" data-testid="severity-matrix">
            <thead>
              <tr>
                <th>Severity</th>
                {s.statuses.map((st) => (
                  <th key={st}>{st.replace(/_/g, ' ')}</th>
                ))}
                <th>Total</th>
              </tr>
            </thead>
            <tbody>
              {SEVERITIES.filter((v) => s.matrix.has(v)).map((v) => {
                const row = s.matrix.get(v)!;
                return (
                  <tr key={v} data-severity={v}>
                    <th>
                      <span className={`sev sev-${v}`}>{v}</span>
                    </th>
                    {s.statuses.map((st) => (
                      <td key={st}>{row.get(st) ?? ''}</td>
                    ))}
                    <td>{[...row.values()].reduce((a, b) => a + b, 0)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel">
        <h3>Open suggestions</h3>
        {open instanceof Error ? (
          <ErrorNote error={open} />
        ) : (
          <p data-testid="open-suggestions">
            <strong>{open.total}</strong> open{' '}
            {(Object.entries(open.open_by_severity) as [string, number][])
              .filter(([, n]) => n > 0)
              .reverse()
              .map(([k, n]) => (
                <span key={k} className={`sev sev-${k}`} style={{ marginLeft: 4 }}>
                  {n} {k}
                </span>
              ))}
            <br />
            <small className="muted">Open a diagram to accept or dismiss them.</small>
          </p>
        )}
      </section>
      <section className="panel">
        <h3>High threats without a mitigation ({s.unmitigatedHigh.length})</h3>
        <ul data-testid="unmitigated">
          {s.unmitigatedHigh.map((t) => (
            <li key={t.id}>
              <Link to={`/tm/${tm.id}/threats/${t.id}`}>{t.name}</Link> <span className={`sev sev-${sev(t)}`}>{sev(t)}</span>
            </li>
          ))}
        </ul>
      </section>
      <section className="panel">
        <h3>Elements without any threat ({s.uncovered.length})</h3>
        <ul data-testid="uncovered">
          {s.uncovered.slice(0, 100).map((e) => (
            <li key={`${e.diagramId}/${e.cellId}`}>
              {e.kind} <Link to={`/tm/${tm.id}/dfd/${e.diagramId}`}>{e.name}</Link> <small className="muted">in {e.diagramName}</small>
            </li>
          ))}
        </ul>
        {s.uncovered.length > 100 && <p className="muted">… and {s.uncovered.length - 100} more.</p>}
      </section>
      <section className="panel">
        <h3>Last activity</h3>
        {last ? (
          <p data-testid="last-activity">
            {formatDate(last.created_at)}: {last.change_summary ?? `${last.object_type} ${last.change_type}`} by {last.actor.display_name || last.actor.email} ·{' '}
            <Link to={`/tm/${tm.id}/history`}>History</Link>
          </p>
        ) : (
          <p className="muted">Nothing recorded yet.</p>
        )}
      </section>
    </div>
  );
}
