// The administrators' audit views: the system audit log (/admin/audit/system) and the threat-model
// audit trail across every model (/admin/audit/threat_models). Newest first, keyset pages: the
// cursor is the last entry's (created_at, id), opaque to clients. Also the retention pruner of the
// system audit log (TMI_SYSTEM_AUDIT_RETENTION_DAYS).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../store/db.ts';
import { likePrefix } from '../store/like.ts';
import { badRequest, notFound } from '../http/errors.ts';
import { ErrorBody, Uuid } from '../../contract/common.ts';
import { AuditEntry } from '../../contract/audit.ts';
import { requireAdministrator } from '../auth/guards.ts';
import { presentEntry } from '../resources/audit/service.ts';
import type { AuditRow } from '../resources/audit/store.ts';

const TAG = ['Admin - Audit'];

export const SystemAuditEntry = Type.Object({
  id: Type.String(),
  actor: Type.Object({ email: Type.String(), provider: Type.String(), provider_id: Type.String(), display_name: Type.String() }),
  http_method: Type.String(),
  http_path: Type.String(),
  field_path: Type.String(),
  old_value_redacted: Type.Union([Type.String(), Type.Null()]),
  new_value_redacted: Type.Union([Type.String(), Type.Null()]),
  change_summary: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  /** TMI-TS: what happened, and to what. */
  action: Type.Optional(Type.String()),
  target_type: Type.Optional(Type.String()),
  target_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

const Page = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  created_after: Type.Optional(Type.String({ format: 'date-time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time' })),
  actor_email: Type.Optional(Type.String({ maxLength: 254 })),
  actor_provider: Type.Optional(Type.String({ maxLength: 100 })),
};

const SystemQuery = Type.Object({
  ...Page,
  http_method: Type.Optional(Type.Union(['POST', 'PUT', 'PATCH', 'DELETE'].map((m) => Type.Literal(m)))),
  path_prefix: Type.Optional(Type.String({ maxLength: 1024 })),
  field_path: Type.Optional(Type.String({ maxLength: 1024 })),
  /** TMI-TS filters. */
  action: Type.Optional(Type.String({ maxLength: 64 })),
  target_id: Type.Optional(Type.String({ maxLength: 64 })),
});

const ModelQuery = Type.Object({
  ...Page,
  change_type: Type.Optional(Type.Union(['created', 'updated', 'patched', 'deleted', 'rolled_back', 'restored'].map((m) => Type.Literal(m)))),
  object_type: Type.Optional(Type.Union(['threat_model', 'diagram', 'threat', 'asset', 'document', 'note', 'repository'].map((m) => Type.Literal(m)))),
  threat_model_id: Type.Optional(Uuid),
});

const listOf = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ entries: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), next_cursor: Type.Union([Type.String(), Type.Null()]), prev_cursor: Type.Union([Type.String(), Type.Null()]) });

const CURSOR_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6})\|([0-9a-f-]{36})$/;
const encodeCursor = (at: string, id: string) => Buffer.from(`${at}|${id}`).toString('base64url');
function decodeCursor(cursor: string): { at: string; id: string } {
  const m = CURSOR_RE.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw badRequest('Invalid pagination cursor');
  return { at: `${m[1]}Z`, id: m[2]! };
}
/** The exact (microsecond) position of a row, for the cursor. */
const POSITION = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS position`;

interface SystemRow {
  id: string;
  actor_email: string;
  actor_provider: string;
  actor_provider_id: string;
  actor_display_name: string;
  action: string;
  http_method: string;
  http_path: string;
  target_type: string;
  target_id: string | null;
  field_path: string;
  old_value: unknown;
  new_value: unknown;
  change_summary: string;
  created_at: Date;
  position: string;
}

function presentSystem(r: SystemRow) {
  return {
    id: r.id,
    actor: { email: r.actor_email, provider: r.actor_provider, provider_id: r.actor_provider_id, display_name: r.actor_display_name },
    http_method: r.http_method,
    http_path: r.http_path,
    field_path: r.field_path,
    old_value_redacted: r.old_value === null || r.old_value === undefined ? null : JSON.stringify(r.old_value),
    new_value_redacted: r.new_value === null || r.new_value === undefined ? null : JSON.stringify(r.new_value),
    change_summary: r.change_summary,
    created_at: new Date(r.created_at).toISOString(),
    action: r.action,
    target_type: r.target_type,
    target_id: r.target_id,
  };
}

async function page<R extends { id: string; position: string }>(q: Queryable, table: string, columns: string, where: string[], params: unknown[], limit: number, cursor?: string) {
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const pageWhere = [...where];
  const pageParams = [...params];
  if (cursor) {
    const c = decodeCursor(cursor);
    pageWhere.push(`(created_at, id) < ($${pageParams.push(c.at)}::timestamptz, $${pageParams.push(c.id)}::uuid)`);
  }
  const [count, rows] = await Promise.all([
    q.query<{ total: number }>(`SELECT count(*)::int AS total FROM ${table} ${filter}`, params),
    q.query<R>(`SELECT ${columns}, ${POSITION} FROM ${table} ${pageWhere.length ? `WHERE ${pageWhere.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`, pageParams),
  ]);
  const more = rows.length > limit;
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return { rows: shown, total: count[0]!.total, next: more && last ? encodeCursor(last.position, last.id) : null };
}

function commonFilters(query: { created_after?: string; created_before?: string; actor_email?: string; actor_provider?: string }, where: string[], params: unknown[]) {
  if (query.actor_email !== undefined) where.push(`lower(actor_email) = lower($${params.push(query.actor_email)})`);
  if (query.actor_provider !== undefined) where.push(`actor_provider = $${params.push(query.actor_provider)}`);
  if (query.created_after !== undefined) where.push(`created_at >= $${params.push(query.created_after)}::timestamptz`);
  if (query.created_before !== undefined) where.push(`created_at <= $${params.push(query.created_before)}::timestamptz`);
}

export function auditRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const adminRead = requireAdministrator(ctx, { recentAuth: false });

  r.get(
    '/admin/audit/system',
    { preValidation: adminRead, schema: { tags: TAG, operationId: 'listSystemAuditEntries', querystring: SystemQuery, response: { 200: listOf(SystemAuditEntry), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } } },
    async (request) => {
      const q = request.query;
      const where: string[] = [];
      const params: unknown[] = [];
      commonFilters(q, where, params);
      if (q.http_method !== undefined) where.push(`http_method = $${params.push(q.http_method)}`);
      if (q.path_prefix !== undefined) where.push(`http_path LIKE $${params.push(likePrefix(q.path_prefix))}`);
      if (q.field_path !== undefined) where.push(`field_path LIKE $${params.push(likePrefix(q.field_path))}`);
      if (q.action !== undefined) where.push(`action = $${params.push(q.action)}`);
      if (q.target_id !== undefined) where.push(`target_id = $${params.push(q.target_id)}`);
      const limit = q.limit ?? 50;
      const res = await page<SystemRow>(ctx.db, 'system_audit', '*', where, params, limit, q.cursor);
      return { entries: res.rows.map(presentSystem), total: res.total, limit, next_cursor: res.next, prev_cursor: null };
    },
  );

  r.get(
    '/admin/audit/system/:entry_id',
    { preValidation: adminRead, schema: { tags: TAG, operationId: 'getSystemAuditEntry', params: Type.Object({ entry_id: Uuid }), response: { 200: SystemAuditEntry, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
    async (request) => {
      const row = (await ctx.db.query<SystemRow>(`SELECT *, ${POSITION} FROM system_audit WHERE id = $1`, [request.params.entry_id]))[0];
      if (!row) throw notFound('Audit entry not found');
      return presentSystem(row);
    },
  );

  const MODEL_COLUMNS = 'id, threat_model_id, object_type, object_id, version, change_type, actor_email, actor_provider, actor_provider_id, actor_display_name, change_summary, created_at';

  r.get(
    '/admin/audit/threat_models',
    { preValidation: adminRead, schema: { tags: TAG, operationId: 'listAdminThreatModelAuditEntries', querystring: ModelQuery, response: { 200: listOf(AuditEntry), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } } },
    async (request) => {
      const q = request.query;
      const where: string[] = [];
      const params: unknown[] = [];
      commonFilters(q, where, params);
      if (q.change_type !== undefined) where.push(`change_type = $${params.push(q.change_type)}`);
      if (q.object_type !== undefined) where.push(`object_type = $${params.push(q.object_type)}`);
      if (q.threat_model_id !== undefined) where.push(`threat_model_id = $${params.push(q.threat_model_id)}`);
      const limit = q.limit ?? 50;
      const res = await page<AuditRow & { position: string }>(ctx.db, 'audit_entries', MODEL_COLUMNS, where, params, limit, q.cursor);
      return { entries: res.rows.map((row) => presentEntry({ ...row, snapshot: null })), total: res.total, limit, next_cursor: res.next, prev_cursor: null };
    },
  );

  r.get(
    '/admin/audit/threat_models/:entry_id',
    { preValidation: adminRead, schema: { tags: TAG, operationId: 'getAdminThreatModelAuditEntry', params: Type.Object({ entry_id: Uuid }), response: { 200: AuditEntry, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
    async (request) => {
      const row = (await ctx.db.query<AuditRow>(`SELECT ${MODEL_COLUMNS} FROM audit_entries WHERE id = $1`, [request.params.entry_id]))[0];
      if (!row) throw notFound('Audit entry not found');
      return presentEntry({ ...row, snapshot: null });
    },
  );
}

/** Deletes system audit entries older than `days` days, in batches; returns how many went. */
export async function pruneSystemAudit(q: Queryable, days: number, batch = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const gone = await q.query(
      `DELETE FROM system_audit WHERE id IN (SELECT id FROM system_audit WHERE created_at < now() - make_interval(days => $1) LIMIT ${batch}) RETURNING 1`,
      [days],
    );
    total += gone.length;
    if (gone.length < batch) return total;
  }
}
