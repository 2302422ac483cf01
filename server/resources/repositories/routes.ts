// HTTP for repositories: the generic routes of threat-model children with the repository kind.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { registerChildRoutes } from '../children/routes.ts';
import { repositoryKind } from './kind.ts';

export function repositoryRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerChildRoutes(app, ctx, repositoryKind);
}
