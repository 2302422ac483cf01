// HTTP for the audit trail (/threat_models/{tm}/audit_trail..., .../{kind}/{id}/audit_trail),
// rollback, and restore of a deleted threat model.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { ErrorBody, ThreatModelIdParams, Uuid } from '../../../contract/common.ts';
import { AuditEntry, AuditEntryDiff, ListAuditTrailResponse, ListThreatModelAuditTrailResponse, ObjectAuditQuery, RollbackResponse, ThreatModelAuditQuery } from '../../../contract/audit.ts';
import { ThreatModel } from '../../../contract/threat-models.ts';
import { KINDS } from '../kinds.ts';
import { AuditService } from './service.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 410: ErrorBody };
const tags = ['Audit Trail'];

export function auditRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const svc = new AuditService(ctx.db, ctx.threatModels, ctx.kinds);
  const EntryParams = Type.Object({ threat_model_id: Uuid, entry_id: Uuid });
  const tmOf = (request: FastifyRequest) => (request.params as { threat_model_id: string }).threat_model_id.toLowerCase();

  r.get(
    '/threat_models/:threat_model_id/audit_trail',
    { schema: { tags, operationId: 'getThreatModelAuditTrail', params: ThreatModelIdParams, querystring: ThreatModelAuditQuery, response: { 200: ListThreatModelAuditTrailResponse, ...errors } } },
    async (request) => svc.listForModel(principalOf(request), tmOf(request), request.query),
  );

  r.get(
    '/threat_models/:threat_model_id/audit_trail/:entry_id',
    { schema: { tags, operationId: 'getAuditEntry', params: EntryParams, response: { 200: AuditEntry, ...errors } } },
    async (request) => svc.getEntry(principalOf(request), tmOf(request), request.params.entry_id.toLowerCase()),
  );

  r.get(
    '/threat_models/:threat_model_id/audit_trail/:entry_id/diff',
    { schema: { tags, operationId: 'getAuditEntryDiff', summary: 'State before and after an entry (TMI-TS extension)', params: EntryParams, response: { 200: AuditEntryDiff, ...errors } } },
    async (request) => svc.diff(principalOf(request), tmOf(request), request.params.entry_id.toLowerCase()),
  );

  r.post(
    '/threat_models/:threat_model_id/audit_trail/:entry_id/rollback',
    { schema: { tags, operationId: 'rollbackToVersion', params: EntryParams, response: { 200: RollbackResponse, ...errors } } },
    async (request) => svc.rollback(principalOf(request), tmOf(request), request.params.entry_id.toLowerCase()),
  );

  r.post(
    '/threat_models/:threat_model_id/restore',
    { schema: { tags: ['Threat Models'], operationId: 'restoreThreatModel', params: ThreatModelIdParams, response: { 200: ThreatModel, ...errors } } },
    async (request) => svc.restoreThreatModel(principalOf(request), tmOf(request)),
  );

  for (const kind of KINDS) {
    const params = Type.Object({ threat_model_id: Uuid, [kind.idParam]: Uuid });
    r.get(
      `/threat_models/:threat_model_id/${kind.name}/:${kind.idParam}/audit_trail`,
      { schema: { tags, operationId: `get${kind.label}AuditTrail`, params, querystring: ObjectAuditQuery, response: { 200: ListAuditTrailResponse, ...errors } } },
      async (request) => {
        const id = (request.params as Record<string, string>)[kind.idParam]!.toLowerCase();
        const q = request.query as { limit?: number; offset?: number };
        return svc.listForObject(principalOf(request), tmOf(request), kind, id, q.limit, q.offset);
      },
    );
  }
}
