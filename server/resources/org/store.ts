// SQL for teams, projects, their members, responsible parties, relationships and notes. Every value
// is a bound parameter; the only SQL text built here comes from constants of this module.
import type { Queryable } from '../../store/db.ts';
import { deleteAllEntries, metadataJsonSql } from '../metadata/store.ts';
import { userJsonSql } from '../common/review-audit.ts';

export type UnitType = 'team' | 'project';

export interface PersonRow {
  user_id: string;
  user: unknown;
  role: string;
  custom_role: string | null;
}
export interface RelationRow {
  related_id: string;
  relationship: string;
  custom_relationship: string | null;
}

export interface UnitRow {
  id: string;
  name: string;
  description: string | null;
  uri: string | null;
  email_address?: string | null;
  status: string;
  team_id?: string;
  team?: { id: string; name: string; description: string | null } | null;
  created_by_uuid: string | null;
  created_by: unknown;
  modified_by: unknown;
  reviewed_by: unknown;
  created_at: Date;
  modified_at: Date;
  reviewed_at: Date | null;
  version: number;
  metadata: { key: string; value: string }[];
  members?: PersonRow[];
  responsible_parties: PersonRow[];
  relations: RelationRow[];
  /** For a project: who created its team. */
  team_created_by_uuid?: string | null;
}

const people = (table: string, where: string) => `coalesce((
  SELECT json_agg(json_build_object('user_id', x.user_uuid, 'user', ${userJsonSql('pu')}, 'role', x.role, 'custom_role', x.custom_role) ORDER BY x.position)
  FROM ${table} x JOIN users pu ON pu.internal_uuid = x.user_uuid WHERE ${where}), '[]'::json)`;
const relations = (type: UnitType) => `coalesce((
  SELECT json_agg(json_build_object('related_id', r.related_id, 'relationship', r.relationship, 'custom_relationship', r.custom_relationship) ORDER BY r.position)
  FROM unit_relationships r WHERE r.unit_type = '${type}' AND r.unit_id = t.id), '[]'::json)`;

const COMMON = (type: UnitType) => `t.id, t.name, t.description, t.uri, t.status, t.created_by_uuid, t.created_at, t.modified_at, t.reviewed_at, t.version,
  ${userJsonSql('cu')} AS created_by, ${userJsonSql('mu')} AS modified_by, ${userJsonSql('ru')} AS reviewed_by,
  ${metadataJsonSql(type, 't.id')} AS metadata,
  ${people('responsible_parties', `x.unit_type = '${type}' AND x.unit_id = t.id`)} AS responsible_parties,
  ${relations(type)} AS relations`;
const JOINS = `LEFT JOIN users cu ON cu.internal_uuid = t.created_by_uuid
  LEFT JOIN users mu ON mu.internal_uuid = t.modified_by_uuid
  LEFT JOIN users ru ON ru.internal_uuid = t.reviewed_by_uuid`;

export async function findTeam(q: Queryable, id: string, forUpdate = false): Promise<UnitRow | null> {
  if (forUpdate) await q.query('SELECT 1 FROM teams WHERE id = $1 FOR UPDATE', [id]);
  const rows = await q.query<UnitRow>(
    `SELECT ${COMMON('team')}, t.email_address, ${people('team_members', 'x.team_id = t.id')} AS members
     FROM teams t ${JOINS} WHERE t.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function findProject(q: Queryable, id: string, forUpdate = false): Promise<UnitRow | null> {
  if (forUpdate) await q.query('SELECT 1 FROM projects WHERE id = $1 FOR UPDATE', [id]);
  const rows = await q.query<UnitRow>(
    `SELECT ${COMMON('project')}, t.team_id, tt.created_by_uuid AS team_created_by_uuid,
       CASE WHEN tt.id IS NULL THEN NULL ELSE json_build_object('id', tt.id, 'name', tt.name, 'description', tt.description) END AS team
     FROM projects t LEFT JOIN teams tt ON tt.id = t.team_id ${JOINS} WHERE t.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function isTeamMember(q: Queryable, teamId: string, userUuid: string): Promise<boolean> {
  return (await q.query('SELECT 1 FROM team_members WHERE team_id = $1 AND user_uuid = $2', [teamId, userUuid])).length > 0;
}

export async function teamExists(q: Queryable, id: string): Promise<{ created_by_uuid: string | null } | null> {
  return (await q.query<{ created_by_uuid: string | null }>('SELECT created_by_uuid FROM teams WHERE id = $1', [id]))[0] ?? null;
}

export async function projectTeam(q: Queryable, id: string): Promise<{ team_id: string; created_by_uuid: string | null; team_created_by_uuid: string | null } | null> {
  return (
    (await q.query<{ team_id: string; created_by_uuid: string | null; team_created_by_uuid: string | null }>(
      'SELECT p.team_id, p.created_by_uuid, t.created_by_uuid AS team_created_by_uuid FROM projects p JOIN teams t ON t.id = p.team_id WHERE p.id = $1',
      [id],
    ))[0] ?? null
  );
}

export async function unknownUsers(q: Queryable, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await q.query<{ id: string }>(
    'SELECT x.id::text AS id FROM unnest($1::uuid[]) AS x(id) WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.internal_uuid = x.id)',
    [ids],
  );
  return rows.map((r) => r.id);
}

export interface UnitFields {
  name: string;
  description: string | null;
  uri: string | null;
  status: string;
  email_address?: string | null;
  team_id?: string;
}

export async function insertTeam(q: Queryable, id: string, f: UnitFields, by: string, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO teams (id, name, description, uri, email_address, status, created_by_uuid, modified_by_uuid, created_at, modified_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $8)`,
    [id, f.name, f.description, f.uri, f.email_address ?? null, f.status, by, at],
  );
}

export async function insertProject(q: Queryable, id: string, f: UnitFields, by: string, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO projects (id, team_id, name, description, uri, status, created_by_uuid, modified_by_uuid, created_at, modified_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $8)`,
    [id, f.team_id, f.name, f.description, f.uri, f.status, by, at],
  );
}

export async function updateUnit(q: Queryable, type: UnitType, id: string, f: UnitFields, by: string, at: Date, reviewed: Date | null | undefined): Promise<void> {
  const review = reviewed === undefined ? '' : ', reviewed_at = $9, reviewed_by_uuid = CASE WHEN $9::timestamptz IS NULL THEN NULL ELSE $6::uuid END';
  if (type === 'team') {
    await q.query(
      `UPDATE teams SET name = $2, description = $3, uri = $4, status = $5, modified_by_uuid = $6, modified_at = $7, email_address = $8, version = version + 1${review}
       WHERE id = $1`,
      [id, f.name, f.description, f.uri, f.status, by, at, f.email_address ?? null, ...(reviewed === undefined ? [] : [reviewed])],
    );
  } else {
    await q.query(
      `UPDATE projects SET name = $2, description = $3, uri = $4, status = $5, modified_by_uuid = $6, modified_at = $7, team_id = $8, version = version + 1${review}
       WHERE id = $1`,
      [id, f.name, f.description, f.uri, f.status, by, at, f.team_id, ...(reviewed === undefined ? [] : [reviewed])],
    );
  }
}

export interface Person {
  user_id: string;
  role: string;
  custom_role?: string | null;
}

export async function replaceMembers(q: Queryable, teamId: string, list: Person[]): Promise<void> {
  await q.query('DELETE FROM team_members WHERE team_id = $1', [teamId]);
  if (list.length === 0) return;
  await q.query(
    `INSERT INTO team_members (team_id, user_uuid, position, role, custom_role)
     SELECT $1, u, p, r, c FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[]) AS m(u, p, r, c)`,
    [teamId, list.map((m) => m.user_id), list.map((_m, i) => i), list.map((m) => m.role), list.map((m) => m.custom_role ?? null)],
  );
}

export async function replaceParties(q: Queryable, type: UnitType, id: string, list: Person[]): Promise<void> {
  await q.query('DELETE FROM responsible_parties WHERE unit_type = $1 AND unit_id = $2', [type, id]);
  if (list.length === 0) return;
  await q.query(
    `INSERT INTO responsible_parties (unit_type, unit_id, user_uuid, position, role, custom_role)
     SELECT $1, $2, u, p, r, c FROM unnest($3::uuid[], $4::int[], $5::text[], $6::text[]) AS m(u, p, r, c)`,
    [type, id, list.map((m) => m.user_id), list.map((_m, i) => i), list.map((m) => m.role), list.map((m) => m.custom_role ?? null)],
  );
}

export interface Relation {
  related_id: string;
  relationship: string;
  custom_relationship?: string | null;
}

/** This unit's own relationships (rows other units declared towards it stay). */
export async function replaceRelations(q: Queryable, type: UnitType, id: string, list: Relation[]): Promise<void> {
  await q.query('DELETE FROM unit_relationships WHERE unit_type = $1 AND unit_id = $2', [type, id]);
  if (list.length === 0) return;
  await q.query(
    `INSERT INTO unit_relationships (unit_type, unit_id, related_id, position, relationship, custom_relationship)
     SELECT $1, $2, r, p, k, c FROM unnest($3::uuid[], $4::int[], $5::text[], $6::text[]) AS m(r, p, k, c)`,
    [type, id, list.map((r) => r.related_id), list.map((_r, i) => i), list.map((r) => r.relationship), list.map((r) => r.custom_relationship ?? null)],
  );
}

/** Ids reachable from `from` over edges of `relationship` (depth ≤ 10), for cycle checks and transitive filters. */
export async function reachable(q: Queryable, type: UnitType, from: string, relationship: string): Promise<Set<string>> {
  const rows = await q.query<{ id: string }>(
    `WITH RECURSIVE walk(id, depth) AS (
       SELECT related_id, 1 FROM unit_relationships WHERE unit_type = $1 AND unit_id = $2 AND relationship = $3
       UNION
       SELECT r.related_id, w.depth + 1 FROM unit_relationships r JOIN walk w ON r.unit_id = w.id
       WHERE r.unit_type = $1 AND r.relationship = $3 AND w.depth < 10)
     SELECT DISTINCT id::text AS id FROM walk`,
    [type, from, relationship],
  );
  return new Set(rows.map((r) => r.id));
}

export async function existingUnits(q: Queryable, type: UnitType, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await q.query<{ id: string }>(`SELECT id::text AS id FROM ${type === 'team' ? 'teams' : 'projects'} WHERE id = ANY($1::uuid[])`, [ids]);
  return new Set(rows.map((r) => r.id));
}

/** Removes a unit's parties, relationships (both directions), notes and metadata; the row itself last. */
export async function deleteUnit(q: Queryable, type: UnitType, id: string): Promise<void> {
  await q.query('DELETE FROM unit_relationships WHERE unit_type = $1 AND (unit_id = $2 OR related_id = $2)', [type, id]);
  await q.query('DELETE FROM responsible_parties WHERE unit_type = $1 AND unit_id = $2', [type, id]);
  await q.query('DELETE FROM unit_notes WHERE unit_type = $1 AND unit_id = $2', [type, id]);
  await deleteAllEntries(q, type, [id]);
  await q.query(`DELETE FROM ${type === 'team' ? 'teams' : 'projects'} WHERE id = $1`, [id]);
}

export interface ListArgs {
  callerUuid: string;
  all: boolean;
  name?: string;
  statuses: string[];
  memberUserId?: string;
  teamId?: string;
  relatedIds?: string[] | null;
  limit: number;
  offset: number;
}

export async function listTeams(q: Queryable, a: ListArgs) {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, v: unknown) => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  if (!a.all) add((n) => `EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id AND m.user_uuid = ${n})`, a.callerUuid);
  if (a.name) add((n) => `strpos(lower(t.name), lower(${n})) > 0`, a.name);
  if (a.statuses.length) add((n) => `t.status = ANY(${n}::text[])`, a.statuses);
  if (a.memberUserId) add((n) => `EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id AND m.user_uuid = ${n})`, a.memberUserId);
  if (a.relatedIds) add((n) => `t.id = ANY(${n}::uuid[])`, a.relatedIds);
  const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = (await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM teams t ${cond}`, params))[0]!.n;
  const rows = await q.query<Record<string, unknown>>(
    `SELECT t.id, t.name, t.description, t.status, t.created_at, t.modified_at,
       (SELECT count(*)::int FROM team_members m WHERE m.team_id = t.id) AS member_count,
       (SELECT count(*)::int FROM projects p WHERE p.team_id = t.id) AS project_count,
       (SELECT count(*)::int FROM unit_notes n WHERE n.unit_type = 'team' AND n.unit_id = t.id) AS note_count
     FROM teams t ${cond} ORDER BY t.created_at DESC, t.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, a.limit, a.offset],
  );
  return { rows, total };
}

export async function listProjects(q: Queryable, a: ListArgs) {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, v: unknown) => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  if (!a.all) add((n) => `EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.team_id AND m.user_uuid = ${n})`, a.callerUuid);
  if (a.name) add((n) => `strpos(lower(t.name), lower(${n})) > 0`, a.name);
  if (a.statuses.length) add((n) => `t.status = ANY(${n}::text[])`, a.statuses);
  if (a.teamId) add((n) => `t.team_id = ${n}`, a.teamId);
  if (a.relatedIds) add((n) => `t.id = ANY(${n}::uuid[])`, a.relatedIds);
  const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = (await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM projects t ${cond}`, params))[0]!.n;
  const rows = await q.query<Record<string, unknown>>(
    `SELECT t.id, t.name, t.description, t.status, t.team_id, tt.name AS team_name, t.created_at, t.modified_at,
       (SELECT count(*)::int FROM unit_notes n WHERE n.unit_type = 'project' AND n.unit_id = t.id) AS note_count
     FROM projects t JOIN teams tt ON tt.id = t.team_id ${cond} ORDER BY t.created_at DESC, t.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, a.limit, a.offset],
  );
  return { rows, total };
}

/** Units related to `target`: with a relationship, rows U→X of it, X→U of its inverse and X→U of it. */
export async function relatedTo(q: Queryable, type: UnitType, target: string, relationship: string | undefined, inverse: string | undefined): Promise<string[]> {
  const rows = relationship
    ? await q.query<{ id: string }>(
        `SELECT unit_id::text AS id FROM unit_relationships WHERE unit_type = $1 AND related_id = $2 AND relationship = $3
         UNION SELECT related_id::text FROM unit_relationships WHERE unit_type = $1 AND unit_id = $2 AND relationship = ANY($4::text[])`,
        [type, target, relationship, [relationship, inverse ?? relationship]],
      )
    : await q.query<{ id: string }>(
        `SELECT unit_id::text AS id FROM unit_relationships WHERE unit_type = $1 AND related_id = $2
         UNION SELECT related_id::text FROM unit_relationships WHERE unit_type = $1 AND unit_id = $2`,
        [type, target],
      );
  return rows.map((r) => r.id);
}

// ---- notes ---------------------------------------------------------------------------------------

export interface NoteRow {
  id: string;
  name: string;
  content: string;
  description: string | null;
  timmy_enabled: boolean;
  sharable: boolean;
  created_at: Date;
  modified_at: Date;
}

const NOTE_COLUMNS = 'id, name, content, description, timmy_enabled, sharable, created_at, modified_at';

export async function listNotes(q: Queryable, type: UnitType, unitId: string, privileged: boolean, limit: number, offset: number) {
  const cond = `unit_type = $1 AND unit_id = $2${privileged ? '' : ' AND sharable'}`;
  const total = (await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM unit_notes WHERE ${cond}`, [type, unitId]))[0]!.n;
  const rows = await q.query<NoteRow>(`SELECT ${NOTE_COLUMNS} FROM unit_notes WHERE ${cond} ORDER BY created_at DESC, id LIMIT $3 OFFSET $4`, [type, unitId, limit, offset]);
  return { rows, total };
}

/** A note of this unit only (a note id of another unit is not found). */
export async function findNote(q: Queryable, type: UnitType, unitId: string, id: string): Promise<NoteRow | null> {
  return (await q.query<NoteRow>(`SELECT ${NOTE_COLUMNS} FROM unit_notes WHERE unit_type = $1 AND unit_id = $2 AND id = $3`, [type, unitId, id]))[0] ?? null;
}

export async function writeNote(q: Queryable, type: UnitType, unitId: string, n: Omit<NoteRow, 'created_at' | 'modified_at'>, at: Date, create: boolean): Promise<void> {
  if (create) {
    await q.query(
      `INSERT INTO unit_notes (id, unit_type, unit_id, name, content, description, timmy_enabled, sharable, created_at, modified_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
      [n.id, type, unitId, n.name, n.content, n.description, n.timmy_enabled, n.sharable, at],
    );
  } else {
    await q.query(
      `UPDATE unit_notes SET name = $4, content = $5, description = $6, timmy_enabled = $7, sharable = $8, modified_at = $9
       WHERE unit_type = $2 AND unit_id = $3 AND id = $1`,
      [n.id, type, unitId, n.name, n.content, n.description, n.timmy_enabled, n.sharable, at],
    );
  }
}

export async function deleteNote(q: Queryable, type: UnitType, unitId: string, id: string): Promise<void> {
  await q.query('DELETE FROM unit_notes WHERE unit_type = $1 AND unit_id = $2 AND id = $3', [type, unitId, id]);
}
