// Survey templates (administrators), intake (users fill responses), triage (reviewers) and the
// one-transaction creation of a threat model from a response. Access: server/authz/surveys.ts.
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../../store/db.ts';
import type { Principal } from '../../auth/authenticate.ts';
import { BUILT_IN_GROUPS, effectiveRole, can, isConfidentialProjectReviewer, isSecurityReviewer } from '../../authz/index.ts';
import { authorizeResponse, EDITABLE_STATUSES, isReviewerOrAdministrator, partiesOf, TRANSITIONS, type ResponseAction } from '../../authz/surveys.ts';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../../http/errors.ts';
import type { JsonPatchDocument, Metadata } from '../../../contract/common.ts';
import {
  ANSWERS_MAX_BYTES,
  RESPONSE_STATUSES,
  SURVEY_STATUSES,
  UI_STATE_MAX_BYTES,
  type ListSurveyResponsesQuery,
  type ListSurveysQuery,
  type ResponseStatus,
  type SurveyInput,
  type SurveyResponseCreate,
  type SurveyResponseInput,
  type TriageNoteInput,
} from '../../../contract/surveys.ts';
import { applyJsonPatch } from '../common/json-patch.ts';
import { checkPrecondition, type Precondition } from '../common/if-match.ts';
import { iso, recordReviewAudit, userJsonSql } from '../common/review-audit.ts';
import { recordAudit } from '../common/audit.ts';
import { isUnsafeText } from '../common/text-safety.ts';
import { sanitizeMarkdown } from '../notes/sanitize.ts';
import { deleteAllEntries, metadataJsonSql, upsertEntries } from '../metadata/store.ts';
import { checkMetadataValue } from '../metadata/service.ts';
import { actorOf, present as presentThreatModel, subjectOf, type ThreatModelService } from '../threat-models/service.ts';
import * as tmStore from '../threat-models/store.ts';
import { flatten, questionsOf } from './survey-json.ts';

type Row = Record<string, unknown>;

/** JSON with object keys sorted: jsonb does not keep key order, so equality is judged on this. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v ?? null), 'utf8');
const statusesOf = (raw: string | undefined) => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);

// ---- SQL -------------------------------------------------------------------------------------------

const SURVEY_SQL = `SELECT s.id, s.name, s.version, s.description, s.status, s.settings, s.survey_json, s.published_at, s.created_at, s.modified_at,
  ${userJsonSql('cu')} AS created_by, ${metadataJsonSql('survey', 's.id')} AS metadata
  FROM surveys s LEFT JOIN users cu ON cu.internal_uuid = s.created_by_uuid`;

const RESPONSE_SQL = `SELECT r.*, ${userJsonSql('ou')} AS owner, ${userJsonSql('ru')} AS reviewed_by, ${metadataJsonSql('survey_response', 'r.id')} AS metadata,
  s.name AS survey_name, p.team_id AS team_id
  FROM survey_responses r JOIN surveys s ON s.id = r.survey_id
  LEFT JOIN users ou ON ou.internal_uuid = r.owner_uuid LEFT JOIN users ru ON ru.internal_uuid = r.reviewed_by_uuid
  LEFT JOIN projects p ON p.id = r.project_id`;

function presentSurvey(r: Row) {
  const settings = (r.settings ?? {}) as { allow_threat_model_linking?: boolean };
  return {
    id: r.id as string,
    name: r.name as string,
    version: r.version as string,
    description: (r.description as string | null) ?? null,
    status: r.status as (typeof SURVEY_STATUSES)[number],
    settings: { allow_threat_model_linking: settings.allow_threat_model_linking ?? true },
    survey_json: r.survey_json as Record<string, unknown>,
    created_at: iso(r.created_at as Date)!,
    modified_at: iso(r.modified_at as Date)!,
    created_by: (r.created_by as never) ?? null,
    metadata: r.metadata as Metadata[],
  };
}

function surveyListItem(r: Row) {
  const { survey_json: _j, settings: _s, metadata: _m, ...rest } = presentSurvey(r);
  return rest;
}

function presentResponse(r: Row) {
  const owner = r.owner as { provider: string; provider_id: string; display_name: string; email: string } | null;
  const reviewerGroup = r.is_confidential ? 'confidential-project-reviewers' : 'security-reviewers';
  return {
    id: r.id as string,
    survey_id: r.survey_id as string,
    survey_version: r.survey_version as string,
    survey_json: r.survey_json as Record<string, unknown>,
    status: r.status as ResponseStatus,
    is_confidential: r.is_confidential as boolean,
    answers: (r.answers ?? {}) as Record<string, unknown>,
    ui_state: (r.ui_state as Record<string, unknown> | null) ?? null,
    linked_threat_model_id: (r.linked_threat_model_id as string | null) ?? null,
    created_threat_model_id: (r.created_threat_model_id as string | null) ?? null,
    project_id: (r.project_id as string | null) ?? null,
    revision_notes: (r.revision_notes as string | null) ?? null,
    owner: (owner as never) ?? null,
    reviewed_by: (r.reviewed_by as never) ?? null,
    submitted_at: iso(r.submitted_at as Date | null),
    reviewed_at: iso(r.reviewed_at as Date | null),
    created_at: iso(r.created_at as Date)!,
    modified_at: iso(r.modified_at as Date)!,
    // Who may read it, as the rules of authz/surveys.ts say (administrators and the project's team too).
    authorization: [
      ...(owner ? [{ principal_type: 'user' as const, provider: owner.provider, provider_id: owner.provider_id, display_name: owner.display_name, email: owner.email, role: 'owner' as const }] : []),
      { principal_type: 'group' as const, provider: 'tmi', provider_id: reviewerGroup, display_name: reviewerGroup, role: 'owner' as const },
    ],
    metadata: r.metadata as Metadata[],
    version: r.version as number,
  };
}

function responseListItem(r: Row) {
  return {
    id: r.id as string,
    survey_id: r.survey_id as string,
    survey_name: r.survey_name as string,
    survey_version: r.survey_version as string,
    status: r.status as string,
    is_confidential: r.is_confidential as boolean,
    owner: (r.owner as never) ?? null,
    project_id: (r.project_id as string | null) ?? null,
    created_threat_model_id: (r.created_threat_model_id as string | null) ?? null,
    reviewed_by: (r.reviewed_by as never) ?? null,
    created_at: iso(r.created_at as Date)!,
    submitted_at: iso(r.submitted_at as Date | null),
    modified_at: iso(r.modified_at as Date)!,
  };
}

export class SurveyService {
  constructor(
    private readonly db: Db,
    private readonly threatModels: ThreatModelService,
    private readonly isAdministratorOn: (q: Queryable, p: Principal) => Promise<boolean>,
  ) {}

  // ---- templates (administrators) --------------------------------------------------------------

  /** 403 unless the caller administers the server. */
  async requireAdministrator(q: Queryable, p: Principal): Promise<void> {
    if (!(await this.isAdministratorOn(q, p))) throw forbidden('Administrator access required');
  }

  private async loadSurvey(q: Queryable, id: string, forUpdate = false): Promise<Row> {
    if (forUpdate) await q.query('SELECT 1 FROM surveys WHERE id = $1 FOR UPDATE', [id]);
    const row = (await q.query<Row>(`${SURVEY_SQL} WHERE s.id = $1`, [id]))[0];
    if (!row) throw notFound('Survey not found');
    return row;
  }

  /** The access check of survey metadata: administrators; 404 when the survey is absent. */
  async surveyAccess(q: Queryable, p: Principal, id: string): Promise<void> {
    await this.requireAdministrator(q, p);
    await this.loadSurvey(q, id);
  }

  async listSurveys(p: Principal, query: ListSurveysQuery, onlyActive: boolean) {
    if (!onlyActive) await this.requireAdministrator(this.db, p);
    const limit = query.limit ?? 20;
    const offset = query.offset ?? 0;
    const statuses = onlyActive ? ['active'] : statusesOf(query.status);
    for (const s of statuses) if (!(SURVEY_STATUSES as readonly string[]).includes(s)) throw badRequest('status must be one of active, inactive, archived');
    const cond = statuses.length ? 'WHERE s.status = ANY($1::text[])' : 'WHERE $1::text[] IS NOT NULL';
    const total = (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM surveys s ${cond}`, [statuses]))[0]!.n;
    const rows = await this.db.query<Row>(`${SURVEY_SQL} ${cond} ORDER BY s.created_at DESC, s.id LIMIT $2 OFFSET $3`, [statuses, limit, offset]);
    return { surveys: rows.map(surveyListItem), total, limit, offset };
  }

  async getSurvey(p: Principal, id: string, intake: boolean) {
    if (!intake) await this.requireAdministrator(this.db, p);
    const row = await this.loadSurvey(this.db, id);
    if (intake && row.status !== 'active') throw notFound('Survey not found or not active');
    return presentSurvey(row);
  }

  private checkSurveyInput(input: SurveyInput): void {
    questionsOf(input.survey_json);
    if (isUnsafeText(input.name) || (input.description && isUnsafeText(input.description))) throw badRequest('Survey name or description contains potentially unsafe content');
  }

  private async uniqueNameVersion(q: Queryable, name: string, version: string, except: string | null): Promise<void> {
    const rows = await q.query('SELECT 1 FROM surveys WHERE name = $1 AND version = $2 AND id IS DISTINCT FROM $3', [name, version, except]);
    if (rows.length) throw conflict('A survey with this name and version already exists');
  }

  async createSurvey(p: Principal, input: SurveyInput) {
    const id = randomUUID();
    const at = new Date();
    await this.db.tx(async (q) => {
      await this.requireAdministrator(q, p);
      this.checkSurveyInput(input);
      await this.uniqueNameVersion(q, input.name, input.version, null);
      const status = input.status ?? 'inactive';
      await q.query(
        `INSERT INTO surveys (id, name, version, description, status, settings, survey_json, published_at, created_by_uuid, created_at, modified_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
        [id, input.name, input.version, input.description ?? null, status, JSON.stringify({ allow_threat_model_linking: input.settings?.allow_threat_model_linking ?? true }), JSON.stringify(input.survey_json), status === 'active' ? at : null, p.userUuid, at],
      );
      await recordReviewAudit(q, { entityType: 'survey', entityId: id, changeType: 'created', actor: actorOf(p), summary: `Survey '${input.name}' ${input.version} created`, snapshot: presentSurvey(await this.loadSurvey(q, id)) }, at);
    });
    return presentSurvey(await this.loadSurvey(this.db, id));
  }

  async replaceSurvey(p: Principal, id: string, input: SurveyInput) {
    return this.writeSurvey(p, id, 'updated', () => input);
  }

  async patchSurvey(p: Principal, id: string, ops: JsonPatchDocument) {
    return this.writeSurvey(p, id, 'patched', (current) => {
      const base = { name: current.name, description: current.description, version: current.version, status: current.status, settings: current.settings, survey_json: current.survey_json };
      const patched = applyJsonPatch(base, ops, { writable: ['name', 'description', 'version', 'status', 'settings', 'survey_json'] }) as Record<string, unknown>;
      if (typeof patched.name !== 'string' || patched.name.trim() === '' || patched.name.length > 256 || /[<>"'&]/.test(patched.name)) throw badRequest('name must be 1-256 characters without < > " \' &');
      if (patched.description !== null && patched.description !== undefined && (typeof patched.description !== 'string' || patched.description.length > 2048)) throw badRequest('description must be at most 2048 characters');
      if (typeof patched.version !== 'string' || !/^[a-zA-Z0-9._-]{1,64}$/.test(patched.version)) throw badRequest('version must be 1-64 characters of letters, digits, . _ -');
      if (!(SURVEY_STATUSES as readonly unknown[]).includes(patched.status)) throw badRequest('status must be one of active, inactive, archived');
      const settings = patched.settings as Record<string, unknown>;
      if (typeof settings !== 'object' || settings === null || Object.keys(settings).some((k) => k !== 'allow_threat_model_linking') || typeof settings.allow_threat_model_linking !== 'boolean') {
        throw badRequest('settings may only hold allow_threat_model_linking (a boolean)');
      }
      return patched as unknown as SurveyInput;
    });
  }

  private async writeSurvey(p: Principal, id: string, change: 'updated' | 'patched', plan: (current: ReturnType<typeof presentSurvey>) => SurveyInput) {
    const at = new Date();
    await this.db.tx(async (q) => {
      await this.requireAdministrator(q, p);
      const row = await this.loadSurvey(q, id, true);
      if (row.status === 'archived') throw conflict('Cannot update an archived survey');
      const current = presentSurvey(row);
      const input = plan(current);
      this.checkSurveyInput(input);
      // A published version is fixed: the questions people answered stay what they were.
      const published = row.published_at !== null;
      if (published && (input.version !== current.version || canonical(input.survey_json) !== canonical(current.survey_json))) {
        throw conflict('This survey version has been published and cannot change; create a new version (another version label) instead');
      }
      await this.uniqueNameVersion(q, input.name, input.version, id);
      const status = input.status ?? current.status;
      await q.query(
        `UPDATE surveys SET name = $2, version = $3, description = $4, status = $5, settings = $6, survey_json = $7, modified_at = $8,
           published_at = coalesce(published_at, CASE WHEN $5 = 'active' THEN $8::timestamptz END) WHERE id = $1`,
        [id, input.name, input.version, input.description ?? null, status, JSON.stringify({ allow_threat_model_linking: input.settings?.allow_threat_model_linking ?? current.settings.allow_threat_model_linking }), JSON.stringify(input.survey_json), at],
      );
      await recordReviewAudit(q, { entityType: 'survey', entityId: id, changeType: change, actor: actorOf(p), summary: `Survey ${change} (status ${status})`, snapshot: presentSurvey(await this.loadSurvey(q, id)) }, at);
    });
    return presentSurvey(await this.loadSurvey(this.db, id));
  }

  async deleteSurvey(p: Principal, id: string, force: boolean): Promise<void> {
    await this.db.tx(async (q) => {
      await this.requireAdministrator(q, p);
      const row = await this.loadSurvey(q, id, true);
      const responses = await q.query<{ id: string }>('SELECT id FROM survey_responses WHERE survey_id = $1', [id]);
      if (responses.length && !force) throw conflict('Cannot delete survey with existing responses');
      const ids = responses.map((r) => r.id);
      await deleteAllEntries(q, 'survey_response', ids);
      await q.query('DELETE FROM survey_responses WHERE id = ANY($1::uuid[])', [ids]);
      await deleteAllEntries(q, 'survey', [id]);
      await q.query('DELETE FROM surveys WHERE id = $1', [id]);
      await recordReviewAudit(q, { entityType: 'survey', entityId: id, changeType: 'deleted', actor: actorOf(p), summary: `Survey '${row.name}' ${row.version} deleted${ids.length ? ` with ${ids.length} responses` : ''}` });
    });
  }

  // ---- responses: access -----------------------------------------------------------------------

  private async loadResponse(q: Queryable, id: string, forUpdate = false): Promise<Row> {
    if (forUpdate) await q.query('SELECT 1 FROM survey_responses WHERE id = $1 FOR UPDATE', [id]);
    const row = (await q.query<Row>(`${RESPONSE_SQL} WHERE r.id = $1`, [id]))[0];
    if (!row) throw notFound('Survey response not found');
    return row;
  }

  private async partiesFor(q: Queryable, p: Principal, row: Row) {
    const teamMember = row.team_id ? (await q.query('SELECT 1 FROM team_members WHERE team_id = $1 AND user_uuid = $2', [row.team_id, p.userUuid])).length > 0 : false;
    return partiesOf(
      { ownerUuid: (row.owner_uuid as string | null) ?? null, isConfidential: row.is_confidential as boolean, teamMember },
      { userUuid: p.userUuid, tmiGroupIds: p.tmiGroupIds, administrator: await this.isAdministratorOn(q, p) },
    );
  }

  /** Loads the response and checks the action (404 when the caller may not read it, 403 when they may not act). */
  async responseFor(q: Queryable, p: Principal, id: string, action: ResponseAction, forUpdate = false): Promise<Row> {
    const row = await this.loadResponse(q, id, forUpdate);
    authorizeResponse(action, await this.partiesFor(q, p, row));
    return row;
  }

  // ---- intake ------------------------------------------------------------------------------------

  private async checkLinks(q: Queryable, p: Principal, survey: Row, input: { linked_threat_model_id?: string | null; project_id?: string | null }): Promise<void> {
    const tm = input.linked_threat_model_id?.toLowerCase();
    if (tm) {
      const settings = (survey.settings ?? {}) as { allow_threat_model_linking?: boolean };
      if (settings.allow_threat_model_linking === false) throw badRequest('This survey does not allow linking a threat model');
      const ctx = await tmStore.findAccessContext(q, tm);
      // The linked model must be one the respondent can read (otherwise its existence stays hidden).
      if (!ctx || ctx.deleted_at || !can(effectiveRole(ctx, subjectOf(p)), 'read')) throw badRequest('Referenced resource not found (linked_threat_model_id does not exist)');
    }
    const project = input.project_id ? input.project_id.toLowerCase() : null;
    if (project) {
      const rows = await q.query<{ team_id: string }>('SELECT team_id FROM projects WHERE id = $1', [project]);
      if (!rows[0]) throw badRequest(`project not found: ${project}`);
      const member = (await q.query('SELECT 1 FROM team_members WHERE team_id = $1 AND user_uuid = $2', [rows[0].team_id, p.userUuid])).length > 0;
      if (!member && !(await this.isAdministratorOn(q, p))) throw forbidden('You must be a member of the project\'s team to file a request for it');
    }
  }

  private static checkSizes(answers: unknown, uiState: unknown): void {
    if (bytes(answers) > ANSWERS_MAX_BYTES) throw badRequest(`answers are larger than ${ANSWERS_MAX_BYTES} bytes`);
    if (bytes(uiState) > UI_STATE_MAX_BYTES) throw badRequest(`ui_state is larger than ${UI_STATE_MAX_BYTES} bytes`);
  }

  async createResponse(p: Principal, input: SurveyResponseCreate) {
    const id = randomUUID();
    const at = new Date();
    await this.db.tx(async (q) => {
      const survey = (await q.query<Row>('SELECT * FROM surveys WHERE id = $1', [input.survey_id.toLowerCase()]))[0];
      if (!survey) throw badRequest(`Survey not found: ${input.survey_id}`);
      if (survey.status !== 'active') throw conflict('This survey is not active; only active surveys take new responses');
      SurveyService.checkSizes(input.answers, input.ui_state);
      await this.checkLinks(q, p, survey, input);
      await q.query(
        `INSERT INTO survey_responses (id, survey_id, survey_version, survey_json, status, is_confidential, answers, ui_state, linked_threat_model_id, project_id,
           owner_uuid, created_at, modified_at)
         VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9, $10, $11, $11)`,
        [id, survey.id, survey.version, JSON.stringify(survey.survey_json), input.is_confidential ?? false, JSON.stringify(input.answers ?? {}),
          input.ui_state ? JSON.stringify(input.ui_state) : null, input.linked_threat_model_id?.toLowerCase() ?? null, input.project_id ? input.project_id.toLowerCase() : null, p.userUuid, at],
      );
      await recordReviewAudit(q, { entityType: 'survey_response', entityId: id, changeType: 'created', actor: actorOf(p), summary: `Response to survey '${survey.name}' ${survey.version} started` }, at);
    });
    return presentResponse(await this.loadResponse(this.db, id));
  }

  async listOwnResponses(p: Principal, query: ListSurveyResponsesQuery) {
    return this.listResponses(query, { owner: p.userUuid });
  }

  async listTriage(p: Principal, query: ListSurveyResponsesQuery) {
    const administrator = await this.isAdministratorOn(this.db, p);
    const caller = { userUuid: p.userUuid, tmiGroupIds: p.tmiGroupIds, administrator };
    if (!isReviewerOrAdministrator(caller)) return { survey_responses: [], total: 0, limit: query.limit ?? 20, offset: query.offset ?? 0 };
    return this.listResponses(query, {
      triageFor: administrator ? 'all' : { general: isSecurityReviewer(p), confidential: isConfidentialProjectReviewer(p) },
      notOwner: p.userUuid,
    });
  }

  private async listResponses(query: ListSurveyResponsesQuery, scope: { owner?: string; triageFor?: 'all' | { general: boolean; confidential: boolean }; notOwner?: string }) {
    const limit = query.limit ?? 20;
    const offset = query.offset ?? 0;
    const statuses = statusesOf(query.status);
    for (const s of statuses) if (!(RESPONSE_STATUSES as readonly string[]).includes(s)) throw badRequest(`status must be among ${RESPONSE_STATUSES.join(', ')}`);
    const where: string[] = [];
    const params: unknown[] = [];
    const arg = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (scope.owner) where.push(`r.owner_uuid = ${arg(scope.owner)}`);
    if (scope.triageFor) {
      // The queue holds what was sent for review: drafts stay with their authors.
      where.push("r.status <> 'draft'", 'r.owner_uuid IS NOT NULL');
      if (scope.notOwner) where.push(`r.owner_uuid <> ${arg(scope.notOwner)}`);
      if (scope.triageFor !== 'all') {
        const { general, confidential } = scope.triageFor;
        where.push(general && confidential ? 'TRUE' : general ? 'NOT r.is_confidential' : confidential ? 'r.is_confidential' : 'FALSE');
      }
    }
    if (statuses.length) where.push(`r.status = ANY(${arg(statuses)}::text[])`);
    if (query.survey_id) where.push(`r.survey_id = ${arg(query.survey_id.toLowerCase())}`);
    if (query.is_confidential !== undefined && scope.triageFor) where.push(`r.is_confidential = ${arg(query.is_confidential)}`);
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM survey_responses r ${cond}`, params))[0]!.n;
    const rows = await this.db.query<Row>(`${RESPONSE_SQL} ${cond} ORDER BY r.created_at DESC, r.id LIMIT ${arg(limit)} OFFSET ${arg(offset)}`, params);
    return { survey_responses: rows.map(responseListItem), total, limit, offset };
  }

  async getResponse(p: Principal, id: string) {
    return presentResponse(await this.responseFor(this.db, p, id, 'read'));
  }

  async replaceResponse(p: Principal, id: string, input: SurveyResponseInput, pre: Precondition) {
    return this.writeResponse(p, id, pre, 'updated', () => input);
  }

  async patchResponse(p: Principal, id: string, ops: JsonPatchDocument, pre: Precondition) {
    // A status change through intake is the author's submission; answers and links are edits.
    const statusOps = ops.filter((op) => op.path === '/status');
    if (statusOps.length) {
      if (statusOps.length !== ops.length) throw badRequest('A /status change must be sent alone');
      const target = statusOps.at(-1)!.value;
      if (target !== 'submitted') throw conflict('Through intake a response can only be submitted; reviewers change other statuses through triage');
      return this.changeStatus(p, id, 'submitted', null, pre);
    }
    return this.writeResponse(p, id, pre, 'patched', (current) => {
      const base = { survey_id: current.survey_id, answers: current.answers, ui_state: current.ui_state, project_id: current.project_id, linked_threat_model_id: current.linked_threat_model_id };
      const patched = applyJsonPatch(base, ops, { writable: ['answers', 'ui_state', 'project_id', 'linked_threat_model_id'] }) as Record<string, unknown>;
      const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
      if (!isObj(patched.answers)) throw badRequest('answers must be an object');
      if (patched.ui_state !== null && patched.ui_state !== undefined && !isObj(patched.ui_state)) throw badRequest('ui_state must be an object or null');
      for (const k of ['project_id', 'linked_threat_model_id'] as const) {
        const v = patched[k];
        if (v !== null && v !== undefined && v !== '' && (typeof v !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v))) throw badRequest(`${k} must be a UUID or null`);
      }
      return patched as unknown as SurveyResponseInput;
    });
  }

  private async writeResponse(p: Principal, id: string, pre: Precondition, change: 'updated' | 'patched', plan: (current: ReturnType<typeof presentResponse>) => SurveyResponseInput) {
    const at = new Date();
    await this.db.tx(async (q) => {
      const row = await this.responseFor(q, p, id, 'edit', true);
      if (!EDITABLE_STATUSES.includes(row.status as ResponseStatus)) throw conflict('Can only update responses in draft or needs_revision status');
      checkPrecondition(pre, row.version as number);
      const current = presentResponse(row);
      const input = plan(current);
      // Fields left out keep their values (the reference clears ui_state and project_id on PUT).
      const next = {
        answers: input.answers ?? (change === 'updated' ? {} : current.answers),
        ui_state: input.ui_state === undefined ? current.ui_state : input.ui_state,
        project_id: input.project_id === undefined ? current.project_id : input.project_id ? input.project_id.toLowerCase() : null,
        linked_threat_model_id: input.linked_threat_model_id === undefined ? current.linked_threat_model_id : (input.linked_threat_model_id?.toLowerCase() ?? null),
      };
      SurveyService.checkSizes(next.answers, next.ui_state);
      const survey = (await q.query<Row>('SELECT * FROM surveys WHERE id = $1', [row.survey_id]))[0]!;
      await this.checkLinks(q, p, survey, {
        linked_threat_model_id: next.linked_threat_model_id !== current.linked_threat_model_id ? next.linked_threat_model_id : null,
        project_id: next.project_id !== current.project_id ? next.project_id : null,
      });
      await q.query(
        `UPDATE survey_responses SET answers = $2, ui_state = $3, project_id = $4, linked_threat_model_id = $5, modified_at = $6, version = version + 1 WHERE id = $1`,
        [id, JSON.stringify(next.answers), next.ui_state ? JSON.stringify(next.ui_state) : null, next.project_id, next.linked_threat_model_id, at],
      );
      await recordReviewAudit(q, { entityType: 'survey_response', entityId: id, changeType: change, actor: actorOf(p), summary: `Answers ${change}` }, at);
    });
    return presentResponse(await this.loadResponse(this.db, id));
  }

  async deleteResponse(p: Principal, id: string): Promise<void> {
    await this.db.tx(async (q) => {
      const row = await this.responseFor(q, p, id, 'delete', true);
      await deleteAllEntries(q, 'survey_response', [id]);
      await q.query('DELETE FROM survey_responses WHERE id = $1', [id]);
      await recordReviewAudit(q, { entityType: 'survey_response', entityId: id, changeType: 'deleted', actor: actorOf(p), summary: `Response deleted (was ${row.status as string})` });
    });
  }

  // ---- status machine and triage ---------------------------------------------------------------

  async changeStatus(p: Principal, id: string, target: unknown, revisionNotes: unknown, pre: Precondition = null) {
    if (!(RESPONSE_STATUSES as readonly unknown[]).includes(target)) throw conflict(`invalid status value: ${String(target).slice(0, 64)}`);
    const to = target as ResponseStatus;
    const at = new Date();
    await this.db.tx(async (q) => {
      const row = await this.loadResponse(q, id, true);
      const from = row.status as ResponseStatus;
      const rule = TRANSITIONS.find((t) => t.to === to);
      if (!rule) throw conflict(`The status ${to} is set by the server (create_threat_model), not by a request`);
      authorizeResponse(rule.action, await this.partiesFor(q, p, row));
      if (!rule.from.includes(from)) throw conflict(`Cannot change a survey response from ${from} to ${to}`);
      checkPrecondition(pre, row.version as number);
      let notes: string | null = (row.revision_notes as string | null) ?? null;
      if (to === 'needs_revision') {
        if (typeof revisionNotes !== 'string' || revisionNotes.trim() === '') throw conflict('revision_notes required when transitioning to needs_revision');
        if (revisionNotes.length > 4096) throw badRequest('revision_notes must be at most 4096 characters');
        notes = sanitizeMarkdown(revisionNotes);
      }
      const review = rule.action === 'triage';
      await q.query(
        `UPDATE survey_responses SET status = $2, revision_notes = $3, modified_at = $4, version = version + 1,
           submitted_at = CASE WHEN $2 = 'submitted' THEN $4 ELSE submitted_at END,
           ui_state = CASE WHEN $2 = 'submitted' THEN NULL ELSE ui_state END,
           reviewed_at = CASE WHEN $5 THEN $4 ELSE reviewed_at END,
           reviewed_by_uuid = CASE WHEN $5 THEN $6::uuid ELSE reviewed_by_uuid END
         WHERE id = $1`,
        [id, to, notes, at, review, p.userUuid],
      );
      await recordReviewAudit(q, { entityType: 'survey_response', entityId: id, changeType: 'status_changed', actor: actorOf(p), summary: `Status ${from} -> ${to}${to === 'needs_revision' ? ' (revision requested)' : ''}` }, at);
    });
    return presentResponse(await this.loadResponse(this.db, id));
  }

  /**
   * Triage PATCH: `/status` (with `/revision_notes` for needs_revision) and `/reviewed_by` (assign a
   * reviewer: a user of the response's reviewer group, or null). Other paths are refused.
   */
  async triagePatch(p: Principal, id: string, ops: JsonPatchDocument) {
    if (ops.length === 0) throw badRequest('PATCH request must contain at least one operation');
    for (const op of ops) {
      if (!['/status', '/revision_notes', '/reviewed_by'].includes(op.path) || !['replace', 'add'].includes(op.op)) {
        throw badRequest(`Operation ${op.op} on '${op.path.slice(0, 100)}' is not allowed in triage; use replace on /status, /revision_notes or /reviewed_by`);
      }
    }
    const value = (path: string) => ops.filter((op) => op.path === path).at(-1)?.value;
    const assign = ops.some((op) => op.path === '/reviewed_by');
    if (assign) await this.assignReviewer(p, id, value('/reviewed_by'));
    if (ops.some((op) => op.path === '/status')) return this.changeStatus(p, id, value('/status'), value('/revision_notes'));
    if (!assign) throw badRequest('revision_notes are sent with a change of /status to needs_revision');
    return presentResponse(await this.loadResponse(this.db, id));
  }

  private async assignReviewer(p: Principal, id: string, who: unknown): Promise<void> {
    await this.db.tx(async (q) => {
      const row = await this.loadResponse(q, id, true);
      authorizeResponse('triage', await this.partiesFor(q, p, row));
      let uuid: string | null = null;
      if (who !== null) {
        const ref = who as { provider?: unknown; provider_id?: unknown };
        if (typeof ref !== 'object' || typeof ref.provider !== 'string' || typeof ref.provider_id !== 'string') throw badRequest('reviewed_by must be a user {provider, provider_id} or null');
        const group = row.is_confidential ? BUILT_IN_GROUPS.confidentialProjectReviewers : BUILT_IN_GROUPS.securityReviewers;
        const found = await q.query<{ internal_uuid: string }>(
          `SELECT u.internal_uuid FROM users u JOIN group_members m ON m.user_uuid = u.internal_uuid AND m.group_uuid = $3
           WHERE u.provider = $1 AND (u.provider_user_id = $2 OR lower(u.email) = lower($2))`,
          [ref.provider, ref.provider_id, group],
        );
        if (!found[0]) throw badRequest('reviewed_by must name a member of the response\'s reviewer group');
        uuid = found[0].internal_uuid;
        if (uuid === row.owner_uuid) throw badRequest('The author of a response cannot review it');
      }
      await q.query('UPDATE survey_responses SET reviewed_by_uuid = $2, modified_at = now(), version = version + 1 WHERE id = $1', [id, uuid]);
      await recordReviewAudit(q, { entityType: 'survey_response', entityId: id, changeType: 'updated', actor: actorOf(p), summary: uuid ? 'Reviewer assigned' : 'Reviewer unassigned' });
    });
  }

  // ---- triage notes ----------------------------------------------------------------------------

  private static noteItem(r: Row) {
    return { id: r.id as number, name: r.name as string, created_at: iso(r.created_at as Date)!, created_by: (r.created_by as never) ?? null };
  }

  async listTriageNotes(p: Principal, id: string, limit = 20, offset = 0) {
    await this.responseFor(this.db, p, id, 'read');
    const total = (await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM triage_notes WHERE survey_response_id = $1', [id]))[0]!.n;
    const rows = await this.db.query<Row>(
      `SELECT n.id, n.name, n.created_at, ${userJsonSql('cu')} AS created_by FROM triage_notes n LEFT JOIN users cu ON cu.internal_uuid = n.created_by_uuid
       WHERE n.survey_response_id = $1 ORDER BY n.id LIMIT $2 OFFSET $3`,
      [id, limit, offset],
    );
    return { triage_notes: rows.map(SurveyService.noteItem), total, limit, offset };
  }

  async getTriageNote(p: Principal, id: string, noteId: number) {
    await this.responseFor(this.db, p, id, 'read');
    const row = (
      await this.db.query<Row>(
        `SELECT n.id, n.name, n.content, n.created_at, ${userJsonSql('cu')} AS created_by FROM triage_notes n LEFT JOIN users cu ON cu.internal_uuid = n.created_by_uuid
         WHERE n.survey_response_id = $1 AND n.id = $2`,
        [id, noteId],
      )
    )[0];
    if (!row) throw notFound('Triage note not found');
    return { ...SurveyService.noteItem(row), content: row.content as string, modified_at: iso(row.created_at as Date)!, modified_by: (row.created_by as never) ?? null };
  }

  async createTriageNote(p: Principal, id: string, input: TriageNoteInput) {
    const at = new Date();
    const noteId = await this.db.tx(async (q) => {
      // The row lock serialises note numbers per response.
      await this.responseFor(q, p, id, 'write_triage_note', true);
      const content = sanitizeMarkdown(input.content);
      if (content.trim() === '') throw badRequest('Triage note content is empty once unsafe markup is removed');
      const next = (await q.query<{ n: number }>('SELECT coalesce(max(id), 0)::int + 1 AS n FROM triage_notes WHERE survey_response_id = $1', [id]))[0]!.n;
      await q.query('INSERT INTO triage_notes (survey_response_id, id, name, content, created_by_uuid, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [id, next, input.name, content, p.userUuid, at]);
      await recordReviewAudit(q, { entityType: 'survey_response', entityId: id, changeType: 'note_added', actor: actorOf(p), summary: `Triage note ${next} '${input.name}' added` }, at);
      return next;
    });
    return this.getTriageNote(p, id, noteId);
  }

  // ---- create_threat_model -----------------------------------------------------------------------

  /**
   * One transaction: the response (locked) must be ready for review and have no model yet; the
   * model is created for its author with the answers mapped (mapsToTmField: name, description,
   * issue_uri, metadata.<key>, project_id; other mappings and unmapped questions become metadata),
   * the standard reviewer and automation entries plus the reviewer who created it, the response's
   * project, a metadata entry naming the response, and the response moves to review_created.
   */
  async createThreatModel(p: Principal, id: string): Promise<{ threat_model_id: string; survey_response_id: string }> {
    const tmId = randomUUID();
    const at = new Date();
    let name = '';
    await this.db.tx(async (q) => {
      const row = await this.responseFor(q, p, id, 'create_threat_model', true);
      if (row.created_threat_model_id) throw conflict(`A threat model has already been created from this survey response (threat_model_id: ${row.created_threat_model_id as string})`);
      if (row.status !== 'ready_for_review') throw conflict(`Survey response must be in 'ready_for_review' status to create a threat model (current: '${row.status as string}')`);
      if (!row.owner_uuid) throw conflict('The author of this survey response no longer exists');
      const answers = (row.answers ?? {}) as Record<string, unknown>;
      let questions: ReturnType<typeof questionsOf> = [];
      try {
        questions = questionsOf(row.survey_json);
      } catch {
        questions = [];
      }
      const fields: Record<string, string> = {};
      const metadata = new Map<string, string>();
      const keyOf = (k: string) => k.replace(/[^a-zA-Z0-9_./:-]/g, '_').slice(0, 256);
      for (const question of questions) {
        const text = flatten(answers[question.name]).trim();
        if (text === '') continue;
        const target = question.mapsToTmField;
        if (target === 'name' || target === 'description' || target === 'issue_uri' || target === 'project_id') fields[target] = text;
        else if (target?.startsWith('metadata.') && target.length > 9) metadata.set(keyOf(target.slice(9)), text);
        else metadata.set(keyOf(target ?? question.name), text);
      }
      let projectId = (row.project_id as string | null) ?? null;
      if (!projectId && fields.project_id && /^[0-9a-f-]{36}$/i.test(fields.project_id)) {
        const found = await q.query<{ id: string }>('SELECT id FROM projects WHERE id = $1', [fields.project_id.toLowerCase()]);
        projectId = found[0]?.id ?? null;
      }
      const projectName = projectId ? (await q.query<{ name: string }>('SELECT name FROM projects WHERE id = $1', [projectId]))[0]?.name : undefined;
      const day = at.toISOString().slice(0, 10);
      const surveyName = (row.survey_name as string) || 'Survey';
      name = (fields.name || (projectName ? `${surveyName}: ${projectName} - ${day}` : `${surveyName} - ${day}`)).replace(/[\x00-\x1f]/g, ' ').slice(0, 256);
      const issueUri = fields.issue_uri && /^https?:\/\/\S{1,990}$/.test(fields.issue_uri) ? fields.issue_uri : null;
      if (fields.issue_uri && !issueUri) metadata.set('issue_uri', fields.issue_uri);
      metadata.set('survey_response_id', id);
      const entries: Metadata[] = [];
      for (const [key, value] of metadata) {
        let v = value;
        while (Buffer.byteLength(v, 'utf8') > 1024) v = v.slice(0, -16);
        try {
          checkMetadataValue(key, v);
        } catch {
          continue;
        }
        if (key) entries.push({ key, value: v });
      }
      const confidential = row.is_confidential as boolean;
      await tmStore.insertThreatModel(q, {
        id: tmId,
        name,
        description: fields.description ? fields.description.slice(0, 2048) : null,
        framework: 'STRIDE',
        issueUri,
        isConfidential: confidential,
        ownerUuid: row.owner_uuid as string,
        at,
      });
      if (projectId) await q.query('UPDATE threat_models SET project_id = $2 WHERE id = $1', [tmId, projectId]);
      const access: tmStore.ResolvedEntry[] = [
        { subjectType: 'user', uuid: row.owner_uuid as string, role: 'owner' },
        { subjectType: 'group', uuid: confidential ? BUILT_IN_GROUPS.confidentialProjectReviewers : BUILT_IN_GROUPS.securityReviewers, role: 'owner' },
        { subjectType: 'group', uuid: BUILT_IN_GROUPS.tmiAutomation, role: 'writer' },
      ];
      if (p.userUuid !== row.owner_uuid) access.push({ subjectType: 'user', uuid: p.userUuid, role: 'owner' });
      await tmStore.replaceAccess(q, tmId, access);
      await upsertEntries(q, 'threat_model', tmId, entries.slice(0, 100), at);
      const created = await tmStore.findThreatModel(q, tmId);
      await recordAudit(
        q,
        { threatModelId: tmId, objectType: 'threat_model', objectId: tmId, version: 1, changeType: 'created', actor: actorOf(p), summary: `Threat model created from survey response ${id}`, snapshot: presentThreatModel(created!, {}) },
        at,
      );
      const updated = await q.query(
        `UPDATE survey_responses SET status = 'review_created', created_threat_model_id = $2, modified_at = $3, version = version + 1
         WHERE id = $1 AND status = 'ready_for_review' AND created_threat_model_id IS NULL RETURNING id`,
        [id, tmId, at],
      );
      if (updated.length !== 1) throw new ApiError(409, 'conflict', 'The survey response changed while the threat model was being created; nothing was created');
      await recordReviewAudit(q, { entityType: 'survey_response', entityId: id, changeType: 'threat_model_created', actor: actorOf(p), summary: `Threat model ${tmId} created; status ready_for_review -> review_created` }, at);
    });
    this.threatModels.announce({ type: 'created', threatModelId: tmId, name, actorEmail: p.email, accessChanged: true });
    return { threat_model_id: tmId, survey_response_id: id };
  }
}
