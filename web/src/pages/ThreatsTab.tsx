// Threats: a sortable, filterable table (severity, status, priority, mitigated) and the form.
import { useMemo, useState } from 'react';
import { api } from '../api/client.ts';
import { SEVERITIES, THREAT_STATUSES, type DiagramSummary, type Threat, type ThreatModel } from '../api/types.ts';
import { Confirm, ErrorNote, Modal, Spinner, useLoad } from '../ui.tsx';
import { ThreatForm } from './ThreatForm.tsx';

type Key = 'name' | 'severity' | 'status' | 'priority' | 'mitigated' | 'score';
const SEVERITY_RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s.toLowerCase(), SEVERITIES.length - i]));

const listOf = <T,>(d: unknown, key: string): T[] => (Array.isArray(d) ? (d as T[]) : (((d as Record<string, unknown> | undefined)?.[key] as T[] | undefined) ?? []));

export function ThreatsTab({ tm, writable }: { tm: ThreatModel; writable: boolean }) {
  const base = `/threat_models/${tm.id}/threats`;
  const { data, error, loading, reload } = useLoad((signal) => api.get<unknown>(`${base}?limit=100`, signal), [base]);
  const links = useLoad(
    async (signal) => {
      const [d, a] = await Promise.allSettled([api.get<unknown>(`/threat_models/${tm.id}/diagrams?limit=100`, signal), api.get<unknown>(`/threat_models/${tm.id}/assets?limit=100`, signal)]);
      return {
        diagrams: d.status === 'fulfilled' ? listOf<DiagramSummary>(d.value, 'diagrams') : [],
        assets: a.status === 'fulfilled' ? listOf<{ id: string; name: string }>(a.value, 'assets') : [],
      };
    },
    [tm.id],
  );
  const threats = listOf<Threat>(data, 'threats');
  const [sort, setSort] = useState<{ key: Key; desc: boolean }>({ key: 'severity', desc: true });
  const [filter, setFilter] = useState({ text: '', severity: '', status: '', mitigated: '' });
  const [editing, setEditing] = useState<Threat | 'new'>();
  const [deleting, setDeleting] = useState<Threat>();

  const rows = useMemo(() => {
    const t = filter.text.toLowerCase();
    const out = threats.filter(
      (x) =>
        (!t || x.name.toLowerCase().includes(t) || (x.description ?? '').toLowerCase().includes(t)) &&
        (!filter.severity || (x.severity ?? '').toLowerCase() === filter.severity.toLowerCase()) &&
        (!filter.status || (x.status ?? '').toLowerCase() === filter.status.toLowerCase()) &&
        (!filter.mitigated || String(!!x.mitigated) === filter.mitigated),
    );
    const val = (x: Threat): string | number =>
      sort.key === 'severity' ? (SEVERITY_RANK[(x.severity ?? '').toLowerCase()] ?? 0) : sort.key === 'mitigated' ? Number(!!x.mitigated) : sort.key === 'score' ? (x.score ?? -1) : String(x[sort.key] ?? '');
    out.sort((a, b) => {
      const p = val(a);
      const q = val(b);
      const c = typeof p === 'number' && typeof q === 'number' ? p - q : String(p).localeCompare(String(q));
      return sort.desc ? -c : c;
    });
    return out;
  }, [threats, filter, sort]);

  const th = (key: Key, label: string) => (
    <th>
      <button className="link sort" onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : true }))}>
        {label} {sort.key === key ? (sort.desc ? '▼' : '▲') : ''}
      </button>
    </th>
  );
  const diagramName = (id?: string | null) => links.data?.diagrams.find((d) => d.id === id)?.name;

  return (
    <div>
      <div className="filters">
        <input type="search" placeholder="Filter threats" aria-label="Filter threats" value={filter.text} onChange={(e) => setFilter({ ...filter, text: e.target.value })} />
        <select aria-label="Severity filter" value={filter.severity} onChange={(e) => setFilter({ ...filter, severity: e.target.value })}>
          <option value="">Any severity</option>
          {SEVERITIES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select aria-label="Status filter" value={filter.status} onChange={(e) => setFilter({ ...filter, status: e.target.value })}>
          <option value="">Any status</option>
          {THREAT_STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <select aria-label="Mitigated filter" value={filter.mitigated} onChange={(e) => setFilter({ ...filter, mitigated: e.target.value })}>
          <option value="">Mitigated or not</option>
          <option value="true">Mitigated</option>
          <option value="false">Not mitigated</option>
        </select>
        <span className="grow" />
        {writable && (
          <button className="primary" onClick={() => setEditing('new')}>
            Add threat
          </button>
        )}
      </div>
      <ErrorNote error={error} />
      {loading && !data && <Spinner />}
      {data !== undefined && threats.length === 0 && <p className="empty">No threats recorded yet.</p>}
      {rows.length > 0 && (
        <table className="grid" data-testid="threats-table">
          <thead>
            <tr>
              {th('name', 'Threat')}
              <th>Types</th>
              {th('severity', 'Severity')}
              {th('priority', 'Priority')}
              {th('status', 'Status')}
              {th('mitigated', 'Mitigated')}
              <th>Linked to</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.id}>
                <td>
                  <button className="link" onClick={() => setEditing(t)}>
                    {t.name}
                  </button>
                </td>
                <td>{t.threat_type.join(', ')}</td>
                <td>
                  <span className={`sev sev-${(t.severity ?? '').toLowerCase()}`}>{t.severity}</span>
                </td>
                <td>{t.priority}</td>
                <td>{t.status}</td>
                <td>{t.mitigated ? 'yes' : 'no'}</td>
                <td className="muted">{t.diagram_id ? `${diagramName(t.diagram_id) ?? 'diagram'}${t.cell_id ? ' · cell' : ''}` : ''}</td>
                <td>
                  {writable && (
                    <button className="link danger" onClick={() => setDeleting(t)}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <Modal title={editing === 'new' ? 'New threat' : editing.name} onClose={() => setEditing(undefined)} wide>
          <ThreatForm
            tmId={tm.id}
            framework={tm.threat_model_framework}
            threat={editing === 'new' ? undefined : editing}
            links={links.data}
            writable={writable}
            onCancel={() => setEditing(undefined)}
            onSaved={() => {
              setEditing(undefined);
              reload();
            }}
          />
        </Modal>
      )}
      {deleting && (
        <Confirm
          title="Delete threat"
          message={`Delete the threat "${deleting.name}"?`}
          onConfirm={async () => {
            await api.del(`${base}/${deleting.id}`);
            reload();
          }}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </div>
  );
}
