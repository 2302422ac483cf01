// TMI-managed groups (/admin/groups..., /me/groups...): create, rename, delete, members. A group of
// provider `tmi` is matched in access lists by the memberships recorded here (Principal.tmiGroupIds,
// server/authz), so sharing a model with such a group shares it with its members. Built-in groups
// keep their names and cannot be deleted; `everyone` has no members to manage; removing the last
// active administrator from `administrators` is refused (tmi-admin-review-notes §3.8).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../store/db.ts';
import { ApiError, badRequest, conflict, forbidden, noContent, notFound } from '../http/errors.ts';
import { ErrorBody } from '../../contract/common.ts';
import {
  AddGroupMember,
  AdminGroup,
  AdminGroupList,
  AdminGroupListQuery,
  CreateAdminGroup,
  GroupIdParams,
  GroupMember,
  GroupMemberList,
  GroupMemberParams,
  MemberPageQuery,
  MyGroupList,
  RemoveMemberQuery,
  UpdateAdminGroup,
} from '../../contract/admin.ts';
import { BUILT_IN_GROUPS, isTmiGroupMember, TMI_PROVIDER } from '../authz/index.ts';
import { principalOf, type Principal } from '../auth/authenticate.ts';
import { requireAdministrator } from '../auth/guards.ts';
import { partyOf, securityEvent } from '../security-events.ts';
import { auditActor, recordSystemAudit } from './system-audit.ts';
import { ADMIN_LOCK, keepAnAdministrator } from './users.ts';
import { likeContains } from '../store/like.ts';

const TAG = ['Admin - Groups'];
const ME_TAG = ['User Account'];
export const EMBEDDING_AUTOMATION = '00000000-0000-0000-0000-000000000005';
const BUILT_IN_IDS: readonly string[] = [...Object.values(BUILT_IN_GROUPS), EMBEDDING_AUTOMATION];

interface GroupRow {
  internal_uuid: string;
  provider: string;
  group_name: string;
  name: string | null;
  description: string | null;
  created_at: Date;
  modified_at: Date;
  usage_count: number;
  member_count: number;
}

const SELECT_GROUP = `
  SELECT g.internal_uuid, g.provider, g.group_name, g.name, g.description, g.created_at, g.modified_at,
         (SELECT count(*)::int FROM threat_model_access a WHERE a.group_uuid = g.internal_uuid) AS usage_count,
         (SELECT count(*)::int FROM group_members m WHERE m.group_uuid = g.internal_uuid) AS member_count
  FROM groups g`;

function presentGroup(r: GroupRow, adminGroupNames: ReadonlySet<string>): AdminGroup {
  return {
    internal_uuid: r.internal_uuid,
    provider: r.provider,
    group_name: r.group_name,
    ...(r.name !== null ? { name: r.name } : {}),
    ...(r.description !== null ? { description: r.description } : {}),
    first_used: new Date(r.created_at).toISOString(),
    last_used: new Date(r.modified_at).toISOString(),
    usage_count: r.usage_count,
    used_in_authorizations: r.usage_count > 0,
    used_in_admin_grants: r.internal_uuid === BUILT_IN_GROUPS.administrators || adminGroupNames.has(`${r.provider}\u0000${r.group_name}`),
    member_count: r.member_count,
    is_builtin: BUILT_IN_IDS.includes(r.internal_uuid),
  };
}

interface MemberRow {
  id: string;
  group_uuid: string;
  user_uuid: string;
  email: string;
  name: string;
  provider: string;
  provider_user_id: string | null;
  added_by: string | null;
  added_by_email: string | null;
  added_at: Date;
  notes: string | null;
}

const SELECT_MEMBER = `
  SELECT m.id, m.group_uuid, m.user_uuid, u.email, u.name, u.provider, u.provider_user_id, m.added_by, b.email AS added_by_email, m.added_at, m.notes
  FROM group_members m JOIN users u ON u.internal_uuid = m.user_uuid LEFT JOIN users b ON b.internal_uuid = m.added_by`;

function presentMember(r: MemberRow, full: boolean): GroupMember {
  return {
    id: r.id,
    group_internal_uuid: r.group_uuid,
    subject_type: 'user',
    user_internal_uuid: r.user_uuid,
    user_email: r.email || null,
    user_name: r.name || null,
    user_provider: r.provider,
    user_provider_user_id: r.provider_user_id,
    added_at: new Date(r.added_at).toISOString(),
    ...(full ? { added_by_internal_uuid: r.added_by, added_by_email: r.added_by_email, notes: r.notes } : {}),
  };
}

export function groupRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const adminRead = requireAdministrator(ctx, { recentAuth: false });
  const adminWrite = requireAdministrator(ctx, { recentAuth: true });
  const adminGroupNames = new Set(ctx.config.auth.administrators.filter((e) => e.subjectType === 'group' && e.groupName).map((e) => `${e.provider}\u0000${e.groupName}`));

  async function groupOr404(q: Queryable, id: string, lock = false): Promise<GroupRow> {
    const row = (await q.query<GroupRow>(`${SELECT_GROUP} WHERE g.internal_uuid = $1${lock ? ' FOR UPDATE OF g' : ''}`, [id]))[0];
    if (!row) throw notFound('Group not found');
    return row;
  }

  async function audit(q: Queryable, p: Principal, rec: { action: string; method: string; path: string; group: string; fieldPath: string; before?: unknown; after?: unknown; summary: string }) {
    await recordSystemAudit(q, {
      actor: auditActor(p),
      action: rec.action,
      method: rec.method,
      path: rec.path,
      targetType: 'group',
      targetId: rec.group,
      fieldPath: rec.fieldPath,
      before: rec.before,
      after: rec.after,
      summary: rec.summary,
    });
  }

  async function listMembers(groupId: string, limit: number, offset: number, full: boolean) {
    const [count, rows] = await Promise.all([
      ctx.db.query<{ total: number }>('SELECT count(*)::int AS total FROM group_members WHERE group_uuid = $1', [groupId]),
      ctx.db.query<MemberRow>(`${SELECT_MEMBER} WHERE m.group_uuid = $1 ORDER BY lower(u.name), u.internal_uuid LIMIT ${limit} OFFSET ${offset}`, [groupId]),
    ]);
    return { members: rows.map((m) => presentMember(m, full)), total: count[0]!.total, limit, offset };
  }

  r.get(
    '/admin/groups',
    { preValidation: adminRead, schema: { tags: TAG, operationId: 'listAdminGroups', querystring: AdminGroupListQuery, response: { 200: AdminGroupList, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } } },
    async (request) => {
      const q = request.query;
      const where: string[] = [];
      const params: unknown[] = [];
      if (q.provider !== undefined) where.push(`g.provider = $${params.push(q.provider)}`);
      if (q.group_name !== undefined) where.push(`(g.group_name ILIKE $${params.push(likeContains(q.group_name))} OR g.name ILIKE $${params.length})`);
      if (q.used_in_authorizations !== undefined) where.push(`${q.used_in_authorizations ? '' : 'NOT '}EXISTS (SELECT 1 FROM threat_model_access a WHERE a.group_uuid = g.internal_uuid)`);
      if (q.built_in !== undefined) where.push(`${q.built_in ? '' : 'NOT '}(g.internal_uuid = ANY($${params.push(BUILT_IN_IDS)}::uuid[]))`);
      const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const limit = q.limit ?? 50;
      const offset = q.offset ?? 0;
      // The reference's sort_by enum names user fields; `created_at` sorts by creation, the rest by name.
      const column = q.sort_by === 'created_at' ? 'g.created_at' : 'lower(g.group_name)';
      const order = q.sort_order === 'desc' ? 'DESC' : 'ASC';
      const [count, rows] = await Promise.all([
        ctx.db.query<{ total: number }>(`SELECT count(*)::int AS total FROM groups g ${whereSql}`, params),
        ctx.db.query<GroupRow>(`${SELECT_GROUP} ${whereSql} ORDER BY ${column} ${order}, g.internal_uuid LIMIT ${limit} OFFSET ${offset}`, params),
      ]);
      return { groups: rows.map((g) => presentGroup(g, adminGroupNames)), total: count[0]!.total, limit, offset };
    },
  );

  r.post(
    '/admin/groups',
    {
      preValidation: adminWrite,
      schema: { tags: TAG, operationId: 'createAdminGroup', body: CreateAdminGroup, response: { 201: AdminGroup, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const { group_name: groupName, name, description } = request.body;
      const row = await ctx.db.tx(async (q) => {
        const made = await q.query<{ internal_uuid: string }>(
          `INSERT INTO groups (internal_uuid, provider, group_name, name, description) VALUES (gen_random_uuid(), $1, $2, $3, $4)
           ON CONFLICT (provider, group_name) DO NOTHING RETURNING internal_uuid`,
          [TMI_PROVIDER, groupName, name, description ?? null],
        );
        if (!made[0]) throw conflict('Group already exists for this provider', 'duplicate_group');
        const id = made[0].internal_uuid;
        await audit(q, p, { action: 'group.created', method: 'POST', path: '/admin/groups', group: id, fieldPath: `groups.${id}`, after: request.body, summary: `Created group ${groupName}` });
        return groupOr404(q, id);
      });
      securityEvent('admin.group.changed', { ...partyOf(p), group_uuid: row.internal_uuid, change: 'created' });
      return reply.code(201).send(presentGroup(row, adminGroupNames));
    },
  );

  r.get(
    '/admin/groups/:group_id',
    { preValidation: adminRead, schema: { tags: TAG, operationId: 'getAdminGroup', params: GroupIdParams, response: { 200: AdminGroup, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
    async (request) => presentGroup(await groupOr404(ctx.db, request.params.group_id), adminGroupNames),
  );

  r.patch(
    '/admin/groups/:group_id',
    {
      preValidation: adminWrite,
      schema: { tags: TAG, operationId: 'updateAdminGroup', params: GroupIdParams, body: UpdateAdminGroup, response: { 200: AdminGroup, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request) => {
      const p = principalOf(request);
      const id = request.params.group_id;
      const body = request.body;
      const row = await ctx.db.tx(async (q) => {
        const before = await groupOr404(q, id, true);
        const changes = (['name', 'description'] as const).filter((k) => body[k] !== undefined && body[k] !== before[k]);
        if (!changes.length) return before;
        // A built-in group keeps what it is called and says; a first value may be set.
        if (BUILT_IN_IDS.includes(id) && changes.some((k) => before[k] !== null && before[k] !== '')) {
          throw new ApiError(403, 'protected_group', 'Built-in groups cannot be renamed or have their description changed.');
        }
        const params: unknown[] = [id];
        const sets = changes.map((k) => `${k} = $${params.push(body[k])}`);
        await q.query(`UPDATE groups SET ${sets.join(', ')}, modified_at = now() WHERE internal_uuid = $1`, params);
        const pick = (g: Record<string, unknown>) => Object.fromEntries(changes.map((k) => [k, g[k] ?? null]));
        await audit(q, p, { action: 'group.updated', method: 'PATCH', path: '/admin/groups/:group_id', group: id, fieldPath: `groups.${id}`, before: pick(before as never), after: pick(body as never), summary: `Changed ${changes.join(', ')} of group ${before.group_name}` });
        return groupOr404(q, id);
      });
      securityEvent('admin.group.changed', { ...partyOf(p), group_uuid: id, change: 'updated' });
      return presentGroup(row, adminGroupNames);
    },
  );

  r.delete(
    '/admin/groups/:group_id',
    { preValidation: adminWrite, schema: { tags: TAG, operationId: 'deleteAdminGroup', params: GroupIdParams, response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
    async (request, reply) => {
      const p = principalOf(request);
      const id = request.params.group_id;
      if (BUILT_IN_IDS.includes(id)) throw new ApiError(403, 'protected_group', 'Built-in groups cannot be deleted.');
      await ctx.db.tx(async (q) => {
        const before = await groupOr404(q, id, true);
        // Its access entries and memberships go with it (foreign keys); owners are always users.
        await q.query('DELETE FROM groups WHERE internal_uuid = $1', [id]);
        await audit(q, p, {
          action: 'group.deleted',
          method: 'DELETE',
          path: '/admin/groups/:group_id',
          group: id,
          fieldPath: `groups.${id}`,
          before: { provider: before.provider, group_name: before.group_name, name: before.name, member_count: before.member_count, usage_count: before.usage_count },
          summary: `Deleted group ${before.group_name}`,
        });
      });
      ctx.users.forgetMemberships();
      securityEvent('admin.group.changed', { ...partyOf(p), group_uuid: id, change: 'deleted' });
      return noContent(reply);
    },
  );

  r.get(
    '/admin/groups/:group_id/members',
    {
      preValidation: adminRead,
      schema: { tags: TAG, operationId: 'listGroupMembers', params: GroupIdParams, querystring: MemberPageQuery, response: { 200: GroupMemberList, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request) => {
      await groupOr404(ctx.db, request.params.group_id);
      return listMembers(request.params.group_id, request.query.limit ?? 50, request.query.offset ?? 0, true);
    },
  );

  r.post(
    '/admin/groups/:group_id/members',
    {
      preValidation: adminWrite,
      schema: {
        tags: TAG,
        operationId: 'addGroupMember',
        params: GroupIdParams,
        body: AddGroupMember,
        response: { 201: GroupMember, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const id = request.params.group_id;
      const body = request.body;
      if (body.subject_type === 'group' || body.member_group_internal_uuid !== undefined) {
        throw badRequest('Groups as members of groups are not supported; add users', 'invalid_request');
      }
      if (!body.user_internal_uuid) throw badRequest('user_internal_uuid is required', 'invalid_request');
      const userId = body.user_internal_uuid;
      if (id === BUILT_IN_GROUPS.everyone) throw forbidden('Every user is a member of the everyone group; it has no members to manage');
      const member = await ctx.db.tx(async (q) => {
        if (id === BUILT_IN_GROUPS.administrators) await q.query(`SELECT pg_advisory_xact_lock(${ADMIN_LOCK})`);
        const group = await groupOr404(q, id, true);
        if (group.provider !== TMI_PROVIDER) throw badRequest(`Members of ${group.provider} groups come from that identity provider; only TMI groups have members here`, 'invalid_request');
        const user = await q.query<{ automation: boolean }>('SELECT automation FROM users WHERE internal_uuid = $1', [userId]);
        if (!user[0]) throw notFound('User not found');
        if (id === BUILT_IN_GROUPS.administrators && user[0].automation) throw badRequest('Automation accounts cannot be administrators');
        const added = await q.query<{ id: string }>(
          'INSERT INTO group_members (group_uuid, user_uuid, added_by, notes) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id',
          [id, userId, p.userUuid, body.notes ?? null],
        );
        if (!added[0]) throw conflict('User is already a member of this group', 'duplicate_membership');
        await audit(q, p, { action: 'group.member_added', method: 'POST', path: '/admin/groups/:group_id/members', group: id, fieldPath: `groups.${id}.members`, after: { user_internal_uuid: userId, notes: body.notes ?? null }, summary: `Added ${userId} to group ${group.group_name}` });
        return (await q.query<MemberRow>(`${SELECT_MEMBER} WHERE m.id = $1`, [added[0].id]))[0]!;
      });
      ctx.users.forgetMemberships();
      securityEvent('admin.group.changed', { ...partyOf(p), group_uuid: id, change: 'member_added', member_uuid: userId });
      return reply.code(201).send(presentMember(member, true));
    },
  );

  r.delete(
    '/admin/groups/:group_id/members/:member_uuid',
    {
      preValidation: adminWrite,
      schema: { tags: TAG, operationId: 'removeGroupMember', params: GroupMemberParams, querystring: RemoveMemberQuery, response: { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody } },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const { group_id: id, member_uuid: userId } = request.params;
      if (request.query.subject_type === 'group') throw badRequest('Groups as members of groups are not supported', 'invalid_request');
      if (id === BUILT_IN_GROUPS.everyone) throw forbidden('Every user is a member of the everyone group; it has no members to manage');
      await ctx.db.tx(async (q) => {
        if (id === BUILT_IN_GROUPS.administrators) {
          await q.query(`SELECT pg_advisory_xact_lock(${ADMIN_LOCK})`);
          const active = await q.query<{ active: boolean }>('SELECT u.active FROM group_members m JOIN users u ON u.internal_uuid = m.user_uuid WHERE m.group_uuid = $1 AND m.user_uuid = $2', [id, userId]);
          if (active[0]?.active) await keepAnAdministrator(q, userId, 'remove');
        }
        const group = await groupOr404(q, id);
        const removed = await q.query<{ notes: string | null }>('DELETE FROM group_members WHERE group_uuid = $1 AND user_uuid = $2 RETURNING notes', [id, userId]);
        if (!removed[0]) throw notFound('Membership not found');
        await audit(q, p, { action: 'group.member_removed', method: 'DELETE', path: '/admin/groups/:group_id/members/:member_uuid', group: id, fieldPath: `groups.${id}.members`, before: { user_internal_uuid: userId }, summary: `Removed ${userId} from group ${group.group_name}` });
      });
      ctx.users.forgetMemberships();
      securityEvent('admin.group.changed', { ...partyOf(p), group_uuid: id, change: 'member_removed', member_uuid: userId });
      return noContent(reply);
    },
  );

  // ---- the caller's own groups ------------------------------------------------------------------
  r.get(
    '/me/groups',
    { schema: { tags: ME_TAG, operationId: 'listMyGroups', response: { 200: MyGroupList, 401: ErrorBody } } },
    async (request) => {
      const rows = await ctx.users.groupRows(principalOf(request).userUuid);
      return { groups: rows.map((g) => ({ internal_uuid: g.internal_uuid, group_name: g.group_name, ...(g.name ? { name: g.name } : {}) })), total: rows.length };
    },
  );

  r.get(
    '/me/groups/:group_id/members',
    {
      schema: { tags: ME_TAG, operationId: 'listMyGroupMembers', params: GroupIdParams, querystring: MemberPageQuery, response: { 200: GroupMemberList, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request) => {
      const p = principalOf(request);
      const id = request.params.group_id;
      await groupOr404(ctx.db, id);
      if (id !== BUILT_IN_GROUPS.everyone && !isTmiGroupMember(p, id)) {
        const member = await ctx.db.query('SELECT 1 FROM group_members WHERE group_uuid = $1 AND user_uuid = $2', [id, p.userUuid]);
        if (!member.length) throw forbidden('Not a member of this group');
      }
      return listMembers(id, request.query.limit ?? 50, request.query.offset ?? 0, false);
    },
  );
}
