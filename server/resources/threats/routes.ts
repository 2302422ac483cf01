// HTTP for threats: the generic child routes with the threat list filters, plus bulk PATCH and
// bulk DELETE, which only threats have.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { badRequest } from '../../http/errors.ts';
import { ThreatModelIdParams as tmParams, UUID_RE } from '../../../contract/common.ts';
import { BulkDeleteThreatsQuery, BulkDeleteThreatsResponse, BulkPatchRequest, Threat, type ListThreatsQuery } from '../../../contract/threats.ts';
import { errors, registerChildRoutes } from '../children/routes.ts';
import type { ChildService } from '../children/service.ts';
import { threatKind } from './kind.ts';
import { threatListQuery } from './service.ts';

/** Returns the threat service, through which accepted suggestions become threats. */
export function threatRoutes(app: FastifyInstance, ctx: AppContext): ChildService {
  const { service, base, modelFirst } = registerChildRoutes<ListThreatsQuery>(app, ctx, threatKind, { refineList: threatListQuery });
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['Threats'];

  r.patch(
    `${base}/bulk`,
    { preValidation: modelFirst, schema: { tags, operationId: 'bulkPatchThreatModelThreats', params: tmParams, body: BulkPatchRequest, response: { 200: Type.Array(Threat), ...errors } } },
    async (request) => (await service.bulkPatch(principalOf(request), request.params.threat_model_id.toLowerCase(), request.body.patches)) as never,
  );

  r.delete(
    `${base}/bulk`,
    {
      schema: { tags, operationId: 'bulkDeleteThreatModelThreats', params: tmParams, querystring: BulkDeleteThreatsQuery, response: { 200: BulkDeleteThreatsResponse, ...errors } },
    },
    async (request) => {
      const raw = request.query.threat_ids;
      const ids = (Array.isArray(raw) ? raw : [raw]).flatMap((s) => s.split(',')).map((s) => s.trim());
      if (ids.length > 20) throw badRequest('At most 20 threat_ids per request');
      for (const id of ids) if (!UUID_RE.test(id)) throw badRequest(`Invalid threat id '${id}' in threat_ids`, 'invalid_id');
      return service.bulkDelete(principalOf(request), request.params.threat_model_id.toLowerCase(), ids);
    },
  );
  return service;
}
