// Per-user quotas (/admin/quotas/{users|webhooks|addons}[/{user_id}]): administrators set them,
// each user without a row gets the defaults. The API request quota is enforced now (the per-user
// rate limit, 429 with Retry-After); webhook and add-on quotas are stored for those features.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import type { AppContext } from '../context.ts';
import type { Db } from '../store/db.ts';
import { noContent, notFound } from '../http/errors.ts';
import { ErrorBody, Uuid } from '../../contract/common.ts';
import { principalOf } from '../auth/authenticate.ts';
import { requireAdministrator } from '../auth/guards.ts';
import { partyOf, securityEvent } from '../security-events.ts';
import { auditActor, recordSystemAudit } from './system-audit.ts';

/** A quota or a list of them, as presented below (their fields depend on the kind). */
const Shown = Type.Record(Type.String(), Type.Unknown());
const int = (max: number) => Type.Integer({ minimum: 1, maximum: max });

interface Kind {
  idField: 'user_id' | 'owner_id';
  body: TSchema;
  defaults: (ctx: AppContext) => Promise<Record<string, number | null>>;
  ops: { list: string; get: string; put: string; del: string };
}

export const QUOTA_KINDS: Record<'users' | 'webhooks' | 'addons', Kind> = {
  users: {
    idField: 'user_id',
    body: Type.Object({ max_requests_per_minute: int(10_000), max_requests_per_hour: Type.Optional(Type.Union([int(600_000), Type.Null()])) }, { additionalProperties: false }),
    // Runtime settings (rate_limit.api_user_per_*), so the list shows what applies now.
    defaults: async (ctx) => ({
      max_requests_per_minute: await ctx.settings.int('rate_limit.api_user_per_minute'),
      max_requests_per_hour: await ctx.settings.int('rate_limit.api_user_per_hour'),
    }),
    ops: { list: 'listUserAPIQuotas', get: 'getUserAPIQuota', put: 'updateUserAPIQuota', del: 'deleteUserAPIQuota' },
  },
  webhooks: {
    idField: 'owner_id',
    body: Type.Object(
      { max_subscriptions: int(100), max_events_per_minute: int(1000), max_subscription_requests_per_minute: int(100), max_subscription_requests_per_day: int(10_000) },
      { additionalProperties: false },
    ),
    defaults: async () => ({ max_subscriptions: 10, max_events_per_minute: 12, max_subscription_requests_per_minute: 10, max_subscription_requests_per_day: 20 }),
    ops: { list: 'listWebhookQuotas', get: 'getWebhookQuota', put: 'updateWebhookQuota', del: 'deleteWebhookQuota' },
  },
  addons: {
    idField: 'owner_id',
    body: Type.Object({ max_active_invocations: int(10), max_invocations_per_hour: int(1000) }, { additionalProperties: false }),
    defaults: async () => ({ max_active_invocations: 3, max_invocations_per_hour: 10 }),
    ops: { list: 'listAddonInvocationQuotas', get: 'getAddonInvocationQuota', put: 'updateAddonInvocationQuota', del: 'deleteAddonInvocationQuota' },
  },
};

/** A user's API request quota, if an administrator set one; cached briefly per instance. */
export class ApiQuotas {
  private readonly cache = new Map<string, { quota: { minute: number; hour: number | null } | null; at: number }>();
  static readonly CACHE_MS = 30_000;
  constructor(private readonly db: Db) {}

  async of(userUuid: string): Promise<{ minute: number; hour: number | null } | null> {
    const hit = this.cache.get(userUuid);
    if (hit && Date.now() - hit.at < ApiQuotas.CACHE_MS) return hit.quota;
    const rows = await this.db.query<{ quota: { max_requests_per_minute: number; max_requests_per_hour?: number | null } }>(
      "SELECT quota FROM user_quotas WHERE user_uuid = $1 AND kind = 'users'",
      [userUuid],
      'user_api_quota',
    );
    const q = rows[0]?.quota;
    const quota = q ? { minute: q.max_requests_per_minute, hour: q.max_requests_per_hour ?? null } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(userUuid, { quota, at: Date.now() });
    return quota;
  }

  forget(userUuid: string): void {
    this.cache.delete(userUuid);
  }
}

interface QuotaRow {
  user_uuid: string;
  quota: Record<string, unknown>;
  created_at: Date;
  modified_at: Date;
}

export function quotaRoutes(app: FastifyInstance, ctx: AppContext, apiQuotas: ApiQuotas): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const adminRead = requireAdministrator(ctx, { recentAuth: false });
  const adminWrite = requireAdministrator(ctx, { recentAuth: true });
  const tags = ['Admin - Quotas'];

  for (const [name, kind] of Object.entries(QUOTA_KINDS) as [keyof typeof QUOTA_KINDS, Kind][]) {
    const present = (row: QuotaRow) => ({
      [kind.idField]: row.user_uuid,
      ...row.quota,
      created_at: new Date(row.created_at).toISOString(),
      modified_at: new Date(row.modified_at).toISOString(),
    });
    const Params = Type.Object({ user_id: Uuid });

    r.get(
      `/admin/quotas/${name}`,
      {
        preValidation: adminRead,
        schema: {
          tags,
          operationId: kind.ops.list,
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), offset: Type.Optional(Type.Integer({ minimum: 0 })) }),
          response: { 200: Shown, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 50;
        const offset = request.query.offset ?? 0;
        const [count, rows] = await Promise.all([
          ctx.db.query<{ total: number }>('SELECT count(*)::int AS total FROM user_quotas WHERE kind = $1', [name]),
          ctx.db.query<QuotaRow>(`SELECT * FROM user_quotas WHERE kind = $1 ORDER BY modified_at DESC, user_uuid LIMIT ${limit} OFFSET ${offset}`, [name]),
        ]);
        return { quotas: rows.map(present), total: count[0]!.total, limit, offset, defaults: await kind.defaults(ctx) };
      },
    );

    r.get(
      `/admin/quotas/${name}/:user_id`,
      { preValidation: adminRead, schema: { tags, operationId: kind.ops.get, params: Params, response: { 200: Shown, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
      async (request) => {
        const row = (await ctx.db.query<QuotaRow>('SELECT * FROM user_quotas WHERE user_uuid = $1 AND kind = $2', [request.params.user_id, name]))[0];
        if (!row) throw notFound('No quota set for this user (the defaults apply)');
        return present(row);
      },
    );

    r.put(
      `/admin/quotas/${name}/:user_id`,
      { preValidation: adminWrite, schema: { tags, operationId: kind.ops.put, params: Params, body: kind.body, response: { 200: Shown, 201: Shown, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
      async (request, reply) => {
        const p = principalOf(request);
        const uuid = request.params.user_id;
        const { row, before } = await ctx.db.tx(async (q) => {
          if (!(await q.query('SELECT 1 FROM users WHERE internal_uuid = $1', [uuid])).length) throw notFound('User not found');
          const old = (await q.query<QuotaRow>('SELECT * FROM user_quotas WHERE user_uuid = $1 AND kind = $2 FOR UPDATE', [uuid, name]))[0];
          const saved = (
            await q.query<QuotaRow>(
              `INSERT INTO user_quotas (user_uuid, kind, quota) VALUES ($1, $2, $3::jsonb)
               ON CONFLICT (user_uuid, kind) DO UPDATE SET quota = EXCLUDED.quota, modified_at = now() RETURNING *`,
              [uuid, name, JSON.stringify(request.body)],
            )
          )[0]!;
          await recordSystemAudit(q, {
            actor: auditActor(p),
            action: 'quota.updated',
            method: 'PUT',
            path: `/admin/quotas/${name}/:user_id`,
            targetType: 'user',
            targetId: uuid,
            fieldPath: `quotas.${name}.${uuid}`,
            before: old?.quota ?? null,
            after: request.body,
            summary: `Set the ${name} quota of ${uuid}`,
          });
          return { row: saved, before: old };
        });
        apiQuotas.forget(uuid);
        securityEvent('admin.quota.changed', { ...partyOf(p), account_uuid: uuid, quota: name, change: 'updated' });
        return reply.code(before ? 200 : 201).send(present(row));
      },
    );

    r.delete(
      `/admin/quotas/${name}/:user_id`,
      { preValidation: adminWrite, schema: { tags, operationId: kind.ops.del, params: Params, response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
      async (request, reply) => {
        const p = principalOf(request);
        const uuid = request.params.user_id;
        await ctx.db.tx(async (q) => {
          const gone = await q.query<QuotaRow>('DELETE FROM user_quotas WHERE user_uuid = $1 AND kind = $2 RETURNING *', [uuid, name]);
          if (!gone[0]) throw notFound('No quota set for this user');
          await recordSystemAudit(q, {
            actor: auditActor(p),
            action: 'quota.deleted',
            method: 'DELETE',
            path: `/admin/quotas/${name}/:user_id`,
            targetType: 'user',
            targetId: uuid,
            fieldPath: `quotas.${name}.${uuid}`,
            before: gone[0].quota,
            summary: `Removed the ${name} quota of ${uuid} (defaults apply)`,
          });
        });
        apiQuotas.forget(uuid);
        securityEvent('admin.quota.changed', { ...partyOf(p), account_uuid: uuid, quota: name, change: 'deleted' });
        return noContent(reply);
      },
    );
  }
}
