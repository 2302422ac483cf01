// SQL for any kind of threat-model children the generic engine serves. Table and column names come
// from the kind (constants in code); every value is a bound parameter.
import { statementName, type Queryable } from '../../store/db.ts';
import { metadataJsonSql } from '../metadata/store.ts';
import type { GenericKind, Field } from './kind.ts';

export type ChildRow = Record<string, unknown> & {
  id: string;
  threat_model_id: string;
  alias: number;
  created_at: Date;
  modified_at: Date;
  deleted_at: Date | null;
  version: number;
  metadata: { key: string; value: string }[];
};

/**
 * The written row as `findChild` reads it, from the write itself (no reload). Its metadata is as
 * the statement found it: write the entries first.
 */
const RETURNING_ROW = (kind: GenericKind) => `RETURNING c.*, ${metadataJsonSql(kind.objectType, 'c.id')} AS metadata`;

const selectFrom = (kind: GenericKind) =>
  `SELECT c.*, ${metadataJsonSql(kind.objectType, 'c.id')} AS metadata FROM ${kind.table} c`;

/** One child of this threat model, deleted or not. */
export async function findChild(
  q: Queryable,
  kind: GenericKind,
  tmId: string,
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<ChildRow | null> {
  if (opts.forUpdate) await lockChild(q, kind, tmId, id);
  const rows = await q.query<ChildRow>(`${selectFrom(kind)} WHERE c.id = $1 AND c.threat_model_id = $2`, [id, tmId]);
  return rows[0] ?? null;
}

/** What a write checks before it writes a child. */
export type ChildHead = Pick<ChildRow, 'id' | 'version' | 'deleted_at'>;

/**
 * Locks a child of this model for a write and answers its head. The locking statement reads only
 * the locked row's own columns, which PostgreSQL reads again after waiting for another writer, so
 * they are current; anything else (its metadata) needs a statement after the lock (`findChild`).
 */
export async function lockChild(q: Queryable, kind: GenericKind, tmId: string, id: string): Promise<ChildHead | null> {
  const rows = await q.query<ChildHead>(`SELECT id, version, deleted_at FROM ${kind.table} WHERE id = $1 AND threat_model_id = $2 FOR UPDATE`, [id, tmId]);
  return rows[0] ?? null;
}

/** Where a child id lives, whatever its threat model (bulk upserts must not take another model's id). */
export async function ownerOf(q: Queryable, kind: GenericKind, id: string): Promise<{ threat_model_id: string; deleted_at: Date | null } | null> {
  const rows = await q.query<{ threat_model_id: string; deleted_at: Date | null }>(
    `SELECT threat_model_id, deleted_at FROM ${kind.table} WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export interface ListOptions {
  includeDeleted: boolean;
  limit: number;
  offset: number;
  /** Extra SQL conditions on `c`, using placeholders from $2 on, with their values. */
  where?: string[];
  params?: unknown[];
  /** ORDER BY terms placed before the default `created_at DESC, id ASC`. */
  orderBy?: string[];
}

/** The conditions and sort orders a kind adds to its list (threat filters). */
export type ListRefinement = Required<Pick<ListOptions, 'where' | 'params' | 'orderBy'>>;

export async function listChildren(q: Queryable, kind: GenericKind, tmId: string, o: ListOptions): Promise<{ rows: ChildRow[]; total: number }> {
  const params: unknown[] = [tmId, ...(o.params ?? [])];
  const where = ['c.threat_model_id = $1', ...(o.where ?? [])];
  if (!o.includeDeleted) where.push('c.deleted_at IS NULL');
  const order = [...(o.orderBy ?? []), 'c.created_at DESC', 'c.id ASC'].join(', ');
  params.push(o.limit, o.offset);
  // The page is chosen first (ids, the total, the position); the rows and their metadata are then
  // read for the page only, not for every match.
  const sql = `WITH page AS (
       SELECT c.id, count(*) OVER ()::int AS total_count, row_number() OVER (ORDER BY ${order}) AS ord
       FROM ${kind.table} c WHERE ${where.join(' AND ')}
       ORDER BY ${order} LIMIT $${params.length - 1} OFFSET $${params.length})
     SELECT c.*, ${metadataJsonSql(kind.objectType, 'c.id')} AS metadata, page.total_count
     FROM page JOIN ${kind.table} c ON c.id = page.id
     ORDER BY page.ord`;
  const rows = await q.query<ChildRow & { total_count: number }>(sql, params, statementName(sql));
  let total = rows[0]?.total_count ?? 0;
  if (rows.length === 0 && o.offset > 0) {
    const c = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${kind.table} c WHERE ${where.join(' AND ')}`, params.slice(0, -2));
    total = c[0]?.n ?? 0;
  }
  return { rows: rows.map(({ total_count: _t, ...r }) => r as ChildRow), total };
}

/** Live children of a threat model for embedding in the ThreatModel response. */
export async function liveChildren(q: Queryable, kind: GenericKind, tmId: string): Promise<ChildRow[]> {
  return q.query<ChildRow>(`${selectFrom(kind)} WHERE c.threat_model_id = $1 AND c.deleted_at IS NULL ORDER BY c.created_at, c.id`, [tmId]);
}

/** Reserves `count` consecutive per-model aliases and returns the first (locks the counter row). */
export async function allocateAliases(q: Queryable, tmId: string, objectType: string, count: number): Promise<number> {
  const rows = await q.query<{ first: number }>(
    `INSERT INTO alias_counters (parent_id, object_type, next_alias) VALUES ($1, $2, $3::int + 1)
     ON CONFLICT (parent_id, object_type) DO UPDATE SET next_alias = alias_counters.next_alias + $3::int
     RETURNING next_alias - $3::int AS first`,
    [tmId, objectType, count],
  );
  return rows[0]!.first;
}

function toParam(f: Field, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (f.type === 'json') return JSON.stringify(value);
  if (f.type === 'uuid' && value === '') return null;
  return value;
}

export async function insertChild(
  q: Queryable,
  kind: GenericKind,
  c: { id: string; tmId: string; alias: number; values: Record<string, unknown>; at: Date; autoGenerated?: boolean },
): Promise<ChildRow> {
  const cols = ['id', 'threat_model_id', 'alias', 'created_at', 'modified_at', ...kind.fields.map((f) => f.name)];
  const vals: unknown[] = [c.id, c.tmId, c.alias, c.at, c.at, ...kind.fields.map((f) => toParam(f, c.values[f.name]))];
  if (kind.autoGenerated) {
    cols.push('auto_generated');
    vals.push(Boolean(c.autoGenerated));
  }
  const rows = await q.query<ChildRow>(`INSERT INTO ${kind.table} AS c (${cols.join(', ')}) VALUES (${vals.map((_, i) => `$${i + 1}`).join(', ')}) ${RETURNING_ROW(kind)}`, vals);
  return rows[0]!;
}

/** Writes every writable field, bumps the version and modified_at; optionally clears the tombstone. */
export async function updateChild(
  q: Queryable,
  kind: GenericKind,
  id: string,
  values: Record<string, unknown>,
  at: Date,
  opts: { undelete?: boolean } = {},
): Promise<ChildRow> {
  const sets = kind.fields.map((f, i) => `${f.name} = $${i + 3}`);
  const vals = kind.fields.map((f) => toParam(f, values[f.name]));
  const rows = await q.query<ChildRow>(
    `UPDATE ${kind.table} AS c SET ${sets.join(', ')}, modified_at = $2, version = version + 1${opts.undelete ? ', deleted_at = NULL' : ''} WHERE id = $1 ${RETURNING_ROW(kind)}`,
    [id, at, ...vals],
  );
  return rows[0]!;
}

export async function setDeleted(q: Queryable, kind: GenericKind, ids: string[], at: Date | null): Promise<void> {
  await q.query(`UPDATE ${kind.table} SET deleted_at = $2 WHERE id = ANY($1::uuid[])`, [ids, at]);
}
