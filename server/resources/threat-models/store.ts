// SQL for threat models and their access lists. Every value is a bound parameter.
import { pageSizeLiteral, statementName, type Queryable } from '../../store/db.ts';
import { likeContains } from '../../store/like.ts';
import { READABLE_BY_CALLER_SQL, readableByCallerParams, type AccessEntry, type AccessSubject, type Role } from '../../authz/index.ts';
import type { Metadata } from '../../../contract/common.ts';
import { KINDS } from '../kinds.ts';
import { metadataJsonSql, replaceEntries } from '../metadata/store.ts';

/** A user as the wire shows it, built in SQL from a users row aliased `u`. */
const userJson = (u: string) =>
  `json_build_object('principal_type', 'user', 'provider', ${u}.provider, 'provider_id', coalesce(${u}.provider_user_id, ${u}.email),
     'display_name', ${u}.name, 'email', ${u}.email)`;

/** The access list with both the wire fields and the internal user id used by authz/. */
export const ACCESS_LIST_SQL = `coalesce((
  SELECT json_agg(json_build_object(
    'principal_type', a.subject_type,
    'subject_type', a.subject_type,
    'user_uuid', a.user_uuid,
    'group_uuid', a.group_uuid,
    'provider', coalesce(u.provider, g.provider),
    'provider_id', coalesce(u.provider_user_id, u.email, g.group_name),
    'display_name', coalesce(u.name, g.name, g.group_name),
    'email', u.email,
    'role', a.role) ORDER BY a.position)
  FROM threat_model_access a
  LEFT JOIN users u ON u.internal_uuid = a.user_uuid
  LEFT JOIN groups g ON g.internal_uuid = a.group_uuid
  WHERE a.threat_model_id = tm.id), '[]'::json)`;

export interface AccessRow extends AccessEntry {
  principal_type: 'user' | 'group';
  group_uuid: string | null;
  display_name: string | null;
  email: string | null;
}

export interface ThreatModelRow {
  id: string;
  name: string;
  description: string | null;
  threat_model_framework: string;
  issue_uri: string | null;
  status: string;
  status_updated: Date;
  alias: number;
  is_confidential: boolean;
  project_id: string | null;
  created_at: Date;
  modified_at: Date;
  deleted_at: Date | null;
  version: number;
  owner_uuid: string;
  security_reviewer_uuid: string | null;
  owner: Record<string, string>;
  created_by: Record<string, string>;
  security_reviewer: Record<string, string> | null;
  access: AccessRow[];
  metadata: Metadata[];
}

const THREAT_MODEL_COLUMNS = `
  SELECT tm.id, tm.name, tm.description, tm.threat_model_framework, tm.issue_uri, tm.status, tm.status_updated, tm.alias,
         tm.is_confidential, tm.project_id, tm.created_at, tm.modified_at, tm.deleted_at, tm.version, tm.owner_uuid,
         tm.security_reviewer_uuid,
         ${userJson('o')} AS owner, ${userJson('c')} AS created_by,
         CASE WHEN r.internal_uuid IS NULL THEN NULL ELSE ${userJson('r')} END AS security_reviewer,
         ${ACCESS_LIST_SQL} AS access,
         ${metadataJsonSql('threat_model', 'tm.id')} AS metadata`;
const THREAT_MODEL_FROM = `
  FROM threat_models tm
  JOIN users o ON o.internal_uuid = tm.owner_uuid
  JOIN users c ON c.internal_uuid = tm.created_by_uuid
  LEFT JOIN users r ON r.internal_uuid = tm.security_reviewer_uuid`;

/** Which kinds' tables hold live children of the model (table names come from KINDS, code). */
const LIVE_CHILDREN = `, array_remove(ARRAY[${KINDS.map(
  (k) => `CASE WHEN EXISTS (SELECT 1 FROM ${k.table} x WHERE x.threat_model_id = tm.id AND x.deleted_at IS NULL) THEN '${k.table}' END`,
).join(', ')}]::text[], NULL) AS live_children`;

/**
 * With `liveChildren`, the row also says which kinds' tables hold live children of the model
 * (`live_children`), so a read can skip the queries for empty kinds in the same round trip.
 */
export async function findThreatModel(
  q: Queryable,
  id: string,
  opts: { forUpdate?: boolean; liveChildren?: boolean } = {},
): Promise<(ThreatModelRow & { live_children?: string[] }) | null> {
  if (opts.forUpdate) await q.query('SELECT 1 FROM threat_models WHERE id = $1 FOR UPDATE', [id]);
  const extra = opts.liveChildren ? LIVE_CHILDREN : '';
  const rows = await q.query<ThreatModelRow & { live_children?: string[] }>(
    `${THREAT_MODEL_COLUMNS}${extra}${THREAT_MODEL_FROM} WHERE tm.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** Just enough of a threat model to decide access to it or to one of its children. */
export interface AccessContext {
  id: string;
  owner_uuid: string;
  deleted_at: Date | null;
  access: AccessEntry[];
  /** The database state this was read in (pg_current_snapshot): the stamp of a copy assembled after it. */
  snapshot: string;
  /** Whether the model changed since the stamp asked about (`findAccessContext`'s `since`); true without one. */
  changed: boolean;
}

/**
 * The read model's log (migration 0103): what a transaction that changed a model's document or
 * child lists records, under the model's id or, for every model, under ALL_MODELS.
 */
export const ALL_MODELS = '00000000-0000-0000-0000-000000000000';

/**
 * How long a stamp (a snapshot a kept answer, document or decision was read in) is trusted, and
 * how long the change logs keep a row: twice as long, so that no change a trusted stamp must see
 * has been pruned (pruneChangeLogs).
 */
export const STAMP_TRUST_MS = 10 * 60_000;
export const CHANGE_LOG_KEEP_MS = 2 * STAMP_TRUST_MS;

/**
 * SQL: whether a row of change log `log` (aliased `ch`, narrowed by `where`) belongs to a
 * transaction that committed after the snapshot `stamp` (text) was taken, i.e. is not visible in
 * it. Rows older than the stamp's oldest running transaction (xmin) are all visible, so only
 * recent rows are read. True when `stamp` is null.
 */
export const changedSinceSql = (log: string, stamp: string, where = 'true') => `(${stamp} IS NULL OR EXISTS (
  SELECT 1 FROM ${log} ch
  WHERE ${where} AND ch.xid >= pg_snapshot_xmin(${stamp}::pg_snapshot) AND NOT pg_visible_in_snapshot(ch.xid, ${stamp}::pg_snapshot)))`;

const ofModel = (id: string) => `ch.threat_model_id IN (${id}, '${ALL_MODELS}'::uuid)`;

/** SQL: whether model `id`'s document or child lists changed since `stamp` (migration 0103). */
export const READ_MODEL_CHANGED_SQL = (id: string, stamp: string) => changedSinceSql('threat_model_changes', stamp, ofModel(id));

/** SQL: whether what decides a role on model `id` changed since `stamp` (migration 0104). */
export const ACCESS_CHANGED_SQL = (id: string, stamp: string) => changedSinceSql('threat_model_access_changes', stamp, ofModel(id));

/** SQL: whether a stamp taken at `stampedAt` is still trusted (STAMP_TRUST_MS). */
export const STAMP_TRUSTED_SQL = (stampedAt: string) => `${stampedAt} > now() - interval '${STAMP_TRUST_MS / 1000} seconds'`;

/**
 * The access context of model `id`, and whether it changed since `since` (a stamp taken earlier).
 * The access list is the read model's copy while that copy is current, else built.
 */
export async function findAccessContext(q: Queryable, id: string, since?: string): Promise<AccessContext | null> {
  const rows = await q.query<AccessContext>(
    `SELECT tm.id, tm.owner_uuid, tm.deleted_at, pg_current_snapshot()::text AS snapshot,
            ${READ_MODEL_CHANGED_SQL('tm.id', '$2::text')} AS changed,
            coalesce(CASE WHEN c.doc IS NOT NULL AND ${STAMP_TRUSTED_SQL('c.stamped_at')} AND NOT ${READ_MODEL_CHANGED_SQL('tm.id', 'c.stamp')} THEN c.access END,
                     (${ACCESS_LIST_SQL})::jsonb) AS access
     FROM threat_models tm LEFT JOIN threat_model_read_cache c ON c.threat_model_id = tm.id
     WHERE tm.id = $1`,
    [id, since ?? null],
    'tm_access_context',
  );
  return rows[0] ?? null;
}

export interface NewThreatModel {
  id: string;
  name: string;
  description: string | null;
  framework: string;
  issueUri: string | null;
  isConfidential: boolean;
  ownerUuid: string;
  at: Date;
}

export async function insertThreatModel(q: Queryable, t: NewThreatModel): Promise<void> {
  await q.query(
    `INSERT INTO threat_models (id, name, description, threat_model_framework, issue_uri, status, status_updated, is_confidential,
       owner_uuid, created_by_uuid, created_at, modified_at)
     VALUES ($1, $2, $3, $4, $5, 'not_started', $6, $7, $8, $8, $6, $6)`,
    [t.id, t.name, t.description, t.framework, t.issueUri, t.at, t.isConfidential, t.ownerUuid],
  );
}

export interface ThreatModelChanges {
  name: string;
  description: string | null;
  framework: string;
  issueUri: string | null;
  status: string;
  ownerUuid: string;
  securityReviewerUuid: string | null;
  projectId: string | null;
}

export async function updateThreatModel(q: Queryable, id: string, c: ThreatModelChanges, at: Date): Promise<void> {
  await q.query(
    `UPDATE threat_models SET name = $2, description = $3, threat_model_framework = $4, issue_uri = $5,
       status_updated = CASE WHEN status IS DISTINCT FROM $6 THEN $10 ELSE status_updated END, status = $6,
       owner_uuid = $7, security_reviewer_uuid = $8, project_id = $9, modified_at = $10, version = version + 1
     WHERE id = $1`,
    [id, c.name, c.description, c.framework, c.issueUri, c.status, c.ownerUuid, c.securityReviewerUuid, c.projectId, at],
  );
}

/** An access entry resolved to internal ids, ready to store. */
export interface ResolvedEntry {
  subjectType: 'user' | 'group';
  uuid: string;
  role: Role;
}

export async function replaceAccess(q: Queryable, tmId: string, entries: ResolvedEntry[]): Promise<void> {
  await q.query('DELETE FROM threat_model_access WHERE threat_model_id = $1', [tmId]);
  if (entries.length === 0) return;
  await q.query(
    `INSERT INTO threat_model_access (threat_model_id, position, subject_type, user_uuid, group_uuid, role)
     SELECT $1, e.ord - 1, e.subject_type,
            CASE WHEN e.subject_type = 'user' THEN e.uuid END, CASE WHEN e.subject_type = 'group' THEN e.uuid END, e.role
     FROM unnest($2::text[], $3::uuid[], $4::text[]) WITH ORDINALITY AS e(subject_type, uuid, role, ord)`,
    [tmId, entries.map((e) => e.subjectType), entries.map((e) => e.uuid), entries.map((e) => e.role)],
  );
}

/**
 * The stored id of the group an access entry names, the group created when first named. An
 * existing group's row is read, not locked. The upsert this replaces "updated" the row to have it
 * returned, which locks it against every foreign-key check of an access entry naming that group
 * (the key it set is part of the unique key); two writes naming groups in different orders then
 * deadlocked, and one of them failed (seen on PostgreSQL in CI). A group created by a transaction
 * that committed after this statement began is not in its snapshot, so it is read once more.
 */
export async function ensureGroup(q: Queryable, provider: string, groupName: string): Promise<string> {
  const find = 'SELECT internal_uuid FROM groups WHERE provider = $1 AND group_name = $2';
  const rows = await q.query<{ internal_uuid: string }>(
    `WITH created AS (
       INSERT INTO groups (internal_uuid, provider, group_name, name) VALUES (gen_random_uuid(), $1, $2, $2)
       ON CONFLICT (provider, group_name) DO NOTHING RETURNING internal_uuid)
     SELECT internal_uuid FROM created UNION ALL ${find}`,
    [provider, groupName],
  );
  const id = rows[0] ?? (await q.query<{ internal_uuid: string }>(find, [provider, groupName]))[0];
  if (!id) throw new Error(`group ${provider}/${groupName}: neither created nor found`);
  return id.internal_uuid;
}

/** Soft-deletes a threat model and, with the same timestamp, its live children. */
export async function softDeleteThreatModel(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query('UPDATE threat_models SET deleted_at = $2, modified_at = $2 WHERE id = $1', [id, at]);
  for (const k of KINDS) {
    await q.query(`UPDATE ${k.table} SET deleted_at = $2 WHERE threat_model_id = $1 AND deleted_at IS NULL`, [id, at]);
  }
}

export interface ListFilters {
  owner?: string;
  name?: string;
  description?: string;
  issueUri?: string;
  statuses?: string[];
  securityReviewer?: string;
  dates: { column: 'created_at' | 'modified_at' | 'status_updated'; op: '>=' | '<='; value: Date }[];
  includeDeleted: boolean;
  /** TMI-TS extension: models of this project / of this team's projects. */
  projectId?: string;
  teamId?: string;
}

export async function listThreatModels(
  q: Queryable,
  who: AccessSubject,
  f: ListFilters,
  limit: number,
  offset: number,
): Promise<{ rows: Record<string, unknown>[]; total: number }> {
  const params = readableByCallerParams(who);
  const where: string[] = [];
  const arg = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  // A filter on the owner or the reviewer finds the matching users once (an uncorrelated
  // sub-select, run once per query), and each model is then tested by its user id: choosing the
  // page and counting every match must not touch more than the matches, nor match a pattern once
  // per readable model.
  const usersMatching = (pattern: string) => {
    const p = arg(likeContains(pattern));
    return `ARRAY(SELECT u.internal_uuid FROM users u WHERE u.email ILIKE ${p} OR u.name ILIKE ${p})`;
  };
  if (!f.includeDeleted) where.push('tm.deleted_at IS NULL');
  // The two parts of what the caller can read (below), each with what the owner filter makes of it.
  let owned: string = READABLE_BY_CALLER_SQL.owned;
  let shared: string = READABLE_BY_CALLER_SQL.shared;
  if (f.owner) {
    // The caller's own models are in the list whole or not at all (one test, not one per model);
    // the others are those models of the matching owners (the owner index) that are shared with
    // the caller (a hash of the shared ids: no lookup per model shared with the caller).
    const owners = usersMatching(f.owner);
    owned = `${owned} AND $1 = ANY(${owners})`;
    shared = `tm.owner_uuid = ANY(${owners}) AND ${READABLE_BY_CALLER_SQL.sharedAmongOwners}`;
  }
  // ILIKE, on the lower-cased texts kept with the row (migration 0105).
  if (f.name) where.push(`tm.name_folded LIKE lower(${arg(likeContains(f.name))})`);
  if (f.description) where.push(`tm.description_folded LIKE lower(${arg(likeContains(f.description))})`);
  if (f.issueUri) where.push(`tm.issue_uri ILIKE ${arg(likeContains(f.issueUri))}`);
  if (f.statuses?.length) where.push(`lower(tm.status) = ANY(${arg(f.statuses.map((s) => s.toLowerCase()))}::text[])`);
  if (f.securityReviewer === 'is:null') where.push('tm.security_reviewer_uuid IS NULL');
  else if (f.securityReviewer === 'is:notnull') where.push('tm.security_reviewer_uuid IS NOT NULL');
  else if (f.securityReviewer) where.push(`tm.security_reviewer_uuid = ANY(${usersMatching(f.securityReviewer)})`);
  for (const d of f.dates) where.push(`tm.${d.column} ${d.op} ${arg(d.value)}`);
  if (f.projectId) where.push(`tm.project_id = ${arg(f.projectId)}`);
  if (f.teamId) where.push(`tm.project_id IN (SELECT p.id FROM projects p WHERE p.team_id = ${arg(f.teamId)})`);
  // The readable models, the caller's own and those shared with them, each part selected on its own.
  const matches = (select: string) =>
    [owned, shared]
      .map((readable) => `SELECT ${select} FROM threat_models tm WHERE ${[readable, ...where].join(' AND ')}`)
      .join(' UNION ALL ');
  const count = (table: string) =>
    `(SELECT count(*)::int FROM ${table} x WHERE x.threat_model_id = tm.id AND x.deleted_at IS NULL)`;
  const offsetArg = arg(offset);
  // The page is chosen first (with the total over every match); the users' JSON and the counts of
  // children are then built for the page's rows only, not for every readable model.
  const sql = `WITH page AS (
       SELECT m.id, count(*) OVER ()::int AS total
       FROM (${matches('tm.id, tm.created_at')}) m
       ORDER BY m.created_at DESC, m.id
       LIMIT ${pageSizeLiteral(limit)} OFFSET ${offsetArg})
     SELECT tm.id, tm.name, tm.description, tm.created_at, tm.modified_at, tm.threat_model_framework, tm.issue_uri, tm.status,
            tm.status_updated, tm.deleted_at, tm.alias,
            ${userJson('o')} AS owner, ${userJson('c')} AS created_by,
            CASE WHEN r.internal_uuid IS NULL THEN NULL ELSE ${userJson('r')} END AS security_reviewer,
            ${KINDS.map((k) => `${count(k.table)} AS ${k.count}`).join(', ')},
            page.total
     FROM page
     JOIN threat_models tm ON tm.id = page.id
     JOIN users o ON o.internal_uuid = tm.owner_uuid
     JOIN users c ON c.internal_uuid = tm.created_by_uuid
     LEFT JOIN users r ON r.internal_uuid = tm.security_reviewer_uuid
     ORDER BY tm.created_at DESC, tm.id`;
  const rows = await q.query<Record<string, unknown> & { total: number }>(sql, params, statementName(sql));
  let total = rows[0]?.total ?? 0;
  if (rows.length === 0 && offset > 0) {
    // The window count is empty past the last page; count separately so `total` stays right.
    const c = await q.query<{ total: number }>(`SELECT count(*)::int AS total FROM (${matches('1')}) m`, params.slice(0, -1));
    total = c[0]?.total ?? 0;
  }
  return { rows: rows.map(({ total: _t, ...rest }) => rest), total };
}

/** Clears the tombstone of a threat model and of the children deleted with it (same timestamp). */
export async function restoreThreatModel(q: Queryable, id: string, deletedAt: Date, at: Date): Promise<void> {
  await q.query('UPDATE threat_models SET deleted_at = NULL, modified_at = $2 WHERE id = $1', [id, at]);
  for (const k of KINDS) {
    await q.query(`UPDATE ${k.table} SET deleted_at = NULL WHERE threat_model_id = $1 AND deleted_at = $2`, [id, deletedAt]);
  }
}

/** Writes the content fields of a recorded threat-model state back (rollback); access stays as it is. */
export async function writeThreatModelSnapshot(q: Queryable, id: string, s: Record<string, unknown>, at: Date): Promise<void> {
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  await q.query(
    `UPDATE threat_models SET name = coalesce($2, name), description = $3, threat_model_framework = coalesce($4, threat_model_framework),
       issue_uri = $5, status_updated = CASE WHEN status IS DISTINCT FROM coalesce($6, status) THEN $8 ELSE status_updated END,
       status = coalesce($6, status), project_id = $7, modified_at = $8, version = version + 1
     WHERE id = $1`,
    [id, text(s.name), text(s.description), text(s.threat_model_framework), text(s.issue_uri), text(s.status), text(s.project_id), at],
  );
  if (Array.isArray(s.metadata)) await replaceEntries(q, 'threat_model', id, s.metadata as Metadata[], at);
}
