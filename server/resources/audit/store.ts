// SQL for reading the audit trail. Entries are written by common/audit.ts; they are append-only.
import type { Queryable } from '../../store/db.ts';

export interface AuditRow {
  id: string;
  threat_model_id: string;
  object_type: string;
  object_id: string;
  version: number | null;
  change_type: string;
  actor_email: string;
  actor_provider: string;
  actor_provider_id: string;
  actor_display_name: string;
  change_summary: string | null;
  snapshot: Record<string, unknown> | null;
  created_at: Date;
}

const COLUMNS = `id, threat_model_id, object_type, object_id, version, change_type, actor_email, actor_provider, actor_provider_id,
  actor_display_name, change_summary, created_at`;

export interface ModelFilters {
  objectType?: string;
  changeType?: string;
  actorEmail?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

export interface Position {
  at: Date;
  id: string;
  /** 'older' pages follow the list order; 'newer' pages go back towards the newest entry. */
  direction: 'older' | 'newer';
}

function filterSql(tmId: string, f: ModelFilters) {
  const params: unknown[] = [tmId];
  const where = ['threat_model_id = $1'];
  const arg = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.objectType) where.push(`object_type = ${arg(f.objectType)}`);
  if (f.changeType) where.push(`change_type = ${arg(f.changeType)}`);
  if (f.actorEmail) where.push(`lower(actor_email) = lower(${arg(f.actorEmail)})`);
  if (f.createdAfter) where.push(`created_at >= ${arg(f.createdAfter)}`);
  if (f.createdBefore) where.push(`created_at <= ${arg(f.createdBefore)}`);
  return { where, params, arg };
}

/** One page (limit + 1 rows, to tell whether more follow) in list order: newest first. */
export async function pageForModel(q: Queryable, tmId: string, f: ModelFilters, limit: number, from?: Position) {
  const { where, params, arg } = filterSql(tmId, f);
  let order = 'created_at DESC, id DESC';
  if (from) {
    const cmp = from.direction === 'older' ? '<' : '>';
    where.push(`(created_at, id) ${cmp} (${arg(from.at)}::timestamptz, ${arg(from.id)}::uuid)`);
    if (from.direction === 'newer') order = 'created_at ASC, id ASC';
  }
  const rows = await q.query<AuditRow>(`SELECT ${COLUMNS} FROM audit_entries WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${arg(limit + 1)}`, params);
  return rows;
}

export async function countForModel(q: Queryable, tmId: string, f: ModelFilters): Promise<number> {
  const { where, params } = filterSql(tmId, f);
  const rows = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_entries WHERE ${where.join(' AND ')}`, params);
  return rows[0]?.n ?? 0;
}

export async function findEntry(q: Queryable, tmId: string, id: string): Promise<AuditRow | null> {
  const rows = await q.query<AuditRow>(`SELECT ${COLUMNS}, snapshot FROM audit_entries WHERE threat_model_id = $1 AND id = $2`, [tmId, id]);
  return rows[0] ?? null;
}

export async function pageForObject(q: Queryable, tmId: string, objectType: string, objectId: string, limit: number, offset: number) {
  const rows = await q.query<AuditRow & { total_count: number }>(
    `SELECT ${COLUMNS}, count(*) OVER ()::int AS total_count FROM audit_entries
     WHERE threat_model_id = $1 AND object_type = $2 AND object_id = $3
     ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5`,
    [tmId, objectType, objectId, limit, offset],
  );
  let total = rows[0]?.total_count ?? 0;
  if (rows.length === 0 && offset > 0) {
    const c = await q.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM audit_entries WHERE threat_model_id = $1 AND object_type = $2 AND object_id = $3',
      [tmId, objectType, objectId],
    );
    total = c[0]?.n ?? 0;
  }
  return { rows: rows.map(({ total_count: _t, ...r }) => r as AuditRow), total };
}

/** The object's recorded state as of an entry: its own snapshot, or the latest one before it (deletions carry none). */
export async function stateAsOf(q: Queryable, entry: AuditRow): Promise<Record<string, unknown> | null> {
  const rows = await q.query<{ snapshot: Record<string, unknown> }>(
    `SELECT snapshot FROM audit_entries
     WHERE threat_model_id = $1 AND object_type = $2 AND object_id = $3 AND snapshot IS NOT NULL AND (created_at, id) <= ($4::timestamptz, $5::uuid)
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [entry.threat_model_id, entry.object_type, entry.object_id, entry.created_at, entry.id],
  );
  return rows[0]?.snapshot ?? null;
}

/** The row's own version counter (kept for every kind, also those that do not show it). */
export async function currentVersion(q: Queryable, table: string, id: string): Promise<number | null> {
  const rows = await q.query<{ version: number }>(`SELECT version FROM ${table} WHERE id = $1`, [id]);
  return rows[0]?.version ?? null;
}

/** The most recent recorded state of an object. */
export async function latestSnapshot(q: Queryable, tmId: string, objectType: string, objectId: string): Promise<Record<string, unknown> | null> {
  const rows = await q.query<{ snapshot: Record<string, unknown> }>(
    `SELECT snapshot FROM audit_entries WHERE threat_model_id = $1 AND object_type = $2 AND object_id = $3 AND snapshot IS NOT NULL
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [tmId, objectType, objectId],
  );
  return rows[0]?.snapshot ?? null;
}

/** The object's recorded state just before an entry (the latest snapshot strictly earlier), for diffs. */
export async function stateBefore(q: Queryable, entry: AuditRow): Promise<Record<string, unknown> | null> {
  const rows = await q.query<{ snapshot: Record<string, unknown> }>(
    `SELECT snapshot FROM audit_entries
     WHERE threat_model_id = $1 AND object_type = $2 AND object_id = $3 AND snapshot IS NOT NULL AND (created_at, id) < ($4::timestamptz, $5::uuid)
     ORDER BY created_at DESC, id DESC LIMIT 1`,
    [entry.threat_model_id, entry.object_type, entry.object_id, entry.created_at, entry.id],
  );
  return rows[0]?.snapshot ?? null;
}
