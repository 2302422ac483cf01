// HTTP for /admin/surveys (templates), /intake/surveys, /intake/survey_responses and
// /triage/survey_responses, with the metadata of templates and responses.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { JSON_PATCH_TYPES } from '../../http/body.ts';
import { noContent } from '../../http/errors.ts';
import { ErrorBody, JsonPatchDocument, Uuid } from '../../../contract/common.ts';
import {
  CreateThreatModelFromSurveyResponse,
  DeleteSurveyQuery,
  ListSurveyResponsesQuery,
  ListSurveyResponsesResponse,
  ListSurveysQuery,
  ListSurveysResponse,
  ListTriageNotesResponse,
  Survey,
  SurveyInput,
  SurveyResponse,
  SurveyResponseCreate,
  SurveyResponseInput,
  TriageNote,
  TriageNoteInput,
  TriageNoteParams,
  TriageNotesQuery,
} from '../../../contract/surveys.ts';
import { isAdministratorOn } from '../common/administrator.ts';
import { existenceBeforeBody } from '../common/existence-first.ts';
import { readIfMatch, setEtag } from '../common/if-match.ts';
import { entityMetadataRoutes } from '../metadata/entity-routes.ts';
import { SurveyService } from './service.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const SurveyParams = Type.Object({ survey_id: Uuid });
const ResponseParams = Type.Object({ survey_response_id: Uuid });

export function surveyRoutes(app: FastifyInstance, ctx: AppContext): SurveyService {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const svc = new SurveyService(ctx.db, ctx.threatModels, (q, p) => isAdministratorOn(q, p, ctx.config.auth.administrators));
  const requireIfMatch = ctx.config.server.requireIfMatch;
  const surveyOf = (request: FastifyRequest) => (request.params as { survey_id: string }).survey_id.toLowerCase();
  const responseOf = (request: FastifyRequest) => (request.params as { survey_response_id: string }).survey_response_id.toLowerCase();

  // ---- templates --------------------------------------------------------------------------------
  const admin = ['Administration'];
  const adminFirst = existenceBeforeBody((p, ps) => svc.surveyAccess(ctx.db, p, ps.survey_id!));
  const adminOnly = existenceBeforeBody((p) => svc.requireAdministrator(ctx.db, p));
  r.get('/admin/surveys', { schema: { tags: admin, operationId: 'listAdminSurveys', querystring: ListSurveysQuery, response: { 200: ListSurveysResponse, ...errors } } }, async (request) =>
    svc.listSurveys(principalOf(request), request.query, false),
  );
  r.post('/admin/surveys', { preValidation: adminOnly, schema: { tags: admin, operationId: 'createAdminSurvey', body: SurveyInput, response: { 201: Survey, ...errors } } }, async (request, reply) => {
    const s = await svc.createSurvey(principalOf(request), request.body);
    return reply.code(201).header('location', `/admin/surveys/${s.id}`).send(s);
  });
  r.get('/admin/surveys/:survey_id', { schema: { tags: admin, operationId: 'getAdminSurvey', params: SurveyParams, response: { 200: Survey, ...errors } } }, async (request) =>
    svc.getSurvey(principalOf(request), surveyOf(request), false),
  );
  r.put('/admin/surveys/:survey_id', { preValidation: adminFirst, schema: { tags: admin, operationId: 'updateAdminSurvey', params: SurveyParams, body: SurveyInput, response: { 200: Survey, ...errors } } }, async (request) =>
    svc.replaceSurvey(principalOf(request), surveyOf(request), request.body),
  );
  r.patch(
    '/admin/surveys/:survey_id',
    { config: { consumes: JSON_PATCH_TYPES }, preValidation: adminFirst, schema: { tags: admin, operationId: 'patchAdminSurvey', params: SurveyParams, body: JsonPatchDocument, response: { 200: Survey, ...errors } } },
    async (request) => svc.patchSurvey(principalOf(request), surveyOf(request), request.body),
  );
  r.delete('/admin/surveys/:survey_id', { schema: { tags: admin, operationId: 'deleteAdminSurvey', params: SurveyParams, querystring: DeleteSurveyQuery, response: errors } }, async (request, reply) => {
    await svc.deleteSurvey(principalOf(request), surveyOf(request), Boolean(request.query.force));
    return noContent(reply);
  });
  entityMetadataRoutes(app, {
    db: ctx.db,
    base: '/admin/surveys/:survey_id/metadata',
    idParam: 'survey_id',
    params: SurveyParams,
    tag: 'Administration',
    entity: 'survey',
    operations: {
      list: 'getAdminSurveyMetadata',
      create: 'createAdminSurveyMetadata',
      get: 'getAdminSurveyMetadataByKey',
      update: 'updateAdminSurveyMetadataByKey',
      delete: 'deleteAdminSurveyMetadataByKey',
      bulkCreate: 'bulkCreateAdminSurveyMetadata',
      bulkReplace: 'bulkReplaceAdminSurveyMetadata',
      bulkUpsert: 'bulkUpsertAdminSurveyMetadata',
    },
    access: (q, p, id) => svc.surveyAccess(q, p, id),
  });

  // ---- intake -----------------------------------------------------------------------------------
  const intake = ['Intake'];
  r.get('/intake/surveys', { schema: { tags: intake, operationId: 'listIntakeSurveys', querystring: ListSurveysQuery, response: { 200: ListSurveysResponse, ...errors } } }, async (request) =>
    svc.listSurveys(principalOf(request), request.query, true),
  );
  r.get('/intake/surveys/:survey_id', { schema: { tags: intake, operationId: 'getIntakeSurvey', params: SurveyParams, response: { 200: Survey, ...errors } } }, async (request) =>
    svc.getSurvey(principalOf(request), surveyOf(request), true),
  );
  r.get('/intake/survey_responses', { schema: { tags: intake, operationId: 'listIntakeSurveyResponses', querystring: ListSurveyResponsesQuery, response: { 200: ListSurveyResponsesResponse, ...errors } } }, async (request) =>
    svc.listOwnResponses(principalOf(request), request.query),
  );
  r.post('/intake/survey_responses', { schema: { tags: intake, operationId: 'createIntakeSurveyResponse', body: SurveyResponseCreate, response: { 201: SurveyResponse, ...errors } } }, async (request, reply) => {
    const res = await svc.createResponse(principalOf(request), request.body);
    setEtag(reply, res.version);
    return reply.code(201).header('location', `/intake/survey_responses/${res.id}`).send(res);
  });
  const editFirst = existenceBeforeBody((p, ps) => svc.responseFor(ctx.db, p, ps.survey_response_id!, 'edit').then(() => undefined));
  r.get('/intake/survey_responses/:survey_response_id', { schema: { tags: intake, operationId: 'getIntakeSurveyResponse', params: ResponseParams, response: { 200: SurveyResponse, ...errors } } }, async (request, reply) => {
    const res = await svc.getResponse(principalOf(request), responseOf(request));
    setEtag(reply, res.version);
    return res;
  });
  r.put(
    '/intake/survey_responses/:survey_response_id',
    { preValidation: editFirst, schema: { tags: intake, operationId: 'updateIntakeSurveyResponse', params: ResponseParams, body: SurveyResponseInput, response: { 200: SurveyResponse, ...errors } } },
    async (request, reply) => {
      const res = await svc.replaceResponse(principalOf(request), responseOf(request), request.body, readIfMatch(request, requireIfMatch));
      setEtag(reply, res.version);
      return res;
    },
  );
  r.patch(
    '/intake/survey_responses/:survey_response_id',
    { config: { consumes: JSON_PATCH_TYPES }, preValidation: editFirst, schema: { tags: intake, operationId: 'patchIntakeSurveyResponse', params: ResponseParams, body: JsonPatchDocument, response: { 200: SurveyResponse, ...errors } } },
    async (request, reply) => {
      const res = await svc.patchResponse(principalOf(request), responseOf(request), request.body, readIfMatch(request, requireIfMatch));
      setEtag(reply, res.version);
      return res;
    },
  );
  r.delete('/intake/survey_responses/:survey_response_id', { schema: { tags: intake, operationId: 'deleteIntakeSurveyResponse', params: ResponseParams, response: errors } }, async (request, reply) => {
    await svc.deleteResponse(principalOf(request), responseOf(request));
    return noContent(reply);
  });
  const responseMetadata = (prefix: 'intake' | 'triage') =>
    entityMetadataRoutes(app, {
      db: ctx.db,
      base: `/${prefix}/survey_responses/:survey_response_id/metadata`,
      idParam: 'survey_response_id',
      params: ResponseParams,
      tag: prefix === 'intake' ? 'Intake' : 'Triage',
      entity: 'survey_response',
      operations:
        prefix === 'intake'
          ? {
              list: 'getIntakeSurveyResponseMetadata',
              create: 'createIntakeSurveyResponseMetadata',
              get: 'getIntakeSurveyResponseMetadataByKey',
              update: 'updateIntakeSurveyResponseMetadataByKey',
              delete: 'deleteIntakeSurveyResponseMetadataByKey',
              bulkCreate: 'bulkCreateIntakeSurveyResponseMetadata',
              bulkReplace: 'bulkReplaceIntakeSurveyResponseMetadata',
              bulkUpsert: 'bulkUpsertIntakeSurveyResponseMetadata',
            }
          : { list: 'getTriageSurveyResponseMetadata', get: 'getTriageSurveyResponseMetadataByKey' },
      access: async (q, p, id, action) => void (await svc.responseFor(q, p, id, action === 'read' ? 'read' : 'write_metadata')),
    });
  responseMetadata('intake');

  // ---- triage notes (read through intake and triage, written through triage) -------------------
  const notesRoutes = (prefix: 'intake' | 'triage') => {
    const tags = prefix === 'intake' ? intake : ['Triage'];
    const Name = prefix === 'intake' ? 'Intake' : 'Triage';
    r.get(
      `/${prefix}/survey_responses/:survey_response_id/triage_notes`,
      { schema: { tags, operationId: `list${Name}SurveyResponseTriageNotes`, params: ResponseParams, querystring: TriageNotesQuery, response: { 200: ListTriageNotesResponse, ...errors } } },
      async (request) => svc.listTriageNotes(principalOf(request), responseOf(request), request.query.limit ?? 20, request.query.offset ?? 0),
    );
    r.get(
      `/${prefix}/survey_responses/:survey_response_id/triage_notes/:triage_note_id`,
      { schema: { tags, operationId: `get${Name}SurveyResponseTriageNote`, params: TriageNoteParams, response: { 200: TriageNote, ...errors } } },
      async (request) => svc.getTriageNote(principalOf(request), responseOf(request), request.params.triage_note_id),
    );
  };
  notesRoutes('intake');

  // ---- triage -----------------------------------------------------------------------------------
  const triage = ['Triage'];
  r.get('/triage/survey_responses', { schema: { tags: triage, operationId: 'listTriageSurveyResponses', querystring: ListSurveyResponsesQuery, response: { 200: ListSurveyResponsesResponse, ...errors } } }, async (request) =>
    svc.listTriage(principalOf(request), request.query),
  );
  r.get('/triage/survey_responses/:survey_response_id', { schema: { tags: triage, operationId: 'getTriageSurveyResponse', params: ResponseParams, response: { 200: SurveyResponse, ...errors } } }, async (request, reply) => {
    const res = await svc.getResponse(principalOf(request), responseOf(request));
    setEtag(reply, res.version);
    return res;
  });
  const triageFirst = existenceBeforeBody((p, ps) => svc.responseFor(ctx.db, p, ps.survey_response_id!, 'triage').then(() => undefined));
  r.patch(
    '/triage/survey_responses/:survey_response_id',
    { config: { consumes: JSON_PATCH_TYPES }, preValidation: triageFirst, schema: { tags: triage, operationId: 'patchTriageSurveyResponse', params: ResponseParams, body: JsonPatchDocument, response: { 200: SurveyResponse, ...errors } } },
    async (request, reply) => {
      const res = await svc.triagePatch(principalOf(request), responseOf(request), request.body);
      setEtag(reply, res.version);
      return res;
    },
  );
  r.post(
    '/triage/survey_responses/:survey_response_id/create_threat_model',
    { schema: { tags: triage, operationId: 'createThreatModelFromSurveyResponse', params: ResponseParams, response: { 201: CreateThreatModelFromSurveyResponse, ...errors } } },
    async (request, reply) => {
      const out = await svc.createThreatModel(principalOf(request), responseOf(request));
      return reply.code(201).header('location', `/threat_models/${out.threat_model_id}`).send(out);
    },
  );
  responseMetadata('triage');
  notesRoutes('triage');
  const noteFirst = existenceBeforeBody((p, ps) => svc.responseFor(ctx.db, p, ps.survey_response_id!, 'write_triage_note').then(() => undefined));
  r.post(
    '/triage/survey_responses/:survey_response_id/triage_notes',
    { preValidation: noteFirst, schema: { tags: triage, operationId: 'createTriageSurveyResponseTriageNote', params: ResponseParams, body: TriageNoteInput, response: { 201: TriageNote, ...errors } } },
    async (request, reply) => reply.code(201).send(await svc.createTriageNote(principalOf(request), responseOf(request), request.body)),
  );
  return svc;
}
