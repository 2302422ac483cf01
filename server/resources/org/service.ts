// Teams and projects: list, create, read, replace, patch, delete; their notes; the access check
// every route (and the metadata routes) goes through. Rules: server/authz/org.ts.
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../store/db.ts';
import type { Principal } from '../../auth/authenticate.ts';
import { authorizeUnit, isPrivileged, type UnitAction } from '../../authz/org.ts';
import { badRequest, conflict, forbidden, notFound } from '../../http/errors.ts';
import type { JsonPatchDocument } from '../../../contract/common.ts';
import {
  ProjectInput as ProjectInputSchema,
  TeamInput as TeamInputSchema,
  UnitNoteInput as UnitNoteInputSchema,
  type ListProjectsQuery,
  type ListTeamsQuery,
  type ProjectInput,
  type Relationship,
  type TeamInput,
  type UnitNoteInput,
} from '../../../contract/org.ts';
import { applyJsonPatch } from '../common/json-patch.ts';
import { checkPrecondition, type Precondition } from '../common/if-match.ts';
import { iso, recordReviewAudit } from '../common/review-audit.ts';
import { isUnsafeText } from '../common/text-safety.ts';
import { sanitizeMarkdown } from '../notes/sanitize.ts';
import { actorOf } from '../threat-models/service.ts';
import * as store from './store.ts';
import type { UnitType } from './store.ts';
import { compileOnFirstUse } from '../../../contract/validator.ts';

const INVERSE: Partial<Record<Relationship, Relationship>> = {
  parent: 'child', child: 'parent', dependency: 'dependent', dependent: 'dependency', supersedes: 'superseded_by', superseded_by: 'supersedes',
};
const ACYCLIC = new Set<Relationship>(['parent', 'child', 'supersedes', 'superseded_by']);

const TeamCheck = compileOnFirstUse(TeamInputSchema);
const ProjectCheck = compileOnFirstUse(ProjectInputSchema);
const NoteCheck = compileOnFirstUse(UnitNoteInputSchema);

function firstError(check: { Errors(v: unknown): Iterable<{ instancePath: string; message: string }> }, value: unknown): string {
  const e = [...check.Errors(value)][0];
  return e ? `${e.instancePath || '/'} ${e.message}` : 'invalid';
}

const label = (type: UnitType) => (type === 'team' ? 'Team' : 'Project');

function people(list: store.PersonRow[]) {
  return list.map((m) => ({ user_id: m.user_id, user: m.user ?? null, role: m.role, ...(m.custom_role ? { custom_role: m.custom_role } : {}) }));
}

function noteListItem(n: store.NoteRow) {
  return { id: n.id, name: n.name, description: n.description, timmy_enabled: n.timmy_enabled, sharable: n.sharable, created_at: iso(n.created_at)!, modified_at: iso(n.modified_at)! };
}

function present(type: UnitType, row: store.UnitRow, notes?: store.NoteRow[]) {
  const rel = row.relations.map((r) => ({
    [type === 'team' ? 'related_team_id' : 'related_project_id']: r.related_id,
    relationship: r.relationship,
    ...(r.custom_relationship ? { custom_relationship: r.custom_relationship } : {}),
  }));
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    uri: row.uri,
    ...(type === 'team' ? { email_address: row.email_address ?? null, members: people(row.members ?? []), related_teams: rel } : { team_id: row.team_id, team: row.team ?? null, related_projects: rel }),
    status: row.status,
    responsible_parties: people(row.responsible_parties),
    created_by: row.created_by ?? null,
    modified_by: row.modified_by ?? null,
    reviewed_by: row.reviewed_by ?? null,
    created_at: iso(row.created_at)!,
    modified_at: iso(row.modified_at)!,
    reviewed_at: iso(row.reviewed_at),
    metadata: row.metadata,
    version: row.version,
    ...(notes ? { notes: notes.map(noteListItem) } : {}),
  };
}

function statusesOf(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** Plain-text fields: no markup that could run script once shown. */
function checkProse(fields: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string' && isUnsafeText(v)) throw badRequest(`Field '${k}' contains potentially unsafe content`);
}

export class OrgService {
  constructor(
    private readonly db: Db,
    private readonly isAdministratorOn: (q: Queryable, p: Principal) => Promise<boolean>,
  ) {}

  /** 404 when the unit is absent, 403 when the action is not the caller's (authz/org.ts). */
  async access(q: Queryable, p: Principal, type: UnitType, id: string, action: UnitAction): Promise<void> {
    let teamId: string;
    let creators: (string | null)[];
    if (type === 'team') {
      const t = await store.teamExists(q, id);
      if (!t) throw notFound('Team not found');
      teamId = id;
      creators = [t.created_by_uuid];
    } else {
      const pr = await store.projectTeam(q, id);
      if (!pr) throw notFound('Project not found');
      teamId = pr.team_id;
      creators = [pr.created_by_uuid, pr.team_created_by_uuid];
    }
    const administrator = await this.isAdministratorOn(q, p);
    const member = administrator ? true : await store.isTeamMember(q, teamId, p.userUuid);
    authorizeUnit(action, { administrator, member, creator: creators.includes(p.userUuid) });
  }

  /** Team membership of the caller (or administrator) for `team_id` of a project write; 400 when the team is unknown. */
  private async checkTargetTeam(q: Queryable, p: Principal, teamId: string): Promise<void> {
    if (!(await store.teamExists(q, teamId))) throw badRequest(`team not found: ${teamId}`);
    const administrator = await this.isAdministratorOn(q, p);
    authorizeUnit('create_project_in', { administrator, member: administrator || (await store.isTeamMember(q, teamId, p.userUuid)), creator: false });
  }

  private async checkPeople(q: Queryable, lists: (store.Person[] | undefined)[]): Promise<void> {
    for (const list of lists) {
      if (!list) continue;
      const seen = new Set<string>();
      for (const m of list) {
        const id = m.user_id.toLowerCase();
        if (seen.has(id)) throw conflict(`user ${id} appears twice in one list`);
        seen.add(id);
      }
      const unknown = await store.unknownUsers(q, [...seen]);
      if (unknown.length) throw badRequest(`user not found: ${unknown[0]}`);
    }
  }

  private async checkRelations(q: Queryable, type: UnitType, selfId: string, list: store.Relation[] | undefined): Promise<void> {
    if (!list?.length) return;
    const known = await store.existingUnits(q, type, list.map((r) => r.related_id));
    const seen = new Set<string>();
    for (const r of list) {
      const key = `${r.related_id}|${r.relationship}`;
      if (seen.has(key)) throw conflict(`relationship ${r.relationship} to ${r.related_id} appears twice`);
      seen.add(key);
      if (r.related_id === selfId) throw badRequest(`a ${type} cannot have a relationship with itself`);
      if (!known.has(r.related_id)) throw badRequest(`related ${type} not found: ${r.related_id}`);
      if (ACYCLIC.has(r.relationship as Relationship) && (await store.reachable(q, type, r.related_id, r.relationship)).has(selfId)) {
        throw badRequest(`adding ${r.relationship} relationship from ${type} ${selfId} to ${type} ${r.related_id} would create a cycle`);
      }
    }
  }

  private async relatedFilter(q: Queryable, type: UnitType, query: { related_to?: string; relationship?: Relationship; transitive?: boolean }): Promise<string[] | null> {
    if (!query.related_to) {
      if (query.relationship || query.transitive) throw badRequest('relationship and transitive need related_to');
      return null;
    }
    const target = query.related_to.toLowerCase();
    if (query.transitive && query.relationship && INVERSE[query.relationship]) return [...(await store.reachable(q, type, target, query.relationship))];
    return store.relatedTo(q, type, target, query.relationship, query.relationship ? INVERSE[query.relationship] : undefined);
  }

  async listTeams(p: Principal, query: ListTeamsQuery) {
    const limit = query.limit ?? 20;
    const offset = query.offset ?? 0;
    const { rows, total } = await store.listTeams(this.db, {
      callerUuid: p.userUuid,
      all: await this.isAdministratorOn(this.db, p),
      name: query.name,
      statuses: statusesOf(query.status),
      memberUserId: query.member_user_id?.toLowerCase(),
      relatedIds: await this.relatedFilter(this.db, 'team', query),
      limit,
      offset,
    });
    return { teams: rows.map((r) => ({ ...r, created_at: iso(r.created_at as Date)!, modified_at: iso(r.modified_at as Date)! })), total, limit, offset };
  }

  async listProjects(p: Principal, query: ListProjectsQuery) {
    const limit = query.limit ?? 20;
    const offset = query.offset ?? 0;
    const { rows, total } = await store.listProjects(this.db, {
      callerUuid: p.userUuid,
      all: await this.isAdministratorOn(this.db, p),
      name: query.name,
      statuses: statusesOf(query.status),
      teamId: query.team_id?.toLowerCase(),
      relatedIds: await this.relatedFilter(this.db, 'project', query),
      limit,
      offset,
    });
    return { projects: rows.map((r) => ({ ...r, created_at: iso(r.created_at as Date)!, modified_at: iso(r.modified_at as Date)! })), total, limit, offset };
  }

  private async load(q: Queryable, type: UnitType, id: string, forUpdate = false): Promise<store.UnitRow> {
    const row = type === 'team' ? await store.findTeam(q, id, forUpdate) : await store.findProject(q, id, forUpdate);
    if (!row) throw notFound(`${label(type)} not found`);
    return row;
  }

  async get(p: Principal, type: UnitType, id: string) {
    await this.access(this.db, p, type, id, 'read');
    const row = await this.load(this.db, type, id);
    const privileged = isPrivileged(p.tmiGroupIds, await this.isAdministratorOn(this.db, p));
    const notes = await store.listNotes(this.db, type, id, privileged, 1000, 0);
    return present(type, row, notes.rows);
  }

  private normalisePeople(list: { user_id: string; role?: string; custom_role?: string | null }[] | undefined, defaultRole: string): store.Person[] | undefined {
    return list?.map((m) => ({ user_id: m.user_id.toLowerCase(), role: m.role ?? defaultRole, custom_role: m.custom_role ?? null }));
  }

  private relationsOf(type: UnitType, input: TeamInput | ProjectInput): store.Relation[] | undefined {
    const list = type === 'team' ? (input as TeamInput).related_teams : (input as ProjectInput).related_projects;
    return list?.map((r) => ({
      related_id: ('related_team_id' in r ? r.related_team_id : r.related_project_id).toLowerCase(),
      relationship: r.relationship,
      custom_relationship: r.custom_relationship ?? null,
    }));
  }

  private fieldsOf(type: UnitType, input: TeamInput | ProjectInput): store.UnitFields {
    checkProse({ name: input.name, description: input.description });
    return {
      name: input.name,
      description: input.description ?? null,
      uri: input.uri ?? null,
      status: input.status ?? 'active',
      ...(type === 'team' ? { email_address: (input as TeamInput).email_address ?? null } : { team_id: (input as ProjectInput).team_id.toLowerCase() }),
    };
  }

  async create(p: Principal, type: UnitType, input: TeamInput | ProjectInput) {
    const id = randomUUID();
    const at = new Date();
    await this.db.tx(async (q) => {
      const fields = this.fieldsOf(type, input);
      const parties = this.normalisePeople(input.responsible_parties, 'engineer') ?? [];
      const relations = this.relationsOf(type, input) ?? [];
      let members: store.Person[] = [];
      if (type === 'team') {
        // The creator is a member (engineering lead) unless the body names them.
        members = this.normalisePeople((input as TeamInput).members, 'engineer') ?? [];
        if (!members.some((m) => m.user_id === p.userUuid)) members.unshift({ user_id: p.userUuid, role: 'engineering_lead' });
      } else {
        await this.checkTargetTeam(q, p, fields.team_id!);
      }
      await this.checkPeople(q, [members, parties]);
      await this.checkRelations(q, type, id, relations);
      if (type === 'team') {
        await store.insertTeam(q, id, fields, p.userUuid, at);
        await store.replaceMembers(q, id, members);
      } else {
        await store.insertProject(q, id, fields, p.userUuid, at);
      }
      await store.replaceParties(q, type, id, parties);
      await store.replaceRelations(q, type, id, relations);
      const row = await this.load(q, type, id);
      await recordReviewAudit(q, { entityType: type, entityId: id, changeType: 'created', actor: actorOf(p), summary: `${label(type)} created`, snapshot: present(type, row) }, at);
    });
    return present(type, await this.load(this.db, type, id), []);
  }

  async replace(p: Principal, type: UnitType, id: string, input: TeamInput | ProjectInput, pre: Precondition) {
    return this.write(p, type, id, pre, 'updated', async () => ({ input, reviewed: undefined }));
  }

  async patch(p: Principal, type: UnitType, id: string, ops: JsonPatchDocument, pre: Precondition) {
    return this.write(p, type, id, pre, 'patched', async (row) => {
      const current = present(type, row) as Record<string, unknown>;
      const writable = ['name', 'description', 'uri', 'status', 'responsible_parties', 'reviewed_at', ...(type === 'team' ? ['email_address', 'members', 'related_teams'] : ['team_id', 'related_projects'])];
      const patched = applyJsonPatch(current, ops, { writable }) as Record<string, unknown>;
      const strip = (list: unknown) => (Array.isArray(list) ? list.map((m) => (m && typeof m === 'object' ? Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'user')) : m)) : list);
      const candidate: Record<string, unknown> = {};
      for (const k of writable) if (k !== 'reviewed_at' && patched[k] !== undefined && patched[k] !== null) candidate[k] = k === 'members' || k === 'responsible_parties' ? strip(patched[k]) : patched[k];
      if (patched.description === null) candidate.description = null;
      if (patched.uri === null) candidate.uri = null;
      if (type === 'team' && patched.email_address === null) candidate.email_address = null;
      const check = type === 'team' ? TeamCheck : ProjectCheck;
      if (!check.Check(candidate)) throw badRequest(`The patched ${type} is invalid: ${firstError(check, candidate)}`, 'validation_failed');
      let reviewed: Date | null | undefined;
      if (ops.some((op) => op.path === '/reviewed_at')) {
        const v = patched.reviewed_at;
        if (v === null || v === undefined) reviewed = null;
        else if (typeof v !== 'string' || Number.isNaN(Date.parse(v)) || !/^\d{4}-\d{2}-\d{2}T/.test(v)) throw badRequest('reviewed_at must be an RFC 3339 date-time');
        else reviewed = new Date(v);
      }
      return { input: candidate as unknown as TeamInput | ProjectInput, reviewed };
    });
  }

  private async write(
    p: Principal,
    type: UnitType,
    id: string,
    pre: Precondition,
    change: 'updated' | 'patched',
    plan: (row: store.UnitRow) => Promise<{ input: TeamInput | ProjectInput; reviewed: Date | null | undefined }>,
  ) {
    const at = new Date();
    await this.db.tx(async (q) => {
      await this.access(q, p, type, id, 'update');
      const row = await this.load(q, type, id, true);
      checkPrecondition(pre, row.version);
      const { input, reviewed } = await plan(row);
      const fields = this.fieldsOf(type, input);
      // Moving a project to another team needs membership of that team too.
      if (type === 'project' && fields.team_id !== row.team_id) await this.checkTargetTeam(q, p, fields.team_id!);
      const parties = this.normalisePeople(input.responsible_parties, 'engineer');
      const members = type === 'team' ? this.normalisePeople((input as TeamInput).members, 'engineer') : undefined;
      const relations = this.relationsOf(type, input);
      await this.checkPeople(q, [members, parties]);
      await this.checkRelations(q, type, id, relations);
      await store.updateUnit(q, type, id, fields, p.userUuid, at, reviewed);
      // Lists left out of the body stay as they are (the reference empties a team's members).
      if (members) await store.replaceMembers(q, id, members);
      if (parties) await store.replaceParties(q, type, id, parties);
      if (relations) await store.replaceRelations(q, type, id, relations);
      const after = await this.load(q, type, id);
      await recordReviewAudit(q, { entityType: type, entityId: id, changeType: change, actor: actorOf(p), summary: `${label(type)} ${change}`, snapshot: present(type, after) }, at);
    });
    return this.get(p, type, id).catch(async (err) => {
      // The caller may have removed themselves: answer with what was written.
      if ((err as { status?: number }).status === 403) return present(type, await this.load(this.db, type, id));
      throw err;
    });
  }

  async remove(p: Principal, type: UnitType, id: string): Promise<void> {
    await this.db.tx(async (q) => {
      await this.access(q, p, type, id, 'delete');
      const row = await this.load(q, type, id, true);
      if (type === 'team') {
        const n = await q.query('SELECT 1 FROM projects WHERE team_id = $1 LIMIT 1', [id]);
        if (n.length) throw conflict('cannot delete team: team has associated projects');
      } else {
        // Only live threat models keep a project; deleted ones lose the reference (FK ON DELETE SET NULL).
        const n = await q.query('SELECT 1 FROM threat_models WHERE project_id = $1 AND deleted_at IS NULL LIMIT 1', [id]);
        if (n.length) throw conflict('cannot delete project: it has associated threat models');
      }
      await store.deleteUnit(q, type, id);
      await recordReviewAudit(q, { entityType: type, entityId: id, changeType: 'deleted', actor: actorOf(p), summary: `${label(type)} '${row.name}' deleted` });
    });
  }

  // ---- notes -------------------------------------------------------------------------------------

  private async privileged(p: Principal, q: Queryable = this.db) {
    return isPrivileged(p.tmiGroupIds, await this.isAdministratorOn(q, p));
  }

  private async visibleNote(q: Queryable, p: Principal, type: UnitType, unitId: string, noteId: string) {
    const note = await store.findNote(q, type, unitId, noteId);
    if (!note || (!note.sharable && !(await this.privileged(p, q)))) throw notFound(`${label(type)} note not found`);
    return note;
  }

  async listNotes(p: Principal, type: UnitType, unitId: string, limit = 20, offset = 0) {
    await this.access(this.db, p, type, unitId, 'read');
    const { rows, total } = await store.listNotes(this.db, type, unitId, await this.privileged(p), limit, offset);
    return { notes: rows.map(noteListItem), total, limit, offset };
  }

  async getNote(p: Principal, type: UnitType, unitId: string, noteId: string) {
    await this.access(this.db, p, type, unitId, 'read');
    const n = await this.visibleNote(this.db, p, type, unitId, noteId);
    return { ...noteListItem(n), content: n.content };
  }

  private async prepareNote(q: Queryable, p: Principal, input: UnitNoteInput, previous: store.NoteRow | null, verb: 'set' | 'modify') {
    const privileged = await this.privileged(p, q);
    if (input.sharable !== undefined && !privileged && !(previous && previous.sharable === input.sharable && verb === 'modify')) {
      throw forbidden(`Only administrators and security reviewers can ${verb} the sharable field`);
    }
    checkProse({ description: input.description });
    const content = sanitizeMarkdown(input.content);
    if (content.trim() === '') throw badRequest('Note content is empty once unsafe markup is removed');
    return {
      name: input.name,
      content,
      description: input.description ?? null,
      timmy_enabled: input.timmy_enabled ?? previous?.timmy_enabled ?? true,
      sharable: input.sharable ?? previous?.sharable ?? !privileged,
    };
  }

  async createNote(p: Principal, type: UnitType, unitId: string, input: UnitNoteInput) {
    const id = randomUUID();
    const at = new Date();
    return this.db.tx(async (q) => {
      await this.access(q, p, type, unitId, 'write_notes');
      const values = await this.prepareNote(q, p, input, null, 'set');
      await store.writeNote(q, type, unitId, { id, ...values }, at, true);
      const note = (await store.findNote(q, type, unitId, id))!;
      await recordReviewAudit(q, { entityType: `${type}_note`, entityId: id, changeType: 'created', actor: actorOf(p), summary: `Note '${input.name}' added to ${type} ${unitId}`, snapshot: note }, at);
      return { ...noteListItem(note), content: note.content };
    });
  }

  async replaceNote(p: Principal, type: UnitType, unitId: string, noteId: string, input: UnitNoteInput, change: 'updated' | 'patched' = 'updated') {
    const at = new Date();
    return this.db.tx(async (q) => {
      await this.access(q, p, type, unitId, 'write_notes');
      const previous = await this.visibleNote(q, p, type, unitId, noteId);
      const values = await this.prepareNote(q, p, input, previous, 'modify');
      await store.writeNote(q, type, unitId, { id: noteId, ...values }, at, false);
      const note = (await store.findNote(q, type, unitId, noteId))!;
      await recordReviewAudit(q, { entityType: `${type}_note`, entityId: noteId, changeType: change, actor: actorOf(p), summary: `Note '${note.name}' ${change}`, snapshot: note }, at);
      return { ...noteListItem(note), content: note.content };
    });
  }

  async patchNote(p: Principal, type: UnitType, unitId: string, noteId: string, ops: JsonPatchDocument) {
    await this.access(this.db, p, type, unitId, 'write_notes');
    const current = await this.visibleNote(this.db, p, type, unitId, noteId);
    const base = { name: current.name, content: current.content, description: current.description, timmy_enabled: current.timmy_enabled, sharable: current.sharable };
    const patched = applyJsonPatch(base, ops, { writable: ['name', 'content', 'description', 'timmy_enabled', 'sharable'] }) as Record<string, unknown>;
    if (patched.description === null) delete patched.description;
    if (!NoteCheck.Check(patched)) throw badRequest(`The patched note is invalid: ${firstError(NoteCheck, patched)}`, 'validation_failed');
    return this.replaceNote(p, type, unitId, noteId, patched as UnitNoteInput, 'patched');
  }

  async removeNote(p: Principal, type: UnitType, unitId: string, noteId: string): Promise<void> {
    await this.db.tx(async (q) => {
      await this.access(q, p, type, unitId, 'write_notes');
      const note = await this.visibleNote(q, p, type, unitId, noteId);
      await store.deleteNote(q, type, unitId, noteId);
      await recordReviewAudit(q, { entityType: `${type}_note`, entityId: noteId, changeType: 'deleted', actor: actorOf(p), summary: `Note '${note.name}' deleted` });
    });
  }
}
