// HTTP for /threat_models, /threat_models/{id} and our /threat_models/{id}/permissions: validation
// by schema, then the service.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { JSON_PATCH_TYPES } from '../../http/body.ts';
import { noContent } from '../../http/errors.ts';
import { ErrorBody, JsonPatchDocument, ThreatModelIdParams } from '../../../contract/common.ts';
import { ListThreatModelsQuery, ListThreatModelsResponse, ThreatModel, ThreatModelInput, ThreatModelPermissions } from '../../../contract/threat-models.ts';
import { administratorCheck } from '../common/administrator.ts';
import { existenceBeforeBody } from '../common/existence-first.ts';
import { readIfMatch, setEtag } from '../common/if-match.ts';
import { PRUNE_CHANGE_LOGS_EVERY_MS, pruneChangeLogs } from './list-cache.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['Threat Models'];

export function threatModelRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const svc = ctx.threatModels;
  const requireIfMatch = ctx.config.server.requireIfMatch;
  // A write to a missing model is 404 (and without the role 403) before its body is judged.
  const modelFirst = existenceBeforeBody(async (p, ps) => void (await svc.accessTo(p, ps.threat_model_id!, 'write')));

  // The read models' change logs are pruned on a timer, whether or not anyone reads.
  let prune: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    prune = setInterval(() => void pruneChangeLogs(ctx.db).catch((err: unknown) => app.log.warn({ err }, 'change log pruning failed')), PRUNE_CHANGE_LOGS_EVERY_MS);
    prune.unref();
  });
  app.addHook('onClose', async () => clearInterval(prune));

  r.get(
    '/threat_models',
    { schema: { tags, operationId: 'listThreatModels', querystring: ListThreatModelsQuery, response: { 200: ListThreatModelsResponse, ...errors } } },
    async (request, reply) => {
      const p = principalOf(request);
      // The route's own serializer makes the text, so a kept answer is byte for byte the answer.
      const text = await svc.listText(p, request.query, administratorCheck(ctx, p), (list) => reply.serialize(list) as string);
      return reply.type('application/json; charset=utf-8').send(text as never);
    },
  );

  r.post(
    '/threat_models',
    { schema: { tags, operationId: 'createThreatModel', body: ThreatModelInput, response: { 201: ThreatModel, ...errors } } },
    async (request, reply) => {
      const tm = await svc.create(principalOf(request), request.body);
      setEtag(reply, tm.version);
      return reply.code(201).header('location', `/threat_models/${tm.id}`).send(tm);
    },
  );

  r.get(
    '/threat_models/:threat_model_id',
    { schema: { tags, operationId: 'getThreatModel', params: ThreatModelIdParams, response: { 200: ThreatModel, ...errors } } },
    async (request, reply) => {
      // The route's own serializer makes the text, so a stored document is byte for byte the answer.
      const { text, version } = await svc.getText(principalOf(request), request.params.threat_model_id, (tm) => reply.serialize(tm) as string);
      setEtag(reply, version);
      return reply.type('application/json; charset=utf-8').send(text as never);
    },
  );

  r.get(
    '/threat_models/:threat_model_id/permissions',
    {
      schema: {
        tags,
        operationId: 'getThreatModelPermissions',
        description: 'TMI-TS extension: the caller\'s role on the threat model and what it lets them do, as the server decides it.',
        params: ThreatModelIdParams,
        response: { 200: ThreatModelPermissions, ...errors },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return svc.permissions(p, request.params.threat_model_id.toLowerCase(), administratorCheck(ctx, p));
    },
  );

  r.put(
    '/threat_models/:threat_model_id',
    { preValidation: modelFirst, schema: { tags, operationId: 'updateThreatModel', params: ThreatModelIdParams, body: ThreatModelInput, response: { 200: ThreatModel, ...errors } } },
    async (request, reply) => {
      const tm = await svc.replace(principalOf(request), request.params.threat_model_id, request.body, readIfMatch(request, requireIfMatch));
      setEtag(reply, tm.version);
      return tm;
    },
  );

  r.patch(
    '/threat_models/:threat_model_id',
    {
      config: { consumes: JSON_PATCH_TYPES },
      preValidation: modelFirst,
      schema: { tags, operationId: 'patchThreatModel', params: ThreatModelIdParams, body: JsonPatchDocument, response: { 200: ThreatModel, ...errors } },
    },
    async (request, reply) => {
      const tm = await svc.patch(principalOf(request), request.params.threat_model_id, request.body, readIfMatch(request, requireIfMatch));
      setEtag(reply, tm.version);
      return tm;
    },
  );

  r.delete(
    '/threat_models/:threat_model_id',
    { schema: { tags, operationId: 'deleteThreatModel', params: ThreatModelIdParams, response: errors } },
    async (request, reply) => {
      await svc.remove(principalOf(request), request.params.threat_model_id);
      return noContent(reply);
    },
  );
}
