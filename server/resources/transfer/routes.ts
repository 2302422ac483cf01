// HTTP for GET /threat_models/{id}/export and POST /threat_models/import (TMI-TS extensions): a
// whole model as a file, and a file as a new model. See docs/reports.md.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { badRequest } from '../../http/errors.ts';
import { ErrorBody, ThreatModelIdParams } from '../../../contract/common.ts';
import { ExportQuery, IMPORT_MEDIA_TYPES, ImportQuery, ImportResponse } from '../../../contract/transfer.ts';
import { setEtag } from '../common/if-match.ts';
import { TransferService } from './service.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const tags = ['Threat Models'];

export function transferRoutes(app: FastifyInstance, ctx: AppContext): void {
  const svc = new TransferService(ctx);

  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/threat_models/:threat_model_id/export',
    {
      config: { produces: ['application/json'] },
      schema: {
        tags,
        operationId: 'exportThreatModel',
        description:
          'TMI-TS extension: the whole threat model (diagrams, threats, assets, notes, documents, repositories, metadata) as a file: TMI JSON (the reference ThreatModel shape, children embedded, without access control and server-owned fields), OWASP Threat Dragon v2 JSON or Open Threat Model 0.2.0 JSON. Reader role.',
        params: ThreatModelIdParams,
        querystring: ExportQuery,
        response: { 200: Type.Object({}, { additionalProperties: true, description: 'The model file' }), ...errors },
      },
    },
    async (request, reply) => {
      const out = await svc.export(principalOf(request), request.params.threat_model_id.toLowerCase(), request.query.format ?? 'tmi-json');
      return reply
        .header('content-type', out.mediaType)
        .header('content-disposition', `attachment; filename="${out.fileName}"`)
        .header('cache-control', 'private, no-store')
        .header('x-tmi-export-omitted', String(out.omitted))
        .send(Buffer.from(out.text, 'utf8') as unknown as object);
    },
  );

  // The file is the body, as it is: its own parser, in a scope of its own, takes any of the media
  // types a model file comes as, as text, bounded by the server's body limit.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/threat_models/import',
      {
        config: { consumes: IMPORT_MEDIA_TYPES },
        schema: {
          tags,
          operationId: 'importThreatModel',
          description:
            'TMI-TS extension: creates a threat model owned by the caller from a model file (TMI JSON, OWASP Threat Dragon v1/v2 JSON, Open Threat Model JSON or YAML, Microsoft Threat Modeling Tool .tm7, Threagile YAML; detected unless `format` is given), sent as the request body. Answers the new model and the report of what the file held, what was imported and what could not be mapped. Everything is created or nothing.',
          querystring: ImportQuery,
          body: Type.String({ description: 'The model file, as it is' }),
          response: { 201: ImportResponse, 400: ErrorBody, 401: ErrorBody, 413: ErrorBody, 415: ErrorBody },
        },
      },
      async (request, reply) => {
        if (typeof request.body !== 'string' || request.body.trim() === '') throw badRequest('The request body must be the model file', 'invalid_input');
        const { threatModel, report } = await svc.import(principalOf(request), request.body, { format: request.query.format, fileName: request.query.file_name });
        setEtag(reply, threatModel.version);
        return reply.code(201).header('location', `/threat_models/${threatModel.id}`).send({ threat_model: threatModel, report });
      },
    );
  });
}
