// Threats: a sortable, filterable table (severity, status, priority, mitigated) and the form.
import { useMemo, useState } from 'react';
import { THREAT_SEVERITIES, THREAT_STATUSES } from '../../../contract/limits.ts';
import { Link } from '../router.tsx';
import type { ThreatModel } from '../../../contract/threat-models.ts';
import type { Threat } from '../../../contract/threats.ts';
import { assets } from '../api/assets.ts';
import { diagrams } from '../api/diagrams.ts';
import { threats } from '../api/threats.ts';
import { Confirm, EnumSelect, titleCase } from '../forms.tsx';
import { DataTable, ListState, type Column } from '../table.tsx';
import { Modal, useLoad } from '../ui.tsx';
import { SEVERITY_OPTIONS, ThreatForm } from './ThreatForm.tsx';

/** Severity by rank (critical highest); 0 for a value outside the conventional ones. */
const severityRank = (t: Threat) => THREAT_SEVERITIES.indexOf((t.severity ?? '').toLowerCase() as (typeof THREAT_SEVERITIES)[number]) + 1;
const sameText = (a: string | null | undefined, b: string) => (a ?? '').toLowerCase() === b.toLowerCase();

export interface ThreatFilter {
  text: string;
  /** A value of the severity select ('' for any). */
  severity: string;
  status: string;
  /** 'true', 'false' or '' for either. */
  mitigated: string;
}

/** Whether a threat passes the filters (values compare whatever their case: patched values are not normalised). */
export function matchesFilter(x: Threat, filter: ThreatFilter): boolean {
  const t = filter.text.toLowerCase();
  return (
    (!t || x.name.toLowerCase().includes(t) || (x.description ?? '').toLowerCase().includes(t)) &&
    (!filter.severity || sameText(x.severity, filter.severity)) &&
    (!filter.status || sameText(x.status, filter.status)) &&
    (!filter.mitigated || String(!!x.mitigated) === filter.mitigated)
  );
}

export function ThreatsTab({ tm, writable }: { tm: ThreatModel; writable: boolean }) {
  const { data, error, loading, reload } = useLoad((signal) => threats.list(tm.id, signal), [tm.id]);
  const links = useLoad(
    async (signal) => {
      const [d, a] = await Promise.allSettled([diagrams.list(tm.id, signal), assets.list(tm.id, signal)]);
      return {
        diagrams: d.status === 'fulfilled' ? d.value : [],
        assets: a.status === 'fulfilled' ? a.value : [],
      };
    },
    [tm.id],
  );
  const [filter, setFilter] = useState<ThreatFilter>({ text: '', severity: '', status: '', mitigated: '' });
  const [editing, setEditing] = useState<Threat | 'new'>();
  const [deleting, setDeleting] = useState<Threat>();

  const rows = useMemo(() => (data ?? []).filter((x) => matchesFilter(x, filter)), [data, filter]);

  const diagramName = (id?: string | null) => links.data?.diagrams.find((d) => d.id === id)?.name;
  const columns: Column<Threat>[] = [
    {
      key: 'name',
      label: 'Threat',
      sortBy: (t) => t.name,
      cell: (t) => (
        <>
          <button className="link" onClick={() => setEditing(t)}>
            {t.name}
          </button>{' '}
          <Link to={`/tm/${tm.id}/threats/${t.id}`} className="small" title="Open the threat's page">
            open
          </Link>
        </>
      ),
    },
    { key: 'types', label: 'Types', cell: (t) => t.threat_type.join(', ') },
    { key: 'severity', label: 'Severity', sortBy: severityRank, cell: (t) => <span className={`sev sev-${(t.severity ?? '').toLowerCase()}`}>{t.severity}</span> },
    { key: 'priority', label: 'Priority', sortBy: (t) => t.priority ?? '', cell: (t) => t.priority },
    { key: 'status', label: 'Status', sortBy: (t) => t.status ?? '', cell: (t) => t.status },
    { key: 'mitigated', label: 'Mitigated', sortBy: (t) => Number(!!t.mitigated), cell: (t) => (t.mitigated ? 'yes' : 'no') },
    { key: 'linked', label: 'Linked to', className: 'muted', cell: (t) => (t.diagram_id ? `${diagramName(t.diagram_id) ?? 'diagram'}${t.cell_id ? ' · cell' : ''}` : '') },
    {
      key: 'actions',
      label: '',
      cell: (t) =>
        writable && (
          <button className="link danger" onClick={() => setDeleting(t)}>
            Delete
          </button>
        ),
    },
  ];

  return (
    <div>
      <div className="filters">
        <input type="search" placeholder="Filter threats" aria-label="Filter threats" value={filter.text} onChange={(e) => setFilter({ ...filter, text: e.target.value })} />
        <EnumSelect aria-label="Severity filter" options={SEVERITY_OPTIONS} label={titleCase} none="Any severity" value={filter.severity} onChange={(severity) => setFilter({ ...filter, severity })} />
        <EnumSelect aria-label="Status filter" options={THREAT_STATUSES} label={titleCase} none="Any status" value={filter.status} onChange={(status) => setFilter({ ...filter, status })} />
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
      <ListState error={error} loading={loading} loaded={data !== undefined} empty={data?.length === 0} emptyText="No threats recorded yet." />
      <DataTable columns={columns} rows={rows} rowKey={(t) => t.id} initialSort={{ key: 'severity', desc: true }} testId="threats-table" />
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
            await threats.remove(tm.id, deleting.id);
            reload();
          }}
          onClose={() => setDeleting(undefined)}
        />
      )}
    </div>
  );
}
