// HTTP for documents: the generic routes of threat-model children with the document kind, plus
// POST .../{document_id}/request_access.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { ErrorBody, Uuid } from '../../../contract/common.ts';
import { errors, registerChildRoutes } from '../children/routes.ts';
import { documentKind } from './kind.ts';
import { requestAccess } from './service.ts';

export function documentRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { base } = registerChildRoutes(app, ctx, documentKind);
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post(
    `${base}/:document_id/request_access`,
    {
      schema: {
        tags: ['Documents'],
        operationId: 'requestDocumentAccess',
        params: Type.Object({ threat_model_id: Uuid, document_id: Uuid }),
        response: { 200: Type.Object({ status: Type.String(), message: Type.String() }), ...errors, 422: ErrorBody },
      },
    },
    async (request) =>
      requestAccess(ctx.db, ctx.threatModels, principalOf(request), request.params.threat_model_id.toLowerCase(), request.params.document_id.toLowerCase()),
  );
}
