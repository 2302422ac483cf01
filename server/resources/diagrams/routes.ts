// HTTP for /threat_models/{id}/diagrams[/{diagram_id}[/restore|/model]]: schemas, then the service.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { JSON_PATCH_TYPES } from '../../http/body.ts';
import { ApiError, noContent } from '../../http/errors.ts';
import { ErrorBody, JsonPatchDocument, ThreatModelIdParams } from '../../../contract/common.ts';
import { CreateDiagramRequest, DfdDiagram, DfdDiagramInput, DiagramParams, ListDiagramsQuery, ListDiagramsResponse, MinimalDiagramModel } from '../../../contract/diagrams.ts';
import { existenceBeforeBody } from '../common/existence-first.ts';
import { readIfMatch, setEtag } from '../common/if-match.ts';
import { administratorCheck } from '../common/administrator.ts';
import { KIND } from '../kinds.ts';
import { DiagramService, diagramItems } from './service.ts';
import { toGraphml, toYaml } from './model-formats.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['Diagrams'];

function sendDiagram(reply: FastifyReply, d: { text: string; version: number }, status = 200) {
  setEtag(reply, d.version);
  return reply.code(status).type('application/json; charset=utf-8').send(d.text);
}

/** Media types of GET .../model, first match of the Accept header wins (q-values honoured). */
const MODEL_TYPES: Record<string, 'json' | 'yaml' | 'graphml'> = {
  'application/json': 'json',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'application/graphml+xml': 'graphml',
};

function negotiateModel(accept: string | undefined): 'json' | 'yaml' | 'graphml' | null {
  if (!accept || accept.trim() === '') return 'json';
  const ranges = accept
    .split(',')
    .map((part, i) => {
      const [type, ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { type: type!.trim().toLowerCase(), q: q ? Number(q.slice(2)) : 1, i };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranges) {
    if (Object.hasOwn(MODEL_TYPES, r.type)) return MODEL_TYPES[r.type]!;
    if (r.type === '*/*' || r.type === 'application/*') return 'json';
  }
  return null;
}

export function diagramRoutes(app: FastifyInstance, ctx: AppContext): DiagramService {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const svc = new DiagramService(ctx.db, ctx.threatModels);
  ctx.kinds.register(KIND.diagrams, diagramItems());
  const requireIfMatch = ctx.config.server.requireIfMatch;
  const base = '/threat_models/:threat_model_id/diagrams';
  // A write to a missing model or diagram is 404 (and without the role 403) before its body is judged.
  const modelFirst = existenceBeforeBody((p, ps) => svc.checkWritable(p, ps.threat_model_id!));
  const diagramFirst = existenceBeforeBody((p, ps) => svc.checkWritable(p, ps.threat_model_id!, ps.diagram_id!));

  r.get(
    base,
    { schema: { tags, operationId: 'getThreatModelDiagrams', params: ThreatModelIdParams, querystring: ListDiagramsQuery, response: { 200: ListDiagramsResponse, ...errors } } },
    async (request) => {
      const p = principalOf(request);
      return svc.list(p, request.params.threat_model_id, request.query, administratorCheck(ctx, p));
    },
  );

  r.post(
    base,
    { preValidation: modelFirst, schema: { tags, operationId: 'createThreatModelDiagram', params: ThreatModelIdParams, body: CreateDiagramRequest, response: { 201: DfdDiagram, ...errors } } },
    async (request, reply) => {
      const p = principalOf(request);
      const tmId = request.params.threat_model_id;
      const id = await svc.create(p, tmId, request.body);
      reply.header('location', `/threat_models/${tmId}/diagrams/${id}`);
      return sendDiagram(reply, await svc.getText(p, tmId, id), 201);
    },
  );

  r.get(
    `${base}/:diagram_id`,
    { schema: { tags, operationId: 'getThreatModelDiagram', params: DiagramParams, response: { 200: DfdDiagram, ...errors } } },
    async (request, reply) => sendDiagram(reply, await svc.getText(principalOf(request), request.params.threat_model_id, request.params.diagram_id)),
  );

  r.put(
    `${base}/:diagram_id`,
    { preValidation: diagramFirst, schema: { tags, operationId: 'updateThreatModelDiagram', params: DiagramParams, body: DfdDiagramInput, response: { 200: DfdDiagram, ...errors } } },
    async (request, reply) => {
      const { threat_model_id: tmId, diagram_id: id } = request.params;
      return sendDiagram(reply, await svc.replace(principalOf(request), tmId, id, request.body, readIfMatch(request, requireIfMatch)));
    },
  );

  r.patch(
    `${base}/:diagram_id`,
    {
      config: { consumes: JSON_PATCH_TYPES },
      preValidation: diagramFirst,
      schema: { tags, operationId: 'patchThreatModelDiagram', params: DiagramParams, body: JsonPatchDocument, response: { 200: DfdDiagram, ...errors } },
    },
    async (request, reply) => {
      const { threat_model_id: tmId, diagram_id: id } = request.params;
      return sendDiagram(reply, await svc.patch(principalOf(request), tmId, id, request.body, readIfMatch(request, requireIfMatch)));
    },
  );

  r.delete(
    `${base}/:diagram_id`,
    { schema: { tags, operationId: 'deleteThreatModelDiagram', params: DiagramParams, response: errors } },
    async (request, reply) => {
      await svc.remove(principalOf(request), request.params.threat_model_id, request.params.diagram_id);
      return noContent(reply);
    },
  );

  r.post(
    `${base}/:diagram_id/restore`,
    { schema: { tags, operationId: 'restoreDiagram', params: DiagramParams, response: { 200: DfdDiagram, ...errors } } },
    async (request, reply) => sendDiagram(reply, await svc.restore(principalOf(request), request.params.threat_model_id, request.params.diagram_id)),
  );

  r.get(
    `${base}/:diagram_id/model`,
    {
      schema: {
        tags,
        operationId: 'getDiagramModel',
        params: DiagramParams,
        response: { 200: Type.Union([MinimalDiagramModel, Type.String()]), 406: ErrorBody, ...errors },
      },
    },
    async (request, reply) => {
      const format = negotiateModel(request.headers.accept);
      if (!format) throw new ApiError(406, 'not_acceptable', 'Supported media types: application/json, application/yaml, application/graphml+xml');
      const model = await svc.model(principalOf(request), request.params.threat_model_id, request.params.diagram_id);
      if (format === 'yaml') return reply.type('application/yaml; charset=utf-8').send(toYaml(model));
      if (format === 'graphml') return reply.type('application/graphml+xml; charset=utf-8').send(toGraphml(model));
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(model));
    },
  );

  return svc;
}
