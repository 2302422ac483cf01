// HTTP for threat suggestions (GET /threat_models/{id}/suggestions, dismissal, accept) and the
// organisation rule packs under /admin/rule_packs. Our extension: docs/compatibility.md.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { principalOf } from '../../auth/authenticate.ts';
import { requireAdministrator } from '../../auth/guards.ts';
import type { AppContext } from '../../context.ts';
import { noContent } from '../../http/errors.ts';
import { ErrorBody, ThreatModelIdParams } from '../../../contract/common.ts';
import { Threat } from '../../../contract/threats.ts';
import { RulePackDetail, RulePackDocument, RulePackList, RulePackParams, Suggestion, SuggestionList, SuggestionParams, SuggestionsQuery } from '../../../contract/suggestions.ts';
import type { ChildService } from '../children/service.ts';
import { RulePackService, SuggestionService } from './service.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function suggestionRoutes(app: FastifyInstance, ctx: AppContext, threats: ChildService): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const packs = new RulePackService(ctx.db, ctx.config.rules.packs);
  const svc = new SuggestionService(ctx.db, ctx.threatModels, threats, packs);
  const tags = ['Threat Suggestions'];
  const tmOf = (request: FastifyRequest) => (request.params as { threat_model_id: string }).threat_model_id.toLowerCase();
  const idOf = (request: FastifyRequest) => (request.params as { suggestion: string }).suggestion;
  const base = '/threat_models/:threat_model_id/suggestions';

  r.get(
    base,
    {
      schema: {
        tags,
        operationId: 'listThreatModelSuggestions',
        summary: 'Threats the rule packs suggest for the model (TMI-TS extension)',
        params: ThreatModelIdParams,
        querystring: SuggestionsQuery,
        response: { 200: SuggestionList, ...errors },
      },
    },
    async (request) => svc.list(principalOf(request), tmOf(request), request.query),
  );

  r.post(
    `${base}/:suggestion/dismissal`,
    { schema: { tags, operationId: 'dismissThreatModelSuggestion', summary: 'Dismiss a suggestion (remembered for the model)', params: SuggestionParams, response: { 200: Suggestion, ...errors } } },
    async (request) => svc.dismiss(principalOf(request), tmOf(request), idOf(request)),
  );

  r.delete(
    `${base}/:suggestion/dismissal`,
    { schema: { tags, operationId: 'undismissThreatModelSuggestion', summary: 'Reopen a dismissed suggestion', params: SuggestionParams, response: errors } },
    async (request, reply) => {
      await svc.undismiss(principalOf(request), tmOf(request), idOf(request));
      return noContent(reply);
    },
  );

  r.post(
    `${base}/:suggestion/accept`,
    {
      schema: { tags, operationId: 'acceptThreatModelSuggestion', summary: 'Create the suggested threat, linked to its cell', params: SuggestionParams, response: { 201: Threat, ...errors } },
    },
    async (request, reply) => reply.code(201).send((await svc.accept(principalOf(request), tmOf(request), idOf(request))) as never),
  );

  // ---- organisation rule packs (administrators) ----------------------------------------------
  const adminRead = requireAdministrator(ctx, { recentAuth: false });
  const adminWrite = requireAdministrator(ctx, { recentAuth: true });
  const adminTags = ['Admin - Rule Packs'];

  r.get(
    '/admin/rule_packs',
    { preValidation: adminRead, schema: { tags: adminTags, operationId: 'listRulePacks', response: { 200: RulePackList, 401: ErrorBody, 403: ErrorBody } } },
    async () => packs.list(),
  );

  r.post(
    '/admin/rule_packs',
    { preValidation: adminWrite, schema: { tags: adminTags, operationId: 'createRulePack', body: RulePackDocument, response: { 201: RulePackDetail, ...errors } } },
    async (request, reply) => reply.code(201).send((await packs.create(principalOf(request), request.body)) as never),
  );

  r.get(
    '/admin/rule_packs/:pack',
    { preValidation: adminRead, schema: { tags: adminTags, operationId: 'getRulePack', params: RulePackParams, response: { 200: RulePackDetail, ...errors } } },
    async (request) => (await packs.get(request.params.pack)) as never,
  );

  r.put(
    '/admin/rule_packs/:pack',
    {
      preValidation: adminWrite,
      schema: { tags: adminTags, operationId: 'replaceRulePack', params: RulePackParams, body: RulePackDocument, response: { 200: RulePackDetail, ...errors } },
    },
    async (request) => (await packs.replace(principalOf(request), request.params.pack, request.body)) as never,
  );

  r.delete(
    '/admin/rule_packs/:pack',
    { preValidation: adminWrite, schema: { tags: adminTags, operationId: 'deleteRulePack', params: RulePackParams, response: errors } },
    async (request, reply) => {
      await packs.remove(principalOf(request), request.params.pack);
      return noContent(reply);
    },
  );
}
