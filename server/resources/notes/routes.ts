// HTTP for notes: the generic routes of threat-model children with the note family's spec.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { registerChildRoutes } from '../children/routes.ts';
import { noteSpec } from './family.ts';

export function noteRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerChildRoutes(app, ctx, noteSpec);
}
