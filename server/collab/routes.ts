// HTTP and WebSocket entry points of collaboration: /collaborate (GET/POST/DELETE), /me/sessions,
// /ws/ticket, the diagram socket (ticket-authenticated, origin-checked, capped), /ws/notifications,
// and the protocol's AsyncAPI document (/asyncapi.json).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastifyWebsocket from '@fastify/websocket';
import { principalOf, type Principal } from '../auth/authenticate.ts';
import type { CollabSettings } from '../config.ts';
import type { AppContext } from '../context.ts';
import { badRequest, forbidden, noContent, notFound, unauthorized } from '../http/errors.ts';
import { ErrorBody } from '../../contract/common.ts';
import { DiagramParams } from '../../contract/diagrams.ts';
import { CollaborationSession, MySessions, TicketQuery, TicketResponse, WsQuery } from '../../contract/collab.ts';
import { findDiagram } from '../resources/diagrams/store.ts';
import { asyncApiDocument } from './asyncapi.ts';
import { CollabHub } from './hub.ts';
import { now } from './protocol.ts';
import { participantsOf } from './session.ts';
import { credentialOf, permissionsOf, type Permissions, type TicketClaims } from './tickets.ts';
import * as store from './store.ts';
import { metrics } from '../observability/metrics.ts';
import { compileOnFirstUse } from '../../contract/validator.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['Collaboration'];

const WsQueryCheck = compileOnFirstUse(WsQuery);

/**
 * The diagram socket's query as WsQuery says, refused before the upgrade (and before the ticket is
 * used up): a bad last_sequence or session_id is 400, a ticket that cannot be one is 401.
 */
function socketQuery(raw: Record<string, unknown>): WsQuery {
  const q = { ...raw };
  // Query values are text: a number is digits only (no sign, exponent or fraction).
  if (typeof q.last_sequence === 'string' && /^\d{1,16}$/.test(q.last_sequence)) q.last_sequence = Number(q.last_sequence);
  if (WsQueryCheck.Check(q)) return q;
  const bad = new Set(WsQueryCheck.Errors(q).map((e) => e.instancePath.split('/')[1]));
  if (bad.has('last_sequence')) throw badRequest('last_sequence must be a non-negative integer');
  if (bad.has('session_id')) throw badRequest('Invalid UUID format for parameter: session_id', 'invalid_id');
  throw unauthorized('A valid ticket from GET /ws/ticket is required');
}

export async function collabRoutes(app: FastifyInstance, ctx: AppContext, overrides: Partial<CollabSettings> = {}): Promise<CollabHub> {
  const settings = { ...ctx.config.collab, ...overrides };
  const hub = new CollabHub(ctx, settings, app.log);
  await hub.start();
  app.addHook('onClose', async () => hub.stop());
  const unwatch = metrics.watchCollab(hub);
  app.addHook('onClose', async () => unwatch());
  await app.register(fastifyWebsocket, { options: { maxPayload: settings.maxMessageBytes } });

  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  const websocketUrl = (tmId: string, diagramId: string, sessionId: string) =>
    `${ctx.config.server.baseUrl.replace(/^http/, 'ws')}/threat_models/${tmId}/diagrams/${diagramId}/ws?session_id=${sessionId}`;

  /** The REST body of a session; `caller` is listed even when not connected, as the reference. */
  async function describe(s: store.SessionRow, caller: Principal): Promise<CollaborationSession> {
    const participants = await participantsOf(ctx.db, s.id);
    if (!participants.some((p) => p.user.provider === caller.provider && p.user.provider_id === caller.providerId)) {
      const role = await ctx.threatModels.accessTo(caller, s.threat_model_id, 'read').then((a) => a.role).catch(() => null);
      if (role) {
        participants.push({
          user: { principal_type: 'user', provider: caller.provider, provider_id: caller.providerId, email: caller.email, display_name: caller.name },
          last_activity: now(),
          permissions: permissionsOf(role),
        });
      }
    }
    return {
      session_id: s.id,
      host: s.host,
      ...(s.presenter ? { presenter: s.presenter } : {}),
      threat_model_id: s.threat_model_id,
      threat_model_name: s.threat_model_name,
      diagram_id: s.diagram_id,
      diagram_name: s.diagram_name,
      participants,
      websocket_url: websocketUrl(s.threat_model_id, s.diagram_id, s.id),
    };
  }

  /** The caller may read the threat model and the diagram is live in it. */
  async function diagramFor(request: FastifyRequest, tmId: string, diagramId: string) {
    await ctx.threatModels.accessTo(principalOf(request), tmId, 'collaborate');
    const d = await findDiagram(ctx.db, tmId, diagramId);
    if (!d || d.deleted_at) throw notFound('Diagram not found in this threat model');
    return d;
  }

  const path = '/threat_models/:threat_model_id/diagrams/:diagram_id/collaborate';

  r.get(path, { schema: { tags, operationId: 'getDiagramCollaborationSession', params: DiagramParams, response: { 200: CollaborationSession, ...errors } } }, async (request) => {
    const { threat_model_id: tmId, diagram_id: id } = request.params;
    await diagramFor(request, tmId, id);
    const s = await store.activeSessionOfDiagram(ctx.db, id);
    if (!s) throw notFound('No active collaboration session for this diagram');
    return describe(s, principalOf(request));
  });

  r.post(
    path,
    { schema: { tags, operationId: 'createDiagramCollaborationSession', params: DiagramParams, response: { 200: CollaborationSession, 201: CollaborationSession, ...errors } } },
    async (request, reply) => {
      const { threat_model_id: tmId, diagram_id: id } = request.params;
      await diagramFor(request, tmId, id);
      const p = principalOf(request);
      const created = await ctx.db.tx((q) => store.createSession(q, { id: randomUUID(), diagramId: id, tmId, hostUuid: p.userUuid, at: new Date() }));
      const s = (await store.activeSessionOfDiagram(ctx.db, id))!;
      if (created) await hub.announceStarted(s, p.email);
      return reply.code(created ? 201 : 200).send(await describe(s, p));
    },
  );

  r.delete(path, { schema: { tags, operationId: 'endDiagramCollaborationSession', params: DiagramParams, response: errors } }, async (request, reply) => {
    const { threat_model_id: tmId, diagram_id: id } = request.params;
    await diagramFor(request, tmId, id);
    const s = await store.activeSessionOfDiagram(ctx.db, id);
    // Only the host ends the session; anyone else leaving is a no-op here, as the reference.
    if (s && s.host_uuid === principalOf(request).userUuid) await hub.endSession(s.id, 'Host ended the session');
    return noContent(reply);
  });

  r.get('/me/sessions', { schema: { tags, operationId: 'getCurrentUserSessions', response: { 200: MySessions, ...errors } } }, async (request) => {
    const p = principalOf(request);
    const out = [];
    for (const s of await store.activeSessions(ctx.db)) {
      const readable = await ctx.threatModels.accessTo(p, s.threat_model_id, 'read').then(() => true, () => false);
      if (readable) out.push(await describe(s, p));
    }
    return out;
  });

  r.get('/ws/ticket', { schema: { tags, operationId: 'getWsTicket', querystring: TicketQuery, response: { 200: TicketResponse, ...errors } } }, async (request, reply) => {
    const p = principalOf(request);
    const s = await store.sessionById(ctx.db, request.query.session_id);
    // Unknown, ended, or not readable: all 404, so session ids cannot be probed.
    if (!s || s.state !== 'active') throw notFound('Collaboration session not found');
    await ctx.threatModels.accessTo(p, s.threat_model_id, 'read').catch(() => {
      throw notFound('Collaboration session not found');
    });
    const ticket = await hub.tickets.issue({ userUuid: p.userUuid, provider: p.provider, providerId: p.providerId, email: p.email, name: p.name, idpGroups: p.idpGroups, tmiGroupIds: p.tmiGroupIds, credential: credentialOf(p), sessionId: s.id });
    reply.header('cache-control', 'no-store');
    return { ticket };
  });

  // ---- sockets ----

  const allowedOrigins = new Set([new URL(ctx.config.server.baseUrl).origin, ...ctx.config.cors.allowedOrigins]);
  function checkOrigin(request: FastifyRequest): void {
    const origin = request.headers.origin;
    if (origin === undefined) return; // non-browser clients send none
    const host = request.headers.host;
    // Exact matches only: the configured origins, or this very host (same-origin pages).
    if (allowedOrigins.has(origin) || (host && (origin === `http://${host}` || origin === `https://${host}`))) return;
    throw forbidden('Origin not allowed for collaboration');
  }

  const admitted = new WeakMap<FastifyRequest, { claims: TicketClaims; permissions: Permissions; query: WsQuery }>();

  app.get(
    '/threat_models/:threat_model_id/diagrams/:diagram_id/ws',
    {
      websocket: true,
      config: { public: true },
      schema: { hide: true } as Record<string, unknown>,
      preValidation: async (request) => {
        checkOrigin(request);
        const q = socketQuery(request.query as Record<string, unknown>);
        // The ticket is the only credential a browser socket can carry; it is used up here, and
        // refused when the token or sign-in session that obtained it was revoked since.
        const claims = q.ticket ? await hub.tickets.redeem(q.ticket) : null;
        if (!claims) throw unauthorized('A valid ticket from GET /ws/ticket is required');
        if (q.session_id !== undefined && q.session_id.toLowerCase() !== claims.sessionId.toLowerCase()) throw unauthorized('The ticket belongs to another session');
        // Read access is checked again here: it may have been withdrawn since the ticket was issued.
        const permissions = await hub.tickets.permissionsOn(claims, (request.params as { threat_model_id: string }).threat_model_id);
        await hub.tickets.checkCaps(claims);
        admitted.set(request, { claims, permissions, query: q });
      },
    },
    (socket, request) => {
      const params = request.params as { threat_model_id: string; diagram_id: string };
      const { claims, permissions, query } = admitted.get(request)!;
      hub.join(socket, claims, permissions, params.threat_model_id, params.diagram_id, query.last_sequence).catch((err: unknown) => {
        request.log.error({ err }, 'collaboration join failed');
        socket.close(1011, 'internal error');
      });
    },
  );

  // The protocol's document, generated from its schemas (contract/collab-messages.ts).
  let asyncApi: unknown;
  app.get('/asyncapi.json', { config: { public: true } }, async () => (asyncApi ??= asyncApiDocument(ctx.config)));

  app.get('/ws/notifications', { websocket: true, schema: { hide: true } as Record<string, unknown>, preValidation: async (request) => checkOrigin(request) }, (socket, request) => {
    hub.addNotificationSocket(socket, principalOf(request));
  });

  return hub;
}
