// HTTP for metadata on a threat model (/threat_models/{tm}/metadata...) and on the items of every
// kind of child (/threat_models/{tm}/{kind}/{id}/metadata...).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { noContent } from '../../http/errors.ts';
import { existenceBeforeBody } from '../common/existence-first.ts';
import { ErrorBody, Metadata, Uuid } from '../../../contract/common.ts';
import { MetadataEntryBody, MetadataKeyParam, MetadataList, MetadataValueBody, metadataBulkBody } from '../../../contract/metadata.ts';
import { KINDS } from '../kinds.ts';
import { bulkLimitOf, MetadataService, type Carrier } from './service.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function metadataRoutes(app: FastifyInstance, ctx: AppContext): void {
  const svc = new MetadataService(ctx.db, ctx.threatModels, ctx.kinds);
  register(app, svc, null);
  for (const kind of KINDS) register(app, svc, kind);
}

function register(app: FastifyInstance, svc: MetadataService, kind: Carrier): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const base = kind ? `/threat_models/:threat_model_id/${kind.name}/:${kind.idParam}/metadata` : '/threat_models/:threat_model_id/metadata';
  const params = Type.Object(kind ? { threat_model_id: Uuid, [kind.idParam]: Uuid } : { threat_model_id: Uuid });
  const keyParams = Type.Object({ ...params.properties, key: MetadataKeyParam });
  const tags = [kind?.tag ?? 'Threat Models'];
  // Operation ids as the reference names them: list is get…Metadata, one key get/update/delete…MetadataByKey;
  // the assets' are named after ThreatModelAsset and only their get says ByKey.
  const subject = kind ? (kind.name === 'assets' ? 'ThreatModelAsset' : kind.label) : 'ThreatModel';
  const byKey = (verb: string) => (kind?.name === 'assets' ? verb === 'get' : true);
  const op = (verb: 'list' | 'create' | 'get' | 'update' | 'delete' | 'bulkCreate' | 'bulkReplace' | 'bulkUpsert') =>
    verb === 'list' ? `get${subject}Metadata` : `${verb}${subject}Metadata${['get', 'update', 'delete'].includes(verb) && byKey(verb) ? 'ByKey' : ''}`;
  const itemOf = (ps: Record<string, string>) => (kind ? ps[kind.idParam]!.toLowerCase() : null);
  const ids = (request: FastifyRequest) => {
    const ps = request.params as Record<string, string>;
    return [ps.threat_model_id!.toLowerCase(), itemOf(ps)] as const;
  };
  const keyOf = (request: FastifyRequest) => (request.params as { key: string }).key;
  const bulkBody = metadataBulkBody(bulkLimitOf(kind));

  r.get(base, { schema: { tags, operationId: op('list'), params, response: { 200: MetadataList, ...errors } } }, async (request) =>
    svc.list(principalOf(request), kind, ...ids(request)),
  );
  // A write to a missing model, child or key is 404 (and without the role 403) before its body is judged.
  const entityFirst = existenceBeforeBody((p, ps) => svc.checkWritable(p, kind, ps.threat_model_id!, itemOf(ps)));
  const keyFirst = existenceBeforeBody((p, ps) => svc.checkWritable(p, kind, ps.threat_model_id!, itemOf(ps), ps.key!));

  r.post(base, { preValidation: entityFirst, schema: { tags, operationId: op('create'), params, body: Metadata, response: { 201: Metadata, ...errors } } }, async (request, reply) =>
    reply.code(201).send(await svc.create(principalOf(request), kind, ...ids(request), request.body)),
  );
  r.get(`${base}/:key`, { schema: { tags, operationId: op('get'), params: keyParams, response: { 200: Metadata, ...errors } } }, async (request) =>
    svc.get(principalOf(request), kind, ...ids(request), keyOf(request)),
  );
  r.put(
    `${base}/:key`,
    { preValidation: keyFirst, schema: { tags, operationId: op('update'), params: keyParams, body: kind?.metadataPutTakesEntry ? MetadataEntryBody : MetadataValueBody, response: { 200: Metadata, ...errors } } },
    async (request) => {
      const body = request.body as { key?: string; value: string };
      return svc.update(principalOf(request), kind, ...ids(request), keyOf(request), body.value, body.key);
    },
  );
  r.delete(`${base}/:key`, { schema: { tags, operationId: op('delete'), params: keyParams, response: errors } }, async (request, reply) => {
    await svc.remove(principalOf(request), kind, ...ids(request), keyOf(request));
    return noContent(reply);
  });
  r.post(`${base}/bulk`, { preValidation: entityFirst, schema: { tags, operationId: op('bulkCreate'), params, body: bulkBody, response: { 201: MetadataList, ...errors } } }, async (request, reply) =>
    reply.code(201).send(await svc.bulk(principalOf(request), kind, ...ids(request), request.body, 'create')),
  );
  r.put(`${base}/bulk`, { preValidation: entityFirst, schema: { tags, operationId: op('bulkReplace'), params, body: bulkBody, response: { 200: MetadataList, ...errors } } }, async (request) =>
    svc.bulk(principalOf(request), kind, ...ids(request), request.body, 'replace'),
  );
  r.patch(`${base}/bulk`, { preValidation: entityFirst, schema: { tags, operationId: op('bulkUpsert'), params, body: bulkBody, response: { 200: MetadataList, ...errors } } }, async (request) =>
    svc.bulk(principalOf(request), kind, ...ids(request), request.body, 'upsert'),
  );
}
