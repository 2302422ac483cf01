// SQL pieces of the threat list: the reference's filters and its sort orders with the ranks of
// severity, status and priority (tmi-domain-notes §1.5). Values are bound parameters; sort
// expressions come from the fixed table below, never from the request.
import { badRequest } from '../../http/errors.ts';
import type { ListThreatsQuery } from '../../../contract/threats.ts';
import type { ListRefinement } from '../children/service.ts';
import { lowerSnake } from '../common/text-safety.ts';

export const SEVERITIES = ['unknown', 'informational', 'low', 'medium', 'high', 'critical'] as const;

const rank = (column: string, ranks: Record<string, number>) =>
  `(CASE lower(c.${column}) ${Object.entries(ranks)
    .map(([k, v]) => `WHEN '${k}' THEN ${v}`)
    .join(' ')} ELSE NULL END)`;

const SEVERITY_RANK = rank('severity', Object.fromEntries(SEVERITIES.map((s, i) => [s, i])));
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

const SORTABLE: Record<string, string> = {
  created_at: 'c.created_at',
  modified_at: 'c.modified_at',
  name: 'lower(c.name)',
  severity: SEVERITY_RANK,
  status: STATUS_RANK,
  priority: PRIORITY_RANK,
  score: 'c.score',
  alias: 'c.alias',
};

const many = (v: string | string[] | undefined) =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);

const likeArg = (s: string) => `%${s.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

export function threatListRefinement(query: ListThreatsQuery): ListRefinement {
  const where: string[] = [];
  const params: unknown[] = [];
  // $1 is the threat model id.
  const arg = (v: unknown) => {
    params.push(v);
    return `$${params.length + 1}`;
  };
  if (query.name) where.push(`c.name ILIKE ${arg(likeArg(query.name))}`);
  if (query.description) where.push(`c.description ILIKE ${arg(likeArg(query.description))}`);
  const types = many(query.threat_type).map((t) => t.toLowerCase());
  if (types.length) where.push(`EXISTS (SELECT 1 FROM jsonb_array_elements_text(c.threat_type) t WHERE lower(t) = ANY(${arg(types)}::text[]))`);
  const severities = many(query.severity).map(lowerSnake);
  for (const s of severities) {
    if (!(SEVERITIES as readonly string[]).includes(s)) throw badRequest(`Invalid severity filter '${s}'; expected one of ${SEVERITIES.join(', ')}`);
  }
  if (severities.length) where.push(`lower(c.severity) = ANY(${arg(severities)}::text[])`);
  const priorities = many(query.priority).map(lowerSnake);
  if (priorities.length) where.push(`lower(c.priority) = ANY(${arg(priorities)}::text[])`);
  const statuses = many(query.status).map(lowerSnake);
  if (statuses.length) where.push(`lower(c.status) = ANY(${arg(statuses)}::text[])`);
  if (query.mitigated !== undefined) where.push(`coalesce(c.mitigated, false) = ${arg(query.mitigated)}`);
  if (query.diagram_id) where.push(`c.diagram_id = ${arg(query.diagram_id)}::uuid`);
  if (query.cell_id) where.push(`c.cell_id = ${arg(query.cell_id)}::uuid`);
  for (const [key, op] of [
    ['score_gt', '>'],
    ['score_lt', '<'],
    ['score_eq', '='],
    ['score_ge', '>='],
    ['score_le', '<='],
  ] as const) {
    if (query[key] !== undefined) where.push(`c.score ${op} ${arg(query[key])}`);
  }
  for (const [key, column, op] of [
    ['created_after', 'created_at', '>='],
    ['created_before', 'created_at', '<='],
    ['modified_after', 'modified_at', '>='],
    ['modified_before', 'modified_at', '<='],
  ] as const) {
    const v = query[key];
    if (v === undefined) continue;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw badRequest(`Invalid ${key}: expected an RFC 3339 date-time`);
    where.push(`c.${column} ${op} ${arg(d)}`);
  }
  return { where, params, orderBy: parseSort(query.sort) };
}

/** `field[:asc|desc]`, comma-separated; unknown fields or directions are 400. */
function parseSort(sort: string | undefined): string[] {
  if (!sort) return [];
  return sort
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((term) => {
      const [field = '', dir = 'asc', ...rest] = term.split(':').map((x) => x.trim().toLowerCase());
      const expr = Object.hasOwn(SORTABLE, field) ? SORTABLE[field] : undefined;
      if (!expr || rest.length || (dir !== 'asc' && dir !== 'desc')) {
        throw badRequest(`Invalid sort '${term}'; use field:asc or field:desc with field one of ${Object.keys(SORTABLE).join(', ')}`);
      }
      return `${expr} ${dir.toUpperCase()} NULLS LAST`;
    });
}
