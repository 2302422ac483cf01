// HTTP for documents: the generic routes of threat-model children with the document family's spec.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { registerChildRoutes } from '../children/routes.ts';
import { documentSpec } from './family.ts';

export function documentRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerChildRoutes(app, ctx, documentSpec);
}
