// HTTP for metadata on a threat model (/threat_models/{tm}/metadata...) and on each child family
// (/threat_models/{tm}/{segment}/{id}/metadata...), diagrams included.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { noContent } from '../../http/errors.ts';
import { existenceBeforeBody } from '../common/existence-first.ts';
import { ErrorBody, Metadata, Uuid } from '../../../contract/common.ts';
import { MetadataEntryBody, MetadataKeyParam, MetadataList, MetadataValueBody, metadataBulkBody } from '../../../contract/metadata.ts';
import { CHILD_TARGETS, MetadataService, THREAT_MODEL_TARGET, type MetadataTarget } from './service.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function metadataRoutes(app: FastifyInstance, ctx: AppContext): void {
  const svc = new MetadataService(ctx.db, ctx.threatModels, ctx.families);
  register(app, svc, THREAT_MODEL_TARGET);
  for (const t of CHILD_TARGETS) register(app, svc, t);
}

function register(app: FastifyInstance, svc: MetadataService, t: MetadataTarget): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const base = t.segment ? `/threat_models/:threat_model_id/${t.segment}/:${t.idParam}/metadata` : '/threat_models/:threat_model_id/metadata';
  const params = Type.Object(t.segment ? { threat_model_id: Uuid, [t.idParam]: Uuid } : { threat_model_id: Uuid });
  const keyParams = Type.Object({ ...params.properties, key: MetadataKeyParam });
  const tags = [t.tag];
  const op = (verb: string) => `${verb}${t.segment ? t.label.replace(/ /g, '') : 'ThreatModel'}Metadata`;
  const ids = (request: FastifyRequest) => {
    const ps = request.params as Record<string, string>;
    return [ps.threat_model_id!.toLowerCase(), t.segment ? ps[t.idParam]!.toLowerCase() : null] as const;
  };
  const keyOf = (request: FastifyRequest) => (request.params as { key: string }).key;
  const bulkBody = metadataBulkBody(t.bulkLimit);

  r.get(base, { schema: { tags, operationId: op('list'), params, response: { 200: MetadataList, ...errors } } }, async (request) =>
    svc.list(principalOf(request), t, ...ids(request)),
  );
  // A write to a missing model, child or key is 404 (and without the role 403) before its body is judged.
  const entityFirst = existenceBeforeBody((p, ps) => svc.checkWritable(p, t, ps.threat_model_id!, t.segment ? ps[t.idParam]! : null));
  const keyFirst = existenceBeforeBody((p, ps) => svc.checkWritable(p, t, ps.threat_model_id!, t.segment ? ps[t.idParam]! : null, ps.key!));

  r.post(base, { preValidation: entityFirst, schema: { tags, operationId: op('create'), params, body: Metadata, response: { 201: Metadata, ...errors } } }, async (request, reply) =>
    reply.code(201).send(await svc.create(principalOf(request), t, ...ids(request), request.body)),
  );
  r.get(`${base}/:key`, { schema: { tags, operationId: op('get'), params: keyParams, response: { 200: Metadata, ...errors } } }, async (request) =>
    svc.get(principalOf(request), t, ...ids(request), keyOf(request)),
  );
  r.put(
    `${base}/:key`,
    { preValidation: keyFirst, schema: { tags, operationId: op('update'), params: keyParams, body: t.putTakesEntry ? MetadataEntryBody : MetadataValueBody, response: { 200: Metadata, ...errors } } },
    async (request) => {
      const body = request.body as { key?: string; value: string };
      return svc.update(principalOf(request), t, ...ids(request), keyOf(request), body.value, body.key);
    },
  );
  r.delete(`${base}/:key`, { schema: { tags, operationId: op('delete'), params: keyParams, response: errors } }, async (request, reply) => {
    await svc.remove(principalOf(request), t, ...ids(request), keyOf(request));
    return noContent(reply);
  });
  r.post(`${base}/bulk`, { preValidation: entityFirst, schema: { tags, operationId: op('bulkCreate'), params, body: bulkBody, response: { 201: MetadataList, ...errors } } }, async (request, reply) =>
    reply.code(201).send(await svc.bulk(principalOf(request), t, ...ids(request), request.body, 'create')),
  );
  r.put(`${base}/bulk`, { preValidation: entityFirst, schema: { tags, operationId: op('bulkReplace'), params, body: bulkBody, response: { 200: MetadataList, ...errors } } }, async (request) =>
    svc.bulk(principalOf(request), t, ...ids(request), request.body, 'replace'),
  );
  r.patch(`${base}/bulk`, { preValidation: entityFirst, schema: { tags, operationId: op('bulkUpsert'), params, body: bulkBody, response: { 200: MetadataList, ...errors } } }, async (request) =>
    svc.bulk(principalOf(request), t, ...ids(request), request.body, 'upsert'),
  );
}
