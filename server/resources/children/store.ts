// SQL for any kind of threat-model children the generic engine serves. Table and column names come
// from the kind (constants in code); every value is a bound parameter.
import { Params, pageSizeLiteral, statementName, type Db, type Queryable } from '../../store/db.ts';
import type { Metadata } from '../../../contract/common.ts';
import { auditInsertSql, type AuditRecord } from '../common/audit.ts';
import { entriesOfNewSql, entriesReplacedSql, metadataJsonSql } from '../metadata/store.ts';
import { ACCESS_CHANGED_SQL } from '../threat-models/store.ts';
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
  params.push(o.offset);
  // The page is chosen first (ids, the total, the position); the rows and their metadata are then
  // read for the page only, not for every match.
  const sql = `WITH page AS (
       SELECT c.id, count(*) OVER ()::int AS total_count, row_number() OVER (ORDER BY ${order}) AS ord
       FROM ${kind.table} c WHERE ${where.join(' AND ')}
       ORDER BY ${order} LIMIT ${pageSizeLiteral(o.limit)} OFFSET $${params.length})
     SELECT c.*, ${metadataJsonSql(kind.objectType, 'c.id')} AS metadata, page.total_count
     FROM page JOIN ${kind.table} c ON c.id = page.id
     ORDER BY page.ord`;
  const rows = await q.query<ChildRow & { total_count: number }>(sql, params, statementName(sql));
  let total = rows[0]?.total_count ?? 0;
  if (rows.length === 0 && o.offset > 0) {
    const c = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${kind.table} c WHERE ${where.join(' AND ')}`, params.slice(0, -1));
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

/**
 * The statement that reserves one alias outside any transaction (so it takes a `Db`, not a
 * transaction's `Queryable`), whose commit does not wait for the disk: the model's counter row is
 * then held only while the statement runs. Waiting for the flush, writes to one model took their
 * aliases one disk flush at a time (issue 11, "Writes"). It is safe: the log is written in order,
 * so the write that uses the alias, committed durably afterwards, makes this commit durable with
 * its own; after a crash before that, no stored item holds the alias, and it is given again.
 * `guard`: SQL that must hold for the alias to be taken.
 */
const allocateAliasSql = (guard = 'true', count = '1') => `WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true)),
     allocated AS (
       INSERT INTO alias_counters (parent_id, object_type, next_alias) SELECT $1, $2, 1 + ${count} FROM async_commit WHERE ${guard}
       ON CONFLICT (parent_id, object_type) DO UPDATE SET next_alias = alias_counters.next_alias + ${count}
       RETURNING next_alias - ${count} AS first)
     SELECT (SELECT first FROM allocated) AS first`;

/** Reserves one alias of model `tmId` for a single create (allocateAliasSql). */
export async function allocateAliasAlone(db: Db, tmId: string, objectType: string): Promise<number> {
  const rows = await db.query<{ first: number }>(allocateAliasSql(), [tmId, objectType], 'alias_allocate_alone');
  return rows[0]!.first;
}

/**
 * As allocateAliasAlone, for `count` creates at once (AliasBatches), only while nothing that
 * decides a role on the model has changed since `stamp` (ThreatModelService.writeAccess): the first
 * of `count` consecutive aliases, or null, and nothing taken, when something has.
 */
export async function allocateAliasIfAccessUnchanged(db: Db, tmId: string, objectType: string, stamp: string, count = 1): Promise<number | null> {
  const rows = await db.query<{ first: number | null }>(
    allocateAliasSql(`NOT ${ACCESS_CHANGED_SQL('$1::uuid', '$3::text')}`, '$4::int'),
    [tmId, objectType, stamp, count],
    'alias_allocate_if_access_unchanged',
  );
  return rows[0]?.first ?? null;
}

function toParam(f: Field, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (f.type === 'json') return JSON.stringify(value);
  if (f.type === 'uuid' && value === '') return null;
  return value;
}

/** A child to write: its place, its writable fields' values (the kind's fields) and when. */
export interface NewChild {
  id: string;
  tmId: string;
  alias: number;
  values: Record<string, unknown>;
  at: Date;
  autoGenerated?: boolean;
}

function insertSql(kind: GenericKind, c: NewChild, bind: (v: unknown) => string, id: string, at: string): string {
  const cols = ['id', 'threat_model_id', 'alias', 'created_at', 'modified_at', ...kind.fields.map((f) => f.name)];
  const vals = [id, bind(c.tmId), bind(c.alias), at, at, ...kind.fields.map((f) => bind(toParam(f, c.values[f.name])))];
  if (kind.autoGenerated) {
    cols.push('auto_generated');
    vals.push(bind(Boolean(c.autoGenerated)));
  }
  return `INSERT INTO ${kind.table} AS c (${cols.join(', ')}) VALUES (${vals.join(', ')})`;
}

/** Writes a new child (without entries or an audit entry: rollback writes those itself). */
export async function insertChild(q: Queryable, kind: GenericKind, c: NewChild): Promise<ChildRow> {
  const p = new Params();
  const rows = await q.query<ChildRow>(`${insertSql(kind, c, p.bind, p.bind(c.id), p.bind(c.at))} ${RETURNING_ROW(kind)}`, p.values);
  return rows[0]!;
}

/**
 * What the database decides or normalises in a child's wire form (ChildService.present), as a jsonb
 * object over the written row `w`: numbers (at the column's scale), uuids (lower case), the
 * version, and the entries (`metadataJson`, in the database's order of keys).
 */
function decidedByDatabaseSql(kind: GenericKind, w: string, metadataJson: string): string {
  const pairs = [`'metadata', (${metadataJson})::jsonb`];
  if (kind.versioned) pairs.push(`'version', ${w}.version`);
  let omittedWhenNull = '';
  for (const f of kind.fields) {
    if (f.type !== 'number' && f.type !== 'uuid') continue;
    const value = f.type === 'number' ? `${w}.${f.name}::float8` : `${w}.${f.name}`;
    if (f.omitWhenNull) omittedWhenNull += ` || CASE WHEN ${w}.${f.name} IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('${f.name}', ${value}) END`;
    else pairs.push(`'${f.name}', ${value}`);
  }
  return `(jsonb_build_object(${pairs.join(', ')})${omittedWhenNull})`;
}

/**
 * Writes a new child, its metadata entries and its audit entry in one statement: one round trip,
 * and outside a transaction one transaction of its own (issue 11, "Writes"). The audit snapshot
 * is `snapshot`, the wire form the caller made of what it writes, with what the database decides
 * taken from the written row (decidedByDatabaseSql). Answers only what the database decided, to
 * lay over `snapshot` for the answer, rather than the whole row (some thirty columns) for the
 * server to parse and make into the wire form again.
 */
export async function insertChildAudited(
  q: Queryable,
  kind: GenericKind,
  c: NewChild,
  metadata: readonly Metadata[],
  audit: Omit<AuditRecord, 'version' | 'snapshot'> & { snapshot: Record<string, unknown> },
): Promise<Record<string, unknown>> {
  const p = new Params();
  const id = p.bind(c.id);
  const at = p.bind(c.at);
  const insert = insertSql(kind, c, p.bind, id, at);
  const entries = entriesOfNewSql(kind.objectType, id, metadata, at, p.bind);
  const sql = `WITH written AS (${insert} RETURNING c.*),
     decided AS (SELECT w.version, ${decidedByDatabaseSql(kind, 'w', entries.json)} AS decided FROM written w),
     ${entries.with},
     audited AS (${auditInsertSql(audit, c.at, p.bind, 'decided d', { version: 'd.version', snapshot: `${p.bind(JSON.stringify(audit.snapshot))}::jsonb || d.decided` })})
     SELECT decided FROM decided`;
  // The text is the kind's alone (every value is bound): parsed and planned once per connection.
  const rows = await q.query<{ decided: Record<string, unknown> }>(sql, p.values, statementName(sql));
  return rows[0]!.decided;
}

/**
 * What the database keeps through a replacement that the caller does not write: the alias, the
 * creation time (as ChildService.present formats it) and, for kinds that have it, auto_generated.
 * Times are written from JavaScript Dates, so they carry whole milliseconds and format the same.
 */
function keptByDatabaseSql(kind: GenericKind, w: string): string {
  const pairs = [`'alias', ${w}.alias`, `'created_at', to_char(${w}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`];
  if (kind.autoGenerated) pairs.push(`'auto_generated', ${w}.auto_generated`);
  return `jsonb_build_object(${pairs.join(', ')})`;
}

/**
 * A replacement (PUT) in one statement: every writable field of a live child of model `tmId`, its
 * entries when given, the version bumped, and its audit entry, whose snapshot is `audit.snapshot`
 * (the wire form the caller made of what it writes) with what the database decides or keeps taken
 * from the written row. Written only while the child is at `expectedVersion` (when given) and
 * nothing deciding a role on the model has changed since `accessStamp` (a kept write decision,
 * ThreatModelService.writeAccess). One statement is a transaction of its own: the row is locked
 * while it runs and commits, not across round trips (issue 11, "Writes"). Answers the row as
 * `findChild` reads it, or null when a condition failed and nothing was written.
 */
export async function replaceLiveChildAudited(
  q: Queryable,
  kind: GenericKind,
  change: { tmId: string; id: string; values: Record<string, unknown>; metadata: readonly Metadata[] | undefined; at: Date },
  conditions: { accessStamp: string; expectedVersion?: number },
  audit: Omit<AuditRecord, 'version' | 'snapshot'> & { snapshot: Record<string, unknown> },
): Promise<ChildRow | null> {
  const p = new Params();
  const replaced = liveChildReplacedSql(kind, change, p.bind, {
    guard: (tmId) =>
      `${conditions.expectedVersion === undefined ? '' : `c.version = ${p.bind(conditions.expectedVersion)} AND `}NOT ${ACCESS_CHANGED_SQL(`${tmId}::uuid`, `${p.bind(conditions.accessStamp)}::text`)}`,
  });
  const snapshot = `${p.bind(JSON.stringify(audit.snapshot))}::jsonb || ${decidedByDatabaseSql(kind, 'w', replaced.metadataJson)} || ${keptByDatabaseSql(kind, 'w')}`;
  const sql = `WITH ${replaced.with},
     audited AS (${auditInsertSql(audit, change.at, p.bind, 'written w', { version: 'w.version', snapshot })})
     SELECT w.*, ${replaced.metadataJson} AS metadata FROM written w`;
  const rows = await q.query<ChildRow>(sql, p.values, statementName(sql));
  return rows[0] ?? null;
}

/** Writes every writable field, bumps the version and modified_at, clears the tombstone (rollback). */
export async function undeleteChild(q: Queryable, kind: GenericKind, id: string, values: Record<string, unknown>, at: Date): Promise<void> {
  const p = new Params();
  await q.query(`UPDATE ${kind.table} AS c SET ${setSql(kind, values, p.bind)}, modified_at = ${p.bind(at)}, version = version + 1, deleted_at = NULL WHERE id = ${p.bind(id)}`, p.values);
}

/**
 * The CTEs of a replacement of a live child of model `tmId`: `written`, the row with every
 * writable field, the version and modified_at bumped (RETURNING c.* and `returning`), and, when
 * `metadata` is given, its entries replaced. `guard(tmId)`: SQL that must hold too. `metadataJson`
 * is the child's entries as they read after the statement, which does not see its own writes:
 * the new ones from what it wrote, kept ones read.
 */
function liveChildReplacedSql(
  kind: GenericKind,
  change: { tmId: string; id: string; values: Record<string, unknown>; metadata: readonly Metadata[] | undefined; at: Date },
  bind: (v: unknown) => string,
  opts: { guard?: (tmId: string) => string; returning?: string } = {},
): { with: string; metadataJson: string } {
  const id = bind(change.id);
  const at = bind(change.at);
  const tmId = bind(change.tmId);
  const update = `UPDATE ${kind.table} AS c SET ${setSql(kind, change.values, bind)}, modified_at = ${at}, version = c.version + 1
    WHERE c.id = ${id} AND c.threat_model_id = ${tmId} AND c.deleted_at IS NULL${opts.guard ? ` AND ${opts.guard(tmId)}` : ''} RETURNING c.*${opts.returning ?? ''}`;
  const entries = change.metadata ? entriesReplacedSql(kind.objectType, id, change.metadata, at, bind, 'EXISTS (SELECT 1 FROM written)') : null;
  return {
    with: `written AS (${update})${entries ? `, ${entries.with}` : ''}`,
    metadataJson: entries ? entries.json : metadataJsonSql(kind.objectType, 'w.id'),
  };
}

function setSql(kind: GenericKind, values: Record<string, unknown>, bind: (v: unknown) => string): string {
  return kind.fields.map((f) => `${f.name} = ${bind(toParam(f, values[f.name]))}`).join(', ');
}

/**
 * Writes every writable field of a live child of model `tmId` and, when `metadata` is given, its
 * entries, in one statement; bumps the version and modified_at. The row is locked by the update
 * itself, so a replacement holds it only for the rest of its transaction (its audit entry and
 * commit). Answers the row as `findChild` reads it with the version it had before, or null when
 * the model has no such live child (then nothing is written).
 */
export async function updateLiveChild(
  q: Queryable,
  kind: GenericKind,
  tmId: string,
  id: string,
  values: Record<string, unknown>,
  metadata: readonly Metadata[] | undefined,
  at: Date,
): Promise<(ChildRow & { version_before: number }) | null> {
  const p = new Params();
  const replaced = liveChildReplacedSql(kind, { tmId, id, values, metadata, at }, p.bind, { returning: ', c.version - 1 AS version_before' });
  const sql = `WITH ${replaced.with} SELECT w.*, ${replaced.metadataJson} AS metadata FROM written w`;
  const rows = await q.query<ChildRow & { version_before: number }>(sql, p.values, statementName(sql));
  return rows[0] ?? null;
}

export async function setDeleted(q: Queryable, kind: GenericKind, ids: string[], at: Date | null): Promise<void> {
  await q.query(`UPDATE ${kind.table} SET deleted_at = $2 WHERE id = ANY($1::uuid[])`, [ids, at]);
}
