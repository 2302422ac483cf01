// Threat use cases beyond the generic ones: the list's filters and sort orders, read from the
// query and checked (an unknown severity, date or sort term is 400) before the store builds SQL.
import { badRequest } from '../../http/errors.ts';
import { lowerSnake, THREAT_SEVERITIES } from '../../../contract/limits.ts';
import type { ListThreatsQuery } from '../../../contract/threats.ts';
import type { ListRefinement } from '../children/store.ts';
import { SORT_FIELDS, threatListRefinement, type SortField, type ThreatListFilters } from './store.ts';

const many = (v: string | string[] | undefined) =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);

/** `field[:asc|desc]`, comma-separated; unknown fields or directions are 400. */
function parseSort(sort: string | undefined): ThreatListFilters['sort'] {
  if (!sort) return [];
  return sort
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((term) => {
      const [field = '', dir = 'asc', ...rest] = term.split(':').map((x) => x.trim().toLowerCase());
      if (!(SORT_FIELDS as string[]).includes(field) || rest.length || (dir !== 'asc' && dir !== 'desc')) {
        throw badRequest(`Invalid sort '${term}'; use field:asc or field:desc with field one of ${SORT_FIELDS.join(', ')}`);
      }
      return { field: field as SortField, desc: dir === 'desc' };
    });
}

export function threatListQuery(query: ListThreatsQuery): ListRefinement {
  const severities = many(query.severity).map(lowerSnake);
  for (const s of severities) {
    if (!(THREAT_SEVERITIES as readonly string[]).includes(s)) throw badRequest(`Invalid severity filter '${s}'; expected one of ${THREAT_SEVERITIES.join(', ')}`);
  }
  const scores: ThreatListFilters['scores'] = [];
  for (const [key, op] of [
    ['score_gt', '>'],
    ['score_lt', '<'],
    ['score_eq', '='],
    ['score_ge', '>='],
    ['score_le', '<='],
  ] as const) {
    const value = query[key];
    if (value !== undefined) scores.push({ op, value });
  }
  const dates: ThreatListFilters['dates'] = [];
  for (const [key, column, op] of [
    ['created_after', 'created_at', '>='],
    ['created_before', 'created_at', '<='],
    ['modified_after', 'modified_at', '>='],
    ['modified_before', 'modified_at', '<='],
  ] as const) {
    const v = query[key];
    if (v === undefined) continue;
    const value = new Date(v);
    if (Number.isNaN(value.getTime())) throw badRequest(`Invalid ${key}: expected an RFC 3339 date-time`);
    dates.push({ column, op, value });
  }
  return threatListRefinement({
    name: query.name,
    description: query.description,
    types: many(query.threat_type).map((t) => t.toLowerCase()),
    severities,
    priorities: many(query.priority).map(lowerSnake),
    statuses: many(query.status).map(lowerSnake),
    mitigated: query.mitigated,
    diagramId: query.diagram_id,
    cellId: query.cell_id,
    scores,
    dates,
    sort: parseSort(query.sort),
  });
}
