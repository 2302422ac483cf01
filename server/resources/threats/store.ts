// SQL pieces of the threat list: the reference's filters and its sort orders with the ranks of
// severity, status and priority, from filters the service has checked.
// Values are bound parameters; sort expressions come from the fixed table below, never from the
// request.
import { THREAT_SEVERITIES } from '../../../contract/limits.ts';
import type { ListRefinement } from '../children/store.ts';
import { likeContains } from '../../store/like.ts';

const rank = (column: string, ranks: Record<string, number>) =>
  `(CASE lower(c.${column}) ${Object.entries(ranks)
    .map(([k, v]) => `WHEN '${k}' THEN ${v}`)
    .join(' ')} ELSE NULL END)`;

const SEVERITY_RANK = rank('severity', Object.fromEntries(THREAT_SEVERITIES.map((s, i) => [s, i])));
const PRIORITY_RANK = rank('priority', { deferred: 0, low: 1, medium: 2, high: 3, immediate: 4 });
const STATUS_RANK = rank('status', {
  open: 0,
  identified: 0,
  confirmed: 1,
  investigating: 1,
  deferred: 2,
  mitigation_planned: 3,
  mitigation_in_progress: 4,
  in_progress: 4,
  verification_pending: 5,
  mitigated: 6,
  resolved: 7,
  accepted: 8,
  closed: 9,
  false_positive: 10,
});

const SORTABLE = {
  created_at: 'c.created_at',
  modified_at: 'c.modified_at',
  name: 'lower(c.name)',
  severity: SEVERITY_RANK,
  status: STATUS_RANK,
  priority: PRIORITY_RANK,
  score: 'c.score',
  alias: 'c.alias',
} as const;

export type SortField = keyof typeof SORTABLE;
export const SORT_FIELDS = Object.keys(SORTABLE) as SortField[];

/** The threat list's filters, checked: severities are known ones, dates are dates, sort fields exist. */
export interface ThreatListFilters {
  name?: string;
  description?: string;
  /** Lower case. */
  types: string[];
  /** Lower snake case, each one of THREAT_SEVERITIES. */
  severities: string[];
  priorities: string[];
  statuses: string[];
  mitigated?: boolean;
  diagramId?: string;
  cellId?: string;
  scores: { op: '>' | '<' | '=' | '>=' | '<='; value: number }[];
  dates: { column: 'created_at' | 'modified_at'; op: '>=' | '<='; value: Date }[];
  sort: { field: SortField; desc: boolean }[];
}

export function threatListRefinement(f: ThreatListFilters): ListRefinement {
  const where: string[] = [];
  const params: unknown[] = [];
  // $1 is the threat model id.
  const arg = (v: unknown) => {
    params.push(v);
    return `$${params.length + 1}`;
  };
  if (f.name) where.push(`c.name ILIKE ${arg(likeContains(f.name))}`);
  if (f.description) where.push(`c.description ILIKE ${arg(likeContains(f.description))}`);
  if (f.types.length) where.push(`EXISTS (SELECT 1 FROM jsonb_array_elements_text(c.threat_type) t WHERE lower(t) = ANY(${arg(f.types)}::text[]))`);
  if (f.severities.length) where.push(`lower(c.severity) = ANY(${arg(f.severities)}::text[])`);
  if (f.priorities.length) where.push(`lower(c.priority) = ANY(${arg(f.priorities)}::text[])`);
  if (f.statuses.length) where.push(`lower(c.status) = ANY(${arg(f.statuses)}::text[])`);
  if (f.mitigated !== undefined) where.push(`coalesce(c.mitigated, false) = ${arg(f.mitigated)}`);
  if (f.diagramId) where.push(`c.diagram_id = ${arg(f.diagramId)}::uuid`);
  if (f.cellId) where.push(`c.cell_id = ${arg(f.cellId)}::uuid`);
  for (const s of f.scores) where.push(`c.score ${s.op} ${arg(s.value)}`);
  for (const d of f.dates) where.push(`c.${d.column} ${d.op} ${arg(d.value)}`);
  const orderBy = f.sort.map((s) => `${SORTABLE[s.field]} ${s.desc ? 'DESC' : 'ASC'} NULLS LAST`);
  return { where, params, orderBy };
}
