// HTTP for one kind of threat-model children: /threat_models/{tm}/{kind}[/{id}[/restore]] and the
// bulk endpoints. Validation by schema, then the generic ChildService.
import type { FastifyInstance, FastifyReply, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { JSON_PATCH_TYPES } from '../../http/body.ts';
import { badRequest, noContent } from '../../http/errors.ts';
import { ErrorBody, JsonPatchDocument, Uuid } from '../../../contract/common.ts';
import { ANY_URI } from '../../../contract/children.ts';
import { existenceBeforeBody } from '../common/existence-first.ts';
import { readIfMatch, setEtag, warnIfUnconditional, type Precondition } from '../common/if-match.ts';
import { ChildService, type ListQuery, type Wire } from './service.ts';
import type { ListRefinement } from './store.ts';
import { administratorCheck } from '../common/administrator.ts';
import type { GenericKind } from './kind.ts';

export const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export interface ChildRouteOptions<Q> {
  /** List filters and sort orders of the kind (threats). */
  refineList?: (query: Q) => ListRefinement;
}

export interface ChildRoutes {
  service: ChildService;
  base: string;
  itemParams: TSchema;
  tmParams: TSchema;
  /** The preValidation hook of model-level writes (404/403 before the body is judged). */
  modelFirst: preValidationAsyncHookHandler;
}

/** Registers the kind's routes and its items in ctx.kinds; returns the service for extras. */
export function registerChildRoutes<Q extends ListQuery>(app: FastifyInstance, ctx: AppContext, kind: GenericKind, opts: ChildRouteOptions<Q> = {}): ChildRoutes {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const svc = new ChildService(kind, ctx.db, ctx.threatModels);
  ctx.kinds.register(kind, svc.items());
  const tags = [kind.tag];
  const base = `/threat_models/:threat_model_id/${kind.name}`;
  const tmParams = Type.Object({ threat_model_id: Uuid });
  const itemParams = Type.Object({ threat_model_id: Uuid, [kind.idParam]: Uuid });
  const idOf = (request: FastifyRequest) => (request.params as Record<string, string>)[kind.idParam]!.toLowerCase();
  const tmOf = (request: FastifyRequest) => (request.params as Record<string, string>).threat_model_id!.toLowerCase();
  // Operation ids as the reference names them (generated clients get the same method names).
  const name = kind.label.replace(/ /g, '');
  const plural = kind.name.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
  const precondition = (request: FastifyRequest): Precondition => (kind.versioned ? readIfMatch(request, ctx.config.server.requireIfMatch) : null);
  /** A versioned write that succeeded: ETag, and the deprecation notice when it was unconditional. */
  const written = (reply: FastifyReply, pre: Precondition, wire: Wire) => {
    if (kind.versioned) warnIfUnconditional(reply, pre);
    return withEtag(reply, wire);
  };
  const withEtag = (reply: FastifyReply, wire: Wire) => {
    if (kind.versioned && typeof wire.version === 'number') setEtag(reply, wire.version);
    return wire;
  };

  // Documents and repositories require a `uri`; clients often send `url`, so the refusal names
  // both instead of the schema's generic "required property" message.
  const uriRe = new RegExp(ANY_URI);
  const requiresUri = kind.fields.some((f) => f.name === 'uri');
  const uriMissing = (request: FastifyRequest) =>
    requiresUri &&
    (Array.isArray(request.body) ? request.body : [request.body]).some((item) => {
      if (!item || typeof item !== 'object' || Array.isArray(item)) return false;
      const uri = (item as Record<string, unknown>).uri;
      return typeof uri !== 'string' || !uriRe.test(uri) || uri.length > 1000;
    });
  const checkUri = async (request: FastifyRequest) => {
    if (uriMissing(request)) {
      throw badRequest("Field 'uri' is required and must be a URL of the form scheme://... (for example https://example.com/docs), at most 1000 characters");
    }
  };
  // A write to a missing model or child is 404 (and a write without the role 403) before its body is judged.
  const modelFirst = existenceBeforeBody((p, ps) => svc.checkWritable(p, ps.threat_model_id!), uriMissing);
  const childFirst = existenceBeforeBody((p, ps) => svc.checkWritable(p, ps.threat_model_id!, ps[kind.idParam]!), uriMissing);

  r.get(
    base,
    { schema: { tags, operationId: `getThreatModel${plural}`, params: tmParams, querystring: kind.schemas.listQuery, response: { 200: kind.schemas.list, ...errors } } },
    async (request, reply) => {
      const p = principalOf(request);
      const query = request.query as Q;
      // The route's own serializer makes the text, so a kept answer is byte for byte the answer.
      const text = await svc.listText(p, tmOf(request), query, administratorCheck(ctx, p), opts.refineList?.(query), (list) => reply.serialize(list) as string);
      return reply.type('application/json; charset=utf-8').send(text as never);
    },
  );

  r.post(
    base,
    { preValidation: [modelFirst, checkUri], schema: { tags, operationId: `createThreatModel${name}`, params: tmParams, body: kind.schemas.input, response: { 201: kind.schemas.item, ...errors } } },
    async (request, reply) => {
      const wire = await svc.create(principalOf(request), tmOf(request), request.body as Record<string, unknown>);
      return reply.code(201).send(withEtag(reply, wire));
    },
  );

  r.get(
    `${base}/:${kind.idParam}`,
    { schema: { tags, operationId: `getThreatModel${name}`, params: itemParams, response: { 200: kind.schemas.item, ...errors } } },
    async (request, reply) => withEtag(reply, await svc.get(principalOf(request), tmOf(request), idOf(request))),
  );

  r.put(
    `${base}/:${kind.idParam}`,
    { preValidation: [childFirst, checkUri], schema: { tags, operationId: `updateThreatModel${name}`, params: itemParams, body: kind.schemas.input, response: { 200: kind.schemas.item, ...errors } } },
    async (request, reply) => {
      const pre = precondition(request);
      return written(reply, pre, await svc.replace(principalOf(request), tmOf(request), idOf(request), request.body as Record<string, unknown>, pre));
    },
  );

  r.patch(
    `${base}/:${kind.idParam}`,
    {
      config: { consumes: JSON_PATCH_TYPES },
      preValidation: childFirst,
      schema: { tags, operationId: `patchThreatModel${name}`, params: itemParams, body: JsonPatchDocument, response: { 200: kind.schemas.item, ...errors } },
    },
    async (request, reply) => {
      const pre = precondition(request);
      return written(reply, pre, await svc.patch(principalOf(request), tmOf(request), idOf(request), request.body, pre));
    },
  );

  r.delete(
    `${base}/:${kind.idParam}`,
    { schema: { tags, operationId: `deleteThreatModel${name}`, params: itemParams, response: errors } },
    async (request, reply) => {
      await svc.remove(principalOf(request), tmOf(request), idOf(request));
      return noContent(reply);
    },
  );

  r.post(
    `${base}/:${kind.idParam}/restore`,
    { schema: { tags, operationId: `restore${name}`, params: itemParams, response: { 200: kind.schemas.item, ...errors } } },
    async (request, reply) => withEtag(reply, await svc.restore(principalOf(request), tmOf(request), idOf(request))),
  );

  if (kind.bulk) {
    const bulk = kind.bulk;
    r.post(
      `${base}/bulk`,
      {
        preValidation: [modelFirst, checkUri],
        schema: {
          tags,
          operationId: `bulkCreateThreatModel${plural}`,
          params: tmParams,
          body: Type.Array(bulk.createItem, { maxItems: bulk.limit }),
          response: { 201: Type.Array(kind.schemas.item), ...errors },
        },
      },
      async (request, reply) => reply.code(201).send(await svc.bulkCreate(principalOf(request), tmOf(request), request.body as Record<string, unknown>[])),
    );
    r.put(
      `${base}/bulk`,
      {
        preValidation: [modelFirst, checkUri],
        schema: {
          tags,
          // The reference calls the threats' bulk PUT an update and the others' an upsert.
          operationId: kind.name === 'threats' ? 'bulkUpdateThreatModelThreats' : `bulkUpsertThreatModel${plural}`,
          params: tmParams,
          body: Type.Array(bulk.updateItem, { maxItems: bulk.limit }),
          response: { 200: Type.Array(kind.schemas.item), ...errors },
        },
      },
      async (request) => svc.bulkUpdate(principalOf(request), tmOf(request), request.body as (Record<string, unknown> & { id: string })[]),
    );
  }

  return { service: svc, base, itemParams, tmParams, modelFirst };
}
