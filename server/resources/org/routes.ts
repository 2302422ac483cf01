// HTTP for /teams and /projects: the units, their notes and their metadata.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppContext } from '../../context.ts';
import { JSON_PATCH_TYPES } from '../../http/body.ts';
import { noContent } from '../../http/errors.ts';
import { ErrorBody, JsonPatchDocument, Uuid } from '../../../contract/common.ts';
import {
  ListProjectsQuery,
  ListProjectsResponse,
  ListTeamsQuery,
  ListTeamsResponse,
  ListUnitNotesResponse,
  NoteListQuery,
  Project,
  ProjectInput,
  Team,
  TeamInput,
  UnitNote,
  UnitNoteInput,
} from '../../../contract/org.ts';
import { isAdministratorOn } from '../common/administrator.ts';
import { existenceBeforeBody } from '../common/existence-first.ts';
import { readIfMatch, setEtag } from '../common/if-match.ts';
import { entityMetadataRoutes } from '../metadata/entity-routes.ts';
import { OrgService } from './service.ts';
import type { UnitType } from './store.ts';

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function orgRoutes(app: FastifyInstance, ctx: AppContext): OrgService {
  const svc = new OrgService(ctx.db, (q, p) => isAdministratorOn(q, p, ctx.config.auth.administrators));
  unitRoutes(app, ctx, svc, 'team');
  unitRoutes(app, ctx, svc, 'project');
  return svc;
}

function unitRoutes(app: FastifyInstance, ctx: AppContext, svc: OrgService, type: UnitType): void {
  // One function serves both units, so the schemas are a union: the handlers type their input themselves.
  const r = app;
  const Name = type === 'team' ? 'Team' : 'Project';
  const tags = [type === 'team' ? 'Teams' : 'Projects'];
  const base = `/${type}s`;
  const idParam = `${type}_id`;
  const noteParam = `${type}_note_id`;
  const params = Type.Object({ [idParam]: Uuid });
  const noteParams = Type.Object({ [idParam]: Uuid, [noteParam]: Uuid });
  const idOf = (request: FastifyRequest) => (request.params as Record<string, string>)[idParam]!.toLowerCase();
  const noteOf = (request: FastifyRequest) => (request.params as Record<string, string>)[noteParam]!.toLowerCase();
  const Item = type === 'team' ? Team : Project;
  const Input = type === 'team' ? TeamInput : ProjectInput;
  const requireIfMatch = ctx.config.server.requireIfMatch;
  const unitFirst = existenceBeforeBody((p, ps) => svc.access(ctx.db, p, type, ps[idParam]!, 'update'));
  const notesFirst = existenceBeforeBody((p, ps) => svc.access(ctx.db, p, type, ps[idParam]!, 'write_notes'));

  r.get(
    base,
    { schema: { tags, operationId: `list${Name}s`, querystring: type === 'team' ? ListTeamsQuery : ListProjectsQuery, response: { 200: type === 'team' ? ListTeamsResponse : ListProjectsResponse, ...errors } } },
    async (request) => (type === 'team' ? svc.listTeams(principalOf(request), request.query as ListTeamsQuery) : svc.listProjects(principalOf(request), request.query as ListProjectsQuery)),
  );
  r.post(base, { schema: { tags, operationId: `create${Name}`, body: Input, response: { 201: Item, ...errors } } }, async (request, reply) => {
    const unit = await svc.create(principalOf(request), type, request.body as TeamInput);
    setEtag(reply, unit.version);
    return reply.code(201).header('location', `${base}/${unit.id}`).send(unit);
  });
  r.get(`${base}/:${idParam}`, { schema: { tags, operationId: `get${Name}`, params, response: { 200: Item, ...errors } } }, async (request, reply) => {
    const unit = await svc.get(principalOf(request), type, idOf(request));
    setEtag(reply, unit.version);
    return unit;
  });
  r.put(`${base}/:${idParam}`, { preValidation: unitFirst, schema: { tags, operationId: `update${Name}`, params, body: Input, response: { 200: Item, ...errors } } }, async (request, reply) => {
    const unit = await svc.replace(principalOf(request), type, idOf(request), request.body as TeamInput, readIfMatch(request, requireIfMatch));
    setEtag(reply, unit.version);
    return unit;
  });
  r.patch(
    `${base}/:${idParam}`,
    { config: { consumes: JSON_PATCH_TYPES }, preValidation: unitFirst, schema: { tags, operationId: `patch${Name}`, params, body: JsonPatchDocument, response: { 200: Item, ...errors } } },
    async (request, reply) => {
      const unit = await svc.patch(principalOf(request), type, idOf(request), request.body as JsonPatchDocument, readIfMatch(request, requireIfMatch));
      setEtag(reply, unit.version);
      return unit;
    },
  );
  r.delete(`${base}/:${idParam}`, { schema: { tags, operationId: `delete${Name}`, params, response: errors } }, async (request, reply) => {
    await svc.remove(principalOf(request), type, idOf(request));
    return noContent(reply);
  });

  // Notes
  const notes = `${base}/:${idParam}/notes`;
  r.get(notes, { schema: { tags, operationId: `list${Name}Notes`, params, querystring: NoteListQuery, response: { 200: ListUnitNotesResponse, ...errors } } }, async (request) => {
    const q = request.query as { limit?: number; offset?: number };
    return svc.listNotes(principalOf(request), type, idOf(request), q.limit ?? 20, q.offset ?? 0);
  });
  r.post(notes, { preValidation: notesFirst, schema: { tags, operationId: `create${Name}Note`, params, body: UnitNoteInput, response: { 201: UnitNote, ...errors } } }, async (request, reply) =>
    reply.code(201).send(await svc.createNote(principalOf(request), type, idOf(request), request.body as UnitNoteInput)),
  );
  r.get(`${notes}/:${noteParam}`, { schema: { tags, operationId: `get${Name}Note`, params: noteParams, response: { 200: UnitNote, ...errors } } }, async (request) =>
    svc.getNote(principalOf(request), type, idOf(request), noteOf(request)),
  );
  r.put(`${notes}/:${noteParam}`, { preValidation: notesFirst, schema: { tags, operationId: `update${Name}Note`, params: noteParams, body: UnitNoteInput, response: { 200: UnitNote, ...errors } } }, async (request) =>
    svc.replaceNote(principalOf(request), type, idOf(request), noteOf(request), request.body as UnitNoteInput),
  );
  r.patch(
    `${notes}/:${noteParam}`,
    { config: { consumes: JSON_PATCH_TYPES }, preValidation: notesFirst, schema: { tags, operationId: `patch${Name}Note`, params: noteParams, body: JsonPatchDocument, response: { 200: UnitNote, ...errors } } },
    async (request) => svc.patchNote(principalOf(request), type, idOf(request), noteOf(request), request.body as JsonPatchDocument),
  );
  r.delete(`${notes}/:${noteParam}`, { schema: { tags, operationId: `delete${Name}Note`, params: noteParams, response: errors } }, async (request, reply) => {
    await svc.removeNote(principalOf(request), type, idOf(request), noteOf(request));
    return noContent(reply);
  });

  entityMetadataRoutes(app, {
    db: ctx.db,
    base: `${base}/:${idParam}/metadata`,
    idParam,
    params,
    tag: tags[0]!,
    entity: type,
    operations: {
      list: `get${Name}Metadata`,
      create: `create${Name}Metadata`,
      update: `update${Name}Metadata`,
      delete: `delete${Name}Metadata`,
      bulkCreate: `bulkCreate${Name}Metadata`,
      bulkReplace: `bulkReplace${Name}Metadata`,
      bulkUpsert: `bulkUpsert${Name}Metadata`,
    },
    access: (q, p, id, action) => svc.access(q, p, type, id, action === 'read' ? 'read_metadata' : 'write_metadata'),
  });
}
