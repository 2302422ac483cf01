// The REST resources under /threat_models: the threat models, the routes of every kind of child
// (one module per kind, found through KIND_ROUTES so that a kind without routes does not compile),
// and the features every kind shares: metadata and the audit trail.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import type { ChildKindName } from '../../contract/limits.ts';
import { KINDS } from './kinds.ts';
import type { ChildService } from './children/service.ts';
import { threatModelRoutes } from './threat-models/routes.ts';
import { threatRoutes } from './threats/routes.ts';
import { diagramRoutes } from './diagrams/routes.ts';
import { documentRoutes } from './documents/routes.ts';
import { repositoryRoutes } from './repositories/routes.ts';
import { noteRoutes } from './notes/routes.ts';
import { assetRoutes } from './assets/routes.ts';
import { metadataRoutes } from './metadata/routes.ts';
import { auditRoutes } from './audit/routes.ts';
import { suggestionRoutes } from './suggestions/routes.ts';
import { orgRoutes } from './org/routes.ts';
import { surveyRoutes } from './surveys/routes.ts';
import { reportRoutes } from './reports/routes.ts';
import { transferRoutes } from './transfer/routes.ts';

const KIND_ROUTES: Record<ChildKindName, (app: FastifyInstance, ctx: AppContext) => unknown> = {
  threats: threatRoutes,
  diagrams: diagramRoutes,
  documents: documentRoutes,
  repositories: repositoryRoutes,
  notes: noteRoutes,
  assets: assetRoutes,
};

export function resourceRoutes(app: FastifyInstance, ctx: AppContext): void {
  threatModelRoutes(app, ctx);
  let threats: ChildService | undefined;
  for (const kind of KINDS) {
    const registered = KIND_ROUTES[kind.name](app, ctx);
    if (kind.name === 'threats') threats = registered as ChildService;
  }
  metadataRoutes(app, ctx);
  auditRoutes(app, ctx);
  suggestionRoutes(app, ctx, threats!);
  orgRoutes(app, ctx);
  surveyRoutes(app, ctx);
  reportRoutes(app, ctx);
  transferRoutes(app, ctx);
}
