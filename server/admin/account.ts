// The person's own settings and what they tell us: /me/preferences (stored server-side, one JSON
// object per user, replaced wholesale), /usability_feedback (anyone may send; administrators
// read) and /threat_models/{id}/feedback (readers of the model send and read).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../context.ts';
import { ApiError, badRequest, conflict, notFound } from '../http/errors.ts';
import { ErrorBody, Uuid } from '../../contract/common.ts';
import {
  ContentFeedback,
  ContentFeedbackInput,
  ContentFeedbackList,
  ContentFeedbackQuery,
  FALSE_POSITIVE_SUBREASONS,
  UsabilityFeedback,
  UsabilityFeedbackInput,
  UsabilityFeedbackList,
  UsabilityFeedbackQuery,
  UserPreferences,
} from '../../contract/admin.ts';
import { principalOf } from '../auth/authenticate.ts';
import { requireAdministrator } from '../auth/guards.ts';

export const PREFERENCES_MAX_BYTES = 1024;
export const PREFERENCES_MAX_CLIENTS = 20;
const CLIENT_KEY = /^[a-zA-Z0-9_-]{1,64}$/;
const VERBATIM_MAX = 2048;
const UA_DATA_MAX = 4096;
const SCREENSHOT_MAX = 2_000_000;

const tooLarge = (what: string) => new ApiError(413, 'payload_too_large', what);

/** The reference's rules for a preferences document (tmi-admin-review-notes §4.2). */
function checkPreferences(body: unknown): Record<string, Record<string, unknown>> {
  const size = Buffer.byteLength(JSON.stringify(body));
  if (size > PREFERENCES_MAX_BYTES) throw badRequest(`preferences exceed 1KB limit (${size} bytes)`);
  const prefs = body as Record<string, Record<string, unknown>>;
  const keys = Object.keys(prefs);
  if (keys.length > PREFERENCES_MAX_CLIENTS) throw badRequest(`maximum ${PREFERENCES_MAX_CLIENTS} client entries allowed, got ${keys.length}`);
  for (const k of keys) if (!CLIENT_KEY.test(k)) throw badRequest(`invalid client key '${k.slice(0, 64)}': 1-64 letters, digits, _ or -`);
  return prefs;
}

export function selfServiceRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['User Account'];

  // ---- /me/preferences ----------------------------------------------------------------------
  const readPrefs = async (uuid: string) =>
    (await ctx.db.query<{ preferences: Record<string, Record<string, unknown>> }>('SELECT preferences FROM user_preferences WHERE user_uuid = $1', [uuid]))[0]?.preferences ?? null;

  r.get(
    '/me/preferences',
    { schema: { tags, operationId: 'getCurrentUserPreferences', response: { 200: UserPreferences, 401: ErrorBody } } },
    async (request) => (await readPrefs(principalOf(request).userUuid)) ?? {},
  );

  r.post(
    '/me/preferences',
    { schema: { tags, operationId: 'createCurrentUserPreferences', body: UserPreferences, response: { 201: UserPreferences, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody } } },
    async (request, reply) => {
      const prefs = checkPreferences(request.body);
      const made = await ctx.db.query(
        'INSERT INTO user_preferences (user_uuid, preferences) VALUES ($1, $2::jsonb) ON CONFLICT (user_uuid) DO NOTHING RETURNING 1',
        [principalOf(request).userUuid, JSON.stringify(prefs)],
      );
      if (!made.length) throw conflict('preferences already exist (use PUT to update)');
      return reply.code(201).send(prefs);
    },
  );

  r.put(
    '/me/preferences',
    { schema: { tags, operationId: 'updateCurrentUserPreferences', body: UserPreferences, response: { 200: UserPreferences, 400: ErrorBody, 401: ErrorBody } } },
    async (request) => {
      const prefs = checkPreferences(request.body);
      await ctx.db.query(
        `INSERT INTO user_preferences (user_uuid, preferences) VALUES ($1, $2::jsonb)
         ON CONFLICT (user_uuid) DO UPDATE SET preferences = EXCLUDED.preferences, modified_at = now()`,
        [principalOf(request).userUuid, JSON.stringify(prefs)],
      );
      return prefs;
    },
  );

  // ---- /usability_feedback --------------------------------------------------------------------
  type UsabilityRow = Record<string, unknown> & { created_at: Date };
  const presentUsability = (row: UsabilityRow) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) if (v !== null) out[k] = v;
    out.created_at = new Date(row.created_at).toISOString();
    return out as Static<typeof UsabilityFeedback>;
  };

  r.post(
    '/usability_feedback',
    { schema: { tags: ['Feedback'], operationId: 'createUsabilityFeedback', body: UsabilityFeedbackInput, response: { 201: UsabilityFeedback, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody } } },
    async (request, reply) => {
      const b = request.body;
      if (b.verbatim !== undefined && b.verbatim.length > VERBATIM_MAX) throw tooLarge(`verbatim exceeds ${VERBATIM_MAX} characters`);
      if (b.user_agent_data !== undefined && Buffer.byteLength(JSON.stringify(b.user_agent_data)) > UA_DATA_MAX) throw tooLarge(`user_agent_data exceeds ${UA_DATA_MAX} bytes`);
      if (b.screenshot !== undefined && b.screenshot.length > SCREENSHOT_MAX) throw tooLarge(`screenshot exceeds ${SCREENSHOT_MAX} characters`);
      const rows = await ctx.db.query<UsabilityRow>(
        `INSERT INTO usability_feedback (id, sentiment, surface, client_id, verbatim, client_version, client_build, user_agent, user_agent_data, viewport, screenshot, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12)
         RETURNING id, sentiment, surface, client_id, verbatim, client_version, client_build, user_agent, user_agent_data, viewport, screenshot, created_by, created_at`,
        [
          randomUUID(),
          b.sentiment,
          b.surface,
          b.client_id,
          b.verbatim ?? null,
          b.client_version ?? null,
          b.client_build ?? null,
          b.user_agent ?? null,
          b.user_agent_data === undefined ? null : JSON.stringify(b.user_agent_data),
          b.viewport ?? null,
          b.screenshot ?? null,
          principalOf(request).userUuid,
        ],
      );
      return reply.code(201).send(presentUsability(rows[0]!));
    },
  );

  const adminRead = requireAdministrator(ctx, { recentAuth: false });
  r.get(
    '/usability_feedback',
    { preValidation: adminRead, schema: { tags: ['Feedback'], operationId: 'listUsabilityFeedback', querystring: UsabilityFeedbackQuery, response: { 200: UsabilityFeedbackList, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } } },
    async (request) => {
      const q = request.query;
      const where: string[] = [];
      const params: unknown[] = [];
      for (const k of ['sentiment', 'client_id', 'surface'] as const) if (q[k] !== undefined) where.push(`${k} = $${params.push(q[k])}`);
      if (q.created_after !== undefined) where.push(`created_at >= $${params.push(q.created_after)}::timestamptz`);
      if (q.created_before !== undefined) where.push(`created_at <= $${params.push(q.created_before)}::timestamptz`);
      const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const [count, rows] = await Promise.all([
        ctx.db.query<{ total: number }>(`SELECT count(*)::int AS total FROM usability_feedback ${w}`, params),
        ctx.db.query<UsabilityRow>(`SELECT * FROM usability_feedback ${w} ORDER BY created_at DESC, id LIMIT ${q.limit ?? 50} OFFSET ${q.offset ?? 0}`, params),
      ]);
      return { items: rows.map(presentUsability), total: count[0]!.total };
    },
  );

  r.get(
    '/usability_feedback/:id',
    { preValidation: adminRead, schema: { tags: ['Feedback'], operationId: 'getUsabilityFeedback', params: Type.Object({ id: Uuid }), response: { 200: UsabilityFeedback, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } },
    async (request) => {
      const row = (await ctx.db.query<UsabilityRow>('SELECT * FROM usability_feedback WHERE id = $1', [request.params.id]))[0];
      if (!row) throw notFound('feedback not found');
      return presentUsability(row);
    },
  );

  // ---- /threat_models/{id}/feedback -----------------------------------------------------------
  const TmParams = Type.Object({ threat_model_id: Uuid });
  const TARGET_TABLES = { note: 'notes', diagram: 'diagrams', threat: 'threats', threat_classification: 'threats' } as const;

  r.post(
    '/threat_models/:threat_model_id/feedback',
    {
      schema: {
        tags: ['Feedback'],
        operationId: 'createContentFeedback',
        params: TmParams,
        body: ContentFeedbackInput,
        response: { 201: ContentFeedback, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 413: ErrorBody },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const tmId = request.params.threat_model_id;
      await ctx.threatModels.accessTo(p, tmId, 'read');
      const b = request.body;
      if (b.verbatim !== undefined && b.verbatim.length > VERBATIM_MAX) throw tooLarge(`verbatim exceeds ${VERBATIM_MAX} characters`);
      if (b.screenshot !== undefined && b.screenshot.length > SCREENSHOT_MAX) throw tooLarge(`screenshot exceeds ${SCREENSHOT_MAX} characters`);
      if ((b.target_type === 'threat_classification') !== (b.target_field !== undefined)) {
        throw badRequest('target_field is required for threat_classification and allowed only there');
      }
      if (b.false_positive_reason !== undefined && !(b.sentiment === 'down' && b.target_type === 'threat')) {
        throw badRequest("false_positive_reason is allowed only with sentiment 'down' on a threat");
      }
      if (b.false_positive_subreason !== undefined) {
        if (b.false_positive_reason === undefined) throw badRequest('false_positive_subreason needs a false_positive_reason');
        const allowed: readonly string[] = FALSE_POSITIVE_SUBREASONS[b.false_positive_reason];
        if (!allowed.includes(b.false_positive_subreason)) throw badRequest(`false_positive_subreason '${b.false_positive_subreason}' does not belong to '${b.false_positive_reason}'`);
      }
      const table = TARGET_TABLES[b.target_type];
      const target = await ctx.db.query(`SELECT 1 FROM ${table} WHERE id = $1 AND threat_model_id = $2`, [b.target_id, tmId]);
      if (!target.length) throw badRequest('target_id not found in this threat model');
      const rows = await ctx.db.query<Record<string, unknown> & { created_at: Date }>(
        `INSERT INTO content_feedback (id, threat_model_id, sentiment, target_type, target_id, target_field, verbatim, false_positive_reason,
           false_positive_subreason, client_id, client_version, screenshot, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *`,
        [
          randomUUID(),
          tmId,
          b.sentiment,
          b.target_type,
          b.target_id,
          b.target_field ?? null,
          b.verbatim ?? null,
          b.false_positive_reason ?? null,
          b.false_positive_subreason ?? null,
          b.client_id,
          b.client_version ?? null,
          b.screenshot ?? null,
          p.userUuid,
        ],
      );
      return reply.code(201).send(presentContent(rows[0]!));
    },
  );

  const presentContent = (row: Record<string, unknown> & { created_at: Date }) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) if (v !== null || k === 'created_by') out[k] = v;
    out.created_at = new Date(row.created_at).toISOString();
    return out as Static<typeof ContentFeedback>;
  };

  r.get(
    '/threat_models/:threat_model_id/feedback',
    {
      schema: { tags: ['Feedback'], operationId: 'listContentFeedback', params: TmParams, querystring: ContentFeedbackQuery, response: { 200: ContentFeedbackList, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    },
    async (request) => {
      const tmId = request.params.threat_model_id;
      await ctx.threatModels.accessTo(principalOf(request), tmId, 'read');
      const q = request.query;
      const params: unknown[] = [tmId];
      const where = ['threat_model_id = $1'];
      for (const k of ['target_type', 'target_id', 'sentiment', 'false_positive_reason'] as const) if (q[k] !== undefined) where.push(`${k} = $${params.push(q[k])}`);
      const w = where.join(' AND ');
      const [count, rows] = await Promise.all([
        ctx.db.query<{ total: number }>(`SELECT count(*)::int AS total FROM content_feedback WHERE ${w}`, params),
        ctx.db.query<Record<string, unknown> & { created_at: Date }>(`SELECT * FROM content_feedback WHERE ${w} ORDER BY created_at DESC, id LIMIT ${q.limit ?? 20} OFFSET ${q.offset ?? 0}`, params),
      ]);
      return { items: rows.map(presentContent), total: count[0]!.total };
    },
  );

  r.get(
    '/threat_models/:threat_model_id/feedback/:feedback_id',
    {
      schema: {
        tags: ['Feedback'],
        operationId: 'getContentFeedback',
        params: Type.Object({ threat_model_id: Uuid, feedback_id: Uuid }),
        response: { 200: ContentFeedback, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { threat_model_id: tmId, feedback_id: id } = request.params;
      await ctx.threatModels.accessTo(principalOf(request), tmId, 'read');
      const row = (await ctx.db.query<Record<string, unknown> & { created_at: Date }>('SELECT * FROM content_feedback WHERE id = $1 AND threat_model_id = $2', [id, tmId]))[0];
      if (!row) throw notFound('feedback not found');
      return presentContent(row);
    },
  );
}
