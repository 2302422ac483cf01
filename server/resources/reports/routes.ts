// HTTP for GET /threat_models/{id}/report (TMI-TS extension): the model's report as PDF, Markdown
// or HTML, for anyone with read access. See docs/reports.md.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { ErrorBody, ThreatModelIdParams } from '../../../contract/common.ts';
import { REPORT_FORMATS } from './data.ts';
import { MEDIA_TYPES, ReportService } from './service.ts';
import { RulePackService } from '../suggestions/service.ts';

export const ReportQuery = Type.Object(
  {
    format: Type.Optional(Type.Union(REPORT_FORMATS.map((f) => Type.Literal(f)), { description: 'pdf (default), md (Markdown) or html' })),
    paper: Type.Optional(Type.Union([Type.Literal('a4'), Type.Literal('letter')], { description: 'Page size of the PDF (and the HTML print style): a4 (default) or letter' })),
  },
  { additionalProperties: false },
);

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

export function reportRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const packs = new RulePackService(ctx.db, ctx.config.rules.packs);
  const svc = new ReportService(ctx.threatModels, (id) => packs.inputsFor(id));
  r.get(
    '/threat_models/:threat_model_id/report',
    {
      config: { produces: [...new Set(Object.values(MEDIA_TYPES).map((t) => t.split(';')[0]!))] },
      schema: {
        tags: ['Threat Models'],
        operationId: 'getThreatModelReport',
        description:
          'TMI-TS extension: the report of a threat model (summary, scope with diagrams drawn from the cells, threats by severity and status with mitigations, assets, open rule suggestions, review) as PDF, Markdown or HTML. Objects whose include_in_report is false are left out. Reader role.',
        params: ThreatModelIdParams,
        querystring: ReportQuery,
        response: { 200: Type.String({ description: 'The report file (application/pdf, text/markdown or text/html)' }), ...errors },
      },
    },
    async (request, reply) => {
      const { format = 'pdf', paper = 'a4' } = request.query;
      const out = await svc.report(principalOf(request), request.params.threat_model_id.toLowerCase(), format, paper);
      return reply
        .header('content-type', out.mediaType)
        .header('content-disposition', `attachment; filename="${out.fileName}"`)
        .header('cache-control', 'private, no-store')
        .send(out.body as unknown as string);
    },
  );
}
