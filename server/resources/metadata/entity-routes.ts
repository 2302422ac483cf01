// Metadata on the review workflow's entities (teams, projects, survey templates, survey
// responses): the same shapes, limits and codes as threat-model metadata (store.ts and the
// checks of service.ts), with access decided by the entity's own rule and changes recorded in the
// review audit trail.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TObject } from 'typebox';
import { principalOf, type Principal } from '../../auth/authenticate.ts';
import type { Db, Queryable } from '../../store/db.ts';
import { badRequest, conflict, noContent, notFound } from '../../http/errors.ts';
import { ErrorBody, Metadata } from '../../../contract/common.ts';
import { MetadataEntryBody, MetadataKeyParam, MetadataList, metadataBulkBody } from '../../../contract/metadata.ts';
import { existenceBeforeBody } from '../common/existence-first.ts';
import { recordReviewAudit, type ReviewEntity } from '../common/review-audit.ts';
import { actorOf } from '../threat-models/service.ts';
import { checkMetadataEntries, checkMetadataValue } from './service.ts';
import * as store from './store.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export type MetadataOp = 'list' | 'create' | 'get' | 'update' | 'delete' | 'bulkCreate' | 'bulkReplace' | 'bulkUpsert';

export interface EntityMetadata {
  db: Db;
  /** '/teams/:team_id/metadata' */
  base: string;
  idParam: string;
  params: TObject;
  tag: string;
  entity: Extract<store.MetadataOwner, ReviewEntity>;
  /** The operations offered, with their reference operationIds. */
  operations: Partial<Record<MetadataOp, string>>;
  /** Throws 404 when the entity is absent (or hidden), 403 when the caller may not; answers the entity id. */
  access(q: Queryable, p: Principal, id: string, action: 'read' | 'write'): Promise<void>;
  bulkLimit?: number;
}

export function entityMetadataRoutes(app: FastifyInstance, m: EntityMetadata): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db, base, tag, entity, operations: ops } = m;
  const tags = [tag];
  const keyParams = Type.Object({ ...m.params.properties, key: MetadataKeyParam });
  const idOf = (request: FastifyRequest) => (request.params as Record<string, string>)[m.idParam]!.toLowerCase();
  const keyOf = (request: FastifyRequest) => (request.params as { key: string }).key;
  const limit = m.bulkLimit ?? 100;
  const bulkBody = metadataBulkBody(limit);
  const first = existenceBeforeBody((p, ps) => m.access(db, p, ps[m.idParam]!, 'write'));
  const audit = (q: Queryable, p: Principal, id: string, summary: string) =>
    recordReviewAudit(q, { entityType: entity, entityId: id, changeType: 'metadata_changed', actor: actorOf(p), summary });
  const write = <T>(request: FastifyRequest, fn: (q: Queryable, p: Principal, id: string) => Promise<T>) =>
    db.tx(async (q) => {
      const p = principalOf(request);
      const id = idOf(request);
      await m.access(q, p, id, 'write');
      return fn(q, p, id);
    });

  if (ops.list)
    r.get(base, { schema: { tags, operationId: ops.list, params: m.params, response: { 200: MetadataList, ...errors } } }, async (request) => {
      await m.access(db, principalOf(request), idOf(request), 'read');
      return store.listEntries(db, entity, idOf(request));
    });
  if (ops.create)
    r.post(base, { preValidation: first, schema: { tags, operationId: ops.create, params: m.params, body: Metadata, response: { 201: Metadata, ...errors } } }, async (request, reply) => {
      const entry = await write(request, async (q, p, id) => {
        const e = request.body;
        checkMetadataValue(e.key, e.value);
        if ((await store.existingKeys(q, entity, id, [e.key])).length) throw conflict(`Metadata key already exists: ${e.key}`);
        await store.upsertEntries(q, entity, id, [e], new Date());
        await audit(q, p, id, `Metadata key '${e.key}' added`);
        return { key: e.key, value: e.value };
      });
      return reply.code(201).send(entry);
    });
  if (ops.get)
    r.get(`${base}/:key`, { schema: { tags, operationId: ops.get, params: keyParams, response: { 200: Metadata, ...errors } } }, async (request) => {
      await m.access(db, principalOf(request), idOf(request), 'read');
      const e = await store.getEntry(db, entity, idOf(request), keyOf(request));
      if (!e) throw notFound('Metadata entry not found');
      return e;
    });
  if (ops.update)
    r.put(`${base}/:key`, { preValidation: first, schema: { tags, operationId: ops.update, params: keyParams, body: MetadataEntryBody, response: { 200: Metadata, ...errors } } }, async (request) =>
      write(request, async (q, p, id) => {
        const key = keyOf(request);
        const body = request.body as { key?: string; value: string };
        if (body.key !== undefined && body.key !== key) throw badRequest('The key in the body must match the key in the path');
        checkMetadataValue(key, body.value);
        if (!(await store.updateValue(q, entity, id, key, body.value, new Date()))) throw notFound('Metadata entry not found');
        await audit(q, p, id, `Metadata key '${key}' updated`);
        return { key, value: body.value };
      }),
    );
  if (ops.delete)
    r.delete(`${base}/:key`, { schema: { tags, operationId: ops.delete, params: keyParams, response: errors } }, async (request, reply) => {
      await write(request, async (q, p, id) => {
        if (!(await store.deleteEntry(q, entity, id, keyOf(request)))) throw notFound('Metadata entry not found');
        await audit(q, p, id, `Metadata key '${keyOf(request)}' deleted`);
      });
      return noContent(reply);
    });
  const bulk = (mode: 'create' | 'replace' | 'upsert') => async (request: FastifyRequest) =>
    write(request, async (q, p, id) => {
      const items = request.body as Metadata[];
      checkMetadataEntries(items, limit);
      if (mode !== 'replace' && items.length === 0) throw badRequest('No metadata entries provided');
      if (mode === 'create') {
        const existing = await store.existingKeys(q, entity, id, items.map((e) => e.key));
        if (existing.length) throw conflict(`Metadata keys already exist: ${existing.join(', ')}`);
      }
      if (mode === 'replace') await store.replaceEntries(q, entity, id, items, new Date());
      else await store.upsertEntries(q, entity, id, items, new Date());
      await audit(q, p, id, `Metadata ${mode}: ${items.map((e) => e.key).join(', ') || 'all keys removed'}`);
      return store.listEntries(q, entity, id);
    });
  if (ops.bulkCreate)
    r.post(`${base}/bulk`, { preValidation: first, schema: { tags, operationId: ops.bulkCreate, params: m.params, body: bulkBody, response: { 201: MetadataList, ...errors } } }, async (request, reply) =>
      reply.code(201).send(await bulk('create')(request)),
    );
  if (ops.bulkReplace)
    r.put(`${base}/bulk`, { preValidation: first, schema: { tags, operationId: ops.bulkReplace, params: m.params, body: bulkBody, response: { 200: MetadataList, ...errors } } }, bulk('replace'));
  if (ops.bulkUpsert)
    r.patch(`${base}/bulk`, { preValidation: first, schema: { tags, operationId: ops.bulkUpsert, params: m.params, body: bulkBody, response: { 200: MetadataList, ...errors } } }, bulk('upsert'));
}
