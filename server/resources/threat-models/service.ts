// Threat-model use cases: list, create, read, replace, patch, delete, what the caller may do
// (permissions), and the access check that every child resource goes through (accessTo).
import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { Db, Queryable } from '../../store/db.ts';
import type { Principal } from '../../auth/authenticate.ts';
import type { UserService } from '../../auth/users.ts';
import {
  abilities,
  authorize,
  authorizeField,
  authorizeListDeleted,
  authorizeReviewerAssignment,
  BUILT_IN_GROUPS,
  can,
  effectiveRole,
  EVERYONE,
  isSecurityReviewer,
  ROLE_RANK,
  TMI_PROVIDER,
  type AccessSubject,
  type Action,
  type GuardedField,
  type Role,
} from '../../authz/index.ts';
import { badRequest, conflict, notFound } from '../../http/errors.ts';
import type { AuthorizationInput, JsonPatchDocument, Metadata } from '../../../contract/common.ts';
import { AuthorizationInput as AuthorizationInputSchema, Metadata as MetadataSchema, Nullable, User as UserSchema, Uuid } from '../../../contract/common.ts';
import {
  ThreatModelInput as ThreatModelInputSchema,
  type ListThreatModelsQuery,
  type ThreatModel,
  type ThreatModelInput,
  type ThreatModelPermissions,
  type TMListItem,
} from '../../../contract/threat-models.ts';
import { checkPrecondition, type Precondition } from '../common/if-match.ts';
import { applyJsonPatch } from '../common/json-patch.ts';
import { recordAudit, type Actor } from '../common/audit.ts';
import { KINDS, type KindRegistry } from '../kinds.ts';
import { ListCache, listChangesSince } from './list-cache.ts';
import { replaceEntries } from '../metadata/store.ts';
import * as store from './store.ts';
import { threatModelHasActiveSession } from '../diagrams/store.ts';
import { accessDiff, partyOf, securityEvent } from '../../security-events.ts';
import { auditActor } from '../../admin/system-audit.ts';
import { recordAccessChange } from './access-audit.ts';
import { WriteAccessMemo } from './write-access.ts';
import { compileOnFirstUse } from '../../../contract/validator.ts';

export type ThreatModelJson = ThreatModel;

export function subjectOf(p: Principal): AccessSubject {
  return { userUuid: p.userUuid, provider: p.provider, idpGroups: p.idpGroups, tmiGroupIds: p.tmiGroupIds };
}

export function actorOf(p: Principal): Actor {
  return { email: p.email, provider: p.provider, providerId: p.providerId, name: p.name };
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** The wire form of an access entry: the principal and role, nothing internal. */
function wireAccess(a: store.AccessRow) {
  return {
    principal_type: a.principal_type,
    provider: a.provider,
    provider_id: a.provider_id,
    display_name: a.display_name ?? a.provider_id,
    ...(a.email ? { email: a.email } : {}),
    role: a.role,
  };
}

/** The threat model's wire form; `children` holds the embedded items by kind (none: empty lists). */
export function present(row: store.ThreatModelRow, children: Partial<Record<string, unknown[]>>): ThreatModelJson {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    owner: row.owner,
    created_by: row.created_by,
    threat_model_framework: row.threat_model_framework,
    authorization: row.access.map(wireAccess),
    metadata: row.metadata,
    issue_uri: row.issue_uri,
    status: row.status,
    status_updated: iso(row.status_updated),
    alias: row.alias,
    security_reviewer: row.security_reviewer,
    project_id: row.project_id,
    is_confidential: row.is_confidential,
    created_at: iso(row.created_at),
    modified_at: iso(row.modified_at),
    ...(row.deleted_at ? { deleted_at: iso(row.deleted_at) } : {}),
    version: row.version,
    ...Object.fromEntries(KINDS.map((k) => [k.name, children[k.name] ?? []])),
  } as ThreatModelJson;
}

/** What a PATCH may produce: the writable fields, checked after the patch is applied. */
const PatchedThreatModel = compileOnFirstUse(
  Type.Object({
    name: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1F]*$' }),
    description: Type.Optional(Nullable(Type.String({ maxLength: 2048, pattern: '^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]*$' }))),
    threat_model_framework: Type.Optional(Nullable(Type.String({ maxLength: 30, pattern: '^[A-Za-z0-9_-]*$' }))),
    issue_uri: ThreatModelInputSchema.properties.issue_uri,
    metadata: Type.Optional(Nullable(Type.Array(MetadataSchema, { maxItems: 100 }))),
    authorization: Type.Optional(Nullable(Type.Array(Type.Object({ ...AuthorizationInputSchema.properties }), { maxItems: 1000 }))),
    status: Type.Optional(Type.String({ maxLength: 128, pattern: '^[^\\x00-\\x1F]*$' })),
    project_id: Type.Optional(Nullable(Type.Union([Uuid, Type.Literal('')]))),
    owner: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 500 }), Type.Object({ ...UserSchema.properties, display_name: Type.Optional(Type.String()), email: Type.Optional(Type.String()) })])),
    security_reviewer: Type.Optional(Nullable(Type.Object({ provider: Type.String(), provider_id: Type.String({ minLength: 1 }) }))),
  }),
);

function firstError(check: typeof PatchedThreatModel, value: unknown): string {
  const e = [...check.Errors(value)][0];
  return e ? `${e.instancePath || '/'} ${e.message}` : 'invalid';
}

function dateFilter(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(d.getTime())) {
    throw badRequest(`Invalid ${name}: expected an RFC 3339 date-time such as 2024-01-31T12:00:00Z`);
  }
  return d;
}

/** Security events for a committed change of who may access a model (`before` null: created). */
function logAccessChange(p: Principal, before: store.ThreatModelRow | null, after: store.ThreatModelRow): void {
  const diff = accessDiff(before?.access ?? [], after.access);
  if (diff) securityEvent('access.changed', { ...partyOf(p), threat_model_id: after.id, ...diff });
  if (before && before.owner_uuid !== after.owner_uuid) {
    const owner = (r: store.ThreatModelRow) => ({ provider: r.owner.provider!, provider_id: r.owner.provider_id!, user_uuid: r.owner_uuid });
    securityEvent('owner.changed', { ...partyOf(p), threat_model_id: after.id, previous_owner: owner(before), new_owner: owner(after) });
  }
}

/** A committed change, for listeners such as live collaboration (revocation) and notifications. */
export interface ThreatModelEvent {
  type: 'created' | 'updated' | 'deleted';
  threatModelId: string;
  name: string;
  actorEmail: string;
  /** The access list changed (someone may have gained or lost access). */
  accessChanged: boolean;
}

export class ThreatModelService {
  private readonly listeners: ((e: ThreatModelEvent) => void)[] = [];

  /** Called after each committed create, update or delete; listeners must not throw. */
  onChange(listener: (e: ThreatModelEvent) => void): void {
    this.listeners.push(listener);
  }

  /** A change made outside this service (ownership transfer, account deletion, a model created from a survey response), for the same listeners. */
  announce(e: ThreatModelEvent): void {
    this.emit(e);
  }

  private emit(e: ThreatModelEvent): void {
    for (const l of this.listeners) l(e);
  }

  /**
   * The same use cases on `db` (a handle whose transactions join the caller's, see joinedDb), for a
   * use case that writes a whole model or nothing (import). Its events wait for `flush`, called
   * once the caller's transaction has committed.
   */
  joined(db: Db): { service: ThreatModelService; flush(): void } {
    const held: ThreatModelEvent[] = [];
    const service = new ThreatModelService(db, this.users, this.kinds);
    service.onChange((e) => held.push(e));
    return { service, flush: () => held.splice(0).forEach((e) => this.emit(e)) };
  }

  /** List answers kept by this instance (list-cache.ts): of GET /threat_models and of the child lists. */
  readonly lists: ListCache;

  /** Positive write decisions kept by this instance, vouched for by the write that uses one (write-access.ts). */
  readonly writeAccess = new WriteAccessMemo();

  /** listCacheBytes: the memory for kept list answers (TMI_LIST_CACHE_MB); 0 keeps none. */
  constructor(
    private readonly db: Db,
    private readonly users: UserService,
    private readonly kinds: KindRegistry,
    listCacheBytes = 0,
  ) {
    this.lists = new ListCache(listCacheBytes);
  }

  /**
   * The gate for the threat model and all its children: 404 when it does not exist (or is deleted,
   * unless `includeDeleted`), 403 when the caller's role is too low for the action. `since`: a
   * stamp taken earlier, for `ctx.changed` (whether the model changed since). A decision that the
   * caller may write a live model, read outside a transaction, is kept (writeAccess).
   */
  async accessTo(p: Principal, id: string, action: Action, opts: { includeDeleted?: boolean; q?: Queryable; since?: string } = {}) {
    const ctx = await store.findAccessContext(opts.q ?? this.db, id, opts.since);
    if (!ctx || (ctx.deleted_at && !opts.includeDeleted)) throw notFound('Threat model not found');
    const who = subjectOf(p);
    const role = effectiveRole(ctx, who);
    authorize(role, action);
    if (!opts.q && !ctx.deleted_at && can(role, 'write')) this.writeAccess.remember(who, id, ctx.snapshot);
    return { ctx, role: role as Role };
  }

  /**
   * The roles of many principals on the model (null: none), as accessTo judges each, from one read
   * of its access list for all of them: the sockets open on it, an event for every notification
   * socket. Null for each when the model is gone.
   */
  async rolesAmong<T>(id: string, items: readonly T[], principalOf: (item: T) => Principal, opts: { includeDeleted?: boolean } = {}): Promise<(Role | null)[]> {
    const ctx = await store.findAccessContext(this.db, id);
    if (!ctx || (ctx.deleted_at && !opts.includeDeleted)) return items.map(() => null);
    return items.map((item) => effectiveRole(ctx, subjectOf(principalOf(item))));
  }

  async list(p: Principal, query: ListThreatModelsQuery, isAdministrator: () => Promise<boolean>) {
    const limit = query.limit ?? 20;
    const offset = query.offset ?? 0;
    if (query.include_deleted) await authorizeListDeleted(undefined, isAdministrator);
    if (query.include_deleted) securityEvent('admin.threat_models.include_deleted', partyOf(p));
    if (query.security_reviewer && /^[a-z]+:/.test(query.security_reviewer) && !['is:null', 'is:notnull'].includes(query.security_reviewer)) {
      throw badRequest('security_reviewer supports a text to search for, is:null or is:notnull');
    }
    const statuses = (Array.isArray(query.status) ? query.status : query.status ? [query.status] : [])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    const dates: store.ListFilters['dates'] = [];
    for (const [param, column, op] of [
      ['created_after', 'created_at', '>='],
      ['created_before', 'created_at', '<='],
      ['modified_after', 'modified_at', '>='],
      ['modified_before', 'modified_at', '<='],
      ['status_updated_after', 'status_updated', '>='],
      ['status_updated_before', 'status_updated', '<='],
    ] as const) {
      const value = dateFilter(param, query[param]);
      if (value) dates.push({ column, op, value });
    }
    const { rows, total } = await store.listThreatModels(
      this.db,
      subjectOf(p),
      {
        owner: query.owner,
        name: query.name,
        description: query.description,
        issueUri: query.issue_uri,
        statuses,
        securityReviewer: query.security_reviewer,
        dates,
        includeDeleted: Boolean(query.include_deleted),
        projectId: query.project_id?.toLowerCase(),
        teamId: query.team_id?.toLowerCase(),
      },
      limit,
      offset,
    );
    const items = rows.map((r) => {
      const out: Record<string, unknown> = { ...r };
      for (const k of ['created_at', 'modified_at', 'status_updated', 'deleted_at'] as const) out[k] = iso(r[k] as Date | null);
      if (out.deleted_at === null) delete out.deleted_at;
      return out;
    });
    return { threat_models: items as unknown as TMListItem[], total, limit, offset };
  }

  /**
   * GET /threat_models as response text, from the list read model (list-cache.ts) when it holds
   * this caller's answer to this query and no list-relevant write has committed since the snapshot
   * it was kept with; otherwise assembled by `list`, serialised by the route's own serializer and
   * kept with the snapshot taken before assembling. Lists of deleted models (administrators only,
   * each one a security event) are never kept.
   */
  async listText(p: Principal, query: ListThreatModelsQuery, isAdministrator: () => Promise<boolean>, serialize: (list: Awaited<ReturnType<ThreatModelService['list']>>) => string): Promise<string> {
    if (query.include_deleted) return serialize(await this.list(p, query, isAdministrator));
    const key = JSON.stringify(['threat_models', p.userUuid, p.provider, p.idpGroups, p.tmiGroupIds, query]);
    const kept = this.lists.get<string>(key);
    const { changed, now } = await listChangesSince(this.db, kept?.stamp);
    if (kept && !changed) return kept.text;
    const text = serialize(await this.list(p, query, isAdministrator));
    this.lists.set(key, now, text);
    return text;
  }

  async get(p: Principal, id: string): Promise<ThreatModelJson> {
    // One query answers the model, its access list and which kinds have children to embed.
    const row = await store.findThreatModel(this.db, id, { liveChildren: true });
    if (!row || row.deleted_at) throw notFound('Threat model not found');
    authorize(effectiveRole({ owner_uuid: row.owner_uuid, access: row.access }, subjectOf(p)), 'read');
    return present(row, await this.kinds.embedded(this.db, id, new Set(row.live_children ?? [])));
  }

  /**
   * GET /threat_models/{id} as response text, from the read model (threat_model_read_cache) when
   * it holds a current document: one query by primary key answers existence, the access list, the
   * serialised document and whether it is current (no change recorded for the model that its
   * stamp does not see, migration 0103). Otherwise the document is assembled as in `get`,
   * serialised by the route's own serializer, and stored with the snapshot taken by that first
   * query, before assembling: a write the document may miss is not visible in it, so the copy is
   * never served after that write commits.
   */
  async getText(p: Principal, id: string, serialize: (tm: ThreatModelJson) => string): Promise<{ text: string; version: number }> {
    const rows = await this.db.query<{ owner_uuid: string; deleted_at: Date | null; version: number; access: store.AccessRow[] | null; doc: string | null; current: boolean; now: string; now_at: Date }>(
      `SELECT tm.owner_uuid, tm.deleted_at, tm.version, c.access, c.doc,
              c.doc IS NOT NULL AND c.version = tm.version AND ${store.STAMP_TRUSTED_SQL('c.stamped_at')} AND NOT ${store.READ_MODEL_CHANGED_SQL('tm.id', 'c.stamp')} AS current,
              pg_current_snapshot()::text AS now, now() AS now_at
       FROM threat_models tm LEFT JOIN threat_model_read_cache c ON c.threat_model_id = tm.id WHERE tm.id = $1`,
      [id],
      'tm_read_cache_get',
    );
    const hit = rows[0];
    if (!hit || hit.deleted_at) throw notFound('Threat model not found');
    if (hit.current && hit.doc !== null && hit.access !== null) {
      authorize(effectiveRole({ owner_uuid: hit.owner_uuid, access: hit.access }, subjectOf(p)), 'read');
      return { text: hit.doc, version: hit.version };
    }
    const row = await store.findThreatModel(this.db, id, { liveChildren: true });
    if (!row || row.deleted_at) throw notFound('Threat model not found');
    authorize(effectiveRole({ owner_uuid: row.owner_uuid, access: row.access }, subjectOf(p)), 'read');
    const text = serialize(present(row, await this.kinds.embedded(this.db, id, new Set(row.live_children ?? []))));
    // Two readers may store in either order: each copy holds at least what its own stamp sees.
    await this.db.query(
      `INSERT INTO threat_model_read_cache (threat_model_id, version, access, doc, stamp, stamped_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (threat_model_id) DO UPDATE SET version = excluded.version, access = excluded.access, doc = excluded.doc,
         stamp = excluded.stamp, stamped_at = excluded.stamped_at`,
      [id, row.version, JSON.stringify(row.access), text, hit.now, hit.now_at],
      'tm_read_cache_put',
    );
    return { text, version: row.version };
  }

  /** What the caller may do with the threat model (authz's answers, for clients to offer only that). */
  async permissions(p: Principal, id: string, isAdministrator: () => Promise<boolean>): Promise<ThreatModelPermissions> {
    const { role } = await this.accessTo(p, id, 'read');
    return { threat_model_id: id, role, abilities: abilities(role, { securityReviewer: isSecurityReviewer(p), administrator: await isAdministrator() }) };
  }

  /**
   * Resolves entries to stored ids; two entries naming one subject (by id, or by id and by e-mail)
   * are 400 in strict mode, the later wins otherwise; the owner always keeps an owner entry first.
   */
  private async resolveAuthorization(q: Queryable, entries: AuthorizationInput[], ownerUuid: string, mode: 'strict' | 'last-wins') {
    const seen = new Map<string, store.ResolvedEntry>();
    for (const e of entries) {
      if (e.provider === '*') throw badRequest('Authorization entries need a concrete provider, not "*"', 'validation_failed');
      if (e.provider_id.length > 255) throw badRequest('Authorization provider_id is too long (at most 255 characters)');
      const isEveryone = e.principal_type === 'group' && e.provider_id === EVERYONE.groupName;
      const provider = isEveryone ? TMI_PROVIDER : e.provider;
      const uuid =
        e.principal_type === 'user'
          ? await this.users.resolvePrincipal(q, provider, e.provider_id)
          : isEveryone
            ? BUILT_IN_GROUPS.everyone
            : await store.ensureGroup(q, provider, e.provider_id);
      const key = `${e.principal_type}\u0000${uuid}`;
      if (seen.has(key) && mode === 'strict') throw badRequest(`Duplicate authorization subject: ${e.provider_id}`);
      seen.set(key, { subjectType: e.principal_type, uuid, role: e.role });
    }
    const resolved = [...seen.values()].filter((e) => !(e.subjectType === 'user' && e.uuid === ownerUuid));
    return [{ subjectType: 'user' as const, uuid: ownerUuid, role: 'owner' as const }, ...resolved];
  }

  async create(p: Principal, input: ThreatModelInput): Promise<ThreatModelJson> {
    const id = randomUUID();
    const at = new Date();
    const confidential = input.is_confidential ?? false;
    const created = await this.db.tx(async (q) => {
      await store.insertThreatModel(q, {
        id,
        name: input.name,
        description: input.description ?? null,
        framework: input.threat_model_framework || 'STRIDE',
        issueUri: input.issue_uri || null,
        isConfidential: confidential,
        ownerUuid: p.userUuid,
        at,
      });
      const entries = await this.resolveAuthorization(q, input.authorization ?? [], p.userUuid, 'strict');
      // The reference's automatic entries: reviewers own every model, automation writes to it.
      const auto: store.ResolvedEntry[] = [
        { subjectType: 'group', uuid: confidential ? BUILT_IN_GROUPS.confidentialProjectReviewers : BUILT_IN_GROUPS.securityReviewers, role: 'owner' },
        { subjectType: 'group', uuid: BUILT_IN_GROUPS.tmiAutomation, role: 'writer' },
      ];
      for (const a of auto) if (!entries.some((e) => e.subjectType === a.subjectType && e.uuid === a.uuid)) entries.push(a);
      await store.replaceAccess(q, id, entries);
      await replaceEntries(q, 'threat_model', id, input.metadata ?? [], at);
      const row = await store.findThreatModel(q, id);
      await recordAudit(q, { threatModelId: id, objectType: 'threat_model', objectId: id, version: 1, changeType: 'created', actor: actorOf(p), summary: 'Threat model created', snapshot: present(row!, {}) }, at);
      return row!;
    });
    logAccessChange(p, null, created);
    this.emit({ type: 'created', threatModelId: id, name: input.name, actorEmail: p.email, accessChanged: true });
    return this.getUnchecked(id);
  }

  private async getUnchecked(id: string): Promise<ThreatModelJson> {
    const row = await store.findThreatModel(this.db, id, { liveChildren: true });
    if (!row) throw notFound('Threat model not found');
    return present(row, await this.kinds.embedded(this.db, id, new Set(row.live_children ?? [])));
  }

  async replace(p: Principal, id: string, input: ThreatModelInput, pre: Precondition): Promise<ThreatModelJson> {
    return this.write(p, id, pre, 'updated', async (q, row, role) => {
      const next = {
        name: input.name,
        description: input.description ?? null,
        framework: input.threat_model_framework || 'STRIDE',
        issueUri: input.issue_uri || null,
        status: row.status,
        ownerUuid: row.owner_uuid,
        securityReviewerUuid: row.security_reviewer_uuid,
        projectId: row.project_id,
      };
      return { next, authorization: input.authorization, metadata: input.metadata ?? undefined, role };
    });
  }

  async patch(p: Principal, id: string, ops: JsonPatchDocument, pre: Precondition): Promise<ThreatModelJson> {
    const standing = { securityReviewer: isSecurityReviewer(p) };
    return this.write(p, id, pre, 'patched', async (q, row, role) => {
      const current: Record<string, unknown> = { ...present(row, {}) };
      for (const k of KINDS) delete current[k.name];
      const guard = (field: GuardedField) => () => authorizeField(field, role, standing);
      const patched = applyJsonPatch(current, ops, {
        writable: ['name', 'description', 'issue_uri', 'metadata', 'threat_model_framework', 'project_id'],
        guarded: { owner: guard('owner'), authorization: guard('authorization'), status: guard('status'), security_reviewer: guard('security_reviewer') },
      }) as Record<string, unknown>;
      const candidate = {
        name: patched.name,
        description: patched.description ?? null,
        threat_model_framework: patched.threat_model_framework ?? null,
        issue_uri: patched.issue_uri ?? null,
        metadata: patched.metadata ?? [],
        authorization: (patched.authorization as Record<string, unknown>[] | null | undefined)?.map(({ display_name: _d, email: _e, ...rest }) => rest) ?? [],
        status: patched.status,
        project_id: patched.project_id ?? null,
        owner: patched.owner,
        security_reviewer: patched.security_reviewer ?? null,
      };
      if (!PatchedThreatModel.Check(candidate)) {
        throw badRequest(`The patched threat model is invalid: ${firstError(PatchedThreatModel, candidate)}`, 'validation_failed');
      }
      let ownerUuid = row.owner_uuid;
      if (JSON.stringify(candidate.owner) !== JSON.stringify(row.owner)) {
        const o = candidate.owner as string | { provider: string; provider_id: string };
        ownerUuid = typeof o === 'string' ? await this.users.resolvePrincipal(q, 'tmi', o) : await this.users.resolvePrincipal(q, o.provider, o.provider_id);
      }
      let reviewerUuid = row.security_reviewer_uuid;
      const rv = candidate.security_reviewer as { provider: string; provider_id: string } | null;
      if (rv === null) reviewerUuid = null;
      else if (JSON.stringify(rv) !== JSON.stringify(row.security_reviewer)) reviewerUuid = await this.users.resolvePrincipal(q, rv.provider, rv.provider_id);
      if (reviewerUuid !== null && reviewerUuid !== row.security_reviewer_uuid) authorizeReviewerAssignment(role, standing);
      const projectId = ((candidate.project_id as string | null) || null)?.toLowerCase() ?? null;
      if (projectId && projectId !== row.project_id && (await q.query('SELECT 1 FROM projects WHERE id = $1', [projectId])).length === 0) {
        throw badRequest(`project not found: ${projectId}`);
      }
      const authorizationChanged = ops.some((op) => op.path.startsWith('/authorization') || op.from?.startsWith('/authorization'));
      const metadataChanged = ops.some((op) => op.path.startsWith('/metadata') || op.from?.startsWith('/metadata'));
      return {
        next: {
          name: candidate.name as string,
          description: (candidate.description as string | null) ?? null,
          framework: (candidate.threat_model_framework as string | null) || 'STRIDE',
          issueUri: (candidate.issue_uri as string | null) || null,
          status: (candidate.status as string | undefined) ?? row.status,
          ownerUuid,
          securityReviewerUuid: reviewerUuid,
          projectId,
        },
        authorization: authorizationChanged ? (candidate.authorization as AuthorizationInput[]) : undefined,
        authorizationMode: 'last-wins' as const,
        metadata: metadataChanged ? (candidate.metadata as Metadata[]) : undefined,
        role,
      };
    });
  }

  /** The common path of PUT and PATCH: lock, authorize, check version and rules, write, audit. */
  private async write(
    p: Principal,
    id: string,
    pre: Precondition,
    change: 'updated' | 'patched',
    plan: (
      q: Queryable,
      row: store.ThreatModelRow,
      role: Role,
    ) => Promise<{
      next: store.ThreatModelChanges;
      authorization?: AuthorizationInput[];
      authorizationMode?: 'strict' | 'last-wins';
      metadata?: Metadata[];
      role: Role;
    }>,
  ): Promise<ThreatModelJson> {
    const at = new Date();
    let event: ThreatModelEvent | undefined;
    let committed: [before: store.ThreatModelRow, after: store.ThreatModelRow] | undefined;
    await this.db.tx(async (q) => {
      const row = await store.findThreatModel(q, id, { forUpdate: true });
      if (!row || row.deleted_at) throw notFound('Threat model not found');
      const role = effectiveRole({ owner_uuid: row.owner_uuid, access: row.access }, subjectOf(p));
      authorize(role, 'write');
      checkPrecondition(pre, row.version);
      const { next, authorization, authorizationMode, metadata } = await plan(q, row, role!);

      const ownerChanged = next.ownerUuid !== row.owner_uuid;
      const reviewerChanged = next.securityReviewerUuid !== row.security_reviewer_uuid;
      let entries: store.ResolvedEntry[] = row.access.map((a) => ({
        subjectType: a.subject_type,
        uuid: (a.subject_type === 'user' ? a.user_uuid : a.group_uuid)!,
        role: a.role,
      }));
      let entriesChanged = false;
      if (authorization) {
        const proposed = await this.resolveAuthorization(q, authorization, next.ownerUuid, authorizationMode ?? 'strict');
        entriesChanged = !sameEntries(proposed, entries, next.ownerUuid);
        entries = proposed;
      }
      // Only the owner changes who has access (authz ACTION_ROLES, `share`).
      if (ownerChanged || reviewerChanged || entriesChanged) authorize(role, 'share', 'Only the owner can change ownership, authorization or the security reviewer');
      if (ownerChanged) {
        // The previous owner keeps owner access; the new owner's entry leads the list.
        entries = entries.filter((e) => !(e.subjectType === 'user' && (e.uuid === next.ownerUuid || e.uuid === row.owner_uuid)));
        entries.unshift({ subjectType: 'user', uuid: next.ownerUuid, role: 'owner' }, { subjectType: 'user', uuid: row.owner_uuid, role: 'owner' });
      }
      if (next.securityReviewerUuid && next.securityReviewerUuid !== row.security_reviewer_uuid) {
        // A newly assigned reviewer gets (or is upgraded to) an owner entry.
        entries = entries.filter((e) => !(e.subjectType === 'user' && e.uuid === next.securityReviewerUuid));
        entries.push({ subjectType: 'user', uuid: next.securityReviewerUuid, role: 'owner' });
      } else if (next.securityReviewerUuid) {
        const kept = entries.find((e) => e.subjectType === 'user' && e.uuid === next.securityReviewerUuid);
        if (next.securityReviewerUuid !== next.ownerUuid && (!kept || ROLE_RANK[kept.role] < ROLE_RANK.owner)) {
          throw conflict('Cannot change role for security reviewer; first unassign them as security reviewer');
        }
      }
      await store.updateThreatModel(q, id, next, at);
      await store.replaceAccess(q, id, entries);
      if (metadata) await replaceEntries(q, 'threat_model', id, metadata, at);
      const after = await store.findThreatModel(q, id);
      await recordAudit(
        q,
        { threatModelId: id, objectType: 'threat_model', objectId: id, version: after!.version, changeType: change, actor: actorOf(p), summary: `Threat model ${change}`, snapshot: present(after!, {}) },
        at,
      );
      await recordAccessChange(q, { actor: auditActor(p), method: change === 'updated' ? 'PUT' : 'PATCH', path: '/threat_models/:threat_model_id' }, row, after!);
      const accessKey = (r: store.ThreatModelRow) => `${r.owner_uuid}|${JSON.stringify(r.access.map((a) => [a.subject_type, a.user_uuid, a.provider, a.provider_id, a.role]))}`;
      event = { type: 'updated', threatModelId: id, name: after!.name, actorEmail: p.email, accessChanged: accessKey(row) !== accessKey(after!) };
      committed = [row, after!];
    });
    if (committed) logAccessChange(p, ...committed);
    if (event) this.emit(event);
    return this.getUnchecked(id);
  }

  async remove(p: Principal, id: string): Promise<void> {
    const at = new Date();
    let name = '';
    await this.db.tx(async (q) => {
      const row = await store.findThreatModel(q, id, { forUpdate: true });
      if (!row || row.deleted_at) throw notFound('Threat model not found');
      authorize(effectiveRole({ owner_uuid: row.owner_uuid, access: row.access }, subjectOf(p)), 'delete');
      if (await threatModelHasActiveSession(q, id)) {
        throw conflict('Cannot delete threat model while a collaboration session is active on one of its diagrams');
      }
      await store.softDeleteThreatModel(q, id, at);
      await recordAudit(q, { threatModelId: id, objectType: 'threat_model', objectId: id, version: row.version, changeType: 'deleted', actor: actorOf(p), summary: 'Threat model deleted' }, at);
      name = row.name;
    });
    this.emit({ type: 'deleted', threatModelId: id, name, actorEmail: p.email, accessChanged: false });
  }
}

function sameEntries(a: store.ResolvedEntry[], b: store.ResolvedEntry[], ownerUuid: string): boolean {
  const norm = (list: store.ResolvedEntry[]) =>
    list
      .filter((e) => !(e.subjectType === 'user' && e.uuid === ownerUuid))
      .map((e) => `${e.subjectType}:${e.uuid}:${e.role}`)
      .sort()
      .join('|');
  return norm(a) === norm(b);
}
